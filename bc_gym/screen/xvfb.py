"""Start and stop a private Xvfb X server (for tests, CI and ``bc-gym demo`` without a display)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from types import TracebackType

from bc_gym.errors import DependencyNotInstalled, DisplayError


class Xvfb:
    """A virtual X server on a free display number; a context manager.

    Xvfb picks the display number itself (``-displayfd``), so parallel servers never clash.
    On exit the server is terminated and, with ``set_env=True``, ``DISPLAY`` is restored.

    Args:
        width: screen width, px.
        height: screen height, px.
        depth: colour depth (24 gives mss a 32-bit BGRA grab).
        set_env: set ``os.environ["DISPLAY"]`` while the server runs.

    Example:
        >>> with Xvfb(640, 480) as x:  # doctest: +SKIP
        ...     print(x.display)
        :99
    """

    def __init__(
        self, width: int = 1280, height: int = 800, depth: int = 24, set_env: bool = True
    ) -> None:
        if width <= 0 or height <= 0:
            raise ValueError(f"screen size must be positive, actual value: {width}x{height}")
        self.width, self.height, self.depth = int(width), int(height), int(depth)
        self.set_env = set_env
        self.display: str = ""
        self.proc: subprocess.Popen | None = None
        self._old_display: str | None = None

    def start(self) -> Xvfb:
        """Start the server and wait until it accepts clients."""
        exe = shutil.which("Xvfb")
        if exe is None:
            raise DependencyNotInstalled(
                "Xvfb is not installed. On Debian/Ubuntu: sudo apt-get install -y xvfb"
            )
        r, w = os.pipe()
        self.proc = subprocess.Popen(
            [exe, "-displayfd", str(w), "-screen", "0",
             f"{self.width}x{self.height}x{self.depth}", "-nolisten", "tcp", "-noreset"],
            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(w)
        number = b""
        deadline = time.monotonic() + 10.0
        with os.fdopen(r, "rb") as pipe:
            while time.monotonic() < deadline:
                ch = pipe.read(1)
                if not ch or ch == b"\n":
                    break
                number += ch
        if not number:
            self.stop()
            raise DisplayError("Xvfb did not start (no display number within 10 s)")
        self.display = f":{number.decode()}"
        if self.set_env:
            self._old_display = os.environ.get("DISPLAY")
            os.environ["DISPLAY"] = self.display
        return self

    def stop(self) -> None:
        """Terminate the server (idempotent) and restore ``DISPLAY``."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.set_env and self.display:
            if self._old_display is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = self._old_display
            self.display = ""

    def __enter__(self) -> Xvfb:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
