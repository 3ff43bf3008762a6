"""The Runner page in Chromium: an app window to play (:class:`RunnerPage`), or headless runs.

:class:`ChromiumApp` starts any local page as a Chromium ``--app`` window (no tabs, no address
bar) with a throw-away profile, and waits until its window is on screen; :class:`RunnerPage`
opens ``bc_gym/web/runner.html`` that way and reads the score from the window title.
:func:`simulate` runs the page's rules headless (``--dump-dom``) for a seed and an action
sequence, which is how the tests check that the page and :class:`RunnerGame` agree.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from types import TracebackType
from urllib.parse import urlencode

import numpy as np

from bc_gym.errors import BcGymError, DependencyNotInstalled, WindowNotFound
from bc_gym.games.runner.game import RULES
from bc_gym.screen.windows import WindowInfo, list_windows, wait_for_window

TITLE = "bc-gym Runner"
"""The page's title starts with this; the rest is ``| score S | best B | games G | last L``."""

CHROMIUM_FLAGS = (
    "--test-type",  # no "unsupported flag" info bar
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--no-sandbox",
    # Keep the game's clock running when the window is not focused or is covered.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
)

_TITLE_RE = re.compile(r"score (\d+) \| best (\d+) \| games (\d+)(?: \| last (\d+))?")


def chromium_executable() -> str:
    """Path of the Chromium (or Chrome) executable.

    Raises:
        DependencyNotInstalled: none on ``PATH``.
    """
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        exe = shutil.which(name)
        if exe:
            return exe
    raise DependencyNotInstalled(
        "Chromium is not installed (looked for chromium, chromium-browser, google-chrome on "
        "PATH): install it with `apt-get install chromium` (Debian) or "
        "`apt-get install chromium-browser` (Ubuntu)."
    )


def page_path() -> Path:
    """The installed ``runner.html`` (package data)."""
    return Path(str(files("bc_gym") / "web" / "runner.html"))


def page_url(**query: object) -> str:
    """``file://`` URL of the page with URL options, e.g. ``page_url(seed=3)``."""
    q = urlencode({k: v for k, v in query.items() if v is not None})
    return page_path().as_uri() + (f"?{q}" if q else "")


@dataclass(frozen=True)
class TitleStatus:
    """What the page's title says: the current game's score, the best, games finished.

    ``last`` is the final score of the last finished game (0 before the first); the page sets
    it on the crash frame together with ``games``, so ``games`` and ``last`` always agree.
    """

    score: int
    best: int
    games: int
    last: int = 0


def parse_title(title: str) -> TitleStatus | None:
    """Read ``bc-gym Runner | score 12 | best 34 | games 1 | last 34`` (``None``: another form).

    A title without ``| last L`` (an older page) reads as ``last=0``.

    Example:
        >>> parse_title("bc-gym Runner | score 12 | best 34 | games 1 | last 34")
        TitleStatus(score=12, best=34, games=1, last=34)
    """
    m = _TITLE_RE.search(title)
    return TitleStatus(*(int(v) for v in m.groups() if v is not None)) if m else None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM the child when its parent dies (even by SIGKILL)."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


