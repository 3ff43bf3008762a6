"""``bc-gym find-region``: windows and geometry, screenshots, the printed region, errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from bc_gym.record.region import pick_region
from bc_gym.screen.capture import ScreenCapture

pytestmark = pytest.mark.x11


def _run(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("bc-gym")
    cmd = [str(exe) if exe.exists() else "bc-gym", "find-region", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_lists_windows_saves_pngs_and_prints_the_region(highway_window, tmp_path):
    win = highway_window.window
    r = _run()
    assert r.returncode == 0, r.stderr
    assert "Screen 1280x800." in r.stdout
    assert f"{win.left:5d},{win.top:5d},  480,  480  bc-gym HighwayRacer" in r.stdout

    r = _run("--title", "highwayracer", "--png", str(tmp_path / "shot"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == f"--region {win.left},{win.top},480,480"
    crop = cv2.imread(str(tmp_path / "shot.png"))
    screen = cv2.imread(str(tmp_path / "shot-screen.png"))
    assert crop.shape == (480, 480, 3) and screen.shape == (800, 1280, 3)
    with ScreenCapture(win.region) as cap:  # the saved region is the window's pixels
        live = cv2.cvtColor(cap.grab(), cv2.COLOR_RGB2BGR)
    assert np.mean(np.abs(crop.astype(int) - live)) < 20  # the road scrolls between grabs
    assert tuple(screen[win.top, win.left + 100]) == (0, 0, 255)  # red outline (BGR)
    assert tuple(screen[win.top + 240, win.left + 479]) == (0, 0, 255)


def test_errors(xvfb, tmp_path):
    r = _run("--title", "Highway Racer")
    assert r.returncode == 2
    assert "error: No visible window with title containing 'Highway Racer'." in r.stderr
    r = _run("--region", "1000,600,640,480", "--png", str(tmp_path / "x"))
    assert r.returncode == 2
    assert re.search(r"region \(1000, 600, 640, 480\) .* is not inside the screen", r.stderr)
    assert not (tmp_path / "x.png").exists()


def test_pick_two_corners_with_the_real_pointer(xvfb):
    corners = iter([(100, 50), (739, 529)])

    def move_then_enter(prompt: str) -> None:  # the user moves the mouse, then presses Enter
        x, y = next(corners)
        subprocess.run(["xdotool", "mousemove", "--sync", str(x), str(y)], check=True)

    assert pick_region(move_then_enter) == (100, 50, 640, 480)


def test_save_game_over_grabs_a_reference_after_a_countdown(highway_window_factory, tmp_path):
    """A 15-tick game shows GAME OVER after 0.5 s; the grab comes 1.5 s after the start."""
    from bc_gym.envs.detectors import TemplateDetector
    from bc_gym.envs.highway import game_over_detector

    game = highway_window_factory("--traffic-density", "0", "--max-steps", "15", "--seed", "3")
    path = tmp_path / "ref" / "game-over.png"
    r = _run("--title", "HighwayRacer", "--png", str(tmp_path / "shot"), "--save-game-over",
             str(path), "--delay", "1.5")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "grabbing the game-over image in 2 s..." in r.stderr
    assert "grabbing the game-over image in 1 s..." in r.stderr
    assert r.stdout.splitlines()[-1] == f"Saved {path} (the game-over reference): pass " \
        f"--game-over-image {path}"  # fmt: skip
    ref = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    assert ref.shape == (480, 480, 3)  # the window at its native size
    assert game_over_detector()(ref, 0.0)  # it shows the GAME OVER banner
    # It works as --game-over-image: it matches the live game-over screen of this window.
    with ScreenCapture(game.window.region) as cap:
        assert TemplateDetector(path, box=(0.35, 0, 0.65, 1), tol=5)(cap.grab(), 0.0)


def test_save_game_over_errors(xvfb, tmp_path):
    r = _run("--save-game-over", str(tmp_path / "x.png"))
    assert r.returncode == 2
    assert "error: --save-game-over PNG needs the game: give --title TEXT" in r.stderr
    r = _run("--title", "x", "--save-game-over", str(tmp_path / "x.txt"))
    assert r.returncode == 2 and "must end in .png (or .jpg)" in r.stderr
    r = _run("--title", "x", "--pick")
    assert r.returncode == 2 and "give at most one of --title, --region, --pick" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
