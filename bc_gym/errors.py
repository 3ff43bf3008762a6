"""Errors raised by bc-gym.

Every error names the bad value, what was expected and how to fix it.
"""

from __future__ import annotations


class BcGymError(Exception):
    """Base class of every bc-gym error.

    The ``bc-gym`` command prints these as one line (``error: ...``) and exits with status 2;
    any other exception is a bug and keeps its traceback.
    """


# Option errors
class ConfigError(BcGymError, ValueError):
    """An option or config value is malformed or out of range (a CLI option, ``--set``)."""


# Environment and platform errors
class DependencyNotInstalled(BcGymError, ImportError):
    """An optional dependency is missing; the message gives the pip command."""


class DisplayError(BcGymError):
    """No usable X display (no DISPLAY, or a Wayland session)."""


class UnsupportedPlatform(BcGymError):
    """The platform cannot be captured or driven (e.g. Wayland, macOS)."""


# Screen errors
class WindowNotFound(BcGymError):
    """No visible window matches the requested title."""


class RegionError(BcGymError, ValueError):
    """A capture region is empty or lies outside the screen."""


class FocusError(BcGymError):
    """The target window does not have the keyboard focus and policy forbids taking it."""


# Dataset errors
class DatasetFormatError(BcGymError):
    """Not a valid bc-gym dataset: foreign, truncated, corrupt or of an unknown version."""


class DatasetExistsError(BcGymError, FileExistsError):
    """Refusing to overwrite an existing dataset."""


class DatasetError(BcGymError, ValueError):
    """Valid datasets that cannot be used as asked: they disagree, or hold too little."""


# Agent errors
class CheckpointError(BcGymError):
    """A checkpoint is missing, corrupt, or does not match the agent/config that loads it."""


class UnknownAgent(BcGymError, KeyError):
    """No agent is registered under the requested name."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


def require(module: str, extra: str):
    """Import ``module`` or raise :class:`DependencyNotInstalled` naming the pip extra.

    Args:
        module: the module to import, e.g. ``"pygame"``.
        extra: the bc-gym extra that provides it, e.g. ``"window"``.

    Returns:
        The imported module.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise DependencyNotInstalled(
            f"{module} is not installed ({exc}). Install it with: pip install 'bc-gym[{extra}]'"
        ) from exc
