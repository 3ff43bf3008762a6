"""Write datasets: stream step by step (the recorder) or add whole episodes.

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> from bc_gym.actions import HIGHWAY_ACTIONS
    >>> from bc_gym.datasets import DatasetWriter, load_dataset
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "demo"
    >>> frame = np.zeros((8, 8, 3), np.uint8)
    >>> with DatasetWriter(path, action_map=HIGHWAY_ACTIONS, fps=30, obs_shape=(8, 8, 3)) as w:
    ...     _ = w.begin_episode(frame, t0=0.0)
    ...     w.step(3, frame, 1.0, False, True, timestamp=1 / 30)
    ...     _ = w.end_episode()
    >>> ds = load_dataset(path)
    >>> len(ds), len(ds[0]), ds[0].actions.tolist()
    (1, 1, [3])
"""

from __future__ import annotations

import datetime as _dt
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from bc_gym.actions import ActionMap
from bc_gym.errors import DatasetExistsError, DatasetFormatError

from . import spec


@dataclass
class EpisodeData:
    """One whole episode in memory (what :meth:`DatasetWriter.add_episode` takes).

    Args:
        observations: ``(T+1, H, W, C)`` uint8.
        actions: ``(T,)`` action indices.
        rewards: ``(T,)``; zeros when ``None``.
        terminations: ``(T,)`` bool; all False when ``None``.
        truncations: ``(T,)`` bool; all False when ``None``.
        timestamps: ``(T+1,)`` seconds; ``i / fps`` when ``None``.
        held_keys: ``(T, n_keys)`` bool; derived from ``actions`` when ``None``.
        key_events: ``[(time, key, down), ...]`` or a structured array; empty when ``None``.
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray | None = None
    terminations: np.ndarray | None = None
    truncations: np.ndarray | None = None
    timestamps: np.ndarray | None = None
    held_keys: np.ndarray | None = None
    key_events: Any = None


class _EpisodeFile:
    """An open episode file in SWMR mode, with a buffer of steps not yet on disk."""

    def __init__(self, path: Path, index: int, writer: DatasetWriter) -> None:
        self.path = path
        self.index = index
        self.n_keys = len(writer.action_map.keys)
        h, w, c = writer.obs_shape
        self.f = h5py.File(path, "w-", libver="latest")
        self.f.attrs["format_version"] = spec.FORMAT_VERSION
        self.f.attrs["id"] = index
        self.f.attrs["complete"] = False
        self.f.attrs["total_steps"] = -1
        self.ds: dict[str, h5py.Dataset] = {}
        self.ds["observations"] = self.f.create_dataset(
            "observations",
            shape=(0, h, w, c),
            maxshape=(None, h, w, c),
            dtype=np.uint8,
            chunks=(writer.chunk_frames, h, w, c),
            compression=writer.compression,
            compression_opts=writer.compression_opts,
        )
        self.ds["timestamps"] = self._small("timestamps", (), np.float64)
        for name, dtype in spec.STEP_ARRAYS.items():
            self.ds[name] = self._small(name, (), dtype)
        self.ds["held_keys"] = self._small("held_keys", (self.n_keys,), bool)
        self.ds["key_events"] = self._small("key_events", (), spec.KEY_EVENT_H5_DTYPE)
        self.f.swmr_mode = True
        self.buf: dict[str, list] = {name: [] for name in self.ds}
        self.n_obs = 0  # rows written or buffered
        self.n_steps = 0

    def _small(self, name: str, tail: tuple[int, ...], dtype: Any) -> h5py.Dataset:
        return self.f.create_dataset(
            name,
            shape=(0, *tail),
            maxshape=(None, *tail),
            dtype=dtype,
            chunks=(1024, *tail),
        )

    def flush(self) -> None:
        for name, rows in self.buf.items():
            if not rows:
                continue
            d = self.ds[name]
            n = d.shape[0]
            d.resize(n + len(rows), axis=0)
            d[n:] = np.stack(rows) if name != "key_events" else np.concatenate(rows)
            rows.clear()
        # Frames first, then the per-step arrays: a reader never sees a step without its frame.
        for d in self.ds.values():
            d.flush()

    def pending(self) -> bool:
        return any(self.buf.values())

    def close(self, complete: bool) -> None:
        self.flush()
        self.f.close()
        # Attributes cannot change in SWMR mode: reopen briefly to mark the episode complete.
        with h5py.File(self.path, "r+", libver="latest") as f:
            f.attrs["complete"] = bool(complete)
            f.attrs["total_steps"] = int(self.n_steps)


class DatasetWriter:
    """Write a dataset folder (see ``docs/dataset-format.md``); use it as a context manager.

    Streaming: :meth:`begin_episode`, then :meth:`step` (and :meth:`key_event`) per tick, then
    :meth:`end_episode`. Whole episodes: :meth:`add_episode`. The writer is thread-safe; steps
    reach the disk at least every ``flush_interval`` seconds, even when no more steps come.

    Args:
        path: the dataset folder to create.
        action_map: the action vocabulary (stored as ``metadata["action_map"]``).
        fps: nominal recording rate.
        obs_shape: ``(H, W, C)`` of the uint8 observations.
        source: ``"recorder"``, ``"game"`` or ``"import"``.
        game_id: the game's id or window title.
        region: captured region ``(left, top, width, height)`` or None.
        screen_size: captured screen ``(width, height)`` or None.
        overwrite: replace an existing dataset at ``path``.
        append: add episodes to an existing, compatible dataset at ``path``.
        flush_interval: seconds between flushes to disk (crash-safety horizon).
        chunk_frames: frames per HDF5 chunk of ``observations``.
        compression: HDF5 filter of ``observations`` (``"gzip"``, ``"lzf"`` or None).
        compression_opts: filter level (gzip: 0-9).
        **extra_meta: more JSON-serialisable metadata (e.g. ``noise=0.05``).

    Raises:
        DatasetExistsError: ``path`` exists and neither ``overwrite`` nor ``append`` is set.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        action_map: ActionMap,
        fps: float,
        obs_shape: tuple[int, int, int],
        source: str = "game",
        game_id: str | None = None,
        region: tuple[int, int, int, int] | None = None,
        screen_size: tuple[int, int] | None = None,
        overwrite: bool = False,
        append: bool = False,
        flush_interval: float = 0.25,
        chunk_frames: int = 1,
        compression: str | None = "gzip",
        compression_opts: int | None = 1,
        **extra_meta: Any,
    ) -> None:
        if not isinstance(action_map, ActionMap):
            raise TypeError(f"action_map must be an ActionMap, actual value: {action_map!r}")
        if not (isinstance(fps, int | float) and fps > 0):
            raise ValueError(f"fps must be a number > 0, actual value: {fps!r}")
        obs_shape = tuple(int(x) for x in obs_shape)
        if len(obs_shape) != 3 or min(obs_shape) <= 0 or obs_shape[2] not in spec.COLORS:
            raise ValueError(
                f"obs_shape must be (H, W, C) with C in {sorted(spec.COLORS)}, "
                f"actual value: {obs_shape!r}"
            )
        if source not in spec.SOURCES:
            raise ValueError(f"source must be one of {spec.SOURCES}, actual value: {source!r}")
        if compression in ("lzf", None):
            compression_opts = None  # h5py refuses options without a gzip/szip filter
        if flush_interval <= 0:
            raise ValueError(f"flush_interval must be > 0, actual value: {flush_interval!r}")
        if chunk_frames < 1:
            raise ValueError(f"chunk_frames must be >= 1, actual value: {chunk_frames!r}")
        clash = sorted(set(extra_meta) & set(spec.REQUIRED_METADATA))
        if clash:
            raise ValueError(f"extra metadata keys {clash} are reserved by the format")
        self.path = Path(path)
        self.action_map = action_map
        self.fps = float(fps)
        self.obs_shape: tuple[int, int, int] = obs_shape  # type: ignore[assignment]
        self.flush_interval = float(flush_interval)
        self.chunk_frames = int(chunk_frames)
        self.compression = compression
        self.compression_opts = compression_opts
        self._lock = threading.RLock()
        self._ep: _EpisodeFile | None = None
        self._last_flush = time.monotonic()
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        self._closed = False

        import bc_gym

        meta: dict[str, Any] = {
            "format_version": spec.FORMAT_VERSION,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "source": source,
            "game_id": game_id,
            "fps": self.fps,
            "obs_shape": list(obs_shape),
            "color": spec.COLORS[obs_shape[2]],
            "action_map": action_map.to_dict(),
            "keys": list(action_map.keys),
            "observation_space": {
                "type": "Box",
                "low": 0,
                "high": 255,
                "shape": list(obs_shape),
                "dtype": "uint8",
            },
            "action_space": {"type": "Discrete", "n": action_map.n},
            "region": list(region) if region is not None else None,
            "screen_size": list(screen_size) if screen_size is not None else None,
            "storage": {
                "chunk_frames": self.chunk_frames,
                "compression": compression,
                "compression_opts": compression_opts,
            },
            "total_episodes": 0,
            "total_steps": 0,
            "bc_gym_version": bc_gym.__version__,
            **extra_meta,
        }
        self._prepare_folder(meta, overwrite=overwrite, append=append)

    # Folder handling
    def _prepare_folder(self, meta: dict[str, Any], *, overwrite: bool, append: bool) -> None:
        p = self.path
        exists = p.exists() and (not p.is_dir() or any(p.iterdir()))
        if exists and append:
            old = spec.read_metadata(p)
            for key in ("obs_shape", "action_map", "keys"):
                if old[key] != meta[key]:
                    raise DatasetFormatError(
                        f"cannot append to {str(p)!r}: its {key} is {old[key]!r}, "
                        f"the writer's is {meta[key]!r}"
                    )
            self.metadata = old
            files = spec.list_episode_files(p)
            self._next_id = files[-1][0] + 1 if files else 0
            return
        if exists and not overwrite:
            raise DatasetExistsError(
                f"{str(p)!r} already exists; refusing to overwrite it. Choose a new path, or "
                "pass overwrite=True (--overwrite) to replace it or append=True to add episodes"
            )
        if exists:
            if not p.is_dir() or not (p / spec.METADATA_FILE).is_file():
                raise DatasetExistsError(
                    f"{str(p)!r} exists and is not a bc-gym dataset; refusing to delete it "
                    "even with overwrite=True"
                )
            shutil.rmtree(p)
        (p / spec.EPISODES_DIR).mkdir(parents=True, exist_ok=True)
        self.metadata = meta
        self._next_id = 0
        spec.write_metadata(p, meta)

    # Streaming
    def begin_episode(self, first_obs: np.ndarray, t0: float = 0.0) -> int:
        """Start an episode with its first observation, captured at time ``t0`` (seconds).

        Returns:
            The new episode's id.
        """
        with self._lock:
            self._check_open()
            if self._ep is not None:
                raise RuntimeError("an episode is already open: call end_episode() first")
            obs = self._check_obs(first_obs)
            index = self._next_id
            path = self.path / spec.EPISODES_DIR / spec.episode_filename(index)
            self._ep = _EpisodeFile(path, index, self)
            self._next_id += 1
            self._ep.buf["observations"].append(obs)
            self._ep.buf["timestamps"].append(np.float64(t0))
            self._ep.n_obs = 1
            self._flush_locked()
            if self._flusher is None:
                self._flusher = threading.Thread(
                    target=self._flush_loop, name="bc-gym-dataset-flusher", daemon=True
                )
                self._flusher.start()
            return index

    def step(
        self,
        action: int,
        obs: np.ndarray,
        reward: float = 0.0,
        terminated: bool = False,
        truncated: bool = False,
        timestamp: float | None = None,
        held_keys: np.ndarray | None = None,
    ) -> None:
        """Append one step: ``action`` was chosen on the last frame; ``obs`` is the next frame.

        Args:
            action: action index (label of the previous frame).
            obs: the next observation, captured at ``timestamp``.
            reward: reward of the step.
            terminated: the game ended.
            truncated: the episode was cut.
            timestamp: capture time of ``obs`` in seconds; previous + ``1/fps`` when None.
            held_keys: ``(n_keys,)`` bool held when ``action`` was chosen; from ``action``
                when None.
        """
        with self._lock:
            ep = self._require_episode()
            a = int(action)
            if not 0 <= a < self.action_map.n:
                raise ValueError(
                    f"action {action!r} out of range: expected 0 <= action < {self.action_map.n}"
                )
            frame = self._check_obs(obs)
            if held_keys is None:
                keys = self.action_map.to_multibinary(a)
            else:
                keys = np.asarray(held_keys, dtype=bool)
                if keys.shape != (ep.n_keys,):
                    raise ValueError(
                        f"held_keys has shape {keys.shape}, expected ({ep.n_keys},) "
                        f"for keys {self.action_map.keys}"
                    )
            if timestamp is None:
                timestamp = self._last_t + 1.0 / self.fps
            if timestamp < self._last_t:
                raise ValueError(
                    f"timestamp {timestamp!r} is earlier than the previous one ({self._last_t!r}): "
                    "timestamps must be non-decreasing (use a monotonic clock)"
                )
            b = ep.buf
            b["observations"].append(frame)
            b["timestamps"].append(np.float64(timestamp))
            b["actions"].append(np.int64(a))
            b["rewards"].append(np.float32(reward))
            b["terminations"].append(bool(terminated))
            b["truncations"].append(bool(truncated))
            b["held_keys"].append(keys)
            ep.n_steps += 1
            ep.n_obs += 1
            if time.monotonic() - self._last_flush >= self.flush_interval:
                self._flush_locked()

    def key_event(self, time_s: float, key: str, down: bool) -> None:
        """Log a raw key event of the open episode (time in seconds, key name, down or up)."""
        with self._lock:
            ep = self._require_episode()
            ev = spec.key_events_to_disk(spec.make_key_events([(time_s, key, down)]))
            ep.buf["key_events"].append(ev)

    def end_episode(self) -> int:
        """Flush and close the open episode; returns its number of steps."""
        return self._close_episode(complete=True)

    def flush(self) -> None:
        """Write buffered steps to disk now."""
        with self._lock:
            self._flush_locked()

    @property
    def _last_t(self) -> float:
        ep = self._ep
        assert ep is not None
        if ep.buf["timestamps"]:
            return float(ep.buf["timestamps"][-1])
        return float(ep.ds["timestamps"][-1])

    # Whole episodes
    def add_episode(self, episode: EpisodeData) -> int:
        """Write a whole episode; returns its id.

        Raises:
            ValueError: an array has the wrong shape, dtype or length (the message names it).
        """
        with self._lock:
            self._check_open()
            if self._ep is not None:
                raise RuntimeError("an episode is open: call end_episode() before add_episode()")
            arrays = self._episode_arrays(episode)
            index = self._next_id
            path = self.path / spec.EPISODES_DIR / spec.episode_filename(index)
            h, w, c = self.obs_shape
            with h5py.File(path, "w-", libver="latest") as f:
                f.attrs["format_version"] = spec.FORMAT_VERSION
                f.attrs["id"] = index
                f.create_dataset(
                    "observations",
                    data=arrays.pop("observations"),
                    maxshape=(None, h, w, c),
                    chunks=(self.chunk_frames, h, w, c),
                    compression=self.compression,
                    compression_opts=self.compression_opts,
                )
                for name, data in arrays.items():
                    f.create_dataset(
                        name,
                        data=data,
                        maxshape=(None, *data.shape[1:]),
                        chunks=(1024, *data.shape[1:]),
                    )
                t = len(arrays["actions"])
                f.attrs["complete"] = True
                f.attrs["total_steps"] = t
            self._next_id += 1
            self._count_episode(t)
            return index

    def _episode_arrays(self, ep: EpisodeData) -> dict[str, np.ndarray]:
        obs = np.asarray(ep.observations)
        if obs.dtype != np.uint8 or obs.ndim != 4 or obs.shape[1:] != self.obs_shape:
            raise ValueError(
                f"observations must be uint8 (T+1, {', '.join(map(str, self.obs_shape))}), "
                f"actual: {obs.dtype} {obs.shape}"
            )
        actions = np.asarray(ep.actions)
        if actions.ndim != 1 or not np.issubdtype(actions.dtype, np.integer):
            raise ValueError(
                f"actions must be a 1-D integer array, actual: {actions.dtype} {actions.shape}"
            )
        t = len(actions)
        if len(obs) != t + 1:
            raise ValueError(
                f"observations must have len(actions) + 1 = {t + 1} rows, actual: {len(obs)}"
            )
        if t and (actions.min() < 0 or actions.max() >= self.action_map.n):
            raise ValueError(
                f"actions must be in [0, {self.action_map.n}), actual range: "
                f"[{actions.min()}, {actions.max()}]"
            )

        def column(value: Any, dtype: Any, default: Any, name: str, rows: int) -> np.ndarray:
            arr = np.full(rows, default, dtype) if value is None else np.asarray(value)
            if arr.shape != (rows,):
                raise ValueError(f"{name} must have shape ({rows},), actual: {arr.shape}")
            return arr.astype(dtype, copy=False)

        ts = (
            np.arange(t + 1, dtype=np.float64) / self.fps
            if ep.timestamps is None
            else column(ep.timestamps, np.float64, 0.0, "timestamps", t + 1)
        )
        if t and np.any(np.diff(ts) < 0):
            i = int(np.argmax(np.diff(ts) < 0))
            raise ValueError(
                f"timestamps must be non-decreasing; timestamps[{i + 1}]={float(ts[i + 1])!r} < "
                f"timestamps[{i}]={float(ts[i])!r}"
            )
        k = len(self.action_map.keys)
        if ep.held_keys is None:
            held = np.array([self.action_map.to_multibinary(a) for a in actions], bool).reshape(
                t, k
            )
        else:
            held = np.asarray(ep.held_keys, dtype=bool)
            if held.shape != (t, k):
                raise ValueError(f"held_keys must have shape ({t}, {k}), actual: {held.shape}")
        return {
            "observations": obs,
            "timestamps": ts,
            "actions": actions.astype(np.int64),
            "rewards": column(ep.rewards, np.float32, 0.0, "rewards", t),
            "terminations": column(ep.terminations, bool, False, "terminations", t),
            "truncations": column(ep.truncations, bool, False, "truncations", t),
            "held_keys": held,
            "key_events": spec.key_events_to_disk(spec.make_key_events(ep.key_events)),
        }

    # Internals
    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"the writer of {str(self.path)!r} is closed")

    def _require_episode(self) -> _EpisodeFile:
        self._check_open()
        if self._ep is None:
            raise RuntimeError("no open episode: call begin_episode(first_obs, t0) first")
        return self._ep

    def _check_obs(self, obs: np.ndarray) -> np.ndarray:
        arr = np.asarray(obs)
        if arr.shape != self.obs_shape or arr.dtype != np.uint8:
            raise ValueError(
                f"observation must be uint8 {self.obs_shape}, actual: {arr.dtype} {arr.shape}"
            )
        return arr.copy()  # the caller may reuse its buffer

    def _flush_locked(self) -> None:
        if self._ep is not None:
            self._ep.flush()
        self._last_flush = time.monotonic()

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.flush_interval / 2):
            with self._lock:
                if (
                    self._ep is not None
                    and self._ep.pending()
                    and time.monotonic() - self._last_flush >= self.flush_interval
                ):
                    self._flush_locked()

    def _close_episode(self, complete: bool) -> int:
        with self._lock:
            ep = self._require_episode()
            ep.close(complete)
            self._ep = None
            self._count_episode(ep.n_steps)
            return ep.n_steps

    def _count_episode(self, steps: int) -> None:
        self.metadata["total_episodes"] = len(spec.list_episode_files(self.path))
        self.metadata["total_steps"] = int(self.metadata["total_steps"]) + int(steps)
        spec.write_metadata(self.path, self.metadata)

    def close(self) -> None:
        """End the open episode (if any) and stop the flusher thread."""
        with self._lock:
            if self._closed:
                return
            if self._ep is not None:
                self._close_episode(complete=True)
            self._closed = True
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join()

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is not None and self._ep is not None:
            with self._lock:
                self._close_episode(complete=False)
        self.close()
