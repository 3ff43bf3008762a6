"""bc_gym/Runner-v0: the headless env's API, frames, rewards and episode ends."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import bc_gym  # noqa: F401
from bc_gym.games.runner import RunnerEnv, render
from tests.utils import SEED


def test_passes_gymnasiums_env_checker():
    check_env(gym.make("bc_gym/Runner-v0").unwrapped, skip_render_check=True)
    check_env(gym.make("bc_gym/Runner-v0", obs_size=(75, 300), grayscale=True).unwrapped)


def test_native_frame_is_the_canvas_and_obs_size_downscales():
    env = gym.make("bc_gym/Runner-v0")
    obs, info = env.reset(seed=SEED)
    assert obs.shape == (150, 600, 3) and obs.dtype == np.uint8
    assert np.array_equal(obs, render(env.unwrapped.game))
    assert env.unwrapped.action_map.names == ("noop", "up", "down")
    small = gym.make("bc_gym/Runner-v0", obs_size=(75, 300))
    assert small.reset(seed=SEED)[0].shape == (75, 300, 3)
    gray = gym.make("bc_gym/Runner-v0", obs_size=(64, 256), grayscale=True)
    assert gray.reset(seed=SEED)[0].shape == (64, 256, 1)
    shown = gym.make("bc_gym/Runner-v0", render_mode="rgb_array", render_scale=2)
    shown.reset(seed=SEED)
    assert shown.render().shape == (300, 1200, 3)


def test_reset_seed_fixes_the_game():
    env = gym.make("bc_gym/Runner-v0")
    runs = []
    for _ in range(2):
        obs, info = env.reset(seed=SEED)
        frames = [obs]
        for a in [0] * 60 + [1] * 5:
            frames.append(env.step(a)[0])
        runs.append((info["seed"], np.stack(frames)))
    assert runs[0][0] == runs[1][0]
    assert np.array_equal(runs[0][1], runs[1][1])
    assert env.reset(seed=SEED + 1)[1]["seed"] != runs[0][0]


def test_rewards_sum_to_the_score_and_a_crash_terminates():
    env = gym.make("bc_gym/Runner-v0")
    env.reset(seed=SEED)
    total, terminated, truncated = 0.0, False, False
    while not (terminated or truncated):
        _, r, terminated, truncated, info = env.step(0)  # never jump: the first cactus wins
        total += r
    assert terminated and not truncated
    assert total == info["score"] > 0
    assert info["crash"] in ("cactus", "tall cactus", "wide cactus", "low bird")
    assert info["t"] == pytest.approx(env.unwrapped.game.state.steps / 30)


def test_truncates_after_max_steps():
    env = gym.make("bc_gym/Runner-v0", max_steps=5)
    env.reset(seed=SEED)
    ends = [env.step(0)[2:4] for _ in range(5)]
    assert ends == [(False, False)] * 4 + [(False, True)]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=re.escape("obs_size must be (height, width) > 0")):
        RunnerEnv(obs_size=(0, 10))
    with pytest.raises(ValueError, match="max_steps must be > 0, actual value: 0"):
        RunnerEnv(max_steps=0)
    with pytest.raises(ValueError, match="render_mode must be one of"):
        RunnerEnv(render_mode="human")
    env = RunnerEnv()
    env.reset(seed=SEED)
    with pytest.raises(ValueError, match=re.escape("in Discrete(3), actual value: 3")):
        env.step(3)
