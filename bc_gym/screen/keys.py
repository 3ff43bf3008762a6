"""Keys out (:class:`KeyController`, through pyautogui) and keys in (:class:`KeyListener`, pynput).

Key names are pyautogui's (``"left"``, ``"up"``, ``"space"``, ``"a"``...), the names used by
:class:`bc_gym.actions.ActionMap` and the datasets.

A controller holds a *set* of keys: each :meth:`KeyController.hold` sends key-up for the keys
that leave the set and key-down for the keys that join it, nothing else. A key the controller
pressed is never left down: :meth:`~KeyController.close`, the context manager (exceptions
included), SIGINT/SIGTERM and interpreter exit release it. Only ``SIGKILL`` cannot be caught.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any

from bc_gym.errors import FocusError, require
from bc_gym.screen.windows import WindowHandle, WindowInfo, check_display

FOCUS_POLICIES = ("focus", "refuse", "ignore")


def check_key_names(keys: Sequence[str]) -> None:
    """Raise ``ValueError`` naming every key pyautogui does not know (needs ``$DISPLAY``).

    A name nobody can type (``jump``) would otherwise be recorded as never held, silently.
    """
    known = _pyautogui().KEYBOARD_KEYS
    bad = [k for k in keys if k not in known]
    if bad:
        raise ValueError(
            f"unknown key name(s) {bad}: use pyautogui's names, e.g. 'left', 'up', 'space', "
            "'enter', 'a' (see pyautogui.KEYBOARD_KEYS)"
        )


def _pyautogui() -> Any:
    """pyautogui, imported lazily, with no pause or fail-safe, bound to the current ``$DISPLAY``.

    pyautogui opens its X connection once, at import. Tests (and ``bc-gym demo``) start new
    Xvfb servers in the same process, so the connection is reopened when ``$DISPLAY`` changed.
    """
    display = check_display()
    pag = require("pyautogui", "screen")
    pag.PAUSE = 0  # the default 0.1 s sleep after every call made the prototype run at ~3 Hz
    pag.FAILSAFE = False  # a real-time agent must not raise because the mouse is in a corner
    x11 = getattr(pag, "platformModule", None)
    if x11 is not None and hasattr(x11, "_display"):
        try:  # same name, but maybe a server that has since stopped: probe it (one round trip)
            alive = x11._display.get_display_name() == display
            alive = alive and x11._display.get_input_focus() is not None
        except Exception:  # Xlib's ConnectionClosedError and socket errors
            alive = False
        if not alive:
            try:
                x11._display.close()
            except Exception:  # already closed by the server
                pass
            xdisplay = require("Xlib.display", "screen")
            x11._display = xdisplay.Display(display)
    return pag


def _keycode(pag: Any, key: str) -> int | None:
    code = pag.platformModule.keyboardMapping.get(key) if hasattr(pag, "platformModule") else None
    return int(code) if code else None


# Every live controller, so that signal and exit handlers can release their keys.
_LIVE: weakref.WeakSet[KeyController] = weakref.WeakSet()
_HANDLERS_INSTALLED = False
_PREVIOUS: dict[int, Any] = {}


def _release_everything_raw() -> None:
    """Release every held key through a fresh X connection (safe inside a signal handler).

    A signal can arrive while pyautogui's own connection is in the middle of a request, so the
    handler must not use it.
    """
    held: dict[str, set[int]] = {}
    for ctl in list(_LIVE):
        if ctl._held_codes:
            held.setdefault(ctl._display, set()).update(ctl._held_codes.values())
            ctl._held_codes.clear()
            ctl._held = frozenset()
    if not held:
        return
    xdisplay = require("Xlib.display", "screen")
    X = require("Xlib.X", "screen")
    xtest = require("Xlib.ext.xtest", "screen")
    for display, codes in held.items():
        try:
            d = xdisplay.Display(display)
        except Exception:  # the X server is gone: nothing is held any more
            continue
        try:
            for code in codes:
                xtest.fake_input(d, X.KeyRelease, code)
            d.sync()
        finally:
            d.close()


def _on_signal(signum: int, frame: Any) -> None:
    _release_everything_raw()
    prev = _PREVIOUS.get(signum, signal.SIG_DFL)
    if callable(prev):
        prev(signum, frame)
    elif prev == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    global _HANDLERS_INSTALLED
    if _HANDLERS_INSTALLED or threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        prev = signal.getsignal(sig)
        if prev is _on_signal:
            continue
        _PREVIOUS[sig] = prev
        signal.signal(sig, _on_signal)
    atexit.register(_release_everything_raw)
    _HANDLERS_INSTALLED = True


class KeyController:
    """Hold a set of keys in the target window; send only the differences.

    Before sending, the controller checks that the target window has the keyboard focus
    (one X round trip). ``focus="focus"`` gives it the focus when it lacks it;
    ``focus="refuse"`` raises :class:`~bc_gym.errors.FocusError` naming the window that has it,
    so keys never go to another window silently; ``focus="ignore"`` skips the check.

    Example:
        >>> win = find_window("Racer")  # doctest: +SKIP
        >>> with KeyController(["left", "right"], window=win) as keys:  # doctest: +SKIP
        ...     keys.hold({"left"})   # key-down left
        ...     keys.hold({"left"})   # nothing sent
        ...     keys.hold({"right"})  # key-up left, key-down right
        # leaving the block releases right

    Args:
        keys: the keys this controller may press (pyautogui names); ``None`` allows any.
        window: the target window; ``None`` sends to whatever has the focus (no check).
        focus: focus policy, one of ``"focus"``, ``"refuse"``, ``"ignore"``.

    Raises:
        DisplayError: no X display. ValueError: a key name pyautogui does not know.
    """

    def __init__(
        self,
        keys: Sequence[str] | None = None,
        window: WindowInfo | None = None,
        focus: str = "focus",
    ) -> None:
        if focus not in FOCUS_POLICIES:
            raise ValueError(f"focus must be one of {FOCUS_POLICIES}, actual value: {focus!r}")
        self._pag = _pyautogui()
        self._display = os.environ["DISPLAY"]
        self.keys = None if keys is None else tuple(keys)
        if self.keys is not None:
            for k in self.keys:
                self._check_name(k)
        self.focus = focus
        self.window = window
        self._handle = WindowHandle(window) if window is not None and focus != "ignore" else None
        self._held: frozenset[str] = frozenset()
        self._held_codes: dict[str, int] = {}
        self._closed = False
        self.presses = 0  # key events sent (down and up), for statistics
        _LIVE.add(self)
        _install_handlers()

    def _check_name(self, key: str) -> None:
        if key not in self._pag.KEYBOARD_KEYS:
            raise ValueError(
                f"unknown key name {key!r}: use pyautogui's names, e.g. 'left', 'up', 'space', "
                "'enter', 'a' (see pyautogui.KEYBOARD_KEYS)"
            )

    @property
    def held(self) -> frozenset[str]:
        """The keys this controller holds down now."""
        return self._held

    def ensure_focus(self) -> None:
        """Apply the focus policy (no-op without a window or with ``focus="ignore"``)."""
        if self._handle is None or self._handle.has_focus():
            return
        if self.focus == "refuse":
            raise FocusError(
                f"The target window {self._handle.info.title!r} does not have the keyboard "
                f"focus ({self._handle.focused_title() or 'no window'!r} has it), and "
                "focus='refuse' forbids taking it. Click the game window, or use focus='focus'."
            )
        self._handle.focus()

    def hold(self, keys: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
        """Hold exactly ``keys``: key-up for keys no longer wanted, key-down for new ones.

        Returns:
            ``(pressed, released)``: the keys that went down and up.
        """
        if self._closed:
            raise RuntimeError("this KeyController is closed; create a new one")
        want = frozenset(keys)
        if self.keys is not None and not want <= set(self.keys):
            raise ValueError(
                f"keys {sorted(want - set(self.keys))} are not in this controller's keys "
                f"{list(self.keys)}"
            )
        released, pressed = self._held - want, want - self._held
        if not (released or pressed):
            return frozenset(), frozenset()
        self.ensure_focus()
        try:
            for k in sorted(released):
                self._pag.keyUp(k, _pause=False)
                self._held_codes.pop(k, None)
                self.presses += 1
            for k in sorted(pressed):
                if self.keys is None:
                    self._check_name(k)
                code = _keycode(self._pag, k)
                if code is not None:
                    self._held_codes[k] = code
                self._pag.keyDown(k, _pause=False)
                self.presses += 1
        except BaseException:
            self._held = want  # whatever was half sent, release it all
            self.release_all()
            raise
        self._held = want
        return pressed, released

    def tap(self, key: str, hold_s: float = 0.03) -> None:
        """Press and release ``key`` (held ``hold_s`` seconds so the game sees it)."""
        self.hold(self._held | {key})
        time.sleep(hold_s)
        self.hold(self._held - {key})

    def release_all(self) -> None:
        """Release every key this controller holds."""
        for k in sorted(self._held):
            try:
                self._pag.keyUp(k, _pause=False)
            except Exception:  # the X server is gone: the key is not held any more
                pass
        self._held = frozenset()
        self._held_codes.clear()

    def close(self) -> None:
        """Release every key and close the focus connection (idempotent)."""
        if self._closed:
            return
        self.release_all()
        self._closed = True
        if self._handle is not None:
            self._handle.close()
        _LIVE.discard(self)

    def __enter__(self) -> KeyController:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


# pynput's special-key names -> pyautogui's names (the rest are equal).
_PYNPUT_TO_PYAUTOGUI = {
    "alt_l": "altleft", "alt_r": "altright", "alt_gr": "altright", "ctrl_l": "ctrlleft",
    "ctrl_r": "ctrlright", "shift_l": "shiftleft", "shift_r": "shiftright", "cmd": "win",
    "cmd_l": "winleft", "cmd_r": "winright", "caps_lock": "capslock", "page_up": "pageup",
    "page_down": "pagedown", "num_lock": "numlock", "scroll_lock": "scrolllock",
    "print_screen": "printscreen", "media_play_pause": "playpause",
    "media_volume_mute": "volumemute", "media_volume_down": "volumedown",
    "media_volume_up": "volumeup", "media_previous": "prevtrack", "media_next": "nexttrack",
}  # fmt: skip


def key_name(key: Any) -> str | None:
    """pyautogui-style name of a pynput key (``Key.left`` -> ``"left"``, ``'A'`` -> ``"a"``)."""
    name = getattr(key, "name", None)
    if name:
        return _PYNPUT_TO_PYAUTOGUI.get(name, name)
    char = getattr(key, "char", None)
    if char:
        return char.lower() if len(char) == 1 else char
    return None


class KeyListener:
    """Listen to the real keyboard (pynput, X RECORD): the held-key set and raw events.

    ``events`` is a list of ``(time.monotonic(), key, down)``; auto-repeat presses of a key
    already down are not repeated in it.

    Example:
        >>> with KeyListener(["left", "right"]) as listener:  # doctest: +SKIP
        ...     time.sleep(1.0)
        ...     listener.held(), listener.events[:2]
        (frozenset({'left'}), [(1234.5, 'left', True)])

    Args:
        keys: only track these keys (pyautogui names); ``None`` tracks every key.
    """

    def __init__(self, keys: Sequence[str] | None = None) -> None:
        check_display()
        self.keys = None if keys is None else frozenset(keys)
        self.events: list[tuple[float, str, bool]] = []
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._listener: Any = None

    def _on(self, key: Any, down: bool) -> None:
        t = time.monotonic()
        name = key_name(key)
        if name is None or (self.keys is not None and name not in self.keys):
            return
        with self._lock:
            if down == (name in self._held):
                return  # auto-repeat, or a release of a key pressed before we started
            (self._held.add if down else self._held.discard)(name)
            self.events.append((t, name, down))

    def held(self) -> frozenset[str]:
        """The tracked keys held down now."""
        with self._lock:
            return frozenset(self._held)

    def start(self) -> KeyListener:
        """Start listening (returns once the listener is ready)."""
        if self._listener is not None:
            return self
        keyboard = require("pynput.keyboard", "screen")
        self._listener = keyboard.Listener(
            on_press=lambda k: self._on(k, True), on_release=lambda k: self._on(k, False)
        )
        self._listener.start()
        self._listener.wait()
        return self

    def stop(self) -> None:
        """Stop listening (idempotent)."""
        if self._listener is not None:
            self._listener.stop()
            # pynput 1.8 queues the RECORD disable on the connection its thread is blocked on,
            # without flushing it, so stop() hangs; X RECORD wants it sent on another connection.
            stopper = getattr(self._listener, "_display_stop", None)
            context = getattr(self._listener, "_context", None)
            if stopper is not None and context is not None:
                try:
                    stopper.record_disable_context(context)
                    stopper.flush()
                except Exception:  # the thread got there first and closed it
                    pass
            self._listener.join(2.0)
            self._listener = None

    def __enter__(self) -> KeyListener:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
