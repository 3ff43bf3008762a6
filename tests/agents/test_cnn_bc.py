import numpy as np
import pytest
import torch

from bc_gym.agents import load_agent
from bc_gym.agents.cnn_bc import CNNBCAgent, CNNBCConfig, CNNPolicy

pytestmark = pytest.mark.train


def _watch_training(monkeypatch) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """From now on, collect every ``(stacks, targets)`` batch ``CNNPolicy`` is trained on."""
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    forward = CNNPolicy.forward

    def watch(self, x, targets=None):
        if targets is not None and self.training:
            seen.append((x.clone(), targets.clone()))
        return forward(self, x, targets)

    monkeypatch.setattr(CNNPolicy, "forward", watch)
    return seen


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
    from bc_gym.agents.data import load_episodes, open_datasets
    from bc_gym.datasets.torch import StackDataset, split_episodes

    ds = open_datasets([tiny_dataset])
    eps = load_episodes(ds, [[0, 1]])
    flipped = eps.mirrored("left:right")
    perm = eps.action_map.mirror_permutation("left:right")
    np.testing.assert_array_equal(flipped.frames[1], eps.frames[1][:, :, ::-1])
    np.testing.assert_array_equal(flipped.actions[0], perm[eps.actions[0]])
    assert len(eps + flipped) == 4
    # Watch what the network is trained on: both the recorded stacks and the mirrored ones,
    # each with its own label.
    seen = _watch_training(monkeypatch)
    cfg = CNNBCConfig(channels=(8, 8, 8), hidden=16, mirror="left:right")
    agent = CNNBCAgent.train(
        [tiny_dataset], tmp_path, tiny_train_config(val_fraction=0.5, steps_per_epoch=20), cfg
    )
    assert load_agent(tmp_path).config.mirror == "left:right"
    assert 0 <= agent.act(np.zeros((agent.n_stack, 64, 64, 3), np.uint8)) < 9
    train_ids, _ = split_episodes(ds[0], 0.5, 0)  # what split() holds out of 4 episodes
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


TINY = {"channels": (8, 8, 8), "hidden": 16}


@pytest.mark.parametrize(
    "options",
    [
        {"augment_pad": 4},
        {"encoder": "impala", "impala_channels": (4, 8, 8)},
        {"motion": "diff"},
        {"chunk": 3, "ensemble_coeff": 0.1},
        {"normalize": "dataset"},
        {
            "chunk": 2,
            "motion": "diff",
            "augment_pad": 2,
            "mirror": "left:right",
            "normalize": "dataset",
        },
    ],
    ids=["augment", "impala", "diff", "chunk", "normalize", "all"],
)
def test_each_option_trains_acts_and_round_trips(
    options, tiny_dataset, tmp_path, tiny_train_config, run_episode
):
    cfg = CNNBCConfig(**{**TINY, **options})
    agent = CNNBCAgent.train([tiny_dataset], tmp_path, tiny_train_config(), cfg)
    actions = run_episode(agent)
    assert len(actions) > 5
    again = load_agent(tmp_path)
    for k, v in options.items():
        assert getattr(again.config, k) == v
    assert run_episode(again) == actions  # chunked: the ensembler restarts at reset()
    assert run_episode(again) == actions


def test_impala_keeps_the_frame_size_until_its_pooling():
    cfg = CNNBCConfig(encoder="impala", impala_channels=(4, 8, 8), hidden=16, n_stack=2)
    net = CNNPolicy(6, (64, 64), 9, cfg)
    assert isinstance(net.features[0], torch.nn.Conv2d) and net.features[0].stride == (1, 1)
    assert net.head[0].in_features == 8 * 8 * 8  # three stride-2 stages: 64 -> 8
    logits, _ = net(torch.zeros(2, 6, 64, 64, dtype=torch.uint8))
    assert logits.shape == (2, 9)


def test_motion_diff_feeds_the_newest_frame_and_the_differences():
    cfg = CNNBCConfig(motion="diff", n_stack=3, **TINY)
    net = CNNPolicy(3 * 2, (36, 36), 9, cfg)
    f = torch.randint(0, 256, (1, 3, 2, 36, 36), generator=torch.Generator().manual_seed(42))
    x = f.to(torch.uint8).reshape(1, 6, 36, 36)
    got = net.inputs(x)
    f = f.float() / 255.0
    expected = torch.cat([f[:, 2], f[:, 1] - f[:, 0], f[:, 2] - f[:, 1]], 1)
    torch.testing.assert_close(got, expected)
    plain = CNNPolicy(6, (36, 36), 9, CNNBCConfig(n_stack=3, **TINY))
    torch.testing.assert_close(plain.inputs(x), x.float() / 255.0)


