"""KeyController and KeyListener with real X key events (XTEST out, RECORD in)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from bc_gym.errors import DisplayError, FocusError
from bc_gym.screen.keys import KeyController, KeyListener

pytestmark = pytest.mark.x11


def _is_down(key: str) -> bool:
    """Ask the X server (not our own bookkeeping) whether a key is down."""
    from Xlib import XK
    from Xlib import display as xdisplay

    d = xdisplay.Display()
    try:
        code = d.keysym_to_keycode(XK.string_to_keysym(key))
        keymap = d.query_keymap()
        return bool(keymap[code // 8] >> (code % 8) & 1)
    finally:
        d.close()


def _wait(pred, timeout=3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


def test_hold_sends_only_differences(xvfb):
    with KeyController(["left", "right", "up"], focus="ignore") as keys:
        assert keys.hold({"left", "up"}) == ({"left", "up"}, frozenset())
        assert _is_down("Left") and _is_down("Up")
        n = keys.presses
        assert keys.hold({"left", "up"}) == (frozenset(), frozenset())
        assert keys.presses == n  # nothing sent
        assert keys.hold({"right", "up"}) == ({"right"}, {"left"})
        assert keys.presses == n + 2
        assert not _is_down("Left") and _is_down("Right")
        with pytest.raises(ValueError, match=re.escape("keys ['down'] are not in")):
            keys.hold({"down"})
    assert not _is_down("Right") and not _is_down("Up")  # close() released them


def test_released_on_exception(xvfb):
    with pytest.raises(RuntimeError, match="boom"):
        with KeyController(["left"], focus="ignore") as keys:
            keys.hold({"left"})
            assert _is_down("Left")
            raise RuntimeError("boom")
    assert not _is_down("Left")


def test_unknown_key_name(xvfb):
    with pytest.raises(ValueError, match=re.escape("unknown key name 'Left'")):
        KeyController(["Left"])


def test_no_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    with pytest.raises(DisplayError, match=re.escape("No DISPLAY is set")):
        KeyController(["left"])
    with pytest.raises(DisplayError, match=re.escape("No DISPLAY is set")):
        KeyListener()


HOLDER = """
import sys, time
from bc_gym.screen.keys import KeyController
keys = KeyController(["left"], focus="ignore")
keys.hold({"left"})
print("held", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_releases_held_keys(xvfb, sig):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        assert _is_down("Left")
        proc.send_signal(sig)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    assert not _is_down("Left"), "the killed process left the key down"


def _other_window(title: str):
    from Xlib import X
    from Xlib import display as xdisplay

    d = xdisplay.Display()
    win = d.screen().root.create_window(
        600, 0, 200, 100, 0, d.screen().root_depth, X.InputOutput, X.CopyFromParent,
        background_pixel=d.screen().white_pixel,
    )  # fmt: skip
    win.set_wm_name(title)
    win.map()
    d.sync()
    return d, win


def test_focus_policies(highway_window):
    from Xlib import X

    d, other = _other_window("Some Editor")
    try:
        _wait(lambda: other.get_attributes().map_state == X.IsViewable)
        other.set_input_focus(X.RevertToParent, X.CurrentTime)
        d.sync()
        with KeyController(["left"], window=highway_window.window, focus="refuse") as keys:
            with pytest.raises(FocusError, match=re.escape("'Some Editor' has it")):
                keys.hold({"left"})
            assert keys.held == frozenset()
            assert not _is_down("Left")  # nothing was typed into the other window
        with KeyController(["left"], window=highway_window.window, focus="focus") as keys:
            keys.hold({"left"})
            assert keys._handle.has_focus()
            assert _is_down("Left")
        assert not _is_down("Left")
    finally:
        other.destroy()
        d.close()


def test_listener_sees_held_keys_and_events(xvfb):
    with KeyListener(["left", "space"]) as listener, KeyController(focus="ignore") as keys:
        keys.hold({"left", "a"})
        assert _wait(lambda: listener.held() == {"left"})
        keys.hold(set())
        keys.tap("space")
        assert _wait(lambda: len(listener.events) == 4)
    names = [(k, down) for _, k, down in listener.events]
    assert names == [("left", True), ("left", False), ("space", True), ("space", False)]
    times = [t for t, _, _ in listener.events]
    assert times == sorted(times) and abs(times[0] - time.monotonic()) < 10
