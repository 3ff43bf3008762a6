"""Runner game rules: a side-scroller where the timing of a jump or a duck decides survival.

The rules run twice, step for step: here and in the browser page ``bc_gym/web/runner.js``. To
give the same score for the same seed and keys in both, they use integer arithmetic only
(positions in hundredths of a pixel, "cpx") and one small integer PRNG (mulberry32) written
identically in both languages. The tunable constants live here, in :data:`RULES` and
:data:`KINDS`; the page reads them from ``bc_gym/web/runner.rules.js``, which
:func:`rules_js` generates (``python -m bc_gym.games.runner`` rewrites it; a test checks
that it is up to date).

Coordinates: ``x`` grows to the right (canvas columns), heights grow upwards from the ground
line. The runner stands at a fixed column; obstacles scroll from the right edge to the left.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bc_gym.actions import ActionMap

# Every rule constant, in cpx (1/100 px), steps, or px where the name says so.
RULES: dict[str, int] = {
    "WIDTH": 600,  # canvas width, px (not a multiple of 16, like many real games)
    "HEIGHT": 150,  # canvas height, px
    "FPS": 30,  # fixed steps per second
    "GROUND_Y": 130,  # canvas row of the ground line, px
    "PLAYER_X": 50,  # canvas column of the runner's left edge, px
    "PLAYER_W": 20,  # px
    "STAND_H": 40,  # runner height standing or jumping, px
    "DUCK_H": 22,  # runner height ducking, px
    "HIT_MARGIN": 200,  # the runner's hit box is this much smaller on each side, cpx
    "JUMP_V": 1200,  # upward speed when a jump starts, cpx/step
    "GRAVITY": 150,  # cpx/step^2
    "FAST_FALL": 3,  # gravity factor while "down" is held in the air
    "SPEED0": 800,  # scroll speed at the start, cpx/step (240 px/s)
    "ACCEL": 1,  # speed gained per step, cpx/step
    "SPEED_MAX": 1600,  # cpx/step (480 px/s)
    "FIRST_GAP": 10,  # steps before the first obstacle enters
    "GAP_MIN": 24,  # steps between two obstacles entering, at least...
    "GAP_RANGE": 30,  # ...plus a random 0..GAP_RANGE-1
    "SCORE_UNIT": 1000,  # one score point per this many cpx run (10 px)
    "RESTART_MS": 1500,  # the page: how long GAME OVER stays frozen before the next game
}

# Obstacle kinds: name, width and height in px, and lift (px between the ground and the
# obstacle's bottom). The PRNG picks an index of KIND_DRAW, so its repeats set the odds.
KINDS: list[dict[str, int | str]] = [
    {"name": "cactus", "w": 12, "h": 26, "lift": 0},
    {"name": "tall cactus", "w": 16, "h": 36, "lift": 0},
    {"name": "wide cactus", "w": 34, "h": 26, "lift": 0},
    {"name": "low bird", "w": 30, "h": 14, "lift": 24},  # duck under it
    {"name": "high bird", "w": 30, "h": 14, "lift": 44},  # passes over a runner who stays down
]
KIND_DRAW = [0, 0, 1, 1, 2, 3, 3, 4]

RUNNER_ACTIONS = ActionMap.single_keys(("up", "down"))
"""The runner's actions: ``noop``, ``up`` (jump), ``down`` (duck; fall faster in the air)."""

MASK32 = 0xFFFFFFFF


def _imul(a: int, b: int) -> int:
    """JavaScript's ``Math.imul`` on unsigned 32-bit values (low 32 bits of the product)."""
    return (a * b) & MASK32


class Mulberry32:
    """The mulberry32 PRNG (Tommy Ettinger), as in ``runner.js``: 32-bit state, uint32 out.

    Hand-written rather than numpy's generators because the browser page must draw the very
    same numbers, and mulberry32 is eight lines in either language.

    Example:
        >>> rng = Mulberry32(1)
        >>> [rng.next_u32() for _ in range(2)]
        [2693262067, 11749833]
    """

    def __init__(self, seed: int) -> None:
        self.state = int(seed) & MASK32

    def next_u32(self) -> int:
        """The next uint32."""
        self.state = (self.state + 0x6D2B79F5) & MASK32
        a = self.state
        t = _imul(a ^ (a >> 15), 1 | a)
        t = ((t + _imul(t ^ (t >> 7), 61 | t)) & MASK32) ^ t
        return (t ^ (t >> 14)) & MASK32

    def below(self, n: int) -> int:
        """An integer in ``[0, n)`` (``next_u32() % n``, the same in both languages)."""
        return self.next_u32() % n


@dataclass
class Obstacle:
    """An obstacle: kind index into :data:`KINDS` and left edge ``x`` in cpx."""

    kind: int
    x: int

    @property
    def name(self) -> str:
        """The kind's name (what ``info["crash"]`` reports)."""
        return str(KINDS[self.kind]["name"])


