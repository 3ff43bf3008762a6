from __future__ import annotations

import json
import re

import h5py
import numpy as np
import pytest

from bc_gym.actions import HIGHWAY_ACTIONS
from bc_gym.datasets import DatasetWriter, EpisodeData, load_dataset
from bc_gym.errors import DatasetExistsError, DatasetFormatError


@pytest.fixture
def small(tmp_path, h):
    ep = EpisodeData(h.indexed_frames(11), np.arange(10) % 9)
    return h.write_episodes(tmp_path / "ds", [ep, ep])


def test_missing_path_and_plain_file(tmp_path):
    with pytest.raises(DatasetFormatError, match="the path does not exist"):
        load_dataset(tmp_path / "nope")
    f = tmp_path / "x.hdf5"
    f.write_bytes(b"x")
    with pytest.raises(DatasetFormatError, match=re.escape("is a file, not a bc-gym dataset")):
        load_dataset(f)


def test_foreign_folders(tmp_path):
    with pytest.raises(DatasetFormatError, match="it has no metadata.json"):
        load_dataset(tmp_path)
    (tmp_path / "metadata.json").write_text('{"dataset_id": "minari/x", "minari_version": "0.5"}')
    with pytest.raises(DatasetFormatError, match="has no 'format_version'"):
        load_dataset(tmp_path)
    (tmp_path / "metadata.json").write_text('{"format_version": 1, "')
    with pytest.raises(DatasetFormatError, match="is not valid JSON"):
        load_dataset(tmp_path)


def test_unknown_version_and_missing_keys(small):
    meta = json.loads((small / "metadata.json").read_text())
    (small / "metadata.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(
        DatasetFormatError, match=re.escape("has format_version 99; this bc-gym reads versions [1]")
    ):
        load_dataset(small)
    del meta["fps"]
    (small / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(DatasetFormatError, match=re.escape("lacks required keys ['fps']")):
        load_dataset(small)


def test_truncated_episode_file(small):
    f = small / "episodes" / "episode_1.hdf5"
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 3])
    ds = load_dataset(small)
    assert len(ds[0]) == 10  # the good episode still reads
    with pytest.raises(
        DatasetFormatError,
        match=r"episode_1.hdf5' is not a readable HDF5 file: it is truncated, corrupt or foreign",
    ):
        _ = ds[1].actions


def test_garbage_and_foreign_hdf5(small):
    (small / "episodes" / "episode_1.hdf5").write_bytes(b"\x89HDF\r\n" + bytes(range(256)) * 8)
    with pytest.raises(DatasetFormatError, match="not a readable HDF5 file"):
        _ = load_dataset(small)[1].observations
    with h5py.File(small / "episodes" / "episode_1.hdf5", "w") as f:
        f["pixels"] = np.zeros(3)
    with pytest.raises(
        DatasetFormatError, match="has no 'observations' array: it is not a bc-gym episode"
    ):
        _ = load_dataset(small)[1].observations


def test_never_overwrites(small, tmp_path, h):
    kw = dict(action_map=HIGHWAY_ACTIONS, fps=30, obs_shape=(4, 5, 3))
    with pytest.raises(DatasetExistsError, match="already exists; refusing to overwrite it"):
        DatasetWriter(small, **kw)
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("precious")
    with pytest.raises(DatasetExistsError, match="is not a bc-gym dataset; refusing to delete it"):
        DatasetWriter(other, overwrite=True, **kw)
    assert (other / "notes.txt").read_text() == "precious"
    with DatasetWriter(small, overwrite=True, **kw) as w:
        w.add_episode(EpisodeData(h.indexed_frames(3), np.array([1, 2])))
    assert len(load_dataset(small)) == 1


def test_append_checks_compatibility(small, h):
    with pytest.raises(
        DatasetFormatError, match=r"cannot append to .*: its obs_shape is \[4, 5, 3\]"
    ):
        DatasetWriter(small, action_map=HIGHWAY_ACTIONS, fps=30, obs_shape=(4, 4, 3), append=True)
    with DatasetWriter(
        small, action_map=HIGHWAY_ACTIONS, fps=30, obs_shape=(4, 5, 3), append=True
    ) as w:
        assert w.add_episode(EpisodeData(h.indexed_frames(3), np.array([1, 2]))) == 2
    ds = load_dataset(small)
    assert len(ds) == 3 and ds.metadata["total_steps"] == 22


def test_writer_rejects_bad_input_and_loses_nothing(tmp_path, h):
    w = DatasetWriter(tmp_path / "d", action_map=HIGHWAY_ACTIONS, fps=30, obs_shape=(4, 5, 3))
    with pytest.raises(
        ValueError,
        match=re.escape("observation must be uint8 (4, 5, 3), actual: float64 (4, 5, 3)"),
    ):
        w.begin_episode(np.zeros((4, 5, 3)), 0.0)
    w.begin_episode(h.indexed_frames(1)[0], 0.0)
    w.step(1, h.indexed_frames(2)[1], timestamp=0.1)
    with pytest.raises(
        ValueError, match=re.escape("action 9 out of range: expected 0 <= action < 9")
    ):
        w.step(9, h.indexed_frames(2)[1], timestamp=0.2)
    with pytest.raises(
        ValueError, match=re.escape("timestamp 0.05 is earlier than the previous one (0.1)")
    ):
        w.step(1, h.indexed_frames(2)[1], timestamp=0.05)
    with pytest.raises(ValueError, match=re.escape("held_keys has shape (2,), expected (4,)")):
        w.step(1, h.indexed_frames(2)[1], timestamp=0.2, held_keys=[True, False])
    w.end_episode()
    with pytest.raises(
        ValueError, match="observations must have len\\(actions\\) \\+ 1 = 3 rows, actual: 2"
    ):
        w.add_episode(EpisodeData(h.indexed_frames(2), np.array([1, 2])))
    w.close()
    ds = load_dataset(tmp_path / "d")
    assert len(ds) == 1 and ds[0].actions.tolist() == [1]