def test_normalize_dataset_keeps_the_training_frames_statistics(
    tiny_dataset, tmp_path, tiny_train_config
):
    from bc_gym.agents.cnn_bc import channel_stats
    from bc_gym.datasets import load_dataset

    cfg = CNNBCConfig(normalize="dataset", **TINY)
    agent = CNNBCAgent.train([tiny_dataset], tmp_path, tiny_train_config(), cfg)
    mean, std = agent.net.input_mean, agent.net.input_std
    frames = np.concatenate([ep.observations[:] for ep in load_dataset(tiny_dataset)])
    pixels = frames.reshape(-1, frames.shape[-1]) / 255.0
    # training used the train episodes only: close to, not equal to, every episode's figures
    np.testing.assert_allclose(mean.numpy(), pixels.mean(0), atol=0.05)
    assert float(mean.abs().sum()) > 0 and not torch.equal(std, torch.ones_like(std))
    again = load_agent(tmp_path)
    torch.testing.assert_close(again.net.input_mean, mean)
    torch.testing.assert_close(again.net.input_std, std)
    x = torch.from_numpy(frames[:4]).permute(0, 3, 1, 2).reshape(1, -1, *frames.shape[1:3])
    got = again.net.inputs(x)[0, :3]  # the oldest frame's channels
    want = (x[0, :3].float() / 255.0 - mean[:, None, None]) / std[:, None, None]
    torch.testing.assert_close(got, want)
    const = torch.full((50, 3, 4, 4), 7, dtype=torch.uint8)
    m, s = channel_stats(const)
    torch.testing.assert_close(m, torch.full((3,), 7 / 255))
    assert float(s.min()) == pytest.approx(1 / 255)  # a constant channel: no division by zero


def test_runs_saved_before_normalize_load_as_they_trained(
    tiny_dataset, tmp_path, tiny_train_config, run_episode
):
    from safetensors.torch import load_file, save_file

    agent = CNNBCAgent.train([tiny_dataset], tmp_path, tiny_train_config(), CNNBCConfig(**TINY))
    actions = run_episode(agent)
    weights = tmp_path / "model.safetensors"
    old = {k: v for k, v in load_file(weights).items() if not k.startswith("input_")}
    save_file(old, weights)  # as a run saved before the option existed
    again = load_agent(tmp_path)
    torch.testing.assert_close(again.net.input_std, torch.ones(3))
    assert run_episode(again) == actions


def test_item_future_actions(tiny_dataset):
    from bc_gym.datasets import load_dataset
    from bc_gym.datasets.torch import StackDataset

    ds = load_dataset(tiny_dataset)
    sd = StackDataset(ds, 2, 1 / 30, episodes=[1, 3])
    _, _, now = sd.frame_table()
    fut = sd.item_future_actions(4)
    assert fut.shape == (len(sd), 4)
    torch.testing.assert_close(fut[:, 0], now)
    for row, (e, j) in enumerate(sd.items):
        acts = ds[int(e)].actions
        want = [int(acts[j + i]) if j + i < len(acts) else -1 for i in range(4)]
        assert fut[row].tolist() == want
    assert (fut[:, 3] == -1).sum() == 2 * 3  # the last 3 steps of each episode
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        sd.item_future_actions(0)


def test_config_errors():
    with pytest.raises(ValueError, match=r"encoder must be one of \('nature', 'impala'\)"):
        CNNBCConfig(encoder="resnet")
    with pytest.raises(ValueError, match=r"motion must be one of \('none', 'diff'\)"):
        CNNBCConfig(motion="flow")
    with pytest.raises(ValueError, match="motion='diff' needs n_stack >= 2"):
        CNNBCConfig(motion="diff", n_stack=1)
    with pytest.raises(ValueError, match=r"normalize must be one of \('none', 'dataset'\)"):
        CNNBCConfig(normalize="imagenet")
    with pytest.raises(ValueError, match="augment_pad must be an integer >= 0"):
        CNNBCConfig(augment_pad=-1)
    with pytest.raises(ValueError, match="chunk must be an integer >= 1"):
        CNNBCConfig(chunk=0)


