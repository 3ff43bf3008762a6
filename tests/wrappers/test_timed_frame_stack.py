"""TimedFrameStack on the headless HighwayRacer (game time) and on a toy env."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import bc_gym  # noqa: F401  (registers the envs)
from bc_gym.wrappers import TimedFrameStack
from tests.utils import SEED


class ClockEnv(gym.Env):
    """Observation = its own time stamp written in every pixel; time advances by ``dts``."""

    def __init__(self, dts=(0.01,)):
        self.observation_space = spaces.Box(0, 1e6, (2, 2, 1), dtype=np.float64)
        self.action_space = spaces.Discrete(2)
        self.dts = list(dts)
        self.t = 0.0
        self.i = 0

    def _obs(self):
        return np.full((2, 2, 1), self.t)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.i = 100.0, 0
        return self._obs(), {"t": self.t}

    def step(self, action):
        self.t += self.dts[self.i % len(self.dts)]
        self.i += 1
        return self._obs(), 0.0, False, False, {"t": self.t}


def test_space_and_reset_padding():
    env = TimedFrameStack(gym.make("bc_gym/HighwayRacer-v0"), 4, 0.1)
    assert env.observation_space.shape == (4, 64, 64, 3)
    assert env.observation_space.dtype == np.uint8
    obs, info = env.reset(seed=SEED)
    assert obs.shape == (4, 64, 64, 3)
    assert env.observation_space.contains(obs)
    # All four are the reset frame.
    assert all(np.array_equal(obs[0], obs[k]) for k in range(4))
    np.testing.assert_allclose(info["stack_times"], [0.0] * 4)
    assert not env.uses_ring_buffer


def test_spacing_on_game_time():
    base = gym.make("bc_gym/HighwayRacer-v0")
    env = TimedFrameStack(base, 3, 0.1)
    obs, info = env.reset(seed=SEED)
    frames = {round(info["t"], 4): base.unwrapped._obs()}
    for _ in range(20):
        obs, _, term, trunc, info = env.step(3)  # accelerate: frames change
        frames[round(info["t"], 4)] = obs[-1]
        assert not (term or trunc)
    times = info["stack_times"]
    np.testing.assert_allclose(np.diff(times), [0.1, 0.1], atol=1e-9)
    assert times[-1] == pytest.approx(info["t"])
    for k, ts in enumerate(times):
        np.testing.assert_array_equal(obs[k], frames[round(ts, 4)])
    # Frames 0.1 s apart differ (the road scrolls).
    assert not np.array_equal(obs[0], obs[2])


def test_nearest_frame_with_irregular_steps():
    env = TimedFrameStack(ClockEnv(dts=(0.013, 0.047, 0.031)), 4, 0.05)
    env.reset()
    for _ in range(30):
        obs, *_, info = env.step(0)
    times = info["stack_times"]
    np.testing.assert_array_equal(obs[:, 0, 0, 0], times)
    # Each stacked time is the nearest available to its target; the largest step is 0.047 s.
    targets = info["t"] - 0.05 * np.arange(3, -1, -1)
    assert np.all(np.abs(times - targets) <= 0.047 / 2 + 1e-9)


def test_slow_steps_repeat_nothing_newer():
    # Steps 0.2 s apart with spacing 0.05: history has no closer frame, so frames repeat.
    env = TimedFrameStack(ClockEnv(dts=(0.2,)), 3, 0.05)
    env.reset()
    obs, *_, info = env.step(0)
    np.testing.assert_allclose(info["stack_times"], [100.2, 100.2, 100.2])


@pytest.mark.parametrize(
    ("kwargs", "err", "msg"),
    [
        ({"n": 2.0, "spacing_s": 0.1}, TypeError, "n is expected to be an integer, actual type"),
        ({"n": 0, "spacing_s": 0.1}, ValueError, "n needs to be at least 1, actual value: 0"),
        ({"n": 2, "spacing_s": "x"}, TypeError, "spacing_s is expected to be a number"),
        ({"n": 2, "spacing_s": 0}, ValueError, "spacing_s needs to be > 0 seconds, actual value"),
    ],
)
def test_argument_errors(kwargs, err, msg):
    with pytest.raises(err, match=re.escape(msg)):
        TimedFrameStack(gym.make("bc_gym/HighwayRacer-v0"), **kwargs)


def test_missing_time_key():
    env = TimedFrameStack(gym.make("bc_gym/HighwayRacer-v0"), 2, 0.1, time_key="clock")
    with pytest.raises(KeyError, match=re.escape("needs the observation time in info['clock']")):
        env.reset(seed=SEED)


def test_non_box_space():
    with pytest.raises(TypeError, match="expects a Box observation space"):
        TimedFrameStack(_DictEnv(), 2, 0.1)


class _DictEnv(gym.Env):
    observation_space = spaces.Dict({"a": spaces.Discrete(2)})
    action_space = spaces.Discrete(2)
