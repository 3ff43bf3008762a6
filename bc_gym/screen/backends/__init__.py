"""Capture backends: one file each, chosen by name through a lazy registry.

A backend grabs a screen rectangle as a BGRA ``(H, W, 4)`` uint8 array and knows the screen
size. To add one (e.g. Wayland through PipeWire), write a module with a class implementing
:class:`CaptureBackend` and add its ``"module:Class"`` path to :data:`BACKENDS`.
"""

from __future__ import annotations

import importlib
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class CaptureBackend(Protocol):
    """What :class:`bc_gym.screen.capture.ScreenCapture` needs from a backend."""

    def grab_bgra(self, region: tuple[int, int, int, int]) -> np.ndarray:
        """Pixels of ``(left, top, width, height)`` as BGRA ``(height, width, 4)`` uint8."""
        ...

    def screen_size(self) -> tuple[int, int]:
        """``(width, height)`` of the whole screen, px."""
        ...

    def close(self) -> None:
        """Release the backend's resources (idempotent)."""
        ...


BACKENDS: dict[str, str] = {
    "mss": "bc_gym.screen.backends.mss_backend:MssBackend",
}


def get_backend(name: str) -> CaptureBackend:
    """Create the capture backend registered as ``name``.

    Raises:
        ValueError: no backend has that name.
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown capture backend {name!r}; expected one of {sorted(BACKENDS)}")
    module, cls = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), cls)()
