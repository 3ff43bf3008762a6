"""ScreenEnv on a real Chromium page (the project's canvas game served on 127.0.0.1)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import bc_gym  # noqa: F401

pytestmark = [pytest.mark.x11, pytest.mark.chromium]


def car_xy(frame: np.ndarray) -> tuple[float, float]:
    f = frame.astype(np.int16)
    mask = (f[..., 0] > 170) & (f[..., 1] < 80) & (f[..., 2] < 80)
    assert mask.any(), "no red car on the canvas"
    ys, xs = np.nonzero(mask)
    return float(xs.mean()), float(ys.mean())


def test_screen_env_drives_a_chromium_canvas(chromium_page):
    env = gym.make(
        "bc_gym/Screen-v0",
        title="bc-gym Canvas Racer",
        keys=["left", "right", "up", "down"],
        obs_size=None,
        reset_keys=(),
        fps=30,
    )
    try:
        obs, info = env.reset()
        am = env.unwrapped.action_map
        x0, y0 = car_xy(obs)
        for _ in range(10):
            obs, *_, info = env.step(am.index("left"))
        x1, _ = car_xy(obs)
        assert x1 < x0 - 10, (x0, x1)
        for _ in range(10):
            obs, *_, info = env.step(am.index("up+right"))
        x2, y2 = car_xy(obs)
        assert x2 > x1 + 10 and y2 < y0 - 10, (x1, x2, y0, y2)
        obs, *_, info = env.step(am.index("noop"))
        assert info["held"] == []
    finally:
        env.close()
