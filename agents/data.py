"""Episodes in memory for agents that cache per-frame features (the latent GPT).

The latent GPT encodes every frame once and then trains on windows of *latents*, so it needs
the window indices rather than the frames that ``bc_gym.datasets.torch.SequenceDataset``
returns. :func:`window_indices` picks them by the dataset's time rule (the frame with the
nearest timestamp to each target time, clipped at the episode start), the same rule
``SequenceDataset`` and ``TimedFrameStack`` use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bc_gym.actions import ActionMap


@dataclass
class Episodes:
    """Episodes as numpy arrays: ``frames[i]`` (T+1, H, W, C), ``actions[i]`` (T,), ``times[i]``."""

    action_map: ActionMap
    fps: float
    frames: list[np.ndarray] = field(default_factory=list)
    actions: list[np.ndarray] = field(default_factory=list)
    times: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def n_steps(self) -> int:
        """Labelled frames (steps) over all episodes."""
        return int(sum(len(a) for a in self.actions))

    def all_actions(self) -> np.ndarray:
        """All action labels, concatenated."""
        return np.concatenate(self.actions) if self.actions else np.zeros(0, np.int64)

    def mirrored(self, swap: str) -> Episodes:
        """The same episodes flipped left-right, with the keys in ``swap`` exchanged.

        For games whose screen is left-right symmetric (a road seen from above): it doubles the
        situations the demonstrations show. ``swap`` is ``"left:right"``.
        """
        perm = self.action_map.mirror_permutation(swap)
        return Episodes(
            self.action_map,
            self.fps,
            [np.ascontiguousarray(f[:, :, ::-1]) for f in self.frames],
            [perm[a] for a in self.actions],
            list(self.times),
        )

    def __add__(self, other: Episodes) -> Episodes:
        return Episodes(
            self.action_map,
            self.fps,
            self.frames + other.frames,
            self.actions + other.actions,
            self.times + other.times,
        )


def open_datasets(paths: Sequence[str | Path | Any]) -> list[Any]:
    """Open datasets (paths or already opened ``bc_gym.datasets`` datasets); check they agree."""
    from bc_gym.datasets import load_dataset

    out = [p if hasattr(p, "action_map") else load_dataset(p) for p in paths]
    if not out:
        raise ValueError("no dataset given: pass at least one dataset folder")
    first = out[0]
    for ds in out[1:]:
        if ds.action_map != first.action_map or tuple(ds.obs_shape) != tuple(first.obs_shape):
            raise ValueError(
                f"datasets disagree: {ds.action_map.names} {tuple(ds.obs_shape)} vs "
                f"{first.action_map.names} {tuple(first.obs_shape)}; train on datasets of one "
                "game recorded at one size"
            )
    return out


def split(
    datasets: Sequence[Any], val_fraction: float, seed: int, need_val: bool = True
) -> list[tuple[list, list]]:
    """``split_episodes`` of each dataset: a ``(train_ids, val_ids)`` pair per dataset.

    Raises:
        ValueError: ``need_val`` and ``val_fraction > 0``, but no episode could be held out
            (each dataset holds a single episode): validation needs whole episodes the model
            never trained on.
    """
    from bc_gym.datasets.torch import split_episodes

    pairs = [split_episodes(ds, val_fraction=val_fraction, seed=seed) for ds in datasets]
    if need_val and val_fraction > 0 and not any(val for _, val in pairs):
        raise ValueError(
            f"training holds out whole episodes for validation (val_fraction={val_fraction}), "
            f"but none could be held out: {len(datasets)} dataset(s) of "
            f"{[len(ds) for ds in datasets]} episode(s). Record at least 2 episodes "
            "(each game over starts a new one) or merge the datasets into one"
        )
    return pairs


def load_episodes(datasets: Sequence[Any], ids: Sequence[Sequence[int]]) -> Episodes:
    """Read the listed episodes (``ids[k]`` of ``datasets[k]``) into memory."""
    eps = Episodes(datasets[0].action_map, float(datasets[0].fps))
    for ds, idx in zip(datasets, ids, strict=False):
        for i in idx:
            ep = ds[int(i)]
            if len(ep) == 0:
                continue
            eps.frames.append(np.asarray(ep.observations)[: len(ep) + 1])
            eps.actions.append(np.asarray(ep.actions, dtype=np.int64)[: len(ep)])
            eps.times.append(np.asarray(ep.timestamps, dtype=np.float64)[: len(ep) + 1])
    return eps


def nearest(times: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Index of the timestamp nearest to each target (ties: the earlier frame)."""
    i = np.searchsorted(times, targets, side="left").clip(0, len(times) - 1)
    prev = (i - 1).clip(0)
    take_prev = (i > 0) & (np.abs(targets - times[prev]) <= np.abs(times[i] - targets))
    return np.where(take_prev, prev, i)


def window_indices(times: np.ndarray, n: int, spacing_s: float, n_labels: int) -> np.ndarray:
    """``(n_labels, n)`` frame indices: for frame ``j``, the frames nearest ``t_j - kΔ``.

    Oldest first; targets before the first frame are clipped to it (start padding).
    """
    t = times[:n_labels, None] - spacing_s * np.arange(n - 1, -1, -1)[None]  # (J, n)
    t = np.maximum(t, times[0])
    return nearest(times, t.ravel()).reshape(t.shape)


def prev_actions(actions: np.ndarray, n_frames: int, none: int) -> np.ndarray:
    """Action held just before each frame (``none`` for the first): ``(n_frames,)``."""
    out = np.full(n_frames, none, dtype=np.int64)
    out[1 : len(actions) + 1] = actions[: n_frames - 1]
    return out
