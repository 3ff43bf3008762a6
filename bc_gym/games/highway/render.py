"""Draw a HighwayRacer state into a 96x96 RGB uint8 frame with numpy (no pygame).

Layout: grass shoulders, grey road with white edge lines and dashed lane markings that scroll
with the distance travelled, traffic cars (coloured, dark windscreen at the front), the player's
red car, a speed bar on the right shoulder, the score (in tens of px) at the top left, and a
"GAME OVER / SPACE" banner after a crash.
"""

from __future__ import annotations

import numpy as np

from bc_gym.games.highway.game import CAR_H, CAR_W, FRAME, LANE_W, PLAYER_SY, HighwayGame

GRASS = (40, 120, 40)
ROAD = (80, 80, 80)
LINE = (235, 235, 235)
PLAYER = (220, 30, 30)
WINDSCREEN = (30, 30, 50)
SPEED = (250, 210, 40)
BANNER = (150, 0, 0)
TRAFFIC = np.array(
    [
        (40, 90, 230),
        (240, 240, 60),
        (40, 210, 220),
        (170, 70, 200),
        (250, 140, 20),
        (250, 250, 250),
    ],
    dtype=np.uint8,
)
DASH = 12  # lane-marking period, px (6 on, 6 off)

# A 3x5 pixel font, just the glyphs the game writes.
_GLYPHS = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111",
    "3": "111001111001111", "4": "101101111001001", "5": "111100111001111",
    "6": "111100111101111", "7": "111001001001001", "8": "111101111101111",
    "9": "111101111001111", "A": "010101111101101", "C": "111100100100111",
    "E": "111100110100111", "G": "111100101101111", "M": "101111111101101",
    "O": "111101101101111", "P": "111101111100100", "R": "110101110101101",
    "S": "111100111001111", "V": "101101101101010", " ": "000000000000000",
}  # fmt: skip
_FONT = {
    ch: np.array([int(b) for b in bits], dtype=bool).reshape(5, 3) for ch, bits in _GLYPHS.items()
}


def draw_text(frame: np.ndarray, text: str, row: int, col: int, color, scale: int = 1) -> None:
    """Write ``text`` with the 3x5 font, top-left at (row, col), in place."""
    for i, ch in enumerate(text):
        glyph = _FONT[ch]
        if scale > 1:
            glyph = np.kron(glyph, np.ones((scale, scale), dtype=bool))
        r0, c0 = row, col + i * 4 * scale
        h, w = glyph.shape
        sub = frame[r0 : r0 + h, c0 : c0 + w]
        sub[glyph[: sub.shape[0], : sub.shape[1]]] = color


def _rect(frame: np.ndarray, cy: float, cx: float, h: int, w: int, color) -> tuple[int, int]:
    r0 = int(round(cy - h / 2))
    c0 = int(round(cx - w / 2))
    frame[max(r0, 0) : max(r0 + h, 0), max(c0, 0) : max(c0 + w, 0)] = color
    return r0, c0


def _car(frame: np.ndarray, cy: float, cx: float, color) -> None:
    r0, c0 = _rect(frame, cy, cx, CAR_H, CAR_W, color)
    ws = frame[max(r0 + 3, 0) : max(r0 + 6, 0), max(c0 + 2, 0) : max(c0 + CAR_W - 2, 0)]
    ws[...] = WINDSCREEN


def render(game: HighwayGame) -> np.ndarray:
    """Return the current frame, ``(96, 96, 3)`` uint8."""
    c, s = game.config, game.state
    frame = np.empty((FRAME, FRAME, 3), dtype=np.uint8)
    frame[...] = GRASS
    x0, x1 = c.road_x0, c.road_x0 + c.road_w
    frame[:, x0:x1] = ROAD
    frame[:, x0] = LINE
    frame[:, x1 - 1] = LINE
    # Dashed lane markings: row r shows world distance s.distance + (PLAYER_SY - r).
    world = np.floor(s.distance + PLAYER_SY - np.arange(FRAME)).astype(np.int64)
    dash_rows = (world % DASH) < DASH // 2
    for lane in range(1, c.lanes):
        frame[dash_rows, x0 + lane * LANE_W] = LINE
    for car in s.cars:
        cy = PLAYER_SY - (car.y - s.distance)
        if -CAR_H < cy < FRAME + CAR_H:
            _car(frame, cy, x0 + (car.lane + 0.5) * LANE_W, TRAFFIC[car.color])
    _car(frame, PLAYER_SY, x0 + s.x, PLAYER)
    # Speed bar on the right shoulder, score at the top left.
    bar = int(round((FRAME - 8) * s.v / c.v_max))
    frame[FRAME - 4 - bar : FRAME - 4, x1 + 5 : x1 + 9] = SPEED
    draw_text(frame, f"{min(int(s.distance // 10), 9999):4d}".replace(" ", "0"), 1, 0, LINE)
    if s.crashed:
        frame //= 2
        frame[34:62] = BANNER
        draw_text(frame, "GAME", 36, 32, LINE, scale=2)
        draw_text(frame, "OVER", 49, 32, LINE, scale=2)
        draw_text(frame, "SPACE", 88, 38, LINE)
    return frame
