"""``ResizeFrames``: each frame of the observation through ``bc_gym.imaging.resize``."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest

import bc_gym  # noqa: F401  (registers the envs)
from bc_gym.imaging import resize
from bc_gym.wrappers import ResizeFrames, TimedFrameStack
from tests.utils import SEED


def test_frames_and_stacks_are_resized_like_the_datasets():
    def stacked() -> gym.Env:
        return TimedFrameStack(gym.make("bc_gym/HighwayRacer-v0", obs_size=(96, 96)), 3, 0.1)

    raw, env = stacked(), ResizeFrames(stacked(), (48, 64))
    assert env.observation_space.shape == (3, 48, 64, 3)
    a, _ = raw.reset(seed=SEED)
    b, _ = env.reset(seed=SEED)
    for _ in range(4):
        a, *_ = raw.step(3)
        b, *_ = env.step(3)
    assert env.observation_space.contains(b)
    np.testing.assert_array_equal(b, np.stack([resize(f, (48, 64)) for f in a]))
    one = ResizeFrames(gym.make("bc_gym/HighwayRacer-v0"), (48, 48))
    assert one.reset(seed=SEED)[0].shape == (48, 48, 3)


def test_bad_arguments_name_the_value():
    env = gym.make("bc_gym/HighwayRacer-v0")
    with pytest.raises(ValueError, match=re.escape("size must be (height, width) > 0")):
        ResizeFrames(env, (0, 5))
    with pytest.raises(TypeError, match="expects a uint8 Box of frames"):
        ResizeFrames(gym.make("CartPole-v1"), (8, 8))
