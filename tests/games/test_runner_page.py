"""The Runner page in real Chromium: same rules as Python, real keys, freeze, autopilot."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bc_gym.games.runner import RunnerGame, ScriptedExpert, render
from bc_gym.games.runner.browser import RunnerPage, parse_title, simulate
from bc_gym.games.runner.screen import SceneReader
from tests.utils import SEED

pytestmark = pytest.mark.chromium


def python_game(seed: int, actions) -> RunnerGame:
    g = RunnerGame(seed)
    for a in actions:
        if g.state.crashed:
            break
        g.step(up=a == 1, down=a == 2)
    return g


def expert_actions(seed: int, noise: float, n: int) -> list[int]:
    g, expert, actions = RunnerGame(seed), ScriptedExpert(noise=noise, seed=seed), []
    while not g.state.crashed and len(actions) < n:
        actions.append(expert(g))
        g.step(up=actions[-1] == 1, down=actions[-1] == 2)
    return actions


@pytest.mark.parametrize(
    ("seed", "kind"), [(SEED, "random"), (0, "expert"), (2**32 - 1, "expert"), (7, "noop")]
)
def test_the_page_and_python_give_the_same_game(seed, kind):
    if kind == "random":
        actions = np.random.default_rng(seed).integers(3, size=300).tolist()
    elif kind == "expert":
        actions = expert_actions(seed, noise=0.01, n=1000)
    else:
        actions = [0] * 200
    page = simulate(seed, actions)
    g = python_game(seed, actions)
    s = g.state
    assert (page["steps"], page["score"], page["crash"]) == (s.steps, s.score, s.crash)
    assert (page["distance"], page["speed"], page["y"]) == (s.distance, s.speed, s.y)
    assert [(o["kind"], o["x"]) for o in page["obstacles"]] == [(o.kind, o.x) for o in s.obstacles]
    rng = RunnerGame(seed).rng
    assert page["rng"] == [rng.next_u32() for _ in range(3)]
    assert np.array_equal(page["frame"], render(g)), "the canvas differs from render()"
    if kind == "expert":
        assert s.steps >= 300 and s.score > 250


def _focus(page: RunnerPage) -> None:
    subprocess.run(["xdotool", "windowfocus", "--sync", str(page.window.wid)], check=True)


def _grab(page: RunnerPage) -> np.ndarray:
    from bc_gym.screen.capture import ScreenCapture

    with ScreenCapture(region=page.window.region) as cap:
        return cap.grab()


def _runner_box(frame: np.ndarray) -> tuple[int, int]:
    """(elevation, height) of the blue runner, px."""
    blue = (np.abs(frame.astype(int) - [40, 70, 170]) < 24).all(-1)[:130]
    rows = np.flatnonzero(blue.any(1))
    assert len(rows), "no runner on the canvas"
    return 129 - int(rows[-1]), int(rows[-1] - rows[0] + 1)


def _wait_title(page: RunnerPage, cond, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        st = page.status()
        if cond(st):
            return st, time.monotonic()
        time.sleep(0.02)
    pytest.fail(f"the title never satisfied the condition; it reads {page.current_title()!r}")


@pytest.mark.x11
def test_the_page_answers_real_keys_and_freezes_after_a_crash(xvfb):
    with RunnerPage(seed=SEED) as page:
        assert (page.window.width, page.window.height) == (600, 150)
        _focus(page)
        first = page.status()
        assert first.games == 0 and first.best == 0
        subprocess.run(["xdotool", "keydown", "Up"], check=True)
        time.sleep(0.2)
        elevation, _ = _runner_box(_grab(page))
        subprocess.run(["xdotool", "keyup", "Up"], check=True)
        assert elevation > 10, "Arrow Up did not make the runner jump"
        time.sleep(0.7)  # land
        subprocess.run(["xdotool", "keydown", "Down"], check=True)
        time.sleep(0.15)
        ducked = _runner_box(_grab(page))
        subprocess.run(["xdotool", "keyup", "Down"], check=True)
        assert ducked == (0, 22), "Arrow Down did not make the runner duck"
        assert page.status().score > first.score

        # Nobody jumps: the first obstacle ends the game; the picture freezes with GAME OVER.
        over, t_crash = _wait_title(page, lambda st: st.games == 1, 15)
        assert over.best == over.score > 0
        # The title turns before the last frame is painted; on a loaded machine that paint can
        # lag by a frame or two, well inside the ~1.5 s freeze.
        time.sleep(0.25)
        a = _grab(page)
        time.sleep(0.6)
        b = _grab(page)
        assert np.array_equal(a, b), "the picture moved during GAME OVER"
        assert (np.abs(a[50:60, 260:340].astype(int) - 83) < 24).all(-1).sum() > 50, "no text"
        assert page.status() == over
        # ...then the next game starts by itself, ~1.5 s after the crash.
        _, t_restart = _wait_title(page, lambda st: st.score < over.score, 5)
        assert 1.0 < t_restart - t_crash < 3.0
        assert SceneReader().read(_grab(page)) is not None

        # Space restarts at once.
        over2, t_crash = _wait_title(page, lambda st: st.games == 2, 15)
        subprocess.run(["xdotool", "key", "space"], check=True)
        _, t_restart = _wait_title(page, lambda st: st.score < over2.score, 5)
        assert t_restart - t_crash < 1.0


def _held(keysyms: list[str]) -> list[bool]:
    from Xlib import XK, display

    d = display.Display()
    try:
        km = d.query_keymap()
        codes = [d.keysym_to_keycode(XK.string_to_keysym(k)) for k in keysyms]
        return [bool(km[c // 8] >> (c % 8) & 1) for c in codes]
    finally:
        d.close()


@pytest.mark.x11
@pytest.mark.slow
def test_autopilot_survives_through_real_keys_and_stops_on_sigterm(xvfb):
    from bc_gym.errors import WindowNotFound
    from bc_gym.screen.windows import find_window

    cmd = [sys.executable, "-m", "bc_gym.cli", "game", "runner", "--autopilot", "--seed", "3"]
    proc = subprocess.Popen(cmd, cwd=Path.home())  # never the repo root (see README)
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                find_window("bc-gym Runner |")
                break
            except WindowNotFound:
                assert proc.poll() is None and time.monotonic() < deadline, "no Runner window"
                time.sleep(0.2)
        scores = []
        for _ in range(10):  # 20 s; a random player dies within ~4 s
            time.sleep(2)
            st = parse_title(find_window("bc-gym Runner |").title)
            assert st.games == 0, f"the autopilot crashed: {st}"
            scores.append(st.score)
        assert scores == sorted(scores) and scores[-1] > 400, scores
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) != 0
        time.sleep(0.5)
        with pytest.raises(WindowNotFound):
            find_window("bc-gym Runner")
        assert _held(["Up", "Down"]) == [False, False], "a key was left held"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
