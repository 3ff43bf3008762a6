"""Find top-level X11 windows by title and read their on-screen geometry (python-xlib)."""

from __future__ import annotations

import difflib
import os
import subprocess
import time
from dataclasses import dataclass

from bc_gym.errors import DisplayError, UnsupportedPlatform, WindowNotFound, require


@dataclass(frozen=True)
class WindowInfo:
    """A visible window: X id, title and geometry in root (screen) coordinates."""

    wid: int
    title: str
    left: int
    top: int
    width: int
    height: int

    @property
    def region(self) -> tuple[int, int, int, int]:
        """``(left, top, width, height)``, the form ``record`` and ``ScreenEnv`` accept."""
        return (self.left, self.top, self.width, self.height)


def check_display() -> str:
    """Return ``$DISPLAY`` or raise a clear error (no display, Wayland session)."""
    display = os.environ.get("DISPLAY", "")
    if not display:
        if os.environ.get("WAYLAND_DISPLAY") or os.environ.get("XDG_SESSION_TYPE") == "wayland":
            raise UnsupportedPlatform(
                "This is a Wayland session without Xwayland's DISPLAY: bc-gym captures the screen "
                "and sends keys through X11 only. Log in to an X11 ('Xorg') session, or run the "
                "game under Xvfb (apt-get install xvfb; xvfb-run ...)."
            )
        raise DisplayError(
            "No DISPLAY is set: bc-gym needs an X server to capture the screen and send keys. "
            "On a headless machine start a virtual one: apt-get install xvfb, then run under "
            "`xvfb-run -s '-screen 0 1280x800x24' ...`, or use bc_gym.screen.xvfb.Xvfb."
        )
    return display


def _open_display():
    check_display()
    display = require("Xlib.display", "screen")
    try:
        return display.Display()
    except Exception as exc:  # Xlib raises its own error types, not a common base
        raise DisplayError(
            f"Cannot connect to the X server at DISPLAY={os.environ.get('DISPLAY')!r}: {exc}"
        ) from exc


# In 4-byte units: read a title in one GetProperty request. python-xlib's default (10 units)
# reads a longer title in two requests, and a page that retitles itself between them (the
# Runner writes its score there) yields a torn string such as '... | gamees 1 | ...'.
_TITLE_READ_UNITS = 4096


def _title(d, win) -> str:
    for atom_name in ("_NET_WM_NAME", "WM_NAME"):
        atom = d.intern_atom(atom_name)
        prop = win.get_full_property(atom, 0, sizehint=_TITLE_READ_UNITS)
        if prop is not None and prop.value:
            v = prop.value
            return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
    return ""


def list_windows() -> list[WindowInfo]:
    """Visible (mapped) top-level windows with a title, in stacking order."""
    d = _open_display()
    try:
        root = d.screen().root
        out: list[WindowInfo] = []
        stack = list(root.query_tree().children)
        while stack:
            win = stack.pop(0)
            try:
                attrs = win.get_attributes()
                if attrs.map_state != 2:  # IsViewable
                    continue
                title = _title(d, win)
                if not title:
                    # Window managers reparent: the title sits on a child.
                    stack.extend(win.query_tree().children)
                    continue
                geo = win.get_geometry()
                pos = root.translate_coords(win, 0, 0)
                out.append(WindowInfo(win.id, title, pos.x, pos.y, geo.width, geo.height))
            except Exception:  # the window vanished while we looked (BadWindow)
                continue
        return out
    finally:
        d.close()


def find_window(title: str) -> WindowInfo:
    """The visible window whose title contains ``title`` (case-insensitive; exact match wins).

    Raises:
        WindowNotFound: listing the visible titles and the closest ones.
    """
    wins = list_windows()
    exact = [w for w in wins if w.title == title]
    if exact:
        return exact[0]
    part = [w for w in wins if title.lower() in w.title.lower()]
    if part:
        return part[0]
    titles = [w.title for w in wins]
    close = difflib.get_close_matches(title, titles, n=3, cutoff=0.3)
    hint = f" Did you mean: {', '.join(map(repr, close))}?" if close else ""
    raise WindowNotFound(
        f"No visible window with title containing {title!r}.{hint} "
        f"Visible windows: {titles or 'none'}"
    )


