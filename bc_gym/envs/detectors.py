"""Pluggable game-over detectors and rewards for ``ScreenEnv``.

A **detector** is a callable ``detector(frame, t) -> bool`` on the native RGB frame of the
captured region and its timestamp; it may have ``reset(frame, t)``, called at each episode
start, and ``pending_since``: while the latest frames may turn out to belong to a game over
(the screen has stopped changing), the time of the first frame of that still screen, else
``None``. When such a detector fires, the game ended at ``pending_since``: the recorder ends the
episode on that frame and drops the later ones (copies of it, labelled with whatever keys were
held), and ``ScreenEnv`` reports the episode's length up to it.

A **reward** is a callable ``reward(frame, info) -> float`` (``info["terminated"]`` says
whether the step ended the episode); it may have ``reset(frame)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np


@runtime_checkable
class GameOverDetector(Protocol):
    """``detector(frame, t) -> bool``: is this frame a game-over screen?"""

    def __call__(self, frame: np.ndarray, t: float) -> bool:
        """Return True when the game is over."""
        ...


@runtime_checkable
class Reward(Protocol):
    """``reward(frame, info) -> float``."""

    def __call__(self, frame: np.ndarray, info: dict[str, Any]) -> float:
        """Return the reward of the step that produced ``frame``."""
        ...


def _box_slices(shape: tuple[int, ...], box: Sequence[float]) -> tuple[slice, slice]:
    top, left, bottom, right = box
    h, w = shape[:2]
    return (
        slice(int(round(top * h)), max(int(round(bottom * h)), int(round(top * h)) + 1)),
        slice(int(round(left * w)), max(int(round(right * w)), int(round(left * w)) + 1)),
    )


class TemplateDetector:
    """Game over when a box of the frame matches the same box of a saved game-over screenshot.

    The box is given in fractions of the frame, so the reference may be a screenshot at
    another scale; the live crop is area-resized to the template before comparing.

    Example:
        >>> ref = np.zeros((96, 96, 3), np.uint8); ref[34:62] = (150, 0, 0)
        >>> det = TemplateDetector(ref, box=(34 / 96, 0, 62 / 96, 1))
        >>> det(np.kron(ref, np.ones((5, 5, 1), np.uint8)), 0.0)
        True

    Args:
        image: the reference screenshot (RGB uint8 array) or the path of a PNG/JPEG of it.
        box: ``(top, left, bottom, right)`` in fractions of the frame; ``(0, 0, 1, 1)`` is all.
        tol: the largest mean absolute difference (0-255) that still counts as a match.
    """

    def __init__(
        self,
        image: np.ndarray | str | Path,
        box: Sequence[float] = (0.0, 0.0, 1.0, 1.0),
        tol: float = 20.0,
    ) -> None:
        if len(box) != 4 or not (0 <= box[0] < box[2] <= 1 and 0 <= box[1] < box[3] <= 1):
            raise ValueError(
                "box must be (top, left, bottom, right) fractions with 0 <= top < bottom <= 1 "
                f"and 0 <= left < right <= 1, actual value: {box!r}"
            )
        if isinstance(image, (str, Path)):
            bgr = cv2.imread(str(image), cv2.IMREAD_COLOR)
            if bgr is None:
                raise FileNotFoundError(f"cannot read the game-over image {str(image)!r}")
            image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        image = np.asarray(image, dtype=np.uint8)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image must be RGB (H, W, 3) uint8, actual shape: {image.shape}")
        self.box = tuple(float(v) for v in box)
        rows, cols = _box_slices(image.shape, self.box)
        if not tol >= 0:
            raise ValueError(
                f"tol must be >= 0 (mean pixel difference, 0-255), actual value: {tol!r}"
            )
        self.template = np.ascontiguousarray(image[rows, cols])
        self.tol = float(tol)

    def __repr__(self) -> str:
        return f"TemplateDetector(box={self.box}, tol={self.tol:g})"

    def distance(self, frame: np.ndarray) -> float:
        """Mean absolute difference between the frame's box and the template."""
        rows, cols = _box_slices(frame.shape, self.box)
        crop = frame[rows, cols]
        th, tw = self.template.shape[:2]
        if crop.shape[:2] != (th, tw):
            interp = cv2.INTER_AREA if crop.shape[0] >= th else cv2.INTER_NEAREST
            crop = cv2.resize(crop, (tw, th), interpolation=interp)
        return float(cv2.absdiff(crop, self.template).mean())

    def __call__(self, frame: np.ndarray, t: float) -> bool:
        """True when the frame's box matches the template within ``tol``."""
        return self.distance(frame) <= self.tol


