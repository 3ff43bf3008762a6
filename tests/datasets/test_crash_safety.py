"""A real writer process is killed with SIGKILL; what it wrote more than ~1 s earlier survives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from bc_gym.datasets import load_dataset, validate

WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from bc_gym.actions import HIGHWAY_ACTIONS
    from bc_gym.datasets import DatasetWriter

    path, stall_after = sys.argv[1], float(sys.argv[2])

    def frame(i):
        f = np.zeros((16, 16, 3), np.uint8)
        f[..., 0] = i % 256
        f[..., 1] = i // 256
        f[0, :8, 2] = np.random.default_rng(i).integers(0, 255, 8)
        return f

    w = DatasetWriter(path, action_map=HIGHWAY_ACTIONS, fps=100, obs_shape=(16, 16, 3))
    # A finished episode first, then one that is cut by the kill.
    w.begin_episode(frame(0), time.monotonic())
    for i in range(1, 51):
        w.step(i % 9, frame(i), float(i), False, i == 50, time.monotonic())
    w.end_episode()
    start = time.monotonic()
    w.begin_episode(frame(0), start)
    i = 0
    while True:
        i += 1
        now = time.monotonic()
        if now - start < stall_after:  # then stall: only the background flusher runs
            w.step(i % 9, frame(i), float(i), False, False, now)
            w.key_event(now, "left", bool(i % 2))
            print(i, flush=True)
        time.sleep(0.01)
    """
)


def _frame(i: int) -> np.ndarray:
    f = np.zeros((16, 16, 3), np.uint8)
    f[..., 0] = i % 256
    f[..., 1] = i // 256
    f[0, :8, 2] = np.random.default_rng(i).integers(0, 255, 8)
    return f


@pytest.mark.parametrize("stall_after", [100.0, 1.2])
def test_sigkill_mid_episode_keeps_every_step_older_than_1s(tmp_path, stall_after):
    path = tmp_path / "ds"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(stall_after)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # Wait until the writer streams, let it run ~2 s, then kill it without warning.
        line = proc.stdout.readline()
        assert line, "the writer process did not start"
        time.sleep(2.0)
    finally:
        kill_time = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    written = int(proc.stdout.read().split()[-1])  # steps the writer made before the kill
    assert proc.returncode == -signal.SIGKILL

    ds = load_dataset(path)
    assert len(ds) == 2
    done, cut = ds[0], ds[1]
    assert done.complete and len(done) == 50 and done.truncations[-1]
    assert not cut.complete
    ts = cut.timestamps
    old_enough = int(np.sum(ts[1:] < kill_time - 1.0))  # steps written > 1 s before the kill
    assert old_enough >= 50, f"only {old_enough} steps older than 1 s"
    assert len(cut) >= old_enough
    n = len(cut)
    np.testing.assert_array_equal(
        cut.observations[: n + 1], np.stack([_frame(i) for i in range(n + 1)])
    )
    np.testing.assert_array_equal(cut.actions, np.arange(1, n + 1) % 9)
    np.testing.assert_array_equal(cut.rewards, np.arange(1, n + 1, dtype=np.float32))
    assert np.all(np.diff(ts) >= 0)
    if stall_after < 100:
        # The writer stalled 0.8 s before the kill: the background flusher wrote every step.
        assert n == written
    else:
        assert n <= written
    assert len(cut.key_events) > 0
    problems = validate(ds)
    assert problems == [
        f"episode 1: incomplete (the writer stopped mid-episode); {n} steps readable"
    ]