def wait_for_window(
    title: str,
    timeout_s: float,
    proc: subprocess.Popen | None = None,
    what: str = "",
    poll_s: float = 0.05,
) -> WindowInfo:
    """Wait until a window whose title contains ``title`` appears (see :func:`find_window`).

    Args:
        title: the title (or part of it) to wait for.
        timeout_s: give up after this many seconds.
        proc: the process that opens the window: stop waiting as soon as it exits.
        what: names the window in the error (default: ``the 'TITLE' window``).
        poll_s: seconds between looks.

    Raises:
        WindowNotFound: after ``timeout_s``, or once ``proc`` has exited; the message says which.
            The caller stops ``proc``.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return find_window(title)
        except WindowNotFound:
            code = None if proc is None else proc.poll()
            if code is not None or time.monotonic() > deadline:
                why = "timeout" if code is None else f"the process exited with code {code}"
                raise WindowNotFound(
                    f"{what or f'the {title!r} window'} did not appear within {timeout_s:.0f} s "
                    f"({why})"
                ) from None
            time.sleep(poll_s)


class WindowHandle:
    """A live handle on one window: current geometry (follows moves) and keyboard focus.

    Keeps one X connection open, so each query is a single round trip (~0.1 ms). Thread-safe.

    Args:
        window: the window to follow (from :func:`find_window`).

    Example:
        >>> handle = WindowHandle(find_window("HighwayRacer"))  # doctest: +SKIP
        >>> handle.geometry().region  # doctest: +SKIP
        (0, 0, 480, 480)
    """

    def __init__(self, window: WindowInfo) -> None:
        import threading

        self.info = window
        self._d = _open_display()
        self._win = self._d.create_resource_object("window", window.wid)
        self._root = self._d.screen().root
        self._lock = threading.Lock()

    def geometry(self) -> WindowInfo:
        """The window's current position and size (raises WindowNotFound if it is gone)."""
        with self._lock:
            try:
                geo = self._win.get_geometry()
                pos = self._root.translate_coords(self._win, 0, 0)
            except Exception as exc:  # Xlib BadWindow / BadDrawable
                raise WindowNotFound(
                    f"The window {self.info.title!r} (id {self.info.wid:#x}) has closed: {exc}. "
                    "Start the game again and recreate the capture."
                ) from exc
        self.info = WindowInfo(self.info.wid, self.info.title, pos.x, pos.y, geo.width, geo.height)
        return self.info

    def focused_window(self) -> int:
        """X id of the window holding the keyboard focus (0/1: None/PointerRoot)."""
        with self._lock:
            focus = self._d.get_input_focus().focus
        return focus if isinstance(focus, int) else focus.id

    def has_focus(self) -> bool:
        """True when the keyboard focus is on this window or one of its children."""
        fid = self.focused_window()
        if fid == self.info.wid:
            return True
        if fid in (0, 1):  # None / PointerRoot
            return False
        with self._lock:
            try:
                win = self._d.create_resource_object("window", fid)
                for _ in range(16):  # walk up to the top-level window
                    parent = win.query_tree().parent
                    if parent is None or parent.id == self._root.id:
                        return False
                    if parent.id == self.info.wid:
                        return True
                    win = parent
            except Exception:  # the focused window vanished
                return False
        return False

    def focus(self, timeout_s: float = 1.0) -> None:
        """Give this window the keyboard focus and wait until the X server confirms it.

        Raises:
            FocusError: the window did not get the focus within ``timeout_s``.
        """
        import time

        from bc_gym.errors import FocusError

        X = require("Xlib.X", "screen")
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                self._win.set_input_focus(X.RevertToParent, X.CurrentTime)
                self._d.sync()
            if self.has_focus():
                return
            if time.monotonic() > deadline:
                raise FocusError(
                    f"Could not give the keyboard focus to {self.info.title!r} "
                    f"(id {self.info.wid:#x}) within {timeout_s} s; the focus is on window "
                    f"{self.focused_window():#x}. Click the game window, or check that it is "
                    "mapped."
                )
            time.sleep(0.01)

    def focused_title(self) -> str:
        """Title of the window that holds the focus ('' when none or untitled)."""
        fid = self.focused_window()
        if fid in (0, 1):
            return ""
        with self._lock:
            try:
                return _title(self._d, self._d.create_resource_object("window", fid))
            except Exception:
                return ""

    def close(self) -> None:
        """Close the X connection (idempotent)."""
        with self._lock:
            if self._d is not None:
                self._d.close()
                self._d = None


def screen_size() -> tuple[int, int]:
    """``(width, height)`` of the X screen, px."""
    d = _open_display()
    try:
        s = d.screen()
        return s.width_in_pixels, s.height_in_pixels
    finally:
        d.close()
