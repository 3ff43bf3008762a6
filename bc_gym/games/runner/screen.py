"""Read the Runner scene from the page's pixels, and play the page with real key events.

The page draws flat colours at integer pixels (see :mod:`bc_gym.games.runner.render`), so a
grab of its window is read exactly: the runner is the blue box, obstacles the green and red
boxes, and the score the five dark-grey digits at the top right. The scroll speed is not drawn,
but it is a known function of the distance run, which the score gives to within 10 px.

:func:`run_autopilot` is the loop behind ``bc-gym game runner --autopilot``: grab the window,
read the scene, ask :class:`~bc_gym.games.runner.expert.ScriptedExpert` for keys, hold them
through :class:`~bc_gym.screen.keys.KeyController` (real X key events).
"""

from __future__ import annotations

import threading
import time

import numpy as np

from bc_gym.games.runner.expert import Box, Scene, ScriptedExpert
from bc_gym.games.runner.game import RULES
from bc_gym.games.runner.render import COLORS, GLYPH_MASKS, LAYOUT, text_width

_DIGITS = "0123456789"
# Cumulative distance (cpx) after n steps, up to a long game: the speed is SPEED0 + ACCEL*n.
_SPEEDS = np.minimum(RULES["SPEED0"] + RULES["ACCEL"] * np.arange(200_000), RULES["SPEED_MAX"])
_DISTANCE = np.concatenate([[0], np.cumsum(_SPEEDS)])


def speed_at_score(score: int) -> float:
    """Scroll speed (px per step) of a game whose on-screen score is ``score``."""
    n = int(np.searchsorted(_DISTANCE, score * RULES["SCORE_UNIT"], side="left"))
    return float(_SPEEDS[min(n, len(_SPEEDS) - 1)]) / 100


class SceneReader:
    """Find the canvas in a grab, then the runner, the obstacles and the score in it.

    Args:
        tolerance: how far (per RGB channel) a pixel may be from a palette colour.

    Example:
        >>> from bc_gym.games.runner import RunnerGame, render
        >>> scene = SceneReader().read(render(RunnerGame(seed=0)))
        >>> scene.elevation, scene.speed, scene.obstacles
        (0.0, 8.0, [])
    """

    def __init__(self, tolerance: int = 24) -> None:
        self.tolerance = int(tolerance)
        self.origin: tuple[int, int] | None = None
        """``(top, left)`` of the canvas in the grabs, once found."""
        self._rgb = {name: np.array(c, np.int16) for name, c in COLORS.items()}

    def _mask(self, img: np.ndarray, name: str) -> np.ndarray:
        return (np.abs(img.astype(np.int16) - self._rgb[name]) <= self.tolerance).all(-1)

    def locate(self, frame: np.ndarray) -> tuple[int, int] | None:
        """``(top, left)`` of the canvas in ``frame``: found from the full-width ground line."""
        ground = self._mask(frame, "ground")
        rows = np.flatnonzero(ground.sum(1) >= 0.9 * RULES["WIDTH"])
        if len(rows) == 0:
            return None
        row = int(rows[-1])
        left = int(np.argmax(ground[row]))
        top = row - RULES["GROUND_Y"]
        if top < 0 or top + RULES["HEIGHT"] > frame.shape[0]:
            return None
        return top, left

    def read_score(self, canvas: np.ndarray) -> int | None:
        """The score drawn at the top right of a canvas-sized frame (``None``: unreadable)."""
        k, row = LAYOUT["FONT_SCALE"], LAYOUT["SCORE_ROW"]
        col = RULES["WIDTH"] - 8 - text_width("00000")
        ink = self._mask(canvas[row : row + 5 * k], "ground")
        value = 0
        for i in range(5):
            c0 = col + 4 * k * i
            glyph = ink[:, c0 : c0 + 3 * k]
            match = [d for d in _DIGITS if np.array_equal(glyph, GLYPH_MASKS[d])]
            if len(match) != 1:
                return None
            value = 10 * value + int(match[0])
        return value

    def read(self, frame: np.ndarray) -> Scene | None:
        """The scene in a grab (RGB ``(H, W, 3)``), or ``None`` when no canvas is found."""
        if self.origin is None:
            self.origin = self.locate(frame)
            if self.origin is None:
                return None
        top, left = self.origin
        canvas = frame[top : top + RULES["HEIGHT"], left : left + RULES["WIDTH"]]
        if canvas.shape[:2] != (RULES["HEIGHT"], RULES["WIDTH"]):
            self.origin = None
            return None
        gy = RULES["GROUND_Y"]
        sky = canvas[:gy]
        runner = self._mask(sky, "runner")
        rows = np.flatnonzero(runner.any(1))
        elevation = float(gy - 1 - rows[-1]) if len(rows) else 0.0
        solid = self._mask(sky, "cactus") | self._mask(sky, "bird")
        boxes = []
        cols = solid.any(0)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], cols.astype(np.int8), [0]])))
        for x0, x1 in zip(edges[::2], edges[1::2], strict=True):
            r = np.flatnonzero(solid[:, x0:x1].any(1))
            boxes.append(Box(float(x0), float(x1 - x0), float(gy - 1 - r[-1]),
                             float(r[-1] + 1 - r[0])))  # fmt: skip
        score = self.read_score(canvas)
        speed = speed_at_score(score) if score is not None else RULES["SPEED0"] / 100
        return Scene(elevation, speed, boxes)


def run_autopilot(
    window,
    expert: ScriptedExpert | None = None,
    *,
    seconds: float | None = None,
    rate_hz: float = 60.0,
    stop: threading.Event | None = None,
) -> int:
    """Play the page in ``window`` with the expert, through real key events, until stopped.

    Args:
        window: the page's :class:`~bc_gym.screen.windows.WindowInfo` (e.g. ``page.window``).
        expert: the player; default ``ScriptedExpert()`` (on time: it still scores like the
            2-steps-early expert through the window, and its recordings clone better,
            ``benchmarks/runner_lead.py``).
        seconds: stop after this long; ``None`` runs until ``stop`` is set.
        rate_hz: grabs (and key decisions) per second.
        stop: an event that ends the loop when set.

    Returns:
        The number of loop iterations (grabs).
    """
    from bc_gym.screen.capture import ScreenCapture
    from bc_gym.screen.keys import KeyController

    expert = expert or ScriptedExpert()
    reader = SceneReader()
    period = 1.0 / rate_hz
    end = None if seconds is None else time.monotonic() + seconds
    n = 0
    with (
        ScreenCapture(region=window.region) as cap,
        KeyController(["up", "down"], window=window, focus="focus") as keys,
    ):
        next_tick = time.monotonic()
        while not (stop is not None and stop.is_set()) and (end is None or next_tick < end):
            scene = reader.read(cap.grab())
            keys.hold(expert.keys(scene) if scene is not None else ())
            n += 1
            next_tick += period
            delay = next_tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_tick = time.monotonic()
    return n