@dataclass
class RunnerState:
    """Everything that changes during a game (integers: cpx, cpx/step, steps)."""

    y: int = 0  # height of the runner's feet above the ground
    vy: int = 0  # upward speed
    ducking: bool = False
    speed: int = RULES["SPEED0"]
    distance: int = 0
    steps: int = 0
    timer: int = RULES["FIRST_GAP"]  # steps until the next obstacle enters
    obstacles: list[Obstacle] = field(default_factory=list)
    crashed: bool = False
    crash: str = ""  # the kind of obstacle hit

    @property
    def score(self) -> int:
        """The on-screen score: distance run in units of ``SCORE_UNIT``."""
        return self.distance // RULES["SCORE_UNIT"]

    @property
    def airborne(self) -> bool:
        """In the air (jumping or falling)."""
        return self.y > 0 or self.vy > 0

    @property
    def height(self) -> int:
        """The runner's height now, px."""
        return RULES["DUCK_H"] if self.ducking else RULES["STAND_H"]


class RunnerGame:
    """The rules. ``step(up, down)`` advances one fixed step of ``1 / FPS`` s.

    ``up`` on the ground starts a jump (holding it jumps again on landing); ``down`` on the
    ground ducks, and in the air falls faster. After a crash the game is frozen: ``step``
    returns 0 until :meth:`reset`.

    Example:
        >>> g = RunnerGame(seed=1)
        >>> gained = g.step(up=True)
        >>> g.state.airborne, g.state.crashed
        (True, False)
    """

    def __init__(self, seed: int = 0) -> None:
        self.reset(seed)

    def reset(self, seed: int = 0) -> None:
        """Start a new game with this seed (any int; its low 32 bits are used)."""
        self.seed = int(seed) & MASK32
        self.rng = Mulberry32(self.seed)
        self.state = RunnerState()

    def step(self, up: bool = False, down: bool = False) -> int:
        """Advance one step with these keys held; returns the score gained (0, 1 or 2)."""
        r, s = RULES, self.state
        if s.crashed:
            return 0
        before = s.score
        if not s.airborne:
            if up:
                s.vy = r["JUMP_V"]
            s.ducking = bool(down) and not up
        else:
            s.ducking = False
        if s.airborne:
            s.y += s.vy
            s.vy -= r["GRAVITY"] * (r["FAST_FALL"] if down else 1)
            if s.y <= 0:
                s.y, s.vy = 0, 0
        for o in s.obstacles:
            o.x -= s.speed
        s.obstacles = [o for o in s.obstacles if o.x + 100 * int(KINDS[o.kind]["w"]) > 0]
        s.timer -= 1
        if s.timer <= 0:
            kind = KIND_DRAW[self.rng.below(len(KIND_DRAW))]
            s.obstacles.append(Obstacle(kind, 100 * r["WIDTH"]))
            s.timer = r["GAP_MIN"] + self.rng.below(r["GAP_RANGE"])
        s.distance += s.speed
        s.speed = min(s.speed + r["ACCEL"], r["SPEED_MAX"])
        s.steps += 1
        hit = self.hit()
        if hit is not None:
            s.crashed, s.crash = True, hit.name
        return s.score - before

    def hit(self) -> Obstacle | None:
        """The obstacle the runner's hit box overlaps now, if any."""
        r, s = RULES, self.state
        m = r["HIT_MARGIN"]
        x0, x1 = 100 * r["PLAYER_X"] + m, 100 * (r["PLAYER_X"] + r["PLAYER_W"]) - m
        y0, y1 = s.y + m, s.y + 100 * s.height - m
        for o in s.obstacles:
            k = KINDS[o.kind]
            ox1 = o.x + 100 * int(k["w"])
            oy0 = 100 * int(k["lift"])
            oy1 = oy0 + 100 * int(k["h"])
            if o.x < x1 and x0 < ox1 and oy0 < y1 and y0 < oy1:
                return o
        return None


def rules_js() -> str:
    """The text of ``bc_gym/web/runner.rules.js``: the constants above, for the page."""
    from bc_gym.games.runner.render import COLORS, GLYPHS, LAYOUT

    data = {"rules": RULES, "kinds": KINDS, "kindDraw": KIND_DRAW, "colors": COLORS,
            "layout": LAYOUT, "glyphs": GLYPHS}  # fmt: skip
    return (
        "// Generated by `python -m bc_gym.games.runner` from bc_gym/games/runner/game.py\n"
        "// and render.py: edit those, not this file.\n"
        f"const RUNNER = {json.dumps(data, indent=1)};\n"
    )


RULES_JS_PATH = Path(__file__).resolve().parents[2] / "web" / "runner.rules.js"
"""Where the page's copy of the constants lives (``python -m bc_gym.games.runner`` rewrites it)."""
