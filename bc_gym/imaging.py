"""Cheap image conversions shared by the games, the screen capture and the datasets.

OpenCV is used because its area resize and colour conversions are 5-20x faster than numpy
fancy indexing or PIL on the frame sizes we handle (see design.md section 4).
"""

from __future__ import annotations

import cv2
import numpy as np


def resize(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an ``(H, W, C)`` or ``(H, W)`` uint8 frame to ``size = (height, width)``.

    Downscaling uses area averaging (keeps thin lane markings visible); upscaling by an integer
    factor uses nearest neighbour (pixel-exact, like the game window).
    """
    h, w = int(size[0]), int(size[1])
    if h <= 0 or w <= 0:
        raise ValueError(f"size must be positive (height, width), got {size!r}")
    if frame.shape[:2] == (h, w):
        return frame
    interp = cv2.INTER_AREA if h <= frame.shape[0] and w <= frame.shape[1] else cv2.INTER_NEAREST
    out = cv2.resize(frame, (w, h), interpolation=interp)
    if frame.ndim == 3 and out.ndim == 2:  # cv2 drops a single channel
        out = out[:, :, None]
    return out


def to_gray(frame: np.ndarray) -> np.ndarray:
    """RGB ``(H, W, 3)`` uint8 -> grayscale ``(H, W, 1)`` uint8."""
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[:, :, None]


def bgra_to_rgb(raw: np.ndarray) -> np.ndarray:
    """BGRA ``(H, W, 4)`` uint8 (what mss returns) -> contiguous RGB ``(H, W, 3)``."""
    return cv2.cvtColor(raw, cv2.COLOR_BGRA2RGB)


def upscale(frame: np.ndarray, factor: int) -> np.ndarray:
    """Integer nearest-neighbour upscale (what the game window shows)."""
    if factor == 1:
        return frame
    return np.repeat(np.repeat(frame, factor, axis=0), factor, axis=1)