class FrozenScreenDetector:
    """Game over when the screen has not changed for ``seconds`` (a game that freezes on a crash).

    Each frame is compared with the *first* frame of the current still stretch (not with the
    previous frame, so a slow drift still counts as a change), on a 32x32 grayscale thumbnail:
    a mean absolute difference up to ``tol`` (0-255) is "no change", so capture noise and a
    small blinking cursor do not restart the timer. While the screen stays still,
    ``pending_since`` is the time of that first still frame: the moment the game stopped.

    Example:
        >>> det = FrozenScreenDetector(seconds=1.0)
        >>> still = np.zeros((150, 600, 3), np.uint8)
        >>> det.reset(still, t=0.0)
        >>> det(still, 0.5), det.pending_since, det(still, 1.0)
        (False, 0.0, True)

    Args:
        seconds: how long the screen must stay the same.
        tol: the largest thumbnail difference that counts as "no change".
    """

    def __init__(self, seconds: float = 3.0, tol: float = 0.5) -> None:
        if not seconds > 0:
            raise ValueError(f"seconds must be > 0, actual value: {seconds!r}")
        if not tol >= 0:
            raise ValueError(
                f"tol must be >= 0 (mean pixel difference, 0-255), actual value: {tol!r}"
            )
        self.seconds = float(seconds)
        self.tol = float(tol)
        self._ref: np.ndarray | None = None
        self._since = 0.0
        self._still = False

    def __repr__(self) -> str:
        return f"FrozenScreenDetector(seconds={self.seconds:g}, tol={self.tol:g})"

    @staticmethod
    def _thumb(frame: np.ndarray) -> np.ndarray:
        if frame.ndim == 3 and frame.shape[2] == 1:  # (H, W, 1) grayscale
            frame = frame[..., 0]
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame
        return cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA)

    @property
    def pending_since(self) -> float | None:
        """While the screen is still: the time of the first still frame; else ``None``."""
        return self._since if self._still else None

    def difference(self, frame: np.ndarray) -> float:
        """Thumbnail difference between ``frame`` and the first frame of the still stretch."""
        if self._ref is None:
            return float("inf")
        return float(cv2.absdiff(self._thumb(frame), self._ref).mean())

    def reset(self, frame: np.ndarray, t: float) -> None:
        """Start a new episode from ``frame`` at time ``t``."""
        self._ref, self._since, self._still = self._thumb(frame), t, False

    def __call__(self, frame: np.ndarray, t: float) -> bool:
        """True when the screen has been frozen for ``seconds`` at time ``t``."""
        if self.difference(frame) > self.tol:
            self._ref, self._since, self._still = self._thumb(frame), t, False
            return False
        self._still = True
        return t - self._since >= self.seconds


class AnyOf:
    """Game over when any of several detectors fires."""

    def __init__(self, *detectors: GameOverDetector) -> None:
        self.detectors = detectors

    def __repr__(self) -> str:
        return f"AnyOf({', '.join(map(repr, self.detectors))})"

    @property
    def pending_since(self) -> float | None:
        """The earliest ``pending_since`` of the detectors (``None`` when none is pending)."""
        times = [getattr(d, "pending_since", None) for d in self.detectors]
        times = [t for t in times if t is not None]
        return min(times) if times else None

    def reset(self, frame: np.ndarray, t: float) -> None:
        """Reset every detector that has state."""
        for d in self.detectors:
            if hasattr(d, "reset"):
                d.reset(frame, t)

    def __call__(self, frame: np.ndarray, t: float) -> bool:
        """True when any detector fires (each one sees every frame: stateful ones keep time)."""
        return any([d(frame, t) for d in self.detectors])


class SurvivalReward:
    """``per_step`` for every step that does not end the episode, 0 for the one that does."""

    def __init__(self, per_step: float = 1.0) -> None:
        self.per_step = float(per_step)

    def __call__(self, frame: np.ndarray, info: dict[str, Any]) -> float:
        """The survival reward of a step."""
        return 0.0 if info.get("terminated") else self.per_step
