from __future__ import annotations

import tempfile
from pathlib import Path

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bc_gym.actions import ActionMap
from bc_gym.datasets import DatasetWriter, EpisodeData, load_dataset, validate

AMAP = ActionMap.from_names(["noop", "a", "b", "a+b", "c"], keys=["a", "b", "c"])


@st.composite
def episodes(draw):
    h = draw(st.integers(1, 9))
    w = draw(st.integers(1, 9))
    c = draw(st.sampled_from([1, 3, 4]))
    t = draw(st.integers(0, 12))
    obs = draw(hnp.arrays(np.uint8, (t + 1, h, w, c)))
    act_dtype = draw(st.sampled_from([np.int64, np.int32, np.uint8, np.int16]))
    actions = draw(hnp.arrays(act_dtype, (t,), elements=st.integers(0, AMAP.n - 1)))
    rew_dtype = draw(st.sampled_from([np.float32, np.float64, np.int32]))
    rewards = draw(
        hnp.arrays(
            rew_dtype,
            (t,),
            elements=st.integers(-1000, 1000)
            if rew_dtype == np.int32
            else st.floats(-1e3, 1e3, width=32),
        )
    )
    gaps = draw(hnp.arrays(np.float64, (t,), elements=st.floats(0, 1.0)))
    ts = np.concatenate([[draw(st.floats(-1e6, 1e6))], gaps]).cumsum()
    terms = draw(hnp.arrays(bool, (t,)))
    truncs = draw(hnp.arrays(bool, (t,)))
    held = draw(hnp.arrays(bool, (t, 3)))
    events = draw(
        st.lists(
            st.tuples(
                st.floats(0, 100), st.sampled_from(["a", "b", "c", "shift_r", "é"]), st.booleans()
            ),
            max_size=5,
        )
    )
    return EpisodeData(obs, actions, rewards, terms, truncs, ts, held, events)


def _check(ep_read, ep):
    assert ep_read.observations.shape == ep.observations.shape
    np.testing.assert_array_equal(np.asarray(ep_read.observations), ep.observations)
    assert ep_read.observations[:].dtype == np.uint8
    np.testing.assert_array_equal(ep_read.actions, ep.actions.astype(np.int64))
    assert ep_read.actions.dtype == np.int64
    np.testing.assert_array_equal(ep_read.rewards, ep.rewards.astype(np.float32))
    assert ep_read.rewards.dtype == np.float32
    np.testing.assert_array_equal(ep_read.terminations, ep.terminations)
    np.testing.assert_array_equal(ep_read.truncations, ep.truncations)
    np.testing.assert_array_equal(ep_read.timestamps, ep.timestamps)
    assert ep_read.timestamps.dtype == np.float64
    np.testing.assert_array_equal(ep_read.held_keys, ep.held_keys)
    ke = ep_read.key_events
    assert [(float(t), str(k), bool(d)) for t, k, d in ke] == [
        (float(t), k, d) for t, k, d in ep.key_events
    ]
    assert len(ep_read) == len(ep.actions)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(episodes(), min_size=1, max_size=3),
    st.booleans(),
    st.sampled_from([("gzip", 1), ("lzf", None), (None, None)]),
)
def test_round_trip_is_bit_identical(eps, streaming, storage):
    shape = eps[0].observations.shape[1:]
    eps = [e for e in eps if e.observations.shape[1:] == shape]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ds"
        compression, level = storage
        with DatasetWriter(
            path, action_map=AMAP, fps=30, obs_shape=shape, source="import",
            compression=compression, compression_opts=level,
        ) as w:  # fmt: skip
            for ep in eps:
                if streaming:
                    w.begin_episode(ep.observations[0], ep.timestamps[0])
                    for i in range(len(ep.actions)):
                        w.step(
                            ep.actions[i],
                            ep.observations[i + 1],
                            ep.rewards[i],
                            ep.terminations[i],
                            ep.truncations[i],
                            ep.timestamps[i + 1],
                            held_keys=ep.held_keys[i],
                        )
                    for t, k, d in ep.key_events:
                        w.key_event(t, k, d)
                    w.end_episode()
                else:
                    w.add_episode(ep)
        ds = load_dataset(path)
        assert len(ds) == len(eps)
        for ep_read, ep in zip(ds, eps, strict=True):
            assert ep_read.complete
            _check(ep_read, ep)
        assert validate(ds) == []
        assert ds.metadata["total_steps"] == sum(len(e.actions) for e in eps)
        ds.close()


def test_defaults_fill_timestamps_held_keys_and_metadata(tmp_path):
    obs = np.zeros((4, 2, 2, 3), np.uint8)
    with DatasetWriter(
        tmp_path / "d",
        action_map=AMAP,
        fps=10,
        obs_shape=(2, 2, 3),
        game_id="g",
        region=(1, 2, 3, 4),
        screen_size=(640, 480),
        note="hello",
    ) as w:
        w.add_episode(EpisodeData(obs, np.array([0, 3, 4])))
    ds = load_dataset(tmp_path / "d")
    ep = ds[0]
    np.testing.assert_allclose(ep.timestamps, [0, 0.1, 0.2, 0.3])
    np.testing.assert_array_equal(ep.held_keys, [[0, 0, 0], [1, 1, 0], [0, 0, 1]])
    assert ep.key_events.shape == (0,)
    m = ds.metadata
    assert m["format_version"] == 1 and m["color"] == "rgb" and m["note"] == "hello"
    assert m["region"] == [1, 2, 3, 4] and m["screen_size"] == [640, 480]
    assert ds.action_map == AMAP and ds.fps == 10.0
    assert m["action_space"] == {"type": "Discrete", "n": 5}


def test_streaming_step_defaults_and_frames_indexing(tmp_path):
    frames = np.arange(5 * 2 * 2 * 1, dtype=np.uint8).reshape(5, 2, 2, 1)
    with DatasetWriter(tmp_path / "d", action_map=AMAP, fps=20, obs_shape=(2, 2, 1)) as w:
        w.begin_episode(frames[0], t0=5.0)
        for i in range(4):
            w.step(i % AMAP.n, frames[i + 1])
    ep = load_dataset(tmp_path / "d")[0]
    np.testing.assert_allclose(ep.timestamps, 5.0 + np.arange(5) / 20)
    obs = ep.observations
    np.testing.assert_array_equal(obs[1:3], frames[1:3])
    np.testing.assert_array_equal(obs[-1], frames[-1])
    np.testing.assert_array_equal(obs[[4, 0, 0]], frames[[4, 0, 0]])
    np.testing.assert_array_equal(obs[::2], frames[::2])
    assert len(obs) == 5 and obs.shape == (5, 2, 2, 1)
