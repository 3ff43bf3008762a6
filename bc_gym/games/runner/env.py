"""``bc_gym/Runner-v0``: the Runner game as a headless Gymnasium env."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from bc_gym.actions import ActionMap
from bc_gym.games.runner.game import RULES, RUNNER_ACTIONS, RunnerGame
from bc_gym.games.runner.render import render
from bc_gym.imaging import resize, to_gray, upscale

NATIVE = (RULES["HEIGHT"], RULES["WIDTH"])  # (150, 600): the page's canvas


class RunnerEnv(gym.Env):
    """A side-scrolling runner, headless, rendered with numpy: jump cacti, duck under birds.

    ## Description
    The blue runner stands near the left edge while obstacles scroll in from the right, ever
    faster. Green cacti must be jumped (``up``); low red birds ducked under (``down``); high
    birds pass over a runner who stays on the ground. The same rules, step for step, run in
    the browser page ``bc_gym/web/runner.html`` (``bc-gym game runner``), so a policy trained
    here sees the same pictures there.

    ## Action Space
    ``Discrete(3)`` over ``env.action_map.names``: ``noop, up, down`` (keys ``up, down``).
    ``up`` on the ground jumps (held, it jumps again on landing); ``down`` ducks on the ground
    and falls faster in the air.

    ## Observation Space
    ``Box(0, 255, (H, W, 3), uint8)`` RGB. The native frame is the page's canvas, 150x600
    (``obs_size=None``, the default); ``obs_size=(H, W)`` area-downscales it (e.g.
    ``(75, 300)``); ``grayscale=True`` gives ``(H, W, 1)``.

    ## Rewards
    The score gained in the step (one point per 10 px run: 0, 1 or 2 per step, more as the
    game speeds up); the episode's return is the score the page would show.

    ## Episode End
    ``terminated`` when the runner hits an obstacle; ``truncated`` after ``max_steps`` steps
    (default 1000, i.e. 33 s of game time at 30 steps/s).

    ## Info
    ``t`` (game time, s), ``score``, ``speed`` (px per step), ``elevation`` (px),
    ``crash`` (``""`` or the kind hit: ``"cactus"``, ``"tall cactus"``, ``"wide cactus"``,
    ``"low bird"``, ``"high bird"``), ``seed`` (the game's 32-bit seed, the page's ``seed``).

    ## Version History
    * v0: initial version.

    Example:
        >>> import gymnasium as gym, bc_gym
        >>> env = gym.make("bc_gym/Runner-v0", obs_size=(75, 300))
        >>> obs, info = env.reset(seed=0)
        >>> obs.shape, env.unwrapped.action_map.names
        ((75, 300, 3), ('noop', 'up', 'down'))
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": RULES["FPS"]}

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        obs_size: tuple[int, int] | None = None,
        grayscale: bool = False,
        max_steps: int = 1000,
        render_scale: int = 1,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"actual value: {render_mode!r}"
            )
        if obs_size is not None and (len(obs_size) != 2 or min(obs_size) <= 0):
            raise ValueError(
                f"obs_size must be (height, width) > 0 or None (native {NATIVE}), "
                f"actual value: {obs_size!r}"
            )
        if max_steps <= 0:
            raise ValueError(f"max_steps must be > 0, actual value: {max_steps!r}")
        if render_scale < 1 or int(render_scale) != render_scale:
            raise ValueError(
                f"render_scale must be a positive integer, actual value: {render_scale!r}"
            )
        self.render_mode = render_mode
        self.obs_size = NATIVE if obs_size is None else (int(obs_size[0]), int(obs_size[1]))
        self.grayscale = bool(grayscale)
        self.max_steps = int(max_steps)
        self.render_scale = int(render_scale)
        self.game = RunnerGame(seed=0)
        self.action_map: ActionMap = RUNNER_ACTIONS
        self.key_names = self.action_map.keys
        self.action_space = spaces.Discrete(self.action_map.n)
        channels = 1 if self.grayscale else 3
        self.observation_space = spaces.Box(0, 255, (*self.obs_size, channels), dtype=np.uint8)

    @property
    def dt(self) -> float:
        """Game seconds per step."""
        return 1.0 / RULES["FPS"]

    def frame(self) -> np.ndarray:
        """The native 150x600 RGB frame, the page's canvas."""
        return render(self.game)

    def _obs(self) -> np.ndarray:
        frame = self.frame()
        if self.grayscale:
            frame = to_gray(frame)  # before resizing: a third of the pixels to average
        h, w = self.obs_size
        while frame.shape[0] >= 2 * h and frame.shape[1] >= 2 * w:  # halve first: 3x cheaper
            frame = resize(frame, (frame.shape[0] // 2, frame.shape[1] // 2))
        return resize(frame, self.obs_size)

    def _info(self) -> dict[str, Any]:
        s = self.game.state
        return {
            "t": s.steps * self.dt,
            "score": s.score,
            "speed": s.speed / 100,
            "elevation": s.y / 100,
            "crash": s.crash,
            "seed": self.game.seed,
        }

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new game; the seed fixes the obstacles."""
        super().reset(seed=seed)
        self.game.reset(int(self.np_random.integers(2**32)))
        return self._obs(), self._info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Hold the keys of ``action`` for one step."""
        if not self.action_space.contains(action):
            raise ValueError(f"action must be in {self.action_space}, actual value: {action!r}")
        held = self.action_map.to_keys(int(action))
        gained = self.game.step(up="up" in held, down="down" in held)
        s = self.game.state
        terminated = s.crashed
        truncated = not terminated and s.steps >= self.max_steps
        return self._obs(), float(gained), terminated, truncated, self._info()

    def render(self) -> np.ndarray | None:
        """The native frame upscaled by ``render_scale`` (``rgb_array`` mode)."""
        if self.render_mode == "rgb_array":
            return upscale(self.frame(), self.render_scale)
        return None