def test_shifted_chunked_mirrored_stacks_keep_their_labels(
    tiny_dataset, tmp_path, tiny_train_config, monkeypatch
):
    """What the network trains on: recorded or mirrored stacks, each shifted by one offset for
    all its frames, with the next ``chunk`` actions of that stack (mirrored keys if mirrored)."""
    import hashlib

    from bc_gym.agents.data import open_datasets
    from bc_gym.datasets.torch import StackDataset, split_episodes

    pad, chunk = 2, 3
    seen = _watch_training(monkeypatch)
    cfg = CNNBCConfig(**TINY, mirror="left:right", augment_pad=pad, chunk=chunk)
    CNNBCAgent.train(
        [tiny_dataset], tmp_path, tiny_train_config(val_fraction=0.5, steps_per_epoch=10), cfg
    )
    ds = open_datasets([tiny_dataset])
    perm = torch.from_numpy(ds[0].action_map.mirror_permutation("left:right"))
    train_ids, _ = split_episodes(ds[0], 0.5, 0)  # what split() holds out of 4 episodes
    sd = StackDataset(ds[0], cfg.n_stack, cfg.spacing_s, episodes=train_ids)
    fut = sd.item_future_actions(chunk)
    h, w = sd[0][0].shape[1:]
    labels: dict[bytes, set] = {}  # every shifted stack -> its possible label rows
    for i in range(len(sd)):
        x = sd[i][0]
        for flipped, y in ((x, fut[i]), (x.flip(-1), torch.where(fut[i] >= 0, perm[fut[i]], -1))):
            padded = torch.nn.functional.pad(flipped[None].float(), (pad,) * 4, mode="replicate")
            for dy in range(2 * pad + 1):
                for dx in range(2 * pad + 1):
                    crop = padded[0, :, dy : dy + h, dx : dx + w].to(torch.uint8)
                    key = hashlib.sha1(crop.numpy().tobytes()).digest()
                    labels.setdefault(key, set()).add((tuple(y.tolist()), (dy, dx) != (pad, pad)))
    shifted = 0
    for x, y in seen:
        assert y.shape == (len(x), chunk)
        for xi, yi in zip(x, y, strict=True):
            found = labels.get(hashlib.sha1(xi.numpy().tobytes()).digest())
            assert found, "a training stack is no shifted recorded or mirrored stack"
            assert tuple(yi.tolist()) in {lab for lab, _ in found}
            shifted += any(moved for _, moved in found)
    assert shifted > 0.8 * sum(len(x) for x, _ in seen)


def test_label_shift_labels_each_stack_with_the_keys_recorded_later(
    tiny_dataset, tmp_path, tiny_train_config, monkeypatch
):
    """``label_shift=2``: a stack learns the keys recorded 2 steps after its newest frame, and
    the last 2 stacks of each episode, which have no such keys, are not trained on."""
    import hashlib

    from bc_gym.agents.data import open_datasets
    from bc_gym.datasets.torch import StackDataset, split_episodes

    shift = 2
    seen = _watch_training(monkeypatch)
    cfg = CNNBCConfig(**TINY, label_shift=shift)
    CNNBCAgent.train(
        [tiny_dataset], tmp_path, tiny_train_config(val_fraction=0.5, steps_per_epoch=10), cfg
    )
    ds = open_datasets([tiny_dataset])
    train_ids, _ = split_episodes(ds[0], 0.5, 0)
    sd = StackDataset(ds[0], cfg.n_stack, cfg.spacing_s, episodes=train_ids)
    later = sd.item_future_actions(shift + 1)[:, shift]  # -1: past the episode's end
    labels: dict[bytes, set[int]] = {}
    for i in range(len(sd)):
        key = hashlib.sha1(sd[i][0].numpy().tobytes()).digest()
        labels.setdefault(key, set()).add(int(later[i]))
    now = sd.item_future_actions(1)[:, 0]
    assert bool((later != now).any()), "the tiny dataset's keys never change: a useless test"
    for x, y in seen:
        assert y.shape == (len(x),)
        for xi, yi in zip(x, y, strict=True):
            found = labels[hashlib.sha1(xi.numpy().tobytes()).digest()]
            assert int(yi) in found and int(yi) >= 0
    with pytest.raises(ValueError, match="label_shift must be an integer >= 0"):
        CNNBCConfig(label_shift=-1)
