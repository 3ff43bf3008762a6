"""Exports to other libraries' formats: ``imitation`` trajectories and Minari datasets.

Both libraries are imported lazily (``bc-gym[imitation]``, ``bc-gym[minari]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bc_gym.errors import ConfigError, require

from .reader import Dataset

MINARI_JPEG_NOTE = (
    "note: Minari JPEG-encodes image observations on disk by its own choice (lossy); "
    "the bc-gym dataset stays the lossless original (pass lossless=True / --lossless to store "
    "raw arrays in Minari instead)"
)


def _ids(ds: Dataset, episodes: Sequence[int] | None) -> list[int]:
    ids = list(range(len(ds))) if episodes is None else [int(i) for i in episodes]
    for i in ids:
        if not 0 <= i < len(ds):
            raise ConfigError(f"episode {i} out of range: the dataset has {len(ds)} episodes")
    return ids


def to_imitation(
    ds: Dataset, episodes: Sequence[int] | None = None, *, with_rewards: bool = True
) -> list[Any]:
    """Episodes as ``imitation`` trajectories, observations channel-first ``(T+1, C, H, W)``.

    Args:
        ds: the dataset.
        episodes: positions of the episodes to export (default: all).
        with_rewards: ``TrajectoryWithRew`` (True) or ``Trajectory``.

    Returns:
        A list of ``imitation.data.types.Trajectory`` (or ``TrajectoryWithRew``).
    """
    types = require("imitation.data.types", "imitation")
    out = []
    for i in _ids(ds, episodes):
        ep = ds[i]
        obs = np.ascontiguousarray(np.asarray(ep.observations).transpose(0, 3, 1, 2))
        terminal = bool(len(ep) and (ep.terminations[-1] or ep.truncations[-1]))
        kw = dict(obs=obs, acts=ep.actions.astype(np.int64), infos=None, terminal=terminal)
        if with_rewards:
            out.append(types.TrajectoryWithRew(rews=ep.rewards.astype(np.float32), **kw))
        else:
            out.append(types.Trajectory(**kw))
    return out


def imitation_spaces(ds: Dataset) -> tuple[Any, Any]:
    """``(observation_space, action_space)`` matching :func:`to_imitation` (channel-first)."""
    import gymnasium as gym

    h, w, c = ds.obs_shape
    obs = gym.spaces.Box(0, 255, (c, h, w), np.uint8)
    return obs, gym.spaces.Discrete(ds.action_map.n)


def to_minari(
    ds: Dataset,
    dataset_id: str,
    episodes: Sequence[int] | None = None,
    *,
    lossless: bool = False,
    author: str | None = None,
    description: str | None = None,
) -> Any:
    """Write the episodes as a Minari dataset (``minari.load_dataset(dataset_id)`` reads it).

    Observations stay ``(H, W, C)`` uint8. Minari stores it under ``$MINARI_DATASETS_PATH``
    (default ``~/.minari/datasets``). Minari JPEG-encodes image observations unless
    ``lossless=True`` (see :data:`MINARI_JPEG_NOTE`).

    Args:
        ds: the dataset.
        dataset_id: Minari id, e.g. ``"bc-gym/highway/expert-v0"``.
        episodes: positions of the episodes to export (default: all).
        lossless: store raw arrays instead of Minari's default JPEG.
        author: the dataset's author.
        description: free text.

    Returns:
        The created ``minari.MinariDataset``.
    """
    minari = require("minari", "minari")
    import gymnasium as gym
    from minari.data_collector import EpisodeBuffer

    h, w, c = ds.obs_shape
    buffers = []
    for n, i in enumerate(_ids(ds, episodes)):
        ep = ds[i]
        buffers.append(
            EpisodeBuffer(
                id=n,
                observations=np.asarray(ep.observations),
                actions=ep.actions.astype(np.int64),
                rewards=ep.rewards.astype(np.float64).tolist(),
                terminations=ep.terminations.tolist(),
                truncations=ep.truncations.tolist(),
                infos={"timestamps": ep.timestamps[1:].copy()},
            )
        )
    return minari.create_dataset_from_buffers(
        dataset_id=dataset_id,
        buffer=buffers,
        observation_space=gym.spaces.Box(0, 255, (h, w, c), np.uint8),
        action_space=gym.spaces.Discrete(ds.action_map.n),
        algorithm_name=f"bc-gym export ({ds.metadata.get('source')})",
        author=author,
        description=description or f"Exported from bc-gym dataset {Path(ds.path).name}",
        jpeg_encoding=not lossless,
    )
