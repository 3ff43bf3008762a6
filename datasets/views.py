"""Views of a dataset: its frames resized, or its episodes cut into time blocks.

A view copies nothing: it reads its base dataset on demand and is itself a
:class:`~bc_gym.datasets.reader.Dataset`, so every reader (``bc_gym.datasets.torch``, the
agents' training) takes it as it takes a dataset folder. Views compose (blocks of a resized
dataset).

* :class:`ResizedDataset` resizes each frame on load with :func:`bc_gym.imaging.resize`, the
  function ``play`` applies to live frames too, so that training and play see one interpolation.
* :class:`EpisodeBlocks` shows time ranges of episodes as episodes: the held-out time blocks of
  ``bc_gym.agents.data.split``.

The frame size of the pixel agents is decided here as well: :func:`agent_frame_size` keeps
recorded frames that every agent accepts and otherwise picks a size of the same aspect ratio.

Example:
    >>> from bc_gym.datasets import load_dataset
    >>> from bc_gym.datasets.recipes import highway_expert_dataset
    >>> ds = load_dataset(highway_expert_dataset(n_episodes=1, max_steps=20))
    >>> small = ResizedDataset(ds, (48, 96))
    >>> small.obs_shape, small[0].observations[0].shape
    ((48, 96, 3), (48, 96, 3))
    >>> blocks = EpisodeBlocks(ds, [(0, 0, 12), (0, 15, 20)])
    >>> len(blocks), len(blocks[1]), blocks[1].observations.shape
    (2, 5, (6, 64, 64, 3))
    >>> agent_frame_size((150, 600, 3)), agent_frame_size((64, 64, 3))
    ((48, 96), (64, 64))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from bc_gym.errors import ConfigError
from bc_gym.imaging import resize

from .reader import Dataset

# The frame size rule of the pixel agents
SIZE_MULTIPLE = 16
"""Each side of an agent's frame is a multiple of this: the VAE halves the frame four times."""
MIN_SIDE = 48
"""Smallest side: the Nature-DQN convolutions of cnn-bc and imitation-bc need 36 pixels."""
MAX_KEPT_SIDE = 128
"""Recorded frames of valid sides up to this are used as they are (the built-in recipes are
64x64, and the benchmark figures were measured on them)."""
AUTO_LONG_SIDE = 96
"""Other frames are scaled so that their long side is this, keeping the aspect ratio."""


def frame_size_ok(height: int, width: int) -> bool:
    """True when every pixel agent takes ``(height, width)`` frames as they are."""
    return all(s % SIZE_MULTIPLE == 0 and s >= MIN_SIDE for s in (height, width))


def auto_obs_size(shape: Sequence[int]) -> tuple[int, int]:
    """The agents' ``(height, width)`` for recorded frames of ``shape`` ``(H, W[, C])``.

    Frames that every agent accepts (sides multiples of 16, at least 48, at most 128) are kept;
    others are scaled so that the long side is 96, keeping the aspect ratio, each side rounded
    to a multiple of 16 and at least 48.

    Example:
        >>> auto_obs_size((150, 600, 3)), auto_obs_size((480, 480)), auto_obs_size((96, 96))
        ((48, 96), (96, 96), (96, 96))
    """
    h, w = int(shape[0]), int(shape[1])
    if frame_size_ok(h, w) and max(h, w) <= MAX_KEPT_SIDE:
        return h, w
    scale = AUTO_LONG_SIDE / max(h, w)

    def side(s: int) -> int:
        return max(MIN_SIDE, int(math.floor(s * scale / SIZE_MULTIPLE + 0.5)) * SIZE_MULTIPLE)

    return side(h), side(w)


def check_obs_size(size: Sequence[int]) -> tuple[int, int]:
    """``size`` as ``(height, width)`` ints, checked to suit every pixel agent.

    Raises:
        ConfigError: not two ints, or a side that is not a multiple of 16 of at least 48.
    """
    try:
        h, w = (int(s) for s in size)
    except (TypeError, ValueError):
        raise ConfigError(
            f"obs_size must be (height, width), actual value: {size!r}; e.g. (64, 64)"
        ) from None
    if not frame_size_ok(h, w):
        raise ConfigError(
            f"obs_size must have sides that are multiples of {SIZE_MULTIPLE} and at least "
            f"{MIN_SIDE} (what every pixel agent accepts), actual value: {w}x{h} (WxH); e.g. "
            f"64x64, or 'auto' for {AUTO_LONG_SIDE} pixels on the long side"
        )
    return h, w


