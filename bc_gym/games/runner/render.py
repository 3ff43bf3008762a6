"""Draw a Runner state into a 150x600 RGB uint8 frame with numpy, as the page's canvas does.

Every shape is an axis-aligned rectangle at integer pixels in one flat colour, so the page
(``runner.js``, ``fillRect``) and this function give the same pixels, and a screen reader can
find each thing by its colour (:data:`COLORS`): the runner is blue, ground obstacles green,
birds red, the ground line and the text dark grey, the scrolling ground dust light grey.

Layout: ground line at row ``GROUND_Y``; dust dashes two rows below it, scrolling with the
distance; the runner at column ``PLAYER_X``; the score (five digits) at the top right (3x5
pixel font at scale 2); ``GAME OVER`` in the middle after a crash. The best score is not drawn
(the page puts it in its title), so a game's frames depend on its seed and keys alone.
"""

from __future__ import annotations

import numpy as np

from bc_gym.games.runner.game import KINDS, RULES, RunnerGame

COLORS: dict[str, list[int]] = {
    "background": [247, 247, 247],
    "ground": [83, 83, 83],  # ground line and text
    "dust": [190, 190, 190],
    "runner": [40, 70, 170],
    "cactus": [30, 140, 60],
    "bird": [200, 60, 40],
}
LAYOUT: dict[str, int] = {
    "DUST_PERIOD": 24,  # dust dashes: one every 24 px...
    "DUST_LEN": 3,  # ...3 px long...
    "DUST_ROW": 3,  # ...this many rows below the ground line
    "FONT_SCALE": 2,  # each font pixel is 2x2 screen pixels
    "SCORE_ROW": 6,  # top row of the score (right-aligned, 8 px from the right edge)
    "GAME_OVER_ROW": 50,  # top row of GAME OVER (centred)
}
FONT_SCALE = LAYOUT["FONT_SCALE"]

# A 3x5 pixel font (rows of 3 bits), just the glyphs the game writes.
GLYPHS: dict[str, str] = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111",
    "3": "111001111001111", "4": "101101111001001", "5": "111100111001111",
    "6": "111100111101111", "7": "111001001001001", "8": "111101111101111",
    "9": "111101111001111", "A": "010101111101101", "E": "111100110100111",
    "G": "111100101101111", "M": "101111111101101", "O": "111101101101111",
    "R": "110101110101101", "V": "101101101101010", " ": "000000000000000",
}  # fmt: skip
GLYPH_MASKS = {  # each glyph as a boolean mask at the font scale
    ch: np.kron(
        np.array([int(b) for b in bits], bool).reshape(5, 3),
        np.ones((FONT_SCALE, FONT_SCALE), bool),
    )
    for ch, bits in GLYPHS.items()
}
_RGB = {name: np.array(c, np.uint8) for name, c in COLORS.items()}


def score_text(score: int) -> str:
    """The score as drawn: five digits, capped at 99999 (``"00123"``)."""
    return f"{min(score, 99999):05d}"


def text_width(text: str) -> int:
    """Width in px of ``text`` at the game's font scale."""
    return (4 * len(text) - 1) * FONT_SCALE


def draw_text(frame: np.ndarray, text: str, row: int, col: int, color: np.ndarray) -> None:
    """Write ``text`` with the 3x5 font at scale 2, top-left at ``(row, col)``, in place."""
    for i, ch in enumerate(text):
        mask = GLYPH_MASKS[ch]
        c0 = col + i * 4 * FONT_SCALE
        frame[row : row + mask.shape[0], c0 : c0 + mask.shape[1]][mask] = color


def _background() -> np.ndarray:
    frame = np.empty((RULES["HEIGHT"], RULES["WIDTH"], 3), np.uint8)
    frame[...] = _RGB["background"]
    frame[RULES["GROUND_Y"]] = _RGB["ground"]
    return frame


_BACKGROUND = _background()
_COLUMNS = np.arange(RULES["WIDTH"])


def _rect(frame: np.ndarray, top: int, left: int, h: int, w: int, color: np.ndarray) -> None:
    frame[max(top, 0) : max(top + h, 0), max(left, 0) : max(left + w, 0)] = color


def render(game: RunnerGame) -> np.ndarray:
    """Return the current frame, ``(HEIGHT, WIDTH, 3) = (150, 600, 3)`` uint8."""
    r, s = RULES, game.state
    gy = r["GROUND_Y"]
    frame = _BACKGROUND.copy()
    dust = (_COLUMNS + s.distance // 100) % LAYOUT["DUST_PERIOD"] < LAYOUT["DUST_LEN"]
    frame[gy + LAYOUT["DUST_ROW"], dust] = _RGB["dust"]
    for o in s.obstacles:
        k = KINDS[o.kind]
        h, lift = int(k["h"]), int(k["lift"])
        color = _RGB["bird"] if lift > 0 else _RGB["cactus"]
        _rect(frame, gy - lift - h, o.x // 100, h, int(k["w"]), color)
    _rect(frame, gy - s.y // 100 - s.height, r["PLAYER_X"], s.height, r["PLAYER_W"], _RGB["runner"])
    text = score_text(s.score)
    draw_text(frame, text, LAYOUT["SCORE_ROW"], r["WIDTH"] - 8 - text_width(text), _RGB["ground"])
    if s.crashed:
        col = (r["WIDTH"] - text_width("GAME OVER")) // 2
        draw_text(frame, "GAME OVER", LAYOUT["GAME_OVER_ROW"], col, _RGB["ground"])
    return frame
