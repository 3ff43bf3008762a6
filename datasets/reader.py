"""Read datasets lazily: episodes open on first use, frames are read on demand.

Example:
    >>> from bc_gym.datasets import load_dataset
    >>> from bc_gym.datasets.recipes import highway_expert_dataset
    >>> ds = load_dataset(highway_expert_dataset(n_episodes=1, max_steps=20))
    >>> ep = ds[0]
    >>> ep.observations.shape[1:], ep.observations[:2].shape, len(ep) == len(ep.actions)
    ((64, 64, 3), (2, 64, 64, 3), True)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import h5py
import numpy as np

try:  # ISA-L inflates gzip chunks 2x faster than zlib (measured on 64x64 frames); optional
    from isal.isal_zlib import decompress as _inflate
except ImportError:  # pragma: no cover - isal has wheels for the usual platforms
    from zlib import decompress as _inflate

from bc_gym.actions import ActionMap
from bc_gym.errors import DatasetFormatError

from . import spec

_EPISODE_ARRAYS = (
    "observations",
    "timestamps",
    "actions",
    "rewards",
    "terminations",
    "truncations",
    "held_keys",
)


def open_episode_file(path: Path) -> h5py.File:
    """Open an episode file read-only, in SWMR mode when a killed writer left it flagged open.

    Raises:
        DatasetFormatError: the file is missing, truncated, corrupt or not HDF5.
    """
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        if "already open for write" in str(exc):
            try:
                return h5py.File(path, "r", libver="latest", swmr=True)
            except OSError as exc2:
                exc = exc2
        if not Path(path).exists():
            raise DatasetFormatError(f"episode file {str(path)!r} is missing") from None
        raise DatasetFormatError(
            f"episode file {str(path)!r} is not a readable HDF5 file: it is truncated, corrupt "
            f"or foreign (h5py: {exc}). Remove it or restore it from a copy; "
            "`bc-gym data validate` lists every bad file"
        ) from None


class Frames:
    """The ``(T+1, H, W, C)`` uint8 observations of an episode, read from disk on indexing.

    ``frames[i]``, ``frames[a:b]`` and ``frames[[i, j, ...]]`` return numpy arrays;
    ``np.asarray(frames)`` reads them all.
    """

    def __init__(self, data: h5py.Dataset, n: int, static: bool = False) -> None:
        self._data = data
        self._n = n
        # A finished episode file no longer changes: its chunk offsets can be listed once and
        # the compressed bytes read with os.pread, 1.3x faster than read_direct_chunk (measured).
        self._static = static
        self._table: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._fd: int | None = None
        self.shape = (n, *data.shape[1:])
        self.dtype = data.dtype
        # Fast path: one frame per chunk, gzip or no filter -> read the chunk's bytes and inflate
        # them with zlib/ISA-L, 2.5x faster than an h5py selection per frame (measured).
        self._direct = (
            data.chunks == (1, *data.shape[1:])
            and data.compression in ("gzip", None)
            and not data.shuffle
            and not data.fletcher32
            and data.scaleoffset is None
            and data.dtype == np.uint8
        )
        self._gzip = data.compression == "gzip"

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, idx: Any) -> np.ndarray:
        if isinstance(idx, slice):
            a, b, s = idx.indices(self._n)
            if s == 1:
                return self._data[a:b] if b > a else np.zeros((0, *self.shape[1:]), self.dtype)
            return self._take(np.arange(a, b, s))
        if isinstance(idx, int | np.integer):
            i = int(idx) + (self._n if idx < 0 else 0)
            if not 0 <= i < self._n:
                raise IndexError(f"frame {idx} out of range for {self._n} frames")
            return self._take(np.array([i]))[0]
        return self._take(np.asarray(idx))

    def _take(self, idx: np.ndarray) -> np.ndarray:
        """Frames at arbitrary indices (repeats and any order allowed)."""
        idx = np.where(idx < 0, idx + self._n, idx).astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self._n):
            raise IndexError(f"frame indices out of range for {self._n} frames")
        out = np.empty((len(idx), *self.shape[1:]), self.dtype)
        # One frame per chunk: reading frame by frame decodes only what is needed (see spec).
        if self._direct and self._static and self._chunk_table() is not None:
            offsets, sizes, masks = self._table  # type: ignore[misc]
            flat = out.reshape(len(idx), -1)
            for j, i in enumerate(idx.tolist()):
                raw = os.pread(self._fd, int(sizes[i]), int(offsets[i]))  # type: ignore[arg-type]
                flat[j] = np.frombuffer(
                    _inflate(raw) if self._gzip and not masks[i] & 1 else raw, np.uint8
                )
            return out
        if self._direct:
            dsid, tail, flat = (
                self._data.id,
                (0,) * (len(self.shape) - 1),
                out.reshape(len(idx), -1),
            )
            for j, i in enumerate(idx):
                mask, raw = dsid.read_direct_chunk((int(i), *tail))
                flat[j] = np.frombuffer(
                    _inflate(raw) if self._gzip and not mask & 1 else raw, np.uint8
                )
            return out
        for j, i in enumerate(idx):
            self._data.read_direct(out, np.s_[i], np.s_[j])
        return out

    def _chunk_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Byte offset, size and filter mask of every frame's chunk (None: not available)."""
        if self._table is None:
            offsets = np.full(self._n, -1, np.int64)
            sizes = np.zeros(self._n, np.int64)
            masks = np.zeros(self._n, np.int64)

            def visit(info: Any) -> None:
                i = info.chunk_offset[0]
                if i < self._n:
                    offsets[i], sizes[i], masks[i] = info.byte_offset, info.size, info.filter_mask

            try:
                self._data.id.chunk_iter(visit)
            except (AttributeError, RuntimeError):  # HDF5 < 1.12.3: no chunk_iter
                self._static = False
                return None
            if (offsets < 0).any():  # unwritten chunks (never in a finished episode)
                self._static = False
                return None
            self._fd = os.open(self._data.file.filename, os.O_RDONLY)
            self._table = (offsets, sizes, masks)
        return self._table

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)  # type: ignore[arg-type]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self[:]
        return arr if dtype is None else arr.astype(dtype)

    def __repr__(self) -> str:
        return f"Frames(shape={self.shape}, dtype={self.dtype})"


