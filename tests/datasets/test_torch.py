from __future__ import annotations

import numpy as np
import pytest

from bc_gym.datasets import EpisodeData, load_dataset

torch = pytest.importorskip("torch")
from bc_gym.datasets.torch import (  # noqa: E402
    FrameDataset,
    SequenceDataset,
    StackDataset,
    action_balanced_sampler,
    cluster_balanced_sampler,
    nearest_frames,
    split_episodes,
)

SEED = 42


def _jittered_dataset(path, h):
    rng = np.random.default_rng(SEED)
    eps = []
    for _ in range(2):
        n = 121
        ts = np.arange(n) / 30 + rng.uniform(-0.012, 0.012, n)
        ts[60:] += 1 / 30  # a dropped frame: a 2-period gap
        ts = np.maximum.accumulate(ts)
        eps.append(EpisodeData(h.indexed_frames(n), rng.integers(0, 9, n - 1), timestamps=ts))
    return load_dataset(h.write_episodes(path, eps))


def test_nearest_frames_picks_nearest_timestamp():
    ts = np.array([0.0, 0.03, 0.07, 0.1, 0.1, 0.2])
    targets = np.array([-5, 0.014, 0.016, 0.05, 0.051, 0.1, 0.16, 7])
    brute = np.abs(targets[:, None] - ts[None]).argmin(1)
    np.testing.assert_array_equal(nearest_frames(ts, targets), brute)


def test_sequence_windows_are_spaced_in_seconds(tmp_path, h):
    ds = _jittered_dataset(tmp_path / "ds", h)
    seq = SequenceDataset(ds, context=5, spacing_s=0.1)
    assert len(seq) > 0
    for i in range(0, len(seq), 7):
        e, j = seq.items[i]
        ep = ds[int(e)]
        ts = ep.timestamps
        item = seq[i]
        assert item["frames"].shape == (5, 3, 4, 5) and item["frames"].dtype == torch.uint8
        idx = h.frame_index(item["frames"].numpy().transpose(0, 2, 3, 1))
        targets = ts[j] - np.array([0.4, 0.3, 0.2, 0.1, 0.0])
        expected = np.abs(targets[:, None] - ts[None, : j + 1]).argmin(1)  # nearest, by time
        np.testing.assert_array_equal(idx, expected)
        assert idx[-1] == j
        np.testing.assert_array_equal(item["actions"].numpy(), ep.actions[expected])
        np.testing.assert_array_equal(item["prev_actions"][1:].numpy(), ep.actions[expected[:-1]])
        np.testing.assert_allclose(item["times"].numpy(), ts[expected])
        assert item["actions"].dtype == torch.long
    # The first window starts at the episode start; its prev action is noop.
    first = seq[0]
    assert h.frame_index(first["frames"].numpy().transpose(0, 2, 3, 1))[0] == 0
    assert first["prev_actions"][0] == 0
    # After the dropped frame, "3 frames back" is not 0.1 s back: windows follow the clock.
    k = int(np.flatnonzero((seq.items[:, 0] == 0) & (seq.items[:, 1] == 70))[0])
    assert seq.indices(k)[0].tolist() != [58, 61, 64, 67, 70]


def test_sequence_prev_action_after_start(tmp_path, h):
    ds = _jittered_dataset(tmp_path / "ds", h)
    seq = SequenceDataset(ds, context=2, spacing_s=0.2, episodes=[1])
    i = len(seq) - 1
    idx, prev = seq.indices(i)
    assert prev >= 0 and abs(ds[1].timestamps[prev] - (ds[1].timestamps[idx[-1]] - 0.4)) < 0.03
    assert seq[i]["prev_actions"][0] == ds[1].actions[prev]


