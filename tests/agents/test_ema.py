import re

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from bc_gym.agents import load_agent
from bc_gym.agents.training import TrainConfig, fit

pytestmark = pytest.mark.train

SEED = 42


class _Killed(Exception):
    pass


def _kill(model: nn.Module, epoch: int) -> None:
    raise _Killed  # the process dies after the first epoch's files are written


def _toy_fit(tmp_path, ema_decay: float, epochs=2, steps=5, resume=False, on_epoch_end=None):
    """Fit a linear layer on random data; returns (model, raw weights seen before every step)."""
    torch.manual_seed(SEED)
    model = nn.Linear(3, 2)
    model.register_buffer("scale", torch.tensor([1.0, 2.0]))
    x, y = _data()
    seen: list[torch.Tensor] = []

    def step_loss(m: nn.Module, rows: torch.Tensor) -> torch.Tensor:
        seen.append(m.weight.detach().clone())  # the raw weights after the previous step
        return ((m(x[rows]) - y[rows]) ** 2).mean()

    def validate(m: nn.Module) -> dict[str, float]:
        return {"val_f1": -float(((m(x) - y) ** 2).mean())}

    cfg = TrainConfig(
        epochs=epochs, progress=False, ema_decay=ema_decay, patience=0, lr=0.05, resume=resume
    )
    batches = lambda epoch: [torch.arange(e * 8, e * 8 + 8) for e in range(steps)]  # noqa: E731
    history = fit(
        model, batches, step_loss, validate, cfg, tmp_path, "toy", on_epoch_end=on_epoch_end
    )
    return model, seen, history


def test_ema_weights_are_the_exponential_average_of_the_steps(tmp_path):
    d = 0.8
    model, seen, history = _toy_fit(tmp_path, d, epochs=1)
    state = load_file(str(tmp_path / "toy_state.safetensors"))
    raw = [*seen[1:], state["model.weight"]]  # the weights after each of the 5 steps
    expected = raw[0]  # the first update copies the weights, then w = d * w + (1 - d) * w_t
    for w in raw[1:]:
        expected = d * expected + (1 - d) * w
    torch.testing.assert_close(model.weight.detach(), expected)
    torch.testing.assert_close(state["ema.module.weight"], expected)
    assert not torch.allclose(expected, raw[-1])  # the averaged weights are not the last ones
    # Buffers are copied from the model, not averaged.
    torch.testing.assert_close(model.scale, torch.tensor([1.0, 2.0]))
    # The kept best epoch is the averaged weights, also in the best file.
    best = load_file(str(tmp_path / "toy_best.safetensors"))
    torch.testing.assert_close(best["weight"], expected)
    x, y = _data()
    with torch.no_grad():
        mse = float(((nn.functional.linear(x, expected, model.bias) - y) ** 2).mean())
    assert history[0]["val_f1"] == pytest.approx(-mse)  # validation saw the averaged weights


def _data():
    data = torch.Generator().manual_seed(SEED)
    return torch.randn(64, 3, generator=data), torch.randn(64, 2, generator=data)


def test_ema_off_keeps_the_raw_weights(tmp_path):
    model, _, _ = _toy_fit(tmp_path, 0.0, epochs=1)
    state = load_file(str(tmp_path / "toy_state.safetensors"))
    assert not any(k.startswith("ema.") for k in state)
    torch.testing.assert_close(model.weight.detach(), state["model.weight"])


def test_resume_continues_the_average(tmp_path):
    whole, _, _ = _toy_fit(tmp_path / "whole", 0.8, epochs=2)
    with pytest.raises(_Killed):
        _toy_fit(tmp_path / "split", 0.8, epochs=2, on_epoch_end=_kill)
    resumed, _, history = _toy_fit(tmp_path / "split", 0.8, epochs=2, resume=True)
    assert [row["epoch"] for row in history] == [1, 2]
    torch.testing.assert_close(resumed.weight.detach(), whole.weight.detach())


def test_ema_decay_is_checked():
    with pytest.raises(ValueError, match=re.escape("ema_decay must be in [0, 1)")):
        TrainConfig(ema_decay=1.0)


def test_cnn_bc_saves_and_loads_the_ema_weights(tiny_dataset, tmp_path, tiny_train_config):
    from bc_gym.agents.cnn_bc import CNNBCAgent, CNNBCConfig

    cfg = tiny_train_config(ema_decay=0.9, steps_per_epoch=4, patience=0)
    agent = CNNBCAgent.train(
        [tiny_dataset], tmp_path, cfg, CNNBCConfig(channels=(8, 8, 8), hidden=16)
    )
    state = load_file(str(tmp_path / "cnn_state.safetensors"))
    saved = load_file(str(tmp_path / "model.safetensors"))
    again = load_agent(tmp_path)
    for k, v in saved.items():
        torch.testing.assert_close(v, state[f"ema.module.{k}"])  # save writes the EMA weights
        torch.testing.assert_close(again.net.state_dict()[k], v)  # load restores them
        torch.testing.assert_close(agent.net.state_dict()[k].cpu(), v)
    assert not torch.allclose(saved["head.3.weight"], state["model.head.3.weight"])
    obs = np.zeros((agent.n_stack, 64, 64, 3), np.uint8)
    assert agent.act(obs) == again.act(obs)
