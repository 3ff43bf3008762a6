import json
import re

import numpy as np
import pytest

from bc_gym.actions import HIGHWAY_ACTIONS
from bc_gym.agents import agent_names, load_agent, make_agent
from bc_gym.agents.base import decode_keys
from bc_gym.errors import CheckpointError, UnknownAgent

pytestmark = pytest.mark.train


def test_registry_names_every_agent():
    assert agent_names() == ["cnn-bc", "imitation-bc", "latent-gpt", "majority", "random"]


def test_unknown_agent_suggests_a_name():
    with pytest.raises(UnknownAgent, match=re.escape("Did you mean: 'latent-gpt'?")):
        make_agent("latent-gtp", action_map=HIGHWAY_ACTIONS, obs_shape=(64, 64, 3))


def test_act_checks_the_observation():
    agent = make_agent("random", action_map=HIGHWAY_ACTIONS, obs_shape=(64, 64, 3))
    with pytest.raises(ValueError, match=re.escape("observation has shape (32, 32, 3)")):
        agent.act(np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(TypeError, match="observation dtype must be uint8"):
        agent.act(np.zeros((64, 64, 3), np.float32))


def test_missing_config_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="config.json is missing"):
        load_agent(tmp_path)


def test_corrupt_config_is_a_checkpoint_error(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="is corrupt"):
        load_agent(tmp_path)


def test_majority_round_trip_and_bad_counts(tmp_path):
    agent = make_agent(
        "majority", action_map=HIGHWAY_ACTIONS, obs_shape=(64, 64, 3), counts=[0, 0, 9] + [0] * 6
    )
    agent.save(tmp_path)
    again = load_agent(tmp_path)
    assert again.act(np.zeros((64, 64, 3), np.uint8)) == 2
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["agent"] == "majority" and cfg["bc_gym_version"]
    cfg["agent_config"]["counts"] = [1, 2]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="counts must list 9 integers"):
        load_agent(tmp_path)


def test_decode_keys_sums_a_key_over_its_combos():
    p = np.zeros(9)
    p[HIGHWAY_ACTIONS.index("up")] = 0.4
    for name in ("down", "down+left", "down+right"):
        p[HIGHWAY_ACTIONS.index(name)] = 0.2
    assert HIGHWAY_ACTIONS.names[decode_keys(p, HIGHWAY_ACTIONS)] == "down"
