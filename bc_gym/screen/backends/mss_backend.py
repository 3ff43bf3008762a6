"""The ``mss`` capture backend (X11: XShmGetImage through XCB, ~0.3 ms for 640x480)."""

from __future__ import annotations

import numpy as np

from bc_gym.errors import DisplayError, require
from bc_gym.screen.windows import check_display


class MssBackend:
    """Grab screen rectangles with ``mss.MSS()``; thread-safe (mss locks each grab)."""

    def __init__(self) -> None:
        display = check_display()
        mss = require("mss", "screen")
        try:
            self._sct = mss.MSS()
        except Exception as exc:  # mss.exception.ScreenShotError and X errors
            raise DisplayError(f"mss cannot open the X display {display!r}: {exc}") from exc
        mon = self._sct.monitors[0]
        self._size = (int(mon["width"]), int(mon["height"]))

    def grab_bgra(self, region: tuple[int, int, int, int]) -> np.ndarray:
        """Pixels of ``(left, top, width, height)`` as BGRA ``(height, width, 4)`` uint8."""
        left, top, width, height = region
        shot = self._sct.grab({"left": left, "top": top, "width": width, "height": height})
        # Zero-copy view of mss's buffer (a fresh bytearray per grab, so it is ours to keep).
        return np.frombuffer(shot.raw, dtype=np.uint8).reshape(shot.height, shot.width, 4)

    def screen_size(self) -> tuple[int, int]:
        """``(width, height)`` of the whole screen, px."""
        return self._size

    def close(self) -> None:
        """Close the mss connection (idempotent)."""
        self._sct.close()
