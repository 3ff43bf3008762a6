"""PyTorch views of a dataset: frames, time-spaced windows, frame stacks, samplers, split.

Frames feed the VAE, windows the sequence models, stacks frame-based BC.

Windows are spaced in **seconds**: for each target time ``t - k*spacing_s`` the frame with the
nearest timestamp is used (``np.searchsorted``), never ``k`` frames back.

Example:
    >>> from bc_gym.datasets import load_dataset
    >>> from bc_gym.datasets.recipes import highway_expert_dataset
    >>> from bc_gym.datasets.torch import SequenceDataset, split_episodes
    >>> ds = load_dataset(highway_expert_dataset(n_episodes=3, max_steps=30))
    >>> train, val = split_episodes(ds, val_fraction=0.34, seed=0)
    >>> seq = SequenceDataset(ds, context=4, spacing_s=0.1, episodes=train)
    >>> item = seq[0]
    >>> tuple(item["frames"].shape), item["actions"].dtype
    ((4, 3, 64, 64), torch.int64)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset as _TorchDataset
from torch.utils.data import WeightedRandomSampler

from bc_gym.imaging import resize

from .reader import Dataset

NOOP = 0


def nearest_frames(timestamps: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Index of the frame whose timestamp is nearest each target (ties: the earlier frame).

    Example:
        >>> nearest_frames(np.array([0.0, 0.03, 0.07, 0.1]), np.array([-1.0, 0.05, 0.06, 9.0]))
        array([0, 1, 2, 3])
    """
    ts = np.asarray(timestamps, np.float64)
    targets = np.asarray(targets, np.float64)
    hi = np.clip(np.searchsorted(ts, targets, side="left"), 0, len(ts) - 1)
    lo = np.clip(hi - 1, 0, len(ts) - 1)
    pick_lo = np.abs(targets - ts[lo]) <= np.abs(ts[hi] - targets)
    return np.where(pick_lo, lo, hi)