def parse_obs_size(text: str) -> tuple[int, int] | None:
    """``"WxH"`` -> ``(height, width)`` (checked by :func:`check_obs_size`); ``"auto"`` -> None.

    Example:
        >>> parse_obs_size("96x48"), parse_obs_size("auto")
        ((48, 96), None)

    Raises:
        ConfigError: neither ``auto`` nor ``WxH`` of valid sides.
    """
    text = str(text).strip().lower()
    if text == "auto":
        return None
    try:
        w, h = (int(p) for p in text.split("x"))
    except ValueError:
        raise ConfigError(
            f"obs size must be 'auto' or WxH in pixels, e.g. 64x64, actual value: {text!r}"
        ) from None
    return check_obs_size((h, w))


def agent_frame_size(
    shape: Sequence[int], obs_size: Sequence[int] | None = None
) -> tuple[int, int]:
    """``obs_size`` checked, or :func:`auto_obs_size` of the recorded ``shape`` when None."""
    return auto_obs_size(shape) if obs_size is None else check_obs_size(obs_size)


# Views
class _FrameView:
    """Frames ``[start, stop)`` of a base frame array, resized to ``size`` when given.

    Indexing (int, slice, index array) and ``np.asarray`` behave as on
    :class:`~bc_gym.datasets.reader.Frames`.
    """

    def __init__(
        self, frames: Any, start: int, stop: int, size: tuple[int, int] | None = None
    ) -> None:
        self._frames, self._start, self._n, self._size = frames, start, stop - start, size
        h, w, c = frames.shape[1:]
        self.shape = (self._n, *(size or (h, w)), c)
        self.dtype = np.dtype(np.uint8)

    def __len__(self) -> int:
        return self._n

    def _resized(self, raw: np.ndarray) -> np.ndarray:
        if self._size is None:
            return raw
        if raw.ndim == 3:
            return resize(raw, self._size)
        out = np.empty((len(raw), *self.shape[1:]), np.uint8)
        for i, frame in enumerate(raw):
            out[i] = resize(frame, self._size)
        return out

    def __getitem__(self, idx: Any) -> np.ndarray:
        if isinstance(idx, slice):
            a, b, s = idx.indices(self._n)
            if s == 1:
                b = max(a, b)
                return self._resized(self._frames[self._start + a : self._start + b])
            return self[np.arange(a, b, s)]
        if isinstance(idx, int | np.integer):
            i = int(idx) + (self._n if idx < 0 else 0)
            if not 0 <= i < self._n:
                raise IndexError(f"frame {idx} out of range for {self._n} frames")
            return self._resized(self._frames[self._start + i])
        idx = np.asarray(idx, np.int64)
        idx = np.where(idx < 0, idx + self._n, idx)
        if idx.size and (idx.min() < 0 or idx.max() >= self._n):
            raise IndexError(f"frame indices out of range for {self._n} frames")
        if idx.size == 0:
            return np.zeros((0, *self.shape[1:]), np.uint8)
        return self._resized(self._frames[idx + self._start])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self[:]
        return arr if dtype is None else arr.astype(dtype)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shape={self.shape}, dtype={self.dtype})"