class Episode:
    """One episode of a :class:`Dataset` (lazy: arrays are read on first access).

    Attributes:
        id: the episode id (``episode_{id}.hdf5``).
        complete: False when the writer was killed or interrupted mid-episode.
    """

    def __init__(self, dataset: Dataset, id: int, path: Path) -> None:
        self.dataset = dataset
        self.id = id
        self.path = path

    @property
    def _file(self) -> h5py.File:
        return self.dataset._file(self.id)

    def _array(self, name: str) -> h5py.Dataset:
        f = self._file
        if name not in f:
            raise DatasetFormatError(
                f"episode file {str(self.path)!r} has no {name!r} array: it is not a bc-gym "
                "episode (see docs/dataset-format.md)"
            )
        return f[name]

    @cached_property
    def complete(self) -> bool:
        """The writer ended this episode cleanly."""
        return bool(self._file.attrs.get("complete", False))

    @cached_property
    def _length(self) -> int:
        f = self._file
        total = int(f.attrs.get("total_steps", -1))
        if self.complete and total >= 0:
            return total
        # A killed writer: the steps whose every array reached the disk.
        n = [
            self._array(k).shape[0] - (1 if k in ("observations", "timestamps") else 0)
            for k in _EPISODE_ARRAYS
        ]
        return max(min(n), 0)

    def __len__(self) -> int:
        return self._length

    def _small(self, name: str, rows: int) -> np.ndarray:
        return self._array(name)[:rows]

    @cached_property
    def observations(self) -> Frames:
        """``(T+1, H, W, C)`` uint8, read on indexing."""
        return Frames(self._array("observations"), len(self) + 1, static=self.complete)

    @cached_property
    def actions(self) -> np.ndarray:
        """``(T,)`` int64 action indices."""
        return self._small("actions", len(self))

    @cached_property
    def rewards(self) -> np.ndarray:
        """``(T,)`` float32."""
        return self._small("rewards", len(self))

    @cached_property
    def terminations(self) -> np.ndarray:
        """``(T,)`` bool."""
        return self._small("terminations", len(self))

    @cached_property
    def truncations(self) -> np.ndarray:
        """``(T,)`` bool."""
        return self._small("truncations", len(self))

    @cached_property
    def timestamps(self) -> np.ndarray:
        """``(T+1,)`` float64 seconds; frame ``i`` was captured at ``timestamps[i]``."""
        return self._small("timestamps", len(self) + 1)

    @cached_property
    def held_keys(self) -> np.ndarray:
        """``(T, n_keys)`` bool, columns ``dataset.metadata["keys"]``."""
        return self._small("held_keys", len(self))

    @cached_property
    def key_events(self) -> np.ndarray:
        """Raw key log: structured array ``(time float64, key str, down bool)``."""
        if "key_events" not in self._file:
            return spec.make_key_events(None)
        return spec.key_events_from_disk(self._file["key_events"][:])

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame."""
        ts = self.timestamps
        return float(ts[-1] - ts[0]) if len(ts) else 0.0

    def __repr__(self) -> str:
        return f"Episode(id={self.id}, steps={len(self)}, complete={self.complete})"


class Dataset:
    """A dataset folder opened for reading (see ``docs/dataset-format.md``).

    Open with :meth:`open` or :func:`load_dataset`. Episodes are listed from the files, so an
    episode cut by a crash is included (``episode.complete == False``). HDF5 files are opened on
    first use and reopened after a fork (safe in DataLoader workers).

    Example:
        >>> from bc_gym.datasets import load_dataset
        >>> from bc_gym.datasets.recipes import highway_expert_dataset
        >>> ds = load_dataset(highway_expert_dataset(n_episodes=2, max_steps=10))
        >>> len(ds), ds.action_map.names[0], ds.fps
        (2, 'noop', 30.0)
    """

    def __init__(self, path: Path, metadata: dict[str, Any]) -> None:
        self.path = Path(path)
        self.metadata = metadata
        self._ids = [i for i, _ in spec.list_episode_files(self.path)]
        self._paths = dict(spec.list_episode_files(self.path))
        self._files: dict[int, h5py.File] = {}
        self._pid = os.getpid()
        self._episodes: dict[int, Episode] = {}

    @classmethod
    def open(cls, path: str | Path) -> Dataset:
        """Open the dataset folder at ``path``.

        Raises:
            DatasetFormatError: not a bc-gym dataset, bad metadata, or unsupported version.
        """
        path = Path(path)
        meta = spec.read_metadata(path)
        return cls(path, meta)

    @cached_property
    def action_map(self) -> ActionMap:
        """The action vocabulary."""
        try:
            return ActionMap.from_dict(self.metadata["action_map"])
        except ValueError as exc:
            raise DatasetFormatError(f"{str(self.path)!r}: bad action_map ({exc})") from None

    @property
    def fps(self) -> float:
        """Nominal recording rate."""
        return float(self.metadata["fps"])

    @property
    def obs_shape(self) -> tuple[int, int, int]:
        """``(H, W, C)`` of the observations."""
        h, w, c = self.metadata["obs_shape"]
        return int(h), int(w), int(c)

    @property
    def episode_ids(self) -> list[int]:
        """Ids of the episodes, in order (``ds[i]`` is episode ``episode_ids[i]``)."""
        return list(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, i: int) -> Episode:
        if not isinstance(i, int | np.integer):
            raise TypeError(f"episode index must be an int, actual value: {i!r}")
        n = len(self._ids)
        if not -n <= i < n:
            raise IndexError(f"episode {i} out of range: the dataset has {n} episodes")
        eid = self._ids[int(i)]
        self._check_fork()
        if eid not in self._episodes:
            self._episodes[eid] = Episode(self, eid, self._paths[eid])
        return self._episodes[eid]

    def __iter__(self) -> Iterator[Episode]:
        for i in range(len(self)):
            yield self[i]

    @property
    def total_steps(self) -> int:
        """Steps over all episodes (reads each episode's length)."""
        return sum(len(ep) for ep in self)

    def _check_fork(self) -> None:
        if os.getpid() != self._pid:  # forked (DataLoader worker): h5py handles do not survive
            self._files = {}
            self._episodes = {}
            self._pid = os.getpid()

    def _file(self, eid: int) -> h5py.File:
        self._check_fork()
        f = self._files.get(eid)
        if f is None or not f.id.valid:
            f = open_episode_file(self._paths[eid])
            self._files[eid] = f
        return f

    def close(self) -> None:
        """Close open HDF5 files (they reopen on next use)."""
        for f in self._files.values():
            if f.id.valid:
                f.close()
        self._files = {}

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        # Picklable for DataLoader workers (spawn): files reopen in the child.
        return {"path": self.path, "metadata": self.metadata}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], state["metadata"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"Dataset({str(self.path)!r}, episodes={len(self)}, fps={self.fps})"


def load_dataset(path: str | Path) -> Dataset:
    """Open a dataset folder (same as :meth:`Dataset.open`)."""
    return Dataset.open(path)