def split_episodes(
    ds: Dataset, val_fraction: float = 0.2, seed: int = 0
) -> tuple[list[int], list[int]]:
    """Split episode indices into train and validation, deterministically by ``seed``.

    At least one episode goes to each side when ``0 < val_fraction < 1`` and there are 2+.

    Returns:
        ``(train_ids, val_ids)``: sorted positions ``i`` of ``ds[i]``.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), actual value: {val_fraction!r}")
    n = len(ds)
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(val_fraction * n))
    if val_fraction > 0 and n >= 2:
        n_val = min(max(n_val, 1), n - 1)
    return sorted(int(i) for i in order[n_val:]), sorted(int(i) for i in order[:n_val])


def _episodes(ds: Dataset, episodes: Sequence[int] | None) -> list[int]:
    if not isinstance(ds, Dataset):
        raise TypeError(f"ds must be a bc_gym.datasets.Dataset, actual value: {ds!r}")
    ids = list(range(len(ds))) if episodes is None else [int(i) for i in episodes]
    for i in ids:
        if not 0 <= i < len(ds):
            raise ValueError(f"episode {i} out of range: the dataset has {len(ds)} episodes")
    return ids


def _to_chw(frames: np.ndarray, obs_size: tuple[int, int] | None) -> torch.Tensor:
    """(N, H, W, C) uint8 -> (N, C, H', W') uint8 tensor."""
    if obs_size is not None:
        frames = np.stack([resize(f, obs_size) for f in frames])
    return torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2)))


class _Items(_TorchDataset):
    """Common part: a flat index of ``(episode position, frame index)`` items."""

    ds: Dataset
    items: np.ndarray  # (N, 2) int64: episode position in ds, anchor frame

    def __len__(self) -> int:
        return len(self.items)

    @property
    def item_actions(self) -> np.ndarray:
        """Action label of each item (the action chosen on its newest frame)."""
        out = np.empty(len(self.items), np.int64)
        for e in np.unique(self.items[:, 0]):
            rows = self.items[:, 0] == e
            acts = self.ds[int(e)].actions
            out[rows] = acts[np.minimum(self.items[rows, 1], len(acts) - 1)]
        return out

    def item_future_actions(self, k: int, fill: int = -1) -> torch.Tensor:
        """The actions of each item's newest frame and of the ``k - 1`` frames after it.

        For action chunking: column ``i`` is the action chosen ``i`` recorded steps after the
        item's newest frame, in the same episode (column 0 is :attr:`item_actions`); steps past
        the episode's end are ``fill`` (``-1``, to be ignored by the loss).

        Args:
            k: steps per row (``>= 1``).
            fill: label of the steps past the episode's end.

        Returns:
            ``(N, k)`` long, in item order (the order of :meth:`StackDataset.frame_table`).
        """
        if int(k) != k or k < 1:
            raise ValueError(f"k must be an integer >= 1, actual value: {k!r}")
        out = torch.full((len(self.items), int(k)), int(fill), dtype=torch.long)
        steps = np.arange(int(k))
        for e in np.unique(self.items[:, 0]):
            rows = np.flatnonzero(self.items[:, 0] == e)
            acts = np.asarray(self.ds[int(e)].actions, np.int64)
            at = self.items[rows, 1, None] + steps[None]  # (R, k) step of each label
            inside = at < len(acts)
            labels = np.where(inside, acts[np.minimum(at, len(acts) - 1)], int(fill))
            out[torch.from_numpy(rows)] = torch.from_numpy(labels)
        return out

    def item_frames(self) -> np.ndarray:
        """``(N, 2)``: episode position and the newest frame of each item (for clustering)."""
        return self.items


class FrameDataset(_Items):
    """Every observation as a ``(C, H, W)`` uint8 tensor (for the VAE).

    Args:
        ds: the dataset.
        episodes: positions of the episodes to use (default: all).
        obs_size: resize frames to ``(height, width)`` (default: as stored).
    """

    def __init__(
        self,
        ds: Dataset,
        episodes: Sequence[int] | None = None,
        obs_size: tuple[int, int] | None = None,
    ) -> None:
        self.ds = ds
        self.episodes = _episodes(ds, episodes)
        self.obs_size = obs_size
        rows = [
            np.stack([np.full(len(ds[e]) + 1, e), np.arange(len(ds[e]) + 1)], 1)
            for e in self.episodes
        ]
        self.items = np.concatenate(rows) if rows else np.zeros((0, 2), np.int64)

    def __getitem__(self, i: int) -> torch.Tensor:
        e, j = self.items[i]
        frame = self.ds[int(e)].observations[int(j)]
        return _to_chw(frame[None], self.obs_size)[0]


class SequenceDataset(_Items):
    """Windows of ``context`` frames spaced ``spacing_s`` seconds apart, with their actions.

    Item ``(e, j)`` ends at frame ``j`` (time ``t = timestamps[j]``); step ``k`` of the window
    is the frame nearest ``t - (context - 1 - k) * spacing_s``. Only full windows are used (the
    earliest target lies at most half a frame period before the episode's first frame).

    Items are dicts: ``frames`` ``(T, C, H, W)`` uint8, ``actions`` ``(T,)`` long (the action
    chosen on each frame), ``prev_actions`` ``(T,)`` long (the action chosen at the previous
    sampled time, ``spacing_s`` earlier; noop = 0 before the episode starts), ``times`` ``(T,)``
    float64 (the chosen frames' timestamps, seconds).

    Args:
        ds: the dataset.
        context: window length ``T``.
        spacing_s: seconds between window steps (e.g. ``3 / fps``).
        episodes: positions of the episodes to use (default: all).
        obs_size: resize frames to ``(height, width)``.
    """

    def __init__(
        self,
        ds: Dataset,
        context: int,
        spacing_s: float,
        episodes: Sequence[int] | None = None,
        obs_size: tuple[int, int] | None = None,
    ) -> None:
        if int(context) < 1:
            raise ValueError(f"context must be >= 1, actual value: {context!r}")
        if not spacing_s > 0:
            raise ValueError(f"spacing_s must be > 0 seconds, actual value: {spacing_s!r}")
        self.ds = ds
        self.context = int(context)
        self.spacing_s = float(spacing_s)
        self.episodes = _episodes(ds, episodes)
        self.obs_size = obs_size
        self._offsets = np.arange(self.context - 1, -1, -1) * self.spacing_s  # (T,)
        tol = 0.5 / ds.fps
        rows = []
        for e in self.episodes:
            ts = ds[e].timestamps
            n = len(ds[e])
            if n == 0:
                continue
            j = np.arange(n)
            ok = ts[:n] - self._offsets[0] >= ts[0] - tol
            rows.append(np.stack([np.full(ok.sum(), e), j[ok]], 1))
        self.items = np.concatenate(rows).astype(np.int64) if rows else np.zeros((0, 2), np.int64)

    def indices(self, i: int) -> tuple[np.ndarray, int]:
        """Frame indices of item ``i`` (oldest first) and the previous sampled frame (or -1)."""
        e, j = (int(x) for x in self.items[i])
        ep = self.ds[e]
        ts = ep.timestamps
        idx = np.minimum(nearest_frames(ts, ts[j] - self._offsets), j)
        t_prev = ts[j] - self.context * self.spacing_s
        prev = -1 if t_prev < ts[0] - 0.5 / self.ds.fps else int(nearest_frames(ts, [t_prev])[0])
        return idx, prev

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        ep = self.ds[int(self.items[i, 0])]
        idx, prev = self.indices(i)
        acts = ep.actions[idx]
        prev_acts = np.empty_like(acts)
        prev_acts[1:] = acts[:-1]
        prev_acts[0] = ep.actions[prev] if prev >= 0 else NOOP
        return {
            "frames": _to_chw(ep.observations[idx], self.obs_size),  # (T, C, H, W)
            "actions": torch.from_numpy(acts.astype(np.int64)),  # (T,)
            "prev_actions": torch.from_numpy(prev_acts.astype(np.int64)),  # (T,)
            "times": torch.from_numpy(ep.timestamps[idx].astype(np.float64)),  # (T,)
        }


class StackDataset(_Items):
    """Frame stacks for frame-based BC: ``(n*C, H, W)`` uint8 (oldest..newest) and the action.

    Item ``(e, j)`` stacks the frames nearest ``t_j - (n - 1 - k) * spacing_s``; before the
    episode's start the first frame repeats (like ``TimedFrameStack``'s padding). Every step of
    every episode is an item.

    Args:
        ds: the dataset.
        n: frames per stack.
        spacing_s: seconds between stacked frames.
        episodes: positions of the episodes to use (default: all).
        obs_size: resize frames to ``(height, width)``.
    """

    def __init__(
        self,
        ds: Dataset,
        n: int = 4,
        spacing_s: float = 0.1,
        episodes: Sequence[int] | None = None,
        obs_size: tuple[int, int] | None = None,
    ) -> None:
        if int(n) < 1:
            raise ValueError(f"n must be >= 1, actual value: {n!r}")
        if not spacing_s > 0:
            raise ValueError(f"spacing_s must be > 0 seconds, actual value: {spacing_s!r}")
        self.ds = ds
        self.n = int(n)
        self.spacing_s = float(spacing_s)
        self.episodes = _episodes(ds, episodes)
        self.obs_size = obs_size
        self._offsets = np.arange(self.n - 1, -1, -1) * self.spacing_s
        rows = [np.stack([np.full(len(ds[e]), e), np.arange(len(ds[e]))], 1) for e in self.episodes]
        self.items = np.concatenate(rows).astype(np.int64) if rows else np.zeros((0, 2), np.int64)

    def indices(self, i: int) -> np.ndarray:
        """Frame indices of item ``i``, oldest first."""
        e, j = (int(x) for x in self.items[i])
        ts = self.ds[e].timestamps
        return np.minimum(nearest_frames(ts, ts[j] - self._offsets), j)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        e, j = (int(x) for x in self.items[i])
        ep = self.ds[e]
        frames = _to_chw(ep.observations[self.indices(i)], self.obs_size)  # (n, C, H, W)
        stack = frames.reshape(-1, *frames.shape[2:])  # (n*C, H, W)
        return stack, torch.tensor(int(ep.actions[j]), dtype=torch.long)

    def frame_table(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Every item in memory with each frame stored once (not ``n`` times).

        Returns:
            ``(frames (F, C, H, W) uint8, index (N, n) long, actions (N,) long)``: item ``i`` is
            ``frames[index[i]].reshape(n*C, H, W)`` and ``actions[i]``, as ``self[i]`` gives it.
        """
        plan, index, actions, offset = [], [], [], 0
        for e in dict.fromkeys(int(x) for x in self.items[:, 0]):  # episodes, in item order
            ep = self.ds[e]
            js = self.items[self.items[:, 0] == e, 1]
            ts = np.asarray(ep.timestamps, np.float64)
            near = nearest_frames(ts, (ts[js, None] - self._offsets[None]).ravel())
            idx = np.minimum(near.reshape(len(js), self.n), js[:, None])  # (J, n)
            used = np.unique(idx)  # only the frames some stack uses
            plan.append((e, used, offset))
            index.append(torch.from_numpy(np.searchsorted(used, idx) + offset))
            actions.append(torch.from_numpy(np.asarray(ep.actions, np.int64)[js]))
            offset += len(used)
        h, w, c = self.ds.obs_shape
        h, w = self.obs_size or (h, w)
        frames = torch.empty((offset, c, h, w), dtype=torch.uint8)  # filled in place: one copy
        for e, used, start in plan:
            frames[start : start + len(used)] = _to_chw(
                np.asarray(self.ds[e].observations)[used], self.obs_size
            )
        if not plan:
            return (
                frames,
                torch.zeros((0, self.n), dtype=torch.long),
                torch.zeros(0, dtype=torch.long),
            )
        return frames, torch.cat(index), torch.cat(actions)


class BalancedSampler(WeightedRandomSampler):
    """A ``WeightedRandomSampler`` that draws each group (cluster or action) equally often.

    Attributes:
        labels: the group of each item.
        counts: items per group (``counts[g]``).
    """

    def __init__(
        self, labels: np.ndarray, num_samples: int | None = None, seed: int | None = 0
    ) -> None:
        labels = np.asarray(labels, np.int64)
        if labels.size == 0:
            raise ValueError("cannot balance an empty dataset")
        self.labels = labels
        self.counts = np.bincount(labels)
        weights = 1.0 / self.counts[labels]
        gen = None
        if seed is not None:
            gen = torch.Generator()
            gen.manual_seed(int(seed))
        super().__init__(
            torch.as_tensor(weights, dtype=torch.double),
            num_samples=int(num_samples or len(labels)),
            replacement=True,
            generator=gen,
        )


def action_balanced_sampler(
    dataset: _Items, num_samples: int | None = None, seed: int | None = 0
) -> BalancedSampler:
    """Sample items so that every action present is drawn equally often.

    Args:
        dataset: a :class:`FrameDataset`, :class:`SequenceDataset` or :class:`StackDataset`
            (items are labelled by the action chosen on their newest frame).
        num_samples: draws per epoch (default: ``len(dataset)``).
        seed: seeds the draws (None: torch's global RNG).
    """
    return BalancedSampler(dataset.item_actions, num_samples, seed)


def thumbnails(dataset: _Items, size: tuple[int, int] = (8, 8)) -> np.ndarray:
    """``(N, size*size*C)`` float32 thumbnails of each item's newest frame (for k-means)."""
    items = dataset.item_frames()
    out = []
    for e in np.unique(items[:, 0]):
        rows = items[items[:, 0] == e]
        frames = dataset.ds[int(e)].observations[rows[:, 1]]
        out.append((e, rows, np.stack([resize(f, size) for f in frames])))
    feats = np.zeros((len(items), size[0] * size[1] * dataset.ds.obs_shape[2]), np.float32)
    for e, rows, thumbs in out:
        mask = items[:, 0] == e
        feats[mask] = thumbs.reshape(len(rows), -1).astype(np.float32) / 255.0
    return feats


def cluster_balanced_sampler(
    dataset: _Items,
    n_clusters: int = 16,
    features: np.ndarray | None = None,
    num_samples: int | None = None,
    seed: int = 0,
    thumb_size: tuple[int, int] = (8, 8),
) -> BalancedSampler:
    """Cluster the items (k-means, scikit-learn) and draw every cluster equally often.

    Rare scenes (a car alongside, a near miss) form small clusters, so they are seen as often as
    the common empty-road frames. By default the features are 8x8 thumbnails of each item's
    newest frame; pass ``features`` (e.g. VAE latents, one row per item) to cluster those.

    Args:
        dataset: a :class:`FrameDataset`, :class:`SequenceDataset` or :class:`StackDataset`.
        n_clusters: k of k-means (capped at the number of items).
        features: ``(len(dataset), D)`` features, or None for thumbnails.
        num_samples: draws per epoch (default: ``len(dataset)``).
        seed: seeds k-means and the draws.
        thumb_size: thumbnail ``(height, width)``.

    Returns:
        A sampler whose ``labels`` are the cluster of each item.
    """
    from bc_gym.errors import require

    cluster = require("sklearn.cluster", "train")
    feats = thumbnails(dataset, thumb_size) if features is None else np.asarray(features)
    if len(feats) != len(dataset):
        raise ValueError(f"features has {len(feats)} rows, expected one per item ({len(dataset)})")
    k = max(1, min(int(n_clusters), len(feats)))
    km = cluster.MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=1024)
    labels = km.fit_predict(feats.reshape(len(feats), -1))
    return BalancedSampler(labels, num_samples, seed)