def test_stack_dataset_pads_with_first_frame(tmp_path, h):
    ds = _jittered_dataset(tmp_path / "ds", h)
    st = StackDataset(ds, n=3, spacing_s=0.1, episodes=[0])
    assert len(st) == len(ds[0])
    stack, action = st[0]
    assert stack.shape == (9, 4, 5) and stack.dtype == torch.uint8
    assert h.frame_index(stack.reshape(3, 3, 4, 5).numpy().transpose(0, 2, 3, 1)).tolist() == [
        0,
        0,
        0,
    ]
    stack, action = st[90]
    idx = h.frame_index(stack.reshape(3, 3, 4, 5).numpy().transpose(0, 2, 3, 1))
    ts = ds[0].timestamps
    assert idx[-1] == 90 and np.all(np.abs(ts[idx] - (ts[90] - np.array([0.2, 0.1, 0]))) < 0.03)
    assert int(action) == ds[0].actions[90]


def test_stack_frame_table_holds_each_frame_once_and_matches_the_items(tmp_path, h):
    ds = _jittered_dataset(tmp_path / "ds", h)
    st = StackDataset(ds, n=3, spacing_s=0.1, episodes=[1, 0])
    frames, index, actions = st.frame_table()
    assert len(frames) == sum(len(e) + 1 for e in ds) - 2  # the two last frames start no stack
    assert index.shape == (len(st), 3) and actions.shape == (len(st),)
    for i in range(len(st)):
        stack, action = st[i]
        torch.testing.assert_close(frames[index[i]].reshape(stack.shape), stack)
        assert int(actions[i]) == int(action)
    empty, idx0, act0 = StackDataset(ds, n=2, episodes=[]).frame_table()
    assert empty.shape == (0, 3, 4, 5) and idx0.shape == (0, 2) and len(act0) == 0


def test_frame_dataset_and_resize(tiny_highway):
    ds = load_dataset(tiny_highway)
    fr = FrameDataset(ds)
    assert len(fr) == sum(len(e) + 1 for e in ds)
    assert fr[0].shape == (3, 64, 64) and fr[0].dtype == torch.uint8
    np.testing.assert_array_equal(fr[31].numpy().transpose(1, 2, 0), ds[1].observations[0])
    assert FrameDataset(ds, obs_size=(32, 16))[0].shape == (3, 32, 16)
    batch = next(iter(torch.utils.data.DataLoader(SequenceDataset(ds, 4, 0.1), batch_size=5)))
    assert batch["frames"].shape == (5, 4, 3, 64, 64)


def test_split_is_deterministic_and_disjoint(tiny_highway):
    ds = load_dataset(tiny_highway)
    a = split_episodes(ds, 0.34, seed=1)
    assert a == split_episodes(ds, 0.34, seed=1)
    train, val = a
    assert sorted(train + val) == [0, 1, 2] and len(val) == 1
    assert {tuple(split_episodes(ds, 0.34, seed=s)[1]) for s in range(10)} != {tuple(val)}
    with pytest.raises(ValueError, match="val_fraction must be in"):
        split_episodes(ds, 1.0)


def test_action_balanced_sampler(tmp_path, h):
    acts = np.array([0] * 90 + [1] * 9 + [2])
    ds = load_dataset(h.write_episodes(tmp_path / "d", [EpisodeData(h.indexed_frames(101), acts)]))
    frames = StackDataset(ds, n=1, spacing_s=0.1)
    sampler = action_balanced_sampler(frames, num_samples=3000, seed=SEED)
    drawn = np.bincount(acts[list(sampler)], minlength=3) / 3000
    np.testing.assert_allclose(drawn, [1 / 3] * 3, atol=0.05)


def test_cluster_balanced_sampler_oversamples_rare_scenes(tmp_path, h):
    frames = np.zeros((100, 8, 8, 3), np.uint8)
    frames[::10] = 255  # 10% white frames, 90% dark ones
    frames[1::10, :4] = 128
    ds = load_dataset(
        h.write_episodes(tmp_path / "d", [EpisodeData(frames, np.zeros(99, int))], shape=(8, 8, 3))
    )
    fr = FrameDataset(ds)
    sampler = cluster_balanced_sampler(fr, n_clusters=3, num_samples=3000, seed=SEED)
    assert sorted(sampler.counts.tolist()) == [10, 10, 80]
    white = np.mean([i % 10 == 0 for i in sampler])
    assert 0.28 < white < 0.39  # a third, not a tenth
