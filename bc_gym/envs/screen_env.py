"""``bc_gym/Screen-v0``: a live game window (or screen region) as a Gymnasium env."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import gymnasium as gym
import numpy as np
from gymnasium import spaces

from bc_gym.actions import HIGHWAY_ACTIONS, HIGHWAY_KEYS, ActionMap
from bc_gym.envs.clock import ElasticClock
from bc_gym.envs.detectors import SurvivalReward
from bc_gym.imaging import bgra_to_rgb
from bc_gym.screen.capture import AsyncCapture, ScreenCapture
from bc_gym.screen.keys import KeyController

ACTION_TYPES = ("discrete", "multibinary")


def _presets() -> dict[str, Callable[[], dict[str, Any]]]:
    from bc_gym.envs import highway

    return {"highway": highway.preset}


class ScreenEnv(gym.Env):
    """A real game window, read from the screen and driven with real key events, in real time.

    ## Description
    Each ``step(action)`` sends the action's keys **at once** (key-down/key-up differences only),
    then waits for the next tick of an elastic clock at ``fps``, grabs the window and returns
    the new frame. So the keys go out as soon as the policy answers, and every observation is
    fresh (grabbed at the tick). With ``capture_fps`` a background thread also fills a ring
    buffer of timestamped frames, from which :class:`~bc_gym.wrappers.TimedFrameStack` takes
    frames exactly ``spacing_s`` apart, whatever the policy's speed.

    ## Action Space
    ``action_type="discrete"``: ``Discrete(n)`` over the key combinations of ``actions`` (an
    :class:`~bc_gym.actions.ActionMap` or a list of names such as ``["noop", "left",
    "up+left"]``; by default HighwayRacer's 9 for its 4 arrow keys, else noop + one per key).
    ``action_type="multibinary"``: ``MultiBinary(len(keys))``, one "held" flag per key.

    ## Observation Space
    ``Box(0, 255, (H, W, 3), uint8)`` RGB at ``obs_size`` (``(H, W, 1)`` with ``grayscale``);
    ``obs_size=None`` keeps the window's size.

    ## Rewards
    ``reward(frame, info) -> float`` on the native RGB frame; by default 1 per step survived.
    ``game="highway"`` reads the score drawn on the frame (the headless env's units).

    ## Episode End
    ``terminated`` when ``game_over(frame, t)`` fires (e.g. a
    :class:`~bc_gym.envs.detectors.TemplateDetector` of the game-over screen, or a
    :class:`~bc_gym.envs.detectors.FrozenScreenDetector` for a game that freezes when it ends).
    No truncation of its own: use ``gym.make(..., max_episode_steps=N)``.

    ## Reset
    Releases every key, taps ``reset_keys`` in order, then waits until the screen changes (or
    ``reset_timeout_s``) and restarts the clock. Without ``reset_keys`` (a game that restarts
    by itself), a reset after a game over waits until ``game_over`` stops firing (the next game
    is on screen), at most ``reset_timeout_s``, and warns if it still fires then.

    ## Info
    ``t`` and ``capture_time`` (the frame's timestamp, ``time.monotonic()`` s), ``frame_id``,
    ``episode_s`` (game seconds since the reset frame; on the step that ends the episode, up to
    when the game ended, e.g. when the screen froze), ``obs_age`` (s from capture to the return
    of ``step``), ``act_delay`` (age of the previous observation when this step's keys went
    out: policy time plus ``obs_age``), ``overrun`` (s the tick was late), ``rate`` (achieved
    steps per second), ``late_steps``, ``held`` (keys), ``capture_late``/``capture_dropped``
    (background capture counters).

    ## Version History
    * v0: initial version.

    Example:
        >>> import gymnasium as gym, bc_gym
        >>> env = gym.make("bc_gym/Screen-v0", game="highway", fps=30)  # doctest: +SKIP
        >>> obs, info = env.reset()  # doctest: +SKIP
        >>> obs, reward, terminated, truncated, info = env.step(3)  # "up"  # doctest: +SKIP

    Args:
        render_mode: ``"rgb_array"`` returns the last native frame.
        game: a preset of defaults (``"highway"``: title, actions, reset keys, game-over
            detector and score reward); explicit arguments override it.
        title: capture the window whose title contains this (followed when it moves).
        region: or capture a fixed ``(left, top, width, height)``.
        keys: key names (pyautogui's) of the action space; default the arrow keys.
        actions: the key combinations of a ``Discrete`` action space.
        action_type: ``"discrete"`` or ``"multibinary"``.
        obs_size: ``(height, width)`` of observations, or ``None`` for the native size.
        grayscale: one luminance channel.
        fps: control steps per second (the clock's nominal rate).
        capture_fps: run a background capture at this rate (needed for exact stack spacing
            at any policy speed); ``None`` grabs only at the control ticks.
        buffer_s: seconds of frames kept for ``frames_at``.
        reset_keys: keys tapped by ``reset``.
        reset_timeout_s: the longest ``reset`` waits for the screen to change (after
            ``reset_keys``) or for the game over to end (without them).
        game_over: a game-over detector, or ``None`` for none.
        reward: a reward callable, or ``None`` for the survival reward.
        focus: key focus policy, ``"focus"``, ``"refuse"`` or ``"ignore"``.
        warn_late: warn when a step ends more than a period late.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        game: str | None = None,
        title: str | None = None,
        region: tuple[int, int, int, int] | None = None,
        keys: Sequence[str] | None = None,
        actions: ActionMap | Sequence[str] | None = None,
        action_type: str = "discrete",
        obs_size: tuple[int, int] | None = (64, 64),
        grayscale: bool = False,
        fps: float = 30.0,
        capture_fps: float | None = None,
        buffer_s: float = 5.0,
        reset_keys: Sequence[str] | None = None,
        reset_timeout_s: float = 3.0,
        game_over: Callable[[np.ndarray, float], bool] | None = None,
        reward: Callable[[np.ndarray, dict[str, Any]], float] | None = None,
        focus: str = "focus",
        warn_late: bool = True,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"actual value: {render_mode!r}"
            )
        if game is not None:
            presets = _presets()
            if game not in presets:
                raise ValueError(f"game must be one of {sorted(presets)}, actual value: {game!r}")
            d = presets[game]()
            title = title if title is not None or region is not None else d.get("title")
            actions = actions if actions is not None or keys is not None else d.get("actions")
            reset_keys = reset_keys if reset_keys is not None else d.get("reset_keys")
            game_over = game_over if game_over is not None else d.get("game_over")
            reward = reward if reward is not None else d.get("reward")
        if action_type not in ACTION_TYPES:
            raise ValueError(
                f"action_type must be one of {ACTION_TYPES}, actual value: {action_type!r}"
            )
        if not fps > 0:
            raise ValueError(f"fps must be > 0, actual value: {fps!r}")
        if capture_fps is not None and not capture_fps > 0:
            raise ValueError(f"capture_fps must be > 0 or None, actual value: {capture_fps!r}")
        if not reset_timeout_s >= 0:
            raise ValueError(f"reset_timeout_s must be >= 0, actual value: {reset_timeout_s!r}")

        # Actions
        if isinstance(actions, ActionMap):
            action_map = actions
        elif actions is not None:
            action_map = ActionMap.from_names(list(actions), keys=keys)
        elif keys is None or tuple(keys) == HIGHWAY_KEYS:
            action_map = HIGHWAY_ACTIONS
        else:
            action_map = ActionMap.single_keys(list(keys))
        self.action_map = action_map
        self.key_names: tuple[str, ...] = tuple(keys) if keys is not None else action_map.keys
        if action_type == "discrete" and not set(action_map.keys) <= set(self.key_names):
            raise ValueError(
                f"actions use keys {list(action_map.keys)} but keys={list(self.key_names)}"
            )
        self.action_type = action_type
        if action_type == "discrete":
            self.action_space = spaces.Discrete(action_map.n)
        else:
            self.action_space = spaces.MultiBinary(len(self.key_names))

        self.render_mode = render_mode
        self.fps = float(fps)
        self.capture_fps = None if capture_fps is None else float(capture_fps)
        self.reset_keys = tuple(reset_keys or ())
        self.reset_timeout_s = float(reset_timeout_s)
        self.game_over = game_over
        self.reward_fn = reward if reward is not None else SurvivalReward()
        self.metadata = {**self.metadata, "render_fps": self.fps}

        # Real parts: capture, keys, clock. Close what was opened if any of them fails.
        self._capture: ScreenCapture | None = None
        self._async: AsyncCapture | None = None
        self._keys: KeyController | None = None
        try:
            self._capture = ScreenCapture(region, title=title, size=obs_size, grayscale=grayscale)
            self._keys = KeyController(
                self.key_names + self.reset_keys, window=self._capture.window, focus=focus
            )
        except BaseException:
            self.close()
            raise
        # Grabs from the control ticks (and, with capture_fps, the thread) go in one buffer.
        self._async = AsyncCapture(
            self._capture, fps=self.capture_fps or self.fps, buffer_s=buffer_s
        )
        self.observation_space = spaces.Box(0, 255, self._capture.shape, dtype=np.uint8)
        self.clock = ElasticClock(1.0 / self.fps, warn=warn_late)
        self._last: tuple[float, int, np.ndarray] | None = None
        self._native: np.ndarray | None = None
        self._episode_over = False  # the last episode ended by game_over
        self._t0 = 0.0  # capture time of the episode's first frame

    # Frames
    @property
    def capture(self) -> ScreenCapture:
        """The window capture (its ``region`` follows the window)."""
        assert self._capture is not None, "the env is closed"
        return self._capture

    @property
    def async_capture(self) -> AsyncCapture:
        """The frame ring buffer (and its thread when ``capture_fps`` is set)."""
        assert self._async is not None, "the env is closed"
        return self._async

    def _grab(self) -> tuple[float, int, np.ndarray]:
        item, raw = self.async_capture.grab_now()
        self._native = bgra_to_rgb(raw)
        self._last = item
        return item

    def frames_at(self, times: Sequence[float]) -> list[tuple[float, np.ndarray]]:
        """Observations nearest to each of ``times`` (``time.monotonic()`` s), with their times.

        This is what :class:`~bc_gym.wrappers.TimedFrameStack` reads. Without ``capture_fps``
        only the control ticks' frames are in the buffer.
        """
        return [(ts, frame) for ts, _, frame in self.async_capture.frames_at(times)]

    def _to_keys(self, action: Any) -> frozenset[str]:
        if self.action_type == "discrete":
            return self.action_map.to_keys(int(action))
        return frozenset(k for k, v in zip(self.key_names, np.asarray(action), strict=True) if v)

    def _info(self, now: float, overrun: float, act_delay: float) -> dict[str, Any]:
        assert self._last is not None
        ts, fid, _ = self._last
        a = self.async_capture
        return {
            "t": ts,
            "capture_time": ts,
            "frame_id": fid,
            "obs_age": now - ts,
            "act_delay": act_delay,
            "overrun": overrun,
            "rate": self.clock.rate,
            "late_steps": self.clock.late_steps,
            "held": sorted(self._keys.held) if self._keys is not None else [],
            "capture_late": a.late,
            "capture_dropped": a.dropped,
        }

    # Gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Release the keys, run the reset procedure, restart the clock; return the first frame.

        ``options={"reset_keys": [...]}`` overrides the reset keys for this call.
        """
        super().reset(seed=seed)
        assert self._keys is not None, "the env is closed"
        self._keys.release_all()
        reset_keys = tuple((options or {}).get("reset_keys", self.reset_keys))
        before = self._thumb(bgra_to_rgb(self.capture.grab_bgra()))
        for key in reset_keys:
            self._keys.tap(key)
        if reset_keys:
            self._wait_change(before)
        elif self._episode_over and self.game_over is not None:
            self._wait_game_over_ends()
        if self.capture_fps is not None and not self.async_capture.running:
            self.async_capture.start()
        self.clock.start()
        ts, _, obs = self._grab()
        assert self._native is not None
        if self.game_over is not None:
            if hasattr(self.game_over, "reset"):
                self.game_over.reset(self._native, ts)
            if self.game_over(self._native, ts):
                warnings.warn(
                    "reset: the screen still shows game over after the reset keys "
                    f"{list(reset_keys)}; check reset_keys and that the window has the focus.",
                    stacklevel=2,
                )
        if hasattr(self.reward_fn, "reset"):
            self.reward_fn.reset(self._native)
        self._episode_over = False
        self._t0 = ts
        now = time.monotonic()
        info = self._info(now, 0.0, 0.0)
        info["episode_s"] = 0.0
        return obs, info

    @staticmethod
    def _thumb(frame: np.ndarray) -> np.ndarray:
        return cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (48, 48), cv2.INTER_AREA)

    def _wait_game_over_ends(self) -> bool:
        """Wait until a game that restarts by itself shows its next game (no reset keys)."""
        assert self.game_over is not None
        deadline = time.monotonic() + self.reset_timeout_s
        while True:
            frame, t = bgra_to_rgb(self.capture.grab_bgra()), time.monotonic()
            if not self.game_over(frame, t):
                return True
            if t >= deadline:
                warnings.warn(
                    f"reset: the game still shows game over {self.reset_timeout_s:g} s after "
                    "the last episode ended and no reset_keys are set; if the game needs a key "
                    "to start the next one, pass reset_keys (bc-gym play --reset-keys space)",
                    stacklevel=3,
                )
                return False
            time.sleep(0.01)

    def _wait_change(self, before: np.ndarray, threshold: int = 8) -> bool:
        deadline = time.monotonic() + self.reset_timeout_s
        while time.monotonic() < deadline:
            now = self._thumb(bgra_to_rgb(self.capture.grab_bgra()))
            if int(cv2.absdiff(now, before).max()) > threshold:
                return True
            time.sleep(0.01)
        return False

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Send the action's keys now, wait for the next tick, return the fresh frame."""
        if self._last is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(f"action must be in {self.action_space}, actual value: {action!r}")
        assert self._keys is not None, "the env is closed"
        t_act = time.monotonic()
        act_delay = t_act - self._last[0]
        try:
            self._keys.hold(self._to_keys(action))
            _, overrun = self.clock.wait()
            ts, _, obs = self._grab()
        except BaseException:
            self._keys.release_all()
            raise
        assert self._native is not None
        terminated = bool(self.game_over(self._native, ts)) if self.game_over else False
        ended_at = ts
        if terminated:
            self._keys.release_all()  # never leave keys held on a game-over screen
            self._episode_over = True
            onset = getattr(self.game_over, "pending_since", None)
            ended_at = onset if onset is not None and onset >= self._t0 else ts
        info = self._info(time.monotonic(), overrun, act_delay)
        info["episode_s"] = ended_at - self._t0
        info["terminated"] = terminated
        reward = float(self.reward_fn(self._native, info))
        del info["terminated"]
        info["obs_age"] = time.monotonic() - ts
        return obs, reward, terminated, False, info

    def render(self) -> np.ndarray | None:
        """The last native RGB frame (``rgb_array`` mode)."""
        if self.render_mode == "rgb_array":
            if self._native is None:
                return bgra_to_rgb(self.capture.grab_bgra())
            return self._native.copy()
        return None

    def close(self) -> None:
        """Release every key, stop the capture thread, close the X connections (idempotent)."""
        if getattr(self, "_keys", None) is not None:
            self._keys.close()
            self._keys = None
        if getattr(self, "_async", None) is not None:
            self._async.stop()
            self._async = None
        if getattr(self, "_capture", None) is not None:
            self._capture.close()
            self._capture = None
