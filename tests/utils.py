"""Shared test constants and helpers."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

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


def load_benchmark(name: str, as_name: str) -> ModuleType:
    """``benchmarks/NAME.py`` loaded by its path as module ``as_name`` (the repository root stays
    off sys.path: the top-level ``datasets/`` folder would shadow Hugging Face ``datasets``)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(as_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[as_name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module
