"""Shared test constants and helpers."""

SEED = 42


def keys_down() -> list[int]:
    """Keycodes the X server on ``DISPLAY`` reports as held (not our own bookkeeping)."""
    from Xlib import display as xdisplay

    d = xdisplay.Display()
    try:
        keymap = d.query_keymap()
    finally:
        d.close()
    return [8 * i + b for i, byte in enumerate(keymap) for b in range(8) if byte >> b & 1]


def focus_window(window: object) -> None:
    """Give ``window`` (a ``WindowInfo``) the keyboard focus: a region's keys go to the focus."""
    from bc_gym.screen.windows import WindowHandle

    handle = WindowHandle(window)
    try:
        handle.focus()
    finally:
        handle.close()
