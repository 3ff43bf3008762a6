"""Runner rules: deterministic integer physics, one PRNG, constants shared with the page."""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pytest

from bc_gym.games.runner import RULES, RunnerGame, render
from bc_gym.games.runner.game import KINDS, RULES_JS_PATH, Mulberry32, Obstacle, rules_js
from tests.utils import SEED


def play(seed: int, actions) -> list[tuple]:
    g = RunnerGame(seed)
    trace = []
    for a in actions:
        g.step(up=a == 1, down=a == 2)
        s = g.state
        trace.append((s.y, s.vy, s.ducking, s.speed, s.distance, s.crash,
                      [(o.kind, o.x) for o in s.obstacles]))  # fmt: skip
    return trace


def kind(name: str) -> int:
    return next(i for i, k in enumerate(KINDS) if k["name"] == name)


def test_mulberry32_matches_the_reference_values():
    # Computed with the published JavaScript mulberry32 (node), independently of this code.
    rng = Mulberry32(1)
    assert [rng.next_u32() for _ in range(3)] == [2693262067, 11749833, 2265367787]
    assert Mulberry32(2**32 + 1).next_u32() == 2693262067  # only the low 32 bits count


def test_same_seed_and_keys_give_the_same_game_and_other_seeds_differ():
    actions = np.random.default_rng(SEED).integers(3, size=400)
    assert play(SEED, actions) == play(SEED, actions)
    traces = {str(play(seed, actions[:150])) for seed in range(20)}
    assert len(traces) == 20


def test_state_is_integer_only():
    g = RunnerGame(SEED)
    for a in np.random.default_rng(SEED).integers(3, size=300):
        g.step(up=a == 1, down=a == 2)
        s = g.state
        assert all(type(v) is int for v in (s.y, s.vy, s.speed, s.distance, s.timer))
        assert all(type(o.x) is int for o in s.obstacles)


def test_jump_duck_and_fast_fall():
    g = RunnerGame(SEED)
    g.step(up=True)
    assert g.state.airborne and g.state.y == RULES["JUMP_V"]
    n = 1
    while g.state.airborne:
        g.step(up=False)
        n += 1
    assert n == 2 * RULES["JUMP_V"] // RULES["GRAVITY"] + 1  # 17 steps in the air
    g.step(down=True)
    assert g.state.ducking and g.state.height == RULES["DUCK_H"]
    g.step(up=True)
    assert not g.state.ducking
    fast = 1
    while g.state.airborne:
        g.step(down=True)
        fast += 1
    assert fast < n


@pytest.mark.parametrize(
    ("name", "keys", "survives"),
    [("low bird", {}, False), ("low bird", {"down": True}, True),
     ("tall cactus", {}, False), ("high bird", {}, True), ("high bird", {"up": True}, False)],
)  # fmt: skip
def test_obstacles_are_passed_only_the_right_way(name, keys, survives):
    g = RunnerGame(SEED)
    g.state.timer = 10**9  # no random obstacles
    g.state.obstacles = [Obstacle(kind(name), 100 * (RULES["PLAYER_X"] + RULES["PLAYER_W"]) + 2000)]
    for _ in range(12):
        g.step(**keys)
    assert g.state.crashed is not survives
    assert g.state.crash == ("" if survives else name)


def test_score_is_distance_and_the_game_freezes_after_a_crash():
    g = RunnerGame(SEED)
    total = 0
    while not g.state.crashed:
        total += g.step()
    assert total == g.state.score == g.state.distance // RULES["SCORE_UNIT"] > 0
    before = (g.state.steps, g.state.distance)
    assert g.step(up=True) == 0 and (g.state.steps, g.state.distance) == before
    frame = render(g)
    assert frame.shape == (RULES["HEIGHT"], RULES["WIDTH"], 3) and frame.dtype == np.uint8
    assert RULES["WIDTH"] % 16 and RULES["HEIGHT"] % 16


def test_the_page_reads_the_same_constants():
    assert RULES_JS_PATH.read_text() == rules_js(), "run: python -m bc_gym.games.runner"
    installed = files("bc_gym") / "web"
    for name in ("runner.html", "runner.js", "runner.rules.js"):
        assert (installed / name).is_file()
    js = (installed / "runner.js").read_text()
    # The page's code reads every rule constant from RUNNER (runner.rules.js).
    for key in RULES:
        assert f"R.{key}" in js, key
