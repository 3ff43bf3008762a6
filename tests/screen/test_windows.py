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


@pytest.mark.x11
def test_a_window_that_retitles_itself_is_never_read_torn(xvfb):
    """A long title rewritten many times a second (the Runner page's score) reads whole."""
    from bc_gym.screen.windows import list_windows

    titles = ["retitling window | " + c * 60 for c in "ab"]
    code = (
        "import os, itertools; os.environ['SDL_AUDIODRIVER'] = 'dummy'; import pygame; "
        f"titles = {titles!r}; pygame.display.init(); pygame.display.set_caption(titles[0]); "
        "pygame.display.set_mode((64, 32)); pygame.display.flip()\n"
        "for t in itertools.cycle(titles): pygame.display.set_caption(t); pygame.event.pump()"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        wait_for_window("retitling window", 20, proc)
        seen = [w.title for _ in range(300) for w in list_windows()
                if w.title.startswith("retitling window")]  # fmt: skip
        assert len(seen) == 300
        assert set(seen) <= set(titles), sorted(set(seen) - set(titles))[:3]
        assert len(set(seen)) == 2  # the title did change while we read it
    finally:
        proc.kill()
        proc.wait()
