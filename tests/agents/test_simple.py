import numpy as np
import pytest

from bc_gym.agents import load_agent
from bc_gym.agents.simple import MajorityAgent, RandomAgent

pytestmark = pytest.mark.train


@pytest.mark.parametrize("cls", [RandomAgent, MajorityAgent])
def test_trains_acts_and_round_trips(cls, tiny_dataset, tmp_path, tiny_train_config, run_episode):
    agent = cls.train([tiny_dataset], tmp_path, tiny_train_config())
    actions = run_episode(agent)
    assert len(actions) > 0
    again = load_agent(tmp_path)
    assert type(again) is cls
    if cls is MajorityAgent:
        assert again.action == agent.action == int(np.argmax(agent.counts))
        assert run_episode(again) == actions
