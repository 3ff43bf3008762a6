"""``ResizedDataset`` and ``EpisodeBlocks``: views that read their base dataset on demand."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest

from bc_gym.datasets import load_dataset
from bc_gym.datasets.views import (
    EpisodeBlocks,
    ResizedDataset,
    auto_obs_size,
    check_obs_size,
    parse_obs_size,
)
from bc_gym.errors import ConfigError
from bc_gym.imaging import resize


@pytest.fixture
def ds(tiny_highway):
    return load_dataset(tiny_highway)


def test_resized_frames_are_imaging_resize_of_the_stored_ones(ds):
    view = ResizedDataset(ds, (48, 96))
    assert view.obs_shape == (48, 96, 3) and len(view) == len(ds)
    assert view.metadata["observation_space"]["shape"] == [48, 96, 3]
    src, ep = ds[1], view[1]
    want = np.stack([resize(f, (48, 96)) for f in src.observations[:]])
    np.testing.assert_array_equal(np.asarray(ep.observations), want)
    np.testing.assert_array_equal(ep.observations[[3, 0, 3]], want[[3, 0, 3]])
    np.testing.assert_array_equal(ep.observations[-1], want[-1])
    np.testing.assert_array_equal(ep.observations[2:9:3], want[2:9:3])
    np.testing.assert_array_equal(ep.actions, src.actions)
    np.testing.assert_array_equal(ep.timestamps, src.timestamps)
    again = pickle.loads(pickle.dumps(view))  # DataLoader workers
    np.testing.assert_array_equal(again[1].observations[0], want[0])


def test_blocks_are_time_ranges_shown_as_episodes(ds):
    n = len(ds[0])
    view = EpisodeBlocks(ResizedDataset(ds, (48, 48)), [(0, 0, 10), (0, 12, n), (2, 5, 6)])
    assert len(view) == 3 and [len(ep) for ep in view] == [10, n - 12, 1]
    assert view.metadata["total_steps"] == n - 1 and view.episode_ids == [0, 1, 2]
    block = view[1]
    assert block.observations.shape == (n - 11, 48, 48, 3)
    np.testing.assert_array_equal(block.observations[0], resize(ds[0].observations[12], (48, 48)))
    np.testing.assert_array_equal(block.actions, ds[0].actions[12:])
    np.testing.assert_array_equal(block.timestamps, ds[0].timestamps[12:])
    assert block.duration == pytest.approx(ds[0].timestamps[-1] - ds[0].timestamps[12])
    with pytest.raises(IndexError, match="out of range"):
        block.observations[n - 11]
    with pytest.raises(ValueError, match=re.escape("block (0, 5, 5) is not a time range")):
        EpisodeBlocks(ds, [(0, 5, 5)])


def test_the_frame_size_rule():
    assert auto_obs_size((64, 64, 3)) == (64, 64)  # the recipes: kept
    assert auto_obs_size((96, 96)) == (96, 96)
    assert auto_obs_size((150, 600, 3)) == (48, 96)  # wide: 96 long, 48 at least
    assert auto_obs_size((480, 480)) == (96, 96)
    assert auto_obs_size((600, 800)) == (80, 96)
    assert auto_obs_size((32, 32)) == (96, 96)  # too small for the Nature-DQN convolutions
    assert parse_obs_size("AUTO") is None and parse_obs_size("128x64") == (64, 128)
    with pytest.raises(ConfigError, match="multiples of 16 and at least 48.*600x150"):
        check_obs_size((150, 600))
    with pytest.raises(ConfigError, match="'auto' or WxH"):
        parse_obs_size("64")
