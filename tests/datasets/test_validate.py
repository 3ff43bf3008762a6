from __future__ import annotations

import h5py
import numpy as np
import pytest

from bc_gym.datasets import EpisodeData, validate
from bc_gym.errors import DatasetFormatError


@pytest.fixture
def ds_path(tmp_path, h):
    ep = EpisodeData(h.indexed_frames(6), np.array([0, 1, 2, 3, 4]))
    return h.write_episodes(tmp_path / "ds", [ep, ep])


def test_valid_dataset_has_no_problems(ds_path, tiny_highway):
    assert validate(ds_path) == []
    assert validate(tiny_highway) == []


def test_names_each_problem(ds_path):
    with h5py.File(ds_path / "episodes" / "episode_1.hdf5", "r+") as f:
        f["timestamps"][3] = 0.0
        f["actions"][2] = 12
    with h5py.File(ds_path / "episodes" / "episode_0.hdf5", "r+") as f:
        del f["rewards"]
        f["rewards"] = np.zeros(5, np.float64)
    assert validate(ds_path) == [
        "episode 0: rewards dtype is float64, expected float32",
        "episode 1: timestamps not monotonic: "
        "timestamps[3]=0.0 < timestamps[2]=0.06666666666666667",
        "episode 1: actions[2]=12 out of range [0, 9) (1 bad actions)",
    ]
    with pytest.raises(
        DatasetFormatError, match="is not a valid dataset:\n  episode 0: rewards dtype"
    ):
        validate(ds_path, strict=True)


def test_missing_arrays_and_wrong_shapes(ds_path):
    with h5py.File(ds_path / "episodes" / "episode_0.hdf5", "r+") as f:
        del f["held_keys"]
    with h5py.File(ds_path / "episodes" / "episode_1.hdf5", "r+") as f:
        f["actions"].resize((4,))
    assert validate(ds_path) == [
        "episode 0: missing arrays ['held_keys']",
        "episode 1: actions has shape (4,), expected (5,)",
    ]
