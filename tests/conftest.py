"""Fixtures shared by all tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


@pytest.fixture
def xvfb() -> Iterator[object]:
    """A private Xvfb (1280x800) with ``DISPLAY`` set for the test; stopped afterwards."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed: run scripts/setup (apt-get install xvfb)")
    from bc_gym.screen.xvfb import Xvfb

    with Xvfb(1280, 800) as server:
        yield server


def _bc_gym_exe() -> str:
    exe = Path(sys.executable).with_name("bc-gym")
    return str(exe) if exe.exists() else "bc-gym"


@pytest.fixture
def highway_window(xvfb):
    """The HighwayRacer window (empty road, seed 1) on the test's Xvfb.

    Yields an object with ``.window`` (a ``WindowInfo``: id, title, geometry) and ``.proc``.
    """
    with _start_highway(["--traffic-density", "0", "--seed", "1"]) as win:
        yield win


@pytest.fixture
def highway_window_factory(xvfb):
    """Call with extra ``bc-gym game highway`` options; windows are closed at teardown."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        yield lambda *args: stack.enter_context(_start_highway(list(args)))


class _start_highway:
    """Context manager: start ``bc-gym game highway ARGS``, wait for its window, stop it."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        from bc_gym.errors import WindowNotFound
        from bc_gym.screen.windows import find_window

        self.proc = subprocess.Popen([_bc_gym_exe(), "game", "highway", *self.args])
        deadline = time.monotonic() + 20
        while True:
            try:
                win = find_window("bc-gym HighwayRacer")
                break
            except WindowNotFound:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    pytest.fail("the HighwayRacer window did not appear within 20 s")
                time.sleep(0.05)
        time.sleep(0.2)  # let it draw its first frames
        self.window = win
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
