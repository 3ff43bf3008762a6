"""Run in the imitation environment: ``.venv-imitation/bin/pytest tests/agents -m imitation``."""

import pytest

pytest.importorskip("imitation")

from bc_gym.agents import load_agent  # noqa: E402
from bc_gym.agents.imitation_bc import ImitationBCAgent  # noqa: E402

pytestmark = [pytest.mark.train, pytest.mark.imitation]


def test_trains_acts_and_round_trips(tiny_dataset, tmp_path, tiny_train_config, run_episode):
    agent = ImitationBCAgent.train([tiny_dataset], tmp_path, tiny_train_config())
    assert (tmp_path / "bc_metrics.csv").is_file()
    actions = run_episode(agent)
    again = load_agent(tmp_path)
    assert isinstance(again, ImitationBCAgent)
    assert run_episode(again) == actions