class EpisodeView:
    """Steps ``[start, stop)`` of a base episode (frames ``start..stop``), maybe resized.

    It has the attributes of :class:`~bc_gym.datasets.reader.Episode`; ``base`` and ``start``
    say where it comes from.
    """

    def __init__(
        self,
        dataset: Dataset,
        id: int,
        base: Any,
        start: int,
        stop: int,
        size: tuple[int, int] | None = None,
    ) -> None:
        self.dataset, self.id, self.base = dataset, id, base
        self.start, self.stop, self.size = int(start), int(stop), size
        self.path = base.path

    def __len__(self) -> int:
        return self.stop - self.start

    @property
    def complete(self) -> bool:
        """The base episode's ``complete``."""
        return bool(self.base.complete)

    @property
    def observations(self) -> _FrameView:
        """``(T+1, H, W, C)`` uint8, read (and resized) on indexing."""
        return _FrameView(self.base.observations, self.start, self.stop + 1, self.size)

    @property
    def timestamps(self) -> np.ndarray:
        """``(T+1,)`` float64 seconds."""
        return np.asarray(self.base.timestamps)[self.start : self.stop + 1]

    def _steps(self, name: str) -> np.ndarray:
        return np.asarray(getattr(self.base, name))[self.start : self.stop]

    @property
    def actions(self) -> np.ndarray:
        """``(T,)`` int64 action indices."""
        return self._steps("actions")

    @property
    def rewards(self) -> np.ndarray:
        """``(T,)`` float32."""
        return self._steps("rewards")

    @property
    def terminations(self) -> np.ndarray:
        """``(T,)`` bool."""
        return self._steps("terminations")

    @property
    def truncations(self) -> np.ndarray:
        """``(T,)`` bool."""
        return self._steps("truncations")

    @property
    def held_keys(self) -> np.ndarray:
        """``(T, n_keys)`` bool."""
        return self._steps("held_keys")

    @property
    def key_events(self) -> np.ndarray:
        """The base episode's key events between this view's first and last frame."""
        ev, ts = self.base.key_events, self.timestamps
        if len(ts) == 0:
            return ev[:0]
        return ev[(ev["time"] >= ts[0]) & (ev["time"] <= ts[-1])]

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame."""
        ts = self.timestamps
        return float(ts[-1] - ts[0]) if len(ts) else 0.0

    def __repr__(self) -> str:
        return f"EpisodeView(id={self.id}, steps={len(self)}, of {self.base!r} from {self.start})"


class DatasetView(Dataset):
    """Common part of the views: a base dataset and the view's own metadata and episodes."""

    def __init__(self, base: Dataset, metadata: dict[str, Any]) -> None:
        # Deliberately not Dataset.__init__: a view lists no files, it reads ``base``.
        if not isinstance(base, Dataset):
            raise TypeError(f"base must be a bc_gym.datasets.Dataset, actual value: {base!r}")
        self.base = base
        self.path = base.path
        self.metadata = metadata

    def _episode(self, i: int) -> EpisodeView:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, i: int) -> EpisodeView:  # type: ignore[override]
        if not isinstance(i, int | np.integer):
            raise TypeError(f"episode index must be an int, actual value: {i!r}")
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"episode {i} out of range: the dataset has {n} episodes")
        return self._episode(int(i) % n)

    @property
    def episode_ids(self) -> list[int]:
        """Positions ``0..len-1`` (a view's episodes have no files of their own)."""
        return list(range(len(self)))

    def close(self) -> None:
        """Close the base dataset's files."""
        self.base.close()

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class ResizedDataset(DatasetView):
    """``base`` with every frame resized to ``size`` ``(height, width)`` on load.

    Args:
        base: the dataset (or view) to read.
        size: ``(height, width)`` of the frames it shows.
    """

    def __init__(self, base: Dataset, size: Sequence[int]) -> None:
        h, w = (int(s) for s in size)
        if h <= 0 or w <= 0:
            raise ConfigError(f"size must be (height, width) > 0, actual value: {size!r}")
        c = base.obs_shape[2]
        meta = dict(base.metadata)
        meta["obs_shape"] = [h, w, c]
        meta["observation_space"] = {**meta.get("observation_space", {}), "shape": [h, w, c]}
        super().__init__(base, meta)
        self.size = (h, w)

    def __len__(self) -> int:
        return len(self.base)

    def _episode(self, i: int) -> EpisodeView:
        ep = self.base[i]
        return EpisodeView(self, i, ep, 0, len(ep), self.size)

    def __repr__(self) -> str:
        return f"ResizedDataset({self.base!r}, size={self.size})"


class EpisodeBlocks(DatasetView):
    """Time blocks of ``base``'s episodes, shown as episodes.

    Args:
        base: the dataset (or view) to read.
        blocks: ``(episode, start, stop)`` per view episode: steps ``start..stop-1`` of
            ``base[episode]``, and its frames ``start..stop`` (the last one unlabelled, as in
            any episode).
    """

    def __init__(self, base: Dataset, blocks: Sequence[tuple[int, int, int]]) -> None:
        checked = []
        for block in blocks:
            e, a, b = (int(x) for x in block)
            n = len(base[e])
            if not 0 <= a < b <= n:
                raise ValueError(
                    f"block {block!r} is not a time range of episode {e} ({n} steps): expected "
                    "(episode, start, stop) with 0 <= start < stop <= steps"
                )
            checked.append((e, a, b))
        meta = dict(base.metadata)
        meta["total_episodes"] = len(checked)
        meta["total_steps"] = sum(b - a for _, a, b in checked)
        super().__init__(base, meta)
        self.blocks = checked

    def __len__(self) -> int:
        return len(self.blocks)

    def _episode(self, i: int) -> EpisodeView:
        e, a, b = self.blocks[i]
        return EpisodeView(self, i, self.base[e], a, b)

    def __repr__(self) -> str:
        return f"EpisodeBlocks({self.base!r}, blocks={len(self.blocks)})"
