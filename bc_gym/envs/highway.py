"""HighwayRacer's window as a ``ScreenEnv``: its game-over detector and its on-screen score.

``ScreenEnv(game="highway")`` uses these, so live returns are in the headless env's units
(tens of native pixels travelled, the number drawn at the frame's top left).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bc_gym.actions import HIGHWAY_ACTIONS
from bc_gym.envs.detectors import TemplateDetector
from bc_gym.games.highway.game import FRAME, GameConfig, HighwayGame
from bc_gym.games.highway.render import _GLYPHS, render
from bc_gym.games.highway.window import TITLE

# The "GAME OVER" banner rows of the native frame (render.py draws it at rows 34:62).
BANNER_BOX = (34 / FRAME, 0.0, 62 / FRAME, 1.0)
_DIGITS = {
    np.array([int(b) for b in _GLYPHS[d]], dtype=bool).reshape(5, 3).tobytes(): int(d)
    for d in "0123456789"
}


def game_over_detector(tol: float = 20.0) -> TemplateDetector:
    """A :class:`TemplateDetector` of the GAME OVER banner, from the game's own renderer."""
    game = HighwayGame(GameConfig(traffic_density=0), seed=0)
    game.state.crashed, game.state.crash_reason = True, "collision"
    return TemplateDetector(render(game), box=BANNER_BOX, tol=tol)


def read_score(frame: np.ndarray) -> int | None:
    """The 4-digit score drawn at the top left of a HighwayRacer frame (any integer scale).

    Samples the centre of each native pixel of the 3x5 glyphs (rows 1-5, columns 0-14) and
    matches them against the game's font. Returns ``None`` when a digit is unreadable.
    """
    s = frame.shape[1] / FRAME
    rows = ((np.arange(1, 6) + 0.5) * s).astype(int)
    cols = ((np.arange(0, 15) + 0.5) * s).astype(int)
    px = frame[np.ix_(rows, cols)].astype(np.int16)  # (5, 15, 3)
    r, g, b = px[..., 0], px[..., 1], px[..., 2]
    # Text is light grey (235, or 117 dimmed by the GAME OVER screen); grass is green.
    on = (r > 90) & (np.abs(r - g) < 25) & (np.abs(r - b) < 25)
    score = 0
    for i in range(4):
        digit = _DIGITS.get(np.ascontiguousarray(on[:, 4 * i : 4 * i + 3]).tobytes())
        if digit is None:
            return None
        score = score * 10 + digit
    return score


class ScoreReward:
    """Reward = increase of the on-screen score since the last step (headless env's units)."""

    def __init__(self) -> None:
        self.score = 0

    def reset(self, frame: np.ndarray) -> None:
        """Read the starting score."""
        self.score = read_score(frame) or 0

    def __call__(self, frame: np.ndarray, info: dict[str, Any]) -> float:
        """Score gained in this step (0 when unreadable)."""
        score = read_score(frame)
        info["score"] = score
        if score is None:
            return 0.0
        gained, self.score = max(score - self.score, 0), score
        return float(gained)


def preset() -> dict[str, Any]:
    """``ScreenEnv`` keyword defaults for the HighwayRacer window (``game="highway"``)."""
    return {
        "title": TITLE,
        "actions": HIGHWAY_ACTIONS,
        "reset_keys": ("space",),
        "game_over": game_over_detector(),
        "reward": ScoreReward(),
    }
