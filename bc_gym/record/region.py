"""Find the screen region to record: parse ``X,Y,W,H``, check it, save screenshots, pick corners.

Example:
    >>> parse_region("0,0,480,480")
    (0, 0, 480, 480)
    >>> parse_size("84x84")
    (84, 84)
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from bc_gym.errors import RegionError, UnsupportedPlatform, require
from bc_gym.screen.windows import check_display


def parse_region(text: str) -> tuple[int, int, int, int]:
    """``"X,Y,W,H"`` -> ``(left, top, width, height)``.

    Raises:
        RegionError: not four integers, or an empty width/height.
    """
    parts = [p.strip() for p in str(text).split(",")]
    try:
        left, top, width, height = (int(p) for p in parts)
    except ValueError:
        raise RegionError(
            f"region must be X,Y,W,H (four integers: left, top, width, height in screen "
            f"pixels), actual value: {text!r}. `bc-gym find-region` prints it for a window."
        ) from None
    if width <= 0 or height <= 0:
        raise RegionError(f"region {text!r} is empty: width and height must be > 0")
    return left, top, width, height


def parse_size(text: str) -> tuple[int, int]:
    """``"WxH"`` -> ``(height, width)`` (the order of ``ScreenCapture(size=...)``).

    Raises:
        ValueError: not two positive integers separated by ``x``.
    """
    try:
        w, h = (int(p) for p in str(text).lower().split("x"))
    except ValueError:
        raise ValueError(f"size must be WxH, e.g. 160x120, actual value: {text!r}") from None
    if w <= 0 or h <= 0:
        raise ValueError(f"size must be WxH with W, H > 0, actual value: {text!r}")
    return h, w


def wayland_session() -> bool:
    """True in a Wayland desktop session (even with Xwayland's ``DISPLAY``)."""
    return bool(os.environ.get("WAYLAND_DISPLAY")) or (
        os.environ.get("XDG_SESSION_TYPE", "").lower() == "wayland"
    )


WAYLAND_MESSAGE = (
    "This is a Wayland session: bc-gym records through X11 only. Under Wayland, screen grabs of "
    "native Wayland windows come out black and keys typed into them are not seen, so a "
    "recording would be silently wrong. Log out and choose an 'Xorg'/'X11' session at the login "
    "screen (e.g. 'Ubuntu on Xorg'), or run the game under Xvfb. If the game is an Xwayland "
    "window and you have checked that frames and keys come through, pass --allow-wayland."
)


def check_platform(allow_wayland: bool = False) -> str:
    """Return ``$DISPLAY``; raise a clear error on a platform the recorder cannot use.

    Raises:
        UnsupportedPlatform: not Linux, or a Wayland session without ``allow_wayland``.
        DisplayError: no X display.
    """
    if not sys.platform.startswith("linux"):
        raise UnsupportedPlatform(
            f"bc-gym records on Linux with X11 only; this is {sys.platform!r}."
        )
    if wayland_session() and not allow_wayland:
        raise UnsupportedPlatform(WAYLAND_MESSAGE)
    return check_display()


def save_screenshots(region: tuple[int, int, int, int], prefix: str | Path) -> tuple[Path, Path]:
    """Save the region (``PREFIX.png``) and the screen with it outlined (``PREFIX-screen.png``).

    Raises:
        RegionError: the region is not inside the screen.
    """
    from bc_gym.screen.capture import ScreenCapture

    with ScreenCapture(region) as cap:
        crop = cap.grab()
        sw, sh = cap.screen_size
    with ScreenCapture((0, 0, sw, sh)) as cap:
        screen = np.ascontiguousarray(cap.grab())
    left, top, width, height = region
    cv2.rectangle(screen, (left, top), (left + width - 1, top + height - 1), (255, 0, 0), 2)
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    paths = (prefix.with_name(prefix.name + ".png"), prefix.with_name(prefix.name + "-screen.png"))
    for path, rgb in zip(paths, (crop, screen), strict=True):
        if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            raise OSError(f"could not write {str(path)!r}")
    return paths


def save_game_over_image(
    path: str | Path,
    *,
    region: tuple[int, int, int, int] | None = None,
    title: str | None = None,
    delay_s: float = 0.0,
    say: Callable[[str], object] = print,
) -> Path:
    """Grab the game (a window or a region) as a game-over reference image, after a countdown.

    The image is what ``TemplateDetector`` (``--game-over-image``) compares frames with; it is
    grabbed at the game's native size (the detector scales it to any frame size).

    Args:
        path: the PNG (or JPEG) to write; its folder is created.
        region: grab this ``(left, top, width, height)``...
        title: ...or the window whose title contains this (where it is after the countdown).
        delay_s: seconds to count down first (time to make the game show its game-over screen).
        say: prints the countdown, one line per second.

    Returns:
        ``path``.

    Raises:
        WindowNotFound, RegionError: no such window, or a region outside the screen.
    """
    from bc_gym.screen.capture import ScreenCapture

    if (region is None) == (title is None):
        raise ValueError("give exactly one of region and title")
    end = time.monotonic() + delay_s
    while (left := end - time.monotonic()) > 0:
        say(f"grabbing the game-over image in {math.ceil(left)} s...")
        time.sleep(min(1.0, left))
    with ScreenCapture(region, title=title) as cap:
        rgb = cap.grab()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {str(path)!r}")
    return path


def pointer_position() -> tuple[int, int]:
    """The mouse pointer's ``(x, y)`` on the screen."""
    check_display()
    xdisplay = require("Xlib.display", "screen")
    d = xdisplay.Display()
    try:
        p = d.screen().root.query_pointer()
        return int(p.root_x), int(p.root_y)
    finally:
        d.close()


def pick_region(
    ask: Callable[[str], object] = input, position: Callable[[], tuple[int, int]] = pointer_position
) -> tuple[int, int, int, int]:
    """Interactive region: the user points at two corners and presses Enter at each.

    Args:
        ask: shows a prompt and waits for Enter (``input`` by default).
        position: reads the pointer position.

    Returns:
        ``(left, top, width, height)`` spanning both corners (inclusive).
    """
    ask("Move the mouse to the TOP-LEFT corner of the game area, then press Enter: ")
    x1, y1 = position()
    ask("Move the mouse to the BOTTOM-RIGHT corner of the game area, then press Enter: ")
    x2, y2 = position()
    left, top = min(x1, x2), min(y1, y2)
    return left, top, abs(x2 - x1) + 1, abs(y2 - y1) + 1
