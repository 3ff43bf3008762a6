import numpy as np
import pytest
import torch

from bc_gym.agents import load_agent
from bc_gym.agents.cnn_bc import CNNBCAgent, CNNBCConfig, CNNPolicy

pytestmark = pytest.mark.train


def test_trains_acts_and_round_trips(tiny_dataset, tmp_path, tiny_train_config, run_episode):
    agent = CNNBCAgent.train(
        [tiny_dataset],
        tmp_path,
        tiny_train_config(),
        CNNBCConfig(channels=(8, 8, 8), hidden=16, n_stack=3),
    )
    assert (tmp_path / "model.safetensors").is_file()
    assert (tmp_path / "cnn_metrics.csv").read_text().startswith("epoch,steps,time_s,train_loss")
    assert (tmp_path / "cnn_curves.png").is_file()
    actions = run_episode(agent)
    again = load_agent(tmp_path)
    assert isinstance(again, CNNBCAgent) and again.n_stack == 3
    assert run_episode(again) == actions


def test_resume_continues_the_epochs(tiny_dataset, tmp_path, tiny_train_config):
    cfg = CNNBCConfig(channels=(8, 8, 8), hidden=16)
    CNNBCAgent.train([tiny_dataset], tmp_path, tiny_train_config(epochs=1, patience=0), cfg)
    agent = CNNBCAgent.train(
        [tiny_dataset], tmp_path, tiny_train_config(epochs=2, resume=True, patience=0), cfg
    )
    assert [row["epoch"] for row in agent.train_history["cnn"]] == [1, 2]


def test_mirror_trains_on_flipped_stacks_too(
    tiny_dataset, tmp_path, tiny_train_config, monkeypatch
):
    from bc_gym.agents.data import load_episodes, open_datasets, split
    from bc_gym.datasets.torch import StackDataset

    ds = open_datasets([tiny_dataset])
    eps = load_episodes(ds, [[0, 1]])
    flipped = eps.mirrored("left:right")
    perm = eps.action_map.mirror_permutation("left:right")
    np.testing.assert_array_equal(flipped.frames[1], eps.frames[1][:, :, ::-1])
    np.testing.assert_array_equal(flipped.actions[0], perm[eps.actions[0]])
    assert len(eps + flipped) == 4
    # Watch what the network is trained on: both the recorded stacks and the mirrored ones,
    # each with its own label.
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    forward = CNNPolicy.forward

    def watch(self, x, targets=None):
        if targets is not None and self.training:
            seen.append((x.clone(), targets.clone()))
        return forward(self, x, targets)

    monkeypatch.setattr(CNNPolicy, "forward", watch)
    cfg = CNNBCConfig(channels=(8, 8, 8), hidden=16, mirror="left:right")
    agent = CNNBCAgent.train(
        [tiny_dataset], tmp_path, tiny_train_config(val_fraction=0.5, steps_per_epoch=20), cfg
    )
    assert load_agent(tmp_path).config.mirror == "left:right"
    assert 0 <= agent.act(np.zeros((agent.n_stack, 64, 64, 3), np.uint8)) < 9
    train_ids, _ = split(ds, 0.5, 0)[0]
    stacks = StackDataset(ds[0], cfg.n_stack, cfg.spacing_s, episodes=train_ids)
    items = {stacks[i][0].numpy().tobytes(): int(stacks[i][1]) for i in range(len(stacks))}
    mirrored = {
        stacks[i][0].flip(-1).numpy().tobytes(): int(perm[int(stacks[i][1])])
        for i in range(len(stacks))
    }
    plain = flips = 0
    for x, y in seen:
        for xi, yi in zip(x, y.tolist(), strict=True):
            key = xi.numpy().tobytes()
            if key in items and items[key] == yi:
                plain += 1
            elif key in mirrored and mirrored[key] == yi:
                flips += 1
            else:
                raise AssertionError("a training stack is neither recorded nor mirrored")
    assert plain > 50 and flips > 50
