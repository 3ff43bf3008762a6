"""Waiting for a window: found, timed out, or its process died first (a real X server)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from bc_gym.errors import WindowNotFound
from bc_gym.screen.windows import wait_for_window


@pytest.mark.x11
def test_wait_for_window_finds_a_window_that_appears_later(xvfb):
    code = (
        "import os, time; os.environ['SDL_AUDIODRIVER'] = 'dummy'; import pygame; "
        "time.sleep(0.5); pygame.display.init(); pygame.display.set_caption('late window'); "
        "pygame.display.set_mode((64, 32)); pygame.display.flip(); time.sleep(30)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        win = wait_for_window("late window", 20, proc)
        assert win.title == "late window" and (win.width, win.height) == (64, 32)
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.x11
def test_wait_for_window_gives_up_on_timeout(xvfb):
    t0 = time.monotonic()
    with pytest.raises(WindowNotFound, match=r"the 'no such title' window did not appear within "
                       r"1 s \(timeout\)"):  # fmt: skip
        wait_for_window("no such title", 1.0)
    assert time.monotonic() - t0 < 10


@pytest.mark.x11
def test_wait_for_window_stops_when_the_process_exits(xvfb):
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(WindowNotFound, match=r"my game did not appear .*exited with code 3"):
        wait_for_window("no such title", 60, proc, what="my game")
