"""Start the HighwayRacer window in its own process and wait until it is on screen."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from bc_gym.errors import WindowNotFound
from bc_gym.games.highway.window import TITLE
from bc_gym.screen.windows import WindowInfo, wait_for_window


class WindowProcess:
    """``bc-gym game highway ARGS`` as a child process; a context manager.

    Example:
        >>> with WindowProcess(["--seed", "3", "--start-paused"]) as game:  # doctest: +SKIP
        ...     print(game.window.region)
        (400, 160, 480, 480)

    Args:
        args: extra command-line options of ``bc-gym game highway``.
        timeout_s: how long to wait for the window to appear.

    Attributes:
        window: the window's :class:`~bc_gym.screen.windows.WindowInfo` once started.
        proc: the child process.
    """

    def __init__(self, args: list[str] | None = None, timeout_s: float = 20.0) -> None:
        self.args = list(args or [])
        self.timeout_s = timeout_s
        self.proc: subprocess.Popen | None = None
        self.window: WindowInfo | None = None

    def start(self) -> WindowProcess:
        """Start the process and wait for its window (raises ``WindowNotFound`` on timeout)."""
        cmd = [sys.executable, "-m", "bc_gym.cli", "game", "highway", *self.args]
        self.proc = subprocess.Popen(cmd, cwd=Path.home())  # never the repo root (see README)
        try:
            self.window = wait_for_window(TITLE, self.timeout_s, self.proc, what="the game window")
        except WindowNotFound:
            self.stop()
            raise
        time.sleep(0.2)  # let it draw its first frames
        return self

    def wait(self, timeout_s: float | None = None) -> int:
        """Wait for the game to exit by itself (e.g. ``--max-episodes``); its exit code."""
        assert self.proc is not None, "not started"
        return self.proc.wait(timeout_s)

    def stop(self) -> None:
        """Terminate the game (idempotent)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> WindowProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
