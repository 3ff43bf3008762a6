"""ScreenEnv on the real HighwayRacer window (real key events, real capture)."""

from __future__ import annotations

import re
import time

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import bc_gym  # noqa: F401
from bc_gym.envs import ScreenEnv
from bc_gym.wrappers import TimedFrameStack
from tests.utils import focus_window

pytestmark = pytest.mark.x11


def car_x(frame: np.ndarray) -> float:
    """Column of the red player car's centre, in fractions of the frame width."""
    f = frame.astype(np.int16)
    mask = (f[..., 0] > 170) & (f[..., 1] < 80) & (f[..., 2] < 80)
    assert mask.any(), "no red car in the frame"
    return float(np.nonzero(mask)[1].mean()) / frame.shape[1]


def _drive(env, action, steps):
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(action)
        if terminated:
            break
    return obs, info


def test_drives_the_car_left_and_right(highway_window):
    env = gym.make("bc_gym/Screen-v0", game="highway", obs_size=(96, 96))
    try:
        obs, info = env.reset()
        am = env.unwrapped.action_map
        x0 = car_x(obs)
        obs, info = _drive(env, am.index("left"), 6)
        assert info["held"] == ["left"]
        x1 = car_x(obs)
        assert x1 < x0 - 0.03, (x0, x1)
        obs, info = _drive(env, am.index("right"), 12)
        x2 = car_x(obs)
        assert x2 > x1 + 0.05, (x1, x2)
        obs, info = _drive(env, am.index("noop"), 3)
        assert info["held"] == []
        assert abs(car_x(obs) - x2) < 0.03
        assert 0 <= info["obs_age"] < 0.05
        assert info["rate"] > 15
    finally:
        env.close()


def test_multibinary_actions(highway_window):
    env = ScreenEnv(game="highway", action_type="multibinary", obs_size=(48, 48))
    try:
        assert env.action_space == gym.spaces.MultiBinary(4)
        obs, _ = env.reset()
        x0 = car_x(obs)
        held = np.array([0, 1, 1, 0], dtype=np.int8)  # right + up
        obs, info = _drive(env, held, 6)
        assert info["held"] == ["right", "up"]
        assert car_x(obs) > x0
    finally:
        env.close()


def test_check_env(highway_window):
    env = gym.make("bc_gym/Screen-v0", game="highway", obs_size=(32, 32), warn_late=False)
    try:
        check_env(env.unwrapped, skip_render_check=True)
    finally:
        env.close()


def test_game_over_and_score_reward(highway_window):
    env = gym.make("bc_gym/Screen-v0", game="highway", obs_size=(32, 32))
    try:
        env.reset()
        right_up = env.unwrapped.action_map.index("up+right")
        total, terminated = 0.0, False
        for _ in range(150):  # drive off the right side of the road
            _, reward, terminated, truncated, info = env.step(right_up)
            total += reward
            if terminated:
                break
        assert terminated, "the game-over detector did not fire"
        assert info["held"] == []  # keys released at game over
        frame = env.unwrapped.render() if env.unwrapped.render_mode else None
        assert frame is None
        assert info["score"] is not None and total > 0
        # Reset presses Space: a new game starts, not over any more.
        obs, info = env.reset()
        native = env.unwrapped._native
        assert not env.unwrapped.game_over(native, info["t"])
    finally:
        env.close()


def test_timed_frame_stack_reads_the_ring_buffer(highway_window):
    env = TimedFrameStack(
        gym.make(
            "bc_gym/Screen-v0",
            game="highway",
            obs_size=(32, 32),
            fps=10,
            capture_fps=60,
            warn_late=False,
        ),
        4,
        1 / 30,
    )
    try:
        assert env.uses_ring_buffer
        env.reset()
        time.sleep(0.2)
        for _ in range(5):  # 10 Hz control, stack spacing 1/30 s: frames come from the thread
            obs, *_, info = env.step(3)
        assert obs.shape == (4, 32, 32, 3)
        gaps = np.diff(info["stack_times"])
        assert np.all(np.abs(gaps - 1 / 30) <= 0.5 / 60 + 0.004), gaps
        assert info["stack_times"][-1] == info["t"]
    finally:
        env.close()


def test_argument_errors(xvfb):
    with pytest.raises(ValueError, match=re.escape("game must be one of ['highway']")):
        ScreenEnv(game="tetris")
    with pytest.raises(ValueError, match=re.escape("action_type must be one of")):
        ScreenEnv(region=(0, 0, 10, 10), action_type="box")
    with pytest.raises(ValueError, match=re.escape("fps must be > 0, actual value: 0")):
        ScreenEnv(region=(0, 0, 10, 10), fps=0)


def test_frozen_screen_ends_episodes_and_reset_keys_start_the_next(highway_window_factory):
    """A region (no preset): each game lasts 30 ticks, then GAME OVER stays until Space."""
    from bc_gym.envs import FrozenScreenDetector

    game = highway_window_factory("--traffic-density", "0", "--max-steps", "30", "--start-paused")
    focus_window(game.window)
    env = ScreenEnv(
        region=game.window.region,
        obs_size=(32, 32),
        game_over=FrozenScreenDetector(0.5),
        reset_keys=("space",),
        reset_timeout_s=1.0,
        warn_late=False,
    )
    try:
        for _ in range(2):  # Space starts the paused first game, then restarts after GAME OVER
            obs, info = env.reset()
            t0 = info["t"]
            assert info["episode_s"] == 0.0
            for _ in range(150):
                obs, reward, terminated, truncated, info = env.step(0)
                if terminated:
                    break
            assert terminated, "the frozen-screen detector did not fire"
            assert info["held"] == []
            # The game ran 30 ticks at 30 fps; the detector fired 0.5 s into the freeze.
            assert 0.85 <= info["episode_s"] <= 1.2, info["episode_s"]
            assert info["t"] - t0 >= info["episode_s"] + 0.45
        # Without its reset key the game stays over: reset waits reset_timeout_s, then warns.
        with pytest.warns(UserWarning, match="still shows game over 1 s after the last episode"):
            env.reset(options={"reset_keys": []})
    finally:
        env.close()
