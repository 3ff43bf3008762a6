import json

import numpy as np
import pytest
import torch

from bc_gym.agents import load_agent
from bc_gym.agents.latent_gpt import GPT, GPTConfig, LatentGPTAgent
from bc_gym.errors import CheckpointError

pytestmark = pytest.mark.train


@pytest.fixture(scope="module")
def trained(tiny_dataset, tmp_path_factory, tiny_train_config, tiny_gpt_config):
    out = tmp_path_factory.mktemp("gpt-run")
    agent = LatentGPTAgent.train([tiny_dataset], out, tiny_train_config(), tiny_gpt_config())
    return agent, out


def test_writes_the_run_folder(trained):
    _, out = trained
    for name in ("model.safetensors", "config.json", "gpt_metrics.csv", "gpt_curves.png"):
        assert (out / name).is_file(), name
    for name in ("vae_metrics.csv", "vae_curves.png", "reconstructed.png", "samples.png"):
        assert (out / "vae" / name).is_file(), name
    report = json.loads((out / "vae" / "report.json").read_text())
    assert {"probe_acc", "probe_f1", "val_mse", "val_fg_mse", "per_cluster"} <= set(report)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["agent"] == "latent-gpt" and cfg["n_stack"] == 4
    assert cfg["spacing_s"] == pytest.approx(1 / 30)


def test_acts_on_the_env_and_round_trips(trained, run_episode):
    agent, out = trained
    actions = run_episode(agent)
    again = load_agent(out)
    assert run_episode(again) == actions


def test_encodes_only_new_frames(trained):
    agent, _ = trained
    calls = []
    encode = agent.vae.encode

    def counting(x):
        calls.append(len(x))
        return encode(x)

    agent.vae.encode = counting
    rng = np.random.default_rng(42)
    frames = rng.integers(0, 255, (6, 64, 64, 3), dtype=np.uint8)
    agent.reset()
    agent.act(frames[:4])
    agent.act(frames[1:5])
    agent.act(frames[2:6])
    del agent.vae.encode
    assert calls == [4, 1, 1]


def test_truncated_weights_are_a_checkpoint_error(trained, tmp_path):
    agent, _ = trained
    agent.save(tmp_path)
    data = (tmp_path / "model.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="model.safetensors is corrupt"):
        load_agent(tmp_path)


def test_mismatched_config_is_a_checkpoint_error(trained, tmp_path):
    agent, _ = trained
    agent.save(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["agent_config"]["latent_dim"] = 16
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="the config expects"):
        load_agent(tmp_path)


def test_gpt_learns_an_obvious_rule():
    """Action at step t = which of 3 latent dims was largest two steps earlier (needs attention)."""
    torch.manual_seed(42)
    T, n = 6, 3
    gpt = GPT(
        GPTConfig(
            latent_dim=4, n_actions=n, block_size=T, n_layer=2, n_head=2, n_embd=32, dropout=0.0
        )
    )
    opt = torch.optim.AdamW(gpt.parameters(), lr=3e-3)

    def batch(b):
        z = torch.randn(b, T, 4)
        rule = z[:, :, :n].argmax(-1)  # (b, T)
        y = torch.cat([rule[:, :1], rule[:, :1], rule[:, :-2]], dim=1)
        prev = torch.full((b, T), n)
        return z, prev, y

    for _ in range(300):
        z, prev, y = batch(64)
        _, loss = gpt(z, prev, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    gpt.eval()
    z, prev, y = batch(512)
    with torch.no_grad():
        logits, _ = gpt(z, prev)
    acc = (logits[:, 2:].argmax(-1) == y[:, 2:]).float().mean()
    assert acc > 0.9


@pytest.mark.parametrize("dropout", [1.0, 0.0])
def test_previous_action_token_follows_the_training_setting(dropout):
    """Trained without the token (the default), act() never feeds the agent's own actions back.

    Fed its own previous action, a GPT cloned from a demonstration learns to copy it and
    collapses onto one action closed-loop; with ``prev_action_dropout=1`` every token ``act()``
    gives the transformer must be "none". With the token on (dropout 0) the actions go in.
    """
    from bc_gym.actions import HIGHWAY_ACTIONS
    from bc_gym.agents.latent_gpt import LatentGPTConfig

    torch.manual_seed(0)
    cfg = LatentGPTConfig(prev_action_dropout=dropout, latent_dim=8, n_embd=32, n_layer=1)
    agent = LatentGPTAgent(HIGHWAY_ACTIONS, (64, 64, 3), cfg)
    seen = []
    forward = agent.gpt.forward

    def recording(z, prev, targets=None):
        seen.append(prev.clone())
        return forward(z, prev, targets)

    agent.gpt.forward = recording
    frames = np.random.default_rng(0).integers(0, 255, (12, 64, 64, 3), dtype=np.uint8)
    agent.reset()
    for i in range(8):
        agent.act(frames[i : i + 4])
    none = HIGHWAY_ACTIONS.n
    fed = torch.cat(seen).flatten()
    assert bool((fed == none).all()) == (dropout == 1.0), fed.tolist()


def test_mirror_doubles_the_gpt_training_windows(tiny_dataset, tmp_path, tiny_train_config):
    from bc_gym.agents.latent_gpt import LatentGPTConfig

    small = {"context": 4, "latent_dim": 8, "vae_channels": (8, 8, 16, 16), "vae_epochs": 1,
             "vae_steps_per_epoch": 2, "n_layer": 1, "n_embd": 16, "n_head": 2}  # fmt: skip
    reports = []
    for mirror in ("", "left:right"):
        out = tmp_path / (mirror or "plain")
        LatentGPTAgent.train(
            [tiny_dataset], out, tiny_train_config(), LatentGPTConfig(**small, mirror=mirror)
        )
        reports.append(json.loads((out / "vae" / "report.json").read_text()))
    assert reports[1]["probe_train_frames"] == 2 * reports[0]["probe_train_frames"]


def test_vae_action_head_adds_a_label_loss_and_ignores_unlabelled_frames():
    from bc_gym.agents.latent_gpt import _VAEWithHead
    from bc_gym.agents.vae import VAE, VAEConfig

    torch.manual_seed(0)
    vae = VAE(VAEConfig(obs_shape=(64, 64, 3), latent_dim=8, channels=(8, 8, 16, 16))).eval()
    model = _VAEWithHead(vae, torch.nn.Linear(8, 9))
    x = torch.randint(0, 255, (4, 3, 64, 64), dtype=torch.uint8)
    plain = model(x)
    labelled = model(x, torch.tensor([0, 3, 5, 8]), 10.0)
    unlabelled = model(x, torch.full((4,), -1), 10.0)
    assert float(labelled) > float(plain)
    assert float(unlabelled) == pytest.approx(float(plain))
