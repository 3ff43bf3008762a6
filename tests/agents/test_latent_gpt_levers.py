"""The latent GPT's optional levers: end-to-end encoder, augmentation, action chunks, EMA."""

import json
import re

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from bc_gym.agents import load_agent
from bc_gym.agents.latent_gpt import GPT, GPTConfig, LatentGPTAgent, LatentGPTConfig
from tests.utils import SEED

pytestmark = pytest.mark.train


def _train(dataset, out, train_config, gpt_config, train_kw=None, **kw):
    return LatentGPTAgent.train([dataset], out, train_config(**(train_kw or {})), gpt_config(**kw))


def _vae_stage_weights(out) -> dict[str, torch.Tensor]:
    """The VAE as its own stage left it (``vae_best``: the ``_VAEWithHead``'s ``vae.*``)."""
    best = load_file(str(out / "vae" / "vae_best.safetensors"))
    return {k[4:]: v for k, v in best.items() if k.startswith("vae.")}


@pytest.mark.parametrize(
    ("options", "encoder_moves", "decoder_moves"),
    [
        ({}, False, False),
        ({"encoder_train": "finetune"}, True, False),
        ({"encoder_train": "finetune", "recon_weight": 0.05}, True, True),
    ],
    ids=["frozen", "finetune", "finetune-recon"],
)
def test_finetune_trains_the_encoder_and_only_recon_trains_the_decoder(
    tiny_dataset, tmp_path, tiny_train_config, tiny_gpt_config, options, encoder_moves,
    decoder_moves,
):  # fmt: skip
    agent = _train(tiny_dataset, tmp_path, tiny_train_config, tiny_gpt_config, **options)
    before = _vae_stage_weights(tmp_path)
    after = agent.vae.state_dict()
    expected = {"encoder.0.weight": encoder_moves, "to_stats.weight": encoder_moves,
                "decoder.0.weight": decoder_moves, "from_z.weight": decoder_moves}  # fmt: skip
    for name, moves in expected.items():
        assert (not torch.equal(before[name], after[name].cpu())) == moves, name
    # What play runs is what was trained: the saved checkpoint holds the tuned encoder.
    again = load_agent(tmp_path)
    assert torch.equal(again.vae.state_dict()["encoder.0.weight"], after["encoder.0.weight"])
    assert all(p.requires_grad for p in agent.vae.parameters())  # the freeze is undone


@pytest.mark.parametrize(
    "options",
    [
        {"encoder_train": "finetune", "finetune_grad_frames": 1, "augment_pad": 2},
        {"augment_pad": 4},
        {"chunk": 3},
        {"chunk": 2, "encoder_train": "finetune", "recon_weight": 0.05, "ensemble_coeff": 0.0},
    ],
    ids=["finetune-grad1-aug", "frozen-aug", "chunk", "finetune-chunk"],
)
def test_each_option_trains_acts_and_round_trips(
    tiny_dataset, tmp_path, tiny_train_config, tiny_gpt_config, run_episode, options
):
    agent = _train(tiny_dataset, tmp_path, tiny_train_config, tiny_gpt_config, **options)
    history = agent.train_history["gpt"]
    assert len(history) == 1 and np.isfinite(history[0]["train_loss"])
    saved = json.loads((tmp_path / "config.json").read_text())["agent_config"]
    assert {k: saved[k] for k in options} == options
    actions = run_episode(agent)
    assert run_episode(agent) == actions  # reset() forgets the pending chunks
    assert run_episode(load_agent(tmp_path)) == actions


def test_augmentation_changes_the_vae_training_deterministically(
    tiny_dataset, tmp_path, tiny_train_config
):
    from bc_gym.agents.data import load_episodes, open_datasets, split
    from bc_gym.agents.latent_gpt import train_vae
    from bc_gym.agents.vae import VAEConfig

    ds = open_datasets([tiny_dataset])
    cfg = tiny_train_config()
    ds, ids = split(ds, cfg.val_fraction, cfg.seed)
    val = np.concatenate(load_episodes(ds, [ids[0][1]]).frames)
    vae_cfg = VAEConfig(latent_dim=8, channels=(8, 8, 16, 16))
    weights = []
    for i, pad in enumerate((0, 3, 3)):
        torch.manual_seed(SEED)
        vae, _ = train_vae(ds, ids, tmp_path / str(i), cfg, vae_cfg, 1, 3, 16, 1e-3, val,
                           augment_pad=pad)  # fmt: skip
        weights.append(vae.encoder[0].weight.detach().clone())
    assert not torch.equal(weights[0], weights[1])
    assert torch.equal(weights[1], weights[2])