class ChromiumApp:
    """A local page in a Chromium ``--app`` window with a temporary profile; a context manager.

    Example:
        >>> with ChromiumApp("file:///tmp/page.html", "My Page") as app:  # doctest: +SKIP
        ...     app.window.region
        (0, 0, 600, 150)

    Args:
        url: the page (``file://`` or ``http://127.0.0.1``: nothing else is fetched).
        title: text the window title contains once the page has loaded.
        size: ``(width, height)`` of the window, px.
        position: ``(left, top)`` of the window on screen, px.
        timeout_s: how long to wait for the window.

    Attributes:
        window: the window's :class:`~bc_gym.screen.windows.WindowInfo` once started.
        proc: the Chromium process (the leader of its own process group).
    """

    def __init__(
        self,
        url: str,
        title: str,
        size: tuple[int, int] = (800, 600),
        position: tuple[int, int] = (0, 0),
        timeout_s: float = 40.0,
    ) -> None:
        if len(size) != 2 or min(size) <= 0:
            raise ValueError(f"size must be (width, height) > 0, actual value: {size!r}")
        self.url, self.title = url, title
        self.size = (int(size[0]), int(size[1]))
        self.position = (int(position[0]), int(position[1]))
        self.timeout_s = float(timeout_s)
        self.proc: subprocess.Popen | None = None
        self.window: WindowInfo | None = None
        self._profile: str | None = None

    def command(self) -> list[str]:
        """The Chromium command line (the profile folder is made by :meth:`start`)."""
        return [
            chromium_executable(), *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}",
            f"--window-position={self.position[0]},{self.position[1]}",
            f"--window-size={self.size[0]},{self.size[1]}", f"--app={self.url}",
        ]  # fmt: skip

    def start(self) -> ChromiumApp:
        """Start Chromium and wait for the window (raises ``WindowNotFound`` on timeout)."""
        from bc_gym.screen.windows import check_display

        check_display()
        self._profile = tempfile.mkdtemp(prefix="bc-gym-chromium-")
        self.proc = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=_die_with_parent,
        )  # fmt: skip
        try:
            self.window = wait_for_window(
                self.title, self.timeout_s, self.proc, poll_s=0.1,
                what=f"the Chromium window {self.title!r} (url: {self.url})",
            )  # fmt: skip
        except WindowNotFound:
            self.stop()
            raise
        return self

    def current_title(self) -> str:
        """The window's title now (the page may change it)."""
        assert self.window is not None, "not started"
        for w in list_windows():
            if w.wid == self.window.wid:
                return w.title
        raise WindowNotFound(f"the Chromium window {self.title!r} has closed")

    def stop(self) -> None:
        """Terminate Chromium (its whole process group) and delete the profile (idempotent)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    def __enter__(self) -> ChromiumApp:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class RunnerPage(ChromiumApp):
    """The Runner page in a Chromium app window titled ``bc-gym Runner | score ...``.

    The window is the canvas's size (600x150), at ``position``; the canvas sits at the
    window's top-left corner.

    Example:
        >>> with RunnerPage(seed=3) as page:  # doctest: +SKIP
        ...     page.status()
        TitleStatus(score=0, best=0, games=0, last=0)

    Args:
        seed: seed of the first game (each self-restart uses the next one).
        position: ``(left, top)`` of the window on screen.
        timeout_s: how long to wait for the window.
    """

    def __init__(
        self, seed: int = 1, position: tuple[int, int] = (0, 0), timeout_s: float = 40.0
    ) -> None:
        super().__init__(
            page_url(seed=int(seed)), f"{TITLE} |", (RULES["WIDTH"], RULES["HEIGHT"]),
            position, timeout_s,
        )  # fmt: skip
        self.seed = int(seed)

    def status(self) -> TitleStatus:
        """Score, best, games finished and the last game's score, read from the window title."""
        title = self.current_title()
        st = parse_title(title)
        if st is None:
            raise BcGymError(f"unexpected Runner window title {title!r}")
        return st


def simulate(seed: int, actions: Sequence[int], timeout_s: float = 60.0) -> dict:
    """Run the page's own rules headless: one game, these actions (0 noop, 1 up, 2 down).

    Chromium loads ``runner.html?simulate=SEED&actions=...`` with ``--headless --dump-dom``;
    the page steps its JS rules, draws the last frame and writes the result into the DOM.

    Returns:
        The page's result: ``steps``, ``score``, ``crash``, ``y``, ``speed``, ``distance``,
        ``obstacles`` (``kind``, ``x``), ``rng`` (the first three PRNG draws of ``seed``), and
        ``frame``, the canvas as an RGB uint8 array.
    """
    import cv2

    codes = "".join(str(int(a)) for a in actions)
    if set(codes) - set("012"):
        raise ValueError(f"actions must be 0, 1 or 2, actual values: {sorted(set(codes))}")
    url = page_url(simulate=int(seed) & 0xFFFFFFFF, actions=codes)
    with tempfile.TemporaryDirectory(prefix="bc-gym-chromium-") as profile:
        cmd = [chromium_executable(), "--headless", "--dump-dom", *CHROMIUM_FLAGS,
               f"--user-data-dir={profile}", url]  # fmt: skip
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout_s, start_new_session=True
        )
    m = re.search(r'<pre id="result"[^>]*>(.*?)</pre>', out.stdout, re.S)
    if m is None or not m.group(1):
        raise BcGymError(
            f"the page wrote no result (exit code {out.returncode}); stderr: {out.stderr[-500:]}"
        )
    result = json.loads(html.unescape(m.group(1)))
    png = base64.b64decode(result["frame"].split(",", 1)[1])
    bgr = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    result["frame"] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return result
