"""Fixtures shared by all tests."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import time
from collections.abc import Iterator

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


def _start_highway(args: list[str]):
    """Start ``bc-gym game highway ARGS`` and wait for its window (a WindowProcess)."""
    from bc_gym.errors import WindowNotFound
    from bc_gym.games.highway.launch import WindowProcess

    class _Fail(WindowProcess):
        def start(self) -> WindowProcess:
            try:
                return super().start()
            except WindowNotFound as exc:
                pytest.fail(str(exc))

    return _Fail(args)


@pytest.fixture
def highway_window(xvfb):
    """The HighwayRacer window (empty road, seed 1) on the test's Xvfb.

    Yields a started ``WindowProcess``: ``.window`` (``WindowInfo``: id, title, geometry) and
    ``.proc``.
    """
    with _start_highway(["--traffic-density", "0", "--seed", "1"]) as win:
        yield win


@pytest.fixture
def highway_window_factory(xvfb):
    """Call with extra ``bc-gym game highway`` options; windows are closed at teardown."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        yield lambda *args: stack.enter_context(_start_highway(list(args)))


@pytest.fixture
def chromium_page(xvfb, tmp_path):
    """bc_gym/web/canvas_racer.html served on 127.0.0.1, open in Chromium ``--app`` mode.

    Yields an object with ``.window`` (``WindowInfo``), ``.proc`` and ``.url``.
    """
    import functools
    import os
    import signal
    import threading
    from importlib.resources import files
    from types import SimpleNamespace

    from bc_gym.errors import WindowNotFound
    from bc_gym.screen.windows import wait_for_window

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium is not installed (apt-get install chromium)")
    web = str(files("bc_gym") / "web")
    handler = functools.partial(_QuietHandler, directory=web)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/canvas_racer.html"
    proc = subprocess.Popen(
        [exe, "--test-type", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-gpu", "--no-sandbox",
         f"--user-data-dir={tmp_path / 'chromium'}", "--window-position=0,0",
         "--window-size=320,240", f"--app={url}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        try:
            win = wait_for_window("bc-gym Canvas Racer", 40, proc, poll_s=0.1)
        except WindowNotFound as e:
            pytest.fail(str(e))
        time.sleep(1.0)  # first paint
        yield SimpleNamespace(window=win, proc=proc, url=url)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest output clean
        pass
