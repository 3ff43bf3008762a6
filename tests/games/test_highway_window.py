"""The real pygame window under Xvfb, driven by real X key events (xdotool -> XTEST)."""

import subprocess
import time

import numpy as np
import pytest

pytestmark = pytest.mark.x11


def _grab(win) -> np.ndarray:
    import mss

    with mss.MSS() as m:
        raw = np.array(m.grab({"left": win.left, "top": win.top, "width": win.width,
                               "height": win.height}))  # fmt: skip
    return raw[..., 2::-1]


def _car_x(frame: np.ndarray) -> float:
    red = (frame[..., 0] > 200) & (frame[..., 1] < 60) & (frame[..., 2] < 60)
    assert red.sum() > 100, "the red car is not on screen"
    return float(np.nonzero(red)[1].mean())


def _hold(key: str, seconds: float) -> None:
    subprocess.run(["xdotool", "keydown", key], check=True)
    time.sleep(seconds)
    subprocess.run(["xdotool", "keyup", key], check=True)
    time.sleep(0.1)


def test_window_title_size_and_real_keys_move_the_car(highway_window):
    win = highway_window.window
    assert win.title == "bc-gym HighwayRacer"
    assert (win.width, win.height) == (480, 480)
    subprocess.run(["xdotool", "windowfocus", "--sync", str(win.wid)], check=True)
    x0 = _car_x(_grab(win))
    _hold("Left", 0.15)
    x1 = _car_x(_grab(win))
    _hold("Right", 0.3)
    x2 = _car_x(_grab(win))
    assert x1 < x0 - 10
    assert x2 > x1 + 20


def test_window_shows_game_over_and_space_restarts(highway_window):
    win = highway_window.window
    subprocess.run(["xdotool", "windowfocus", "--sync", str(win.wid)], check=True)
    _hold("Left", 1.5)  # drive off the road
    frame = _grab(win)
    banner = frame[34 * 5 : 62 * 5, :40]
    assert (banner[..., 0] > 120).all() and (banner[..., 1] < 20).all(), "no GAME OVER banner"
    _hold("space", 0.05)
    time.sleep(0.2)
    frame = _grab(win)
    assert not ((frame[34 * 5 : 62 * 5, :40, 1] < 20).all()), "Space did not restart"
    _car_x(frame)


def test_autopilot_drives_through_real_key_events(xvfb, highway_window_factory, tmp_path):
    from bc_gym.screen.keys import KeyListener

    log = tmp_path / "games.jsonl"
    with KeyListener(["left", "right", "up", "down", "space"]) as listener:
        run = highway_window_factory("--autopilot", "--max-steps", "60", "--max-episodes", "2",
                                     "--log", str(log))  # fmt: skip
        run.proc.wait(timeout=60)
    import json

    games = [json.loads(line) for line in log.read_text().splitlines()]
    assert [g["steps"] for g in games] == [60, 60]
    assert all(g["crash"] == "" and g["return"] > 0 for g in games)
    keys_seen = {k for _, k, down in listener.events if down}
    assert "up" in keys_seen and "space" in keys_seen  # real X events, seen by another client
