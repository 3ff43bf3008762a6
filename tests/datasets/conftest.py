"""Tiny datasets shared by the dataset tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bc_gym.actions import HIGHWAY_ACTIONS
from bc_gym.datasets import DatasetWriter, EpisodeData


@pytest.fixture(scope="session")
def tiny_highway(tmp_path_factory) -> Path:
    """3 HighwayRacer expert episodes x 30 steps (64x64 RGB), built once per session."""
    from bc_gym.datasets.recipes import highway_expert_dataset

    return highway_expert_dataset(
        n_episodes=3, noise=0.2, seed=0, root=tmp_path_factory.mktemp("cache"), max_steps=30
    )


def indexed_frames(n: int, shape=(4, 5, 3)) -> np.ndarray:
    """Frames whose pixels encode their index: channel 0 = i % 256, channel 1 = i // 256."""
    f = np.zeros((n, *shape), np.uint8)
    f[..., 0] = (np.arange(n) % 256)[:, None, None]
    if shape[-1] > 1:
        f[..., 1] = (np.arange(n) // 256)[:, None, None]
    return f


def frame_index(frames: np.ndarray) -> np.ndarray:
    """Inverse of :func:`indexed_frames` for (N, H, W, C) or (N, C, H, W) with C first."""
    return frames[:, 0, 0, 0].astype(int) + 256 * frames[:, 0, 0, 1].astype(int)


def write_episodes(path: Path, episodes: list[EpisodeData], shape=(4, 5, 3), fps=30.0) -> Path:
    with DatasetWriter(path, action_map=HIGHWAY_ACTIONS, fps=fps, obs_shape=shape) as w:
        for ep in episodes:
            w.add_episode(ep)
    return path


@pytest.fixture(scope="session")
def h():
    """Helpers (tests cannot import conftest under --import-mode=importlib)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        indexed_frames=indexed_frames, frame_index=frame_index, write_episodes=write_episodes
    )
