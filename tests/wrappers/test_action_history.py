"""ActionHistory on the headless HighwayRacer."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import bc_gym  # noqa: F401
from bc_gym.wrappers import ActionHistory, TimedFrameStack
from tests.utils import SEED


def test_history_order_and_padding():
    env = ActionHistory(gym.make("bc_gym/HighwayRacer-v0"), 3)
    assert env.observation_space["actions"] == spaces.MultiDiscrete([9, 9, 9])
    obs, _ = env.reset(seed=SEED)
    assert obs["actions"].tolist() == [0, 0, 0]
    for a in (1, 5, 6, 2):
        obs, *_ = env.step(a)
    assert obs["actions"].tolist() == [5, 6, 2]
    assert env.observation_space.contains(obs)
    obs, _ = env.reset(seed=SEED)
    assert obs["actions"].tolist() == [0, 0, 0]


def test_over_timed_frame_stack():
    env = ActionHistory(TimedFrameStack(gym.make("bc_gym/HighwayRacer-v0"), 2, 0.1), 2)
    obs, _ = env.reset(seed=SEED)
    obs, *_ = env.step(3)
    assert obs["obs"].shape == (2, 64, 64, 3)
    assert obs["actions"].tolist() == [0, 3]


def test_multibinary_actions():
    class Env(gym.Env):
        observation_space = spaces.Box(0, 1, (1,))
        action_space = spaces.MultiBinary(4)

        def reset(self, *, seed=None, options=None):
            return np.zeros(1, np.float32), {}

        def step(self, action):
            return np.zeros(1, np.float32), 0.0, False, False, {}

    env = ActionHistory(Env(), 2)
    env.reset()
    obs, *_ = env.step(np.array([1, 0, 0, 1], dtype=np.int8))
    assert obs["actions"].tolist() == [[0, 0, 0, 0], [1, 0, 0, 1]]
    assert env.observation_space.contains(obs)


def test_errors():
    base = gym.make("bc_gym/HighwayRacer-v0")
    with pytest.raises(ValueError, match=re.escape("n needs to be at least 1, actual value: 0")):
        ActionHistory(base, 0)
    with pytest.raises(ValueError, match=re.escape("padding_action must be an action of")):
        ActionHistory(base, 2, padding_action=42)
    with pytest.raises(ValueError, match=re.escape("obs_key and actions_key must differ")):
        ActionHistory(base, 2, obs_key="a", actions_key="a")
