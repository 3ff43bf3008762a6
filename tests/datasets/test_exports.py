from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from bc_gym.actions import HIGHWAY_ACTIONS
from bc_gym.datasets import load_dataset, validate
from bc_gym.datasets.pngfolder import export_png_folder, import_png_folder

SEED = 42


def test_png_folder_round_trip(tiny_highway, tmp_path):
    ds = load_dataset(tiny_highway)
    folder = export_png_folder(ds, tmp_path / "pngs", episode=1)
    assert len(list(folder.glob("*.png"))) == 31
    back = load_dataset(import_png_folder(folder, tmp_path / "ds", action_map=ds.action_map))
    ep, orig = back[0], ds[1]
    np.testing.assert_array_equal(ep.observations[:], orig.observations[:])
    np.testing.assert_array_equal(ep.timestamps, orig.timestamps)
    np.testing.assert_array_equal(ep.held_keys, orig.held_keys)
    np.testing.assert_array_equal(ep.actions, orig.actions)
    assert back.metadata["source"] == "import" and validate(back) == []


def test_png_folder_with_jsonl_key_events(tiny_highway, tmp_path):
    ds = load_dataset(tiny_highway)
    folder = export_png_folder(ds, tmp_path / "pngs", episode=0)
    (folder / "keys.csv").unlink()
    # Prototype names: unpadded numbers, so 10 sorts after 9 only by number.
    for p in folder.glob("frame_*.png"):
        p.rename(folder / f"img{int(p.stem.split('_')[1])}.png")
    events = [
        {"time": 0.05, "key": "up", "down": True},
        {"time": 0.5, "key": "left", "down": True},
        {"time": 0.6, "key": "left", "down": False},
    ]
    (folder / "keys.jsonl").write_text("\n".join(json.dumps(e) for e in events))
    back = load_dataset(
        import_png_folder(folder, tmp_path / "ds", action_map=HIGHWAY_ACTIONS, fps=10)
    )
    ep = back[0]
    np.testing.assert_array_equal(ep.observations[:], ds[0].observations[:])
    names = [HIGHWAY_ACTIONS.names[a] for a in ep.actions[:8]]
    assert names == ["noop", "up", "up", "up", "up", "up+left", "up", "up"]
    assert ep.key_events["key"].tolist() == ["up", "left", "left"]


def test_png_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="no numbered PNG frames"):
        import_png_folder(tmp_path, tmp_path / "ds", action_map=HIGHWAY_ACTIONS)


@pytest.mark.minari
def test_minari_export_loads_and_samples(tiny_highway, tmp_path, monkeypatch):
    minari = pytest.importorskip("minari")
    from bc_gym.datasets.exports import to_minari

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    ds = load_dataset(tiny_highway)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Minari: no env spec given
        to_minari(ds, "bc-gym/highway-test-v0", lossless=True)
        to_minari(ds, "bc-gym/highway-jpeg-v0")  # Minari default: JPEG, lossy but close
    m = minari.load_dataset("bc-gym/highway-test-v0")
    assert m.total_episodes == 3 and m.total_steps == 90
    m.set_seed(SEED)
    eps = m.sample_episodes(2)
    for e in eps:
        np.testing.assert_array_equal(e.observations, ds[e.id].observations[:])
        np.testing.assert_array_equal(e.actions, ds[e.id].actions)
    e = minari.load_dataset("bc-gym/highway-jpeg-v0")[0]
    assert e.observations.shape == (31, 64, 64, 3)
    assert np.abs(e.observations.astype(int) - ds[0].observations[:].astype(int)).mean() < 20


@pytest.mark.imitation
def test_imitation_bc_trains_on_export(tiny_highway):
    pytest.importorskip("imitation")
    from imitation.algorithms import bc
    from imitation.data import rollout
    from stable_baselines3.common.policies import ActorCriticCnnPolicy

    from bc_gym.datasets.exports import imitation_spaces, to_imitation

    ds = load_dataset(tiny_highway)
    trajs = to_imitation(ds)
    assert trajs[0].obs.shape == (31, 3, 64, 64) and trajs[0].acts.shape == (30,)
    np.testing.assert_array_equal(trajs[1].obs.transpose(0, 2, 3, 1), ds[1].observations[:])
    obs_space, act_space = imitation_spaces(ds)
    rng = np.random.default_rng(SEED)
    policy = ActorCriticCnnPolicy(obs_space, act_space, lr_schedule=lambda _: 1e-3)
    trainer = bc.BC(
        observation_space=obs_space,
        action_space=act_space,
        rng=rng,
        policy=policy,
        demonstrations=rollout.flatten_trajectories(trajs),
        batch_size=16,
    )
    before = [p.detach().clone() for p in trainer.policy.parameters()]
    trainer.train(n_batches=3)
    after = list(trainer.policy.parameters())
    assert any(
        not np.allclose(a.detach().numpy(), b.numpy()) for a, b in zip(after, before, strict=True)
    )