@pytest.mark.parametrize("encoder_train", ["frozen", "finetune"])
def test_ema_weights_are_the_saved_ones(
    tiny_dataset, tmp_path, tiny_train_config, tiny_gpt_config, encoder_train
):
    """Both stages go through ``fit``: with ``ema_decay`` the checkpoint holds the average."""
    _train(tiny_dataset, tmp_path, tiny_train_config, tiny_gpt_config,
           train_kw={"ema_decay": 0.5}, encoder_train=encoder_train)  # fmt: skip
    saved = load_file(str(tmp_path / "model.safetensors"))
    gpt_state = load_file(str(tmp_path / "gpt_state.safetensors"))
    vae_state = load_file(str(tmp_path / "vae" / "vae_state.safetensors"))
    prefix = "" if encoder_train == "frozen" else "gpt."  # finetune trains (vae, gpt)
    name = "h.0.mlp.c_fc.weight"
    assert torch.equal(saved[f"gpt.{name}"], gpt_state[f"ema.module.{prefix}{name}"])
    assert not torch.equal(saved[f"gpt.{name}"], gpt_state[f"model.{prefix}{name}"])
    name = "encoder.0.weight"
    if encoder_train == "frozen":  # the VAE stage's average, untouched by the GPT stage
        assert torch.equal(saved[f"vae.{name}"], vae_state[f"ema.module.vae.{name}"])
        assert not torch.equal(saved[f"vae.{name}"], vae_state[f"model.vae.{name}"])
    else:
        assert torch.equal(saved[f"vae.{name}"], gpt_state[f"ema.module.vae.{name}"])
        assert not torch.equal(saved[f"vae.{name}"], gpt_state[f"model.vae.{name}"])


def test_chunked_gpt_predicts_k_actions_and_ignores_missing_labels():
    torch.manual_seed(SEED)
    cfg = GPTConfig(latent_dim=4, n_actions=3, block_size=5, n_layer=1, n_head=2, n_embd=16)
    gpt = GPT(GPTConfig(**{**cfg.__dict__, "chunk": 4})).eval()
    z, prev = torch.randn(2, 5, 4), torch.full((2, 5), 3)
    y = torch.randint(0, 3, (2, 5, 4))
    with torch.no_grad():
        logits, loss = gpt(z, prev, y)
    assert logits.shape == (2, 5, 4, 3)
    expected = torch.nn.functional.cross_entropy(logits.reshape(-1, 3), y.reshape(-1))
    assert float(loss) == pytest.approx(float(expected))
    missing = y.clone()
    missing[:, :, 1:] = -1  # only the frame's own action is known
    with torch.no_grad():
        _, loss = gpt(z, prev, missing)
    expected = torch.nn.functional.cross_entropy(logits[:, :, 0].reshape(-1, 3), y[..., 0].ravel())
    assert float(loss) == pytest.approx(float(expected))


def test_chunk_labels_stop_at_the_episode_end():
    from bc_gym.agents.latent_gpt import _Latents

    lat = _Latents(mu=[np.zeros((4, 1)), np.zeros((3, 1))],
                   actions=[np.array([5, 6, 7]), np.array([1, 2])])  # fmt: skip
    assert lat.chunk_labels(3).tolist() == [
        [5, 6, 7], [6, 7, -1], [7, -1, -1], [-1, -1, -1],
        [1, 2, -1], [2, -1, -1], [-1, -1, -1],
    ]  # fmt: skip


def test_act_ensembles_the_overlapping_chunks():
    """act() returns the arg-max of TemporalEnsembler over the chunks the GPT predicted."""
    from bc_gym.actions import HIGHWAY_ACTIONS
    from bc_gym.agents.chunking import TemporalEnsembler

    cfg = LatentGPTConfig(chunk=4, ensemble_coeff=-0.5, latent_dim=8, n_embd=32, n_layer=1)
    agent = LatentGPTAgent(HIGHWAY_ACTIONS, (64, 64, 3), cfg)
    # Varied, confident chunk predictions, one per step (the GPT's output at its last position).
    chunks = torch.randn(16, 4, 9, generator=torch.Generator().manual_seed(SEED)) * 3
    step = iter(range(16))

    def predicting(z, prev, targets=None):
        logits = torch.zeros(1, z.shape[1], 4, 9)
        logits[0, -1] = chunks[next(step)]
        return logits, None

    agent.gpt.forward = predicting
    frames = np.random.default_rng(SEED).integers(0, 255, (24, 64, 64, 3), dtype=np.uint8)
    agent.reset()
    actions = [agent.act(frames[i : i + 8]) for i in range(16)]
    ens = TemporalEnsembler(4, -0.5)
    probs = chunks.softmax(-1).numpy()
    assert actions == [int(np.argmax(ens.update(p))) for p in probs]
    assert actions != [int(p[0].argmax()) for p in probs]  # not the newest chunk alone


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"encoder_train": "e2e"}, "encoder_train must be 'frozen' or 'finetune', actual "
                                   "value: 'e2e'"),
        ({"chunk": 0}, "chunk must be an integer >= 1 (1: no chunking), actual value: 0"),
        ({"augment_pad": -1}, "augment_pad must be an integer >= 0, actual value: -1"),
        ({"finetune_batch_size": 1.5}, "finetune_batch_size must be an integer >= 0"),
        ({"recon_weight": -0.1}, "recon_weight must be >= 0, actual value: -0.1"),
    ],
)  # fmt: skip
def test_bad_options_name_the_value(options, message):
    from bc_gym.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(message)):
        LatentGPTConfig(**options)
