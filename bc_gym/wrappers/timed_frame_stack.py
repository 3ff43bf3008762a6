"""``TimedFrameStack``: stack observations spaced ``spacing_s`` seconds apart, by timestamp.

Frame stacking by step count (Gymnasium's ``FrameStackObservation``) gives frames whose time
spacing depends on how fast the agent steps. A behaviour-cloned policy trained on frames 0.1 s
apart then sees frames 0.03 s or 0.3 s apart when it plays, and fails. This wrapper stacks by
*time*: the observation at time ``t`` holds the frames nearest to
``t - (n-1)Δ, ..., t - Δ, t`` whatever the step rate (design.md, section 3).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class TimedFrameStack(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Stack ``n`` observations taken ``spacing_s`` seconds apart, oldest first.

    The time of each observation is ``info[time_key]``: game time on the headless
    ``bc_gym/HighwayRacer-v0``, the capture timestamp (``time.monotonic()``) on
    ``bc_gym/Screen-v0``. Two sources of frames:

    * if the base env has a ``frames_at(times)`` method (``ScreenEnv`` does: its capture ring
      buffer), the stack is read from it, so the spacing is exact even when the agent steps
      slower than ``spacing_s``;
    * otherwise the wrapper keeps the ``(info[time_key], obs)`` history of the episode and picks
      the nearest entry to each target time.

    Target times before the episode's first observation repeat that first observation (like
    ``FrameStackObservation``'s ``"reset"`` padding). ``info["stack_times"]`` holds the actual
    time of each stacked frame, oldest first.

    Example:
        >>> import gymnasium as gym, bc_gym
        >>> from bc_gym.wrappers import TimedFrameStack
        >>> env = TimedFrameStack(gym.make("bc_gym/HighwayRacer-v0"), 4, 0.1)
        >>> env.observation_space.shape
        (4, 64, 64, 3)
        >>> obs, info = env.reset(seed=0)
        >>> for _ in range(9):
        ...     obs, *_, info = env.step(3)
        >>> [round(float(t), 2) for t in info["stack_times"]]
        [0.0, 0.1, 0.2, 0.3]

    Args:
        env: the env to wrap; its observation space must be a ``Box``.
        n: number of stacked observations (>= 1).
        spacing_s: seconds between stacked observations (> 0), the ``Δ`` of training.
        time_key: the ``info`` key holding the observation's time, in seconds.
    """

    def __init__(self, env: gym.Env, n: int, spacing_s: float, *, time_key: str = "t") -> None:
        gym.utils.RecordConstructorArgs.__init__(self, n=n, spacing_s=spacing_s, time_key=time_key)
        gym.Wrapper.__init__(self, env)

        if isinstance(n, bool) or not np.issubdtype(type(n), np.integer):
            raise TypeError(f"n is expected to be an integer, actual type: {type(n)}")
        if n < 1:
            raise ValueError(f"n needs to be at least 1, actual value: {n}")
        if isinstance(spacing_s, bool) or not isinstance(spacing_s, (int, float, np.floating)):
            raise TypeError(f"spacing_s is expected to be a number, actual type: {type(spacing_s)}")
        if not spacing_s > 0:
            raise ValueError(f"spacing_s needs to be > 0 seconds, actual value: {spacing_s}")
        if not isinstance(env.observation_space, spaces.Box):
            raise TypeError(
                "TimedFrameStack expects a Box observation space, "
                f"actual value: {env.observation_space}"
            )

        self.n = int(n)
        self.spacing_s = float(spacing_s)
        self.time_key = time_key
        box = env.observation_space
        self.observation_space = spaces.Box(
            low=np.repeat(box.low[None], self.n, axis=0),
            high=np.repeat(box.high[None], self.n, axis=0),
            dtype=box.dtype,
        )
        source = getattr(env.unwrapped, "frames_at", None)
        self._source: Callable[[Sequence[float]], list[tuple[float, np.ndarray]]] | None = (
            source if callable(source) else None
        )
        self._times: list[float] = []  # history (headless path): times, ascending
        self._obs: list[np.ndarray] = []
        self._t0 = 0.0

    @property
    def uses_ring_buffer(self) -> bool:
        """True when the stack is read from the base env's ``frames_at`` (e.g. ``ScreenEnv``)."""
        return self._source is not None

    def _time(self, info: dict[str, Any]) -> float:
        try:
            return float(info[self.time_key])
        except KeyError:
            raise KeyError(
                f"TimedFrameStack needs the observation time in info[{self.time_key!r}], but "
                f"the env's info has keys {sorted(info)}. bc_gym/HighwayRacer-v0 and "
                "bc_gym/Screen-v0 provide info['t']; for another env pass time_key=..."
            ) from None

    def _targets(self, t: float) -> list[float]:
        return [max(t - k * self.spacing_s, self._t0) for k in range(self.n - 1, -1, -1)]

    def _from_history(self, targets: list[float]) -> list[tuple[float, np.ndarray]]:
        out = []
        for target in targets:
            i = bisect.bisect_left(self._times, target)
            if i == len(self._times) or (
                i > 0 and target - self._times[i - 1] <= self._times[i] - target
            ):
                i -= 1
            out.append((self._times[i], self._obs[i]))
        return out

    def _stack(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        t = self._time(info)
        targets = self._targets(t)
        if self._source is not None:
            picked = list(self._source(targets[:-1])) + [(t, obs)]
        else:
            self._times.append(t)
            self._obs.append(obs)
            # Drop entries that can no longer be the nearest to any target.
            oldest = targets[0]
            drop = 0
            while drop + 1 < len(self._times) and self._times[drop + 1] <= oldest:
                drop += 1
            if drop:
                del self._times[:drop], self._obs[:drop]
            picked = self._from_history(targets)
        info["stack_times"] = np.array([ts for ts, _ in picked], dtype=np.float64)
        return np.stack([frame for _, frame in picked])  # (n, H, W, C), oldest first

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset the env; the stack is padded with the first observation."""
        obs, info = self.env.reset(seed=seed, options=options)
        self._times, self._obs = [], []
        self._t0 = self._time(info)
        return self._stack(obs, info), info

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env and return the time-spaced stack ending at the new observation."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._stack(obs, info), reward, terminated, truncated, info
