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
