"""bc_gym.record: record a game played on screen into a bc-gym dataset.

:class:`~bc_gym.record.recorder.Recorder` (screen + keys on one clock -> ``DatasetWriter``),
the action-map rule for recorded keys (:mod:`bc_gym.record.actions`), and region helpers
(:mod:`bc_gym.record.region`). The CLI is ``bc-gym record`` / ``bc-gym find-region``.
"""
