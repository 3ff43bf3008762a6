"""``bc_gym/HighwayRacer-v0``: the built-in game as a headless Gymnasium env."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from bc_gym.actions import HIGHWAY_ACTIONS, ActionMap
from bc_gym.games.highway.game import GameConfig, HighwayGame
from bc_gym.games.highway.render import render
from bc_gym.imaging import resize, to_gray, upscale

REWARD_SCALE = 10.0  # reward = px travelled / 10; the on-screen score counts the same units


class HighwayRacerEnv(gym.Env):
    """A top-down highway driving game, headless, rendered with numpy.

    ## Description
    The red car drives up a multi-lane highway through slower traffic. Left/right move it across
    the lanes while held, up accelerates, down brakes; with neither pedal it slowly coasts.
    The same game runs in a real window (``bc-gym game highway``) for people and screen agents.

    ## Action Space
    ``Discrete(9)`` over key combinations, named in ``env.action_map.names``:
    ``noop, left, right, up, down, up+left, up+right, down+left, down+right``. ``env.action_map``
    converts between indices and held-key sets (the keys are ``left, right, up, down``).

    ## Observation Space
    ``Box(0, 255, (H, W, 3), uint8)`` RGB, ``obs_size=(64, 64)`` by default (area-downscaled
    from the native 96x96 frame), or ``(H, W, 1)`` with ``grayscale=True``.

    ## Rewards
    Distance gained in the step, in tens of native pixels (the on-screen score's unit).

    ## Episode End
    ``terminated`` on a collision or when the car's centre leaves the road;
    ``truncated`` after ``max_steps`` steps (default 1000, i.e. 33 s of game time at 30 fps).

    ## Info
    ``t`` (game time, s: what ``TimedFrameStack`` uses), ``distance``, ``speed``, ``lane``,
    ``crash`` (``""``, ``"collision"`` or ``"off road"``).

    ## Version History
    * v0: initial version.

    Example:
        >>> import gymnasium as gym, bc_gym
        >>> env = gym.make("bc_gym/HighwayRacer-v0")
        >>> obs, info = env.reset(seed=0)
        >>> obs.shape, env.unwrapped.action_map.names[5]
        ((64, 64, 3), 'up+left')
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        obs_size: tuple[int, int] = (64, 64),
        grayscale: bool = False,
        lanes: int = 4,
        traffic_density: float = 1.0,
        traffic_speed: float = 1.0,
        fps: float = 30.0,
        max_steps: int = 1000,
        render_scale: int = 4,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"actual value: {render_mode!r}"
            )
        if len(obs_size) != 2 or min(obs_size) <= 0:
            raise ValueError(f"obs_size must be (height, width) > 0, actual value: {obs_size!r}")
        if max_steps <= 0:
            raise ValueError(f"max_steps must be > 0, actual value: {max_steps!r}")
        self.render_mode = render_mode
        self.obs_size = (int(obs_size[0]), int(obs_size[1]))
        self.grayscale = bool(grayscale)
        self.max_steps = int(max_steps)
        self.render_scale = int(render_scale)
        self.game = HighwayGame(
            GameConfig(lanes, traffic_density, traffic_speed, fps=fps), seed=None
        )
        self.action_map: ActionMap = HIGHWAY_ACTIONS
        self.key_names = self.action_map.keys
        self.action_space = spaces.Discrete(self.action_map.n)
        channels = 1 if self.grayscale else 3
        self.observation_space = spaces.Box(0, 255, (*self.obs_size, channels), dtype=np.uint8)
        self.metadata = {**self.metadata, "render_fps": fps}

    @property
    def dt(self) -> float:
        """Game seconds per step."""
        return 1.0 / self.game.config.fps

    def _obs(self) -> np.ndarray:
        frame = resize(render(self.game), self.obs_size)
        return to_gray(frame) if self.grayscale else frame

    def _info(self) -> dict[str, Any]:
        s = self.game.state
        return {
            "t": s.steps * self.dt,
            "distance": s.distance / REWARD_SCALE,
            "speed": s.v,
            "lane": self.game.lane_of(s.x),
            "crash": s.crash_reason,
        }

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new game; the seed fixes the traffic."""
        super().reset(seed=seed)
        self.game.reset(int(self.np_random.integers(2**31)))
        return self._obs(), self._info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Hold the keys of ``action`` for one tick."""
        if not self.action_space.contains(action):
            raise ValueError(f"action must be in {self.action_space}, actual value: {action!r}")
        held = self.action_map.to_keys(int(action))
        gained = self.game.step(
            left="left" in held, right="right" in held, up="up" in held, down="down" in held
        )
        s = self.game.state
        terminated = s.crashed
        truncated = not terminated and s.steps >= self.max_steps
        return self._obs(), gained / REWARD_SCALE, terminated, truncated, self._info()

    def render(self) -> np.ndarray | None:
        """The native frame upscaled by ``render_scale`` (``rgb_array`` mode)."""
        if self.render_mode == "rgb_array":
            return upscale(render(self.game), self.render_scale)
        return None
