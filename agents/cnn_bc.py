"""``cnn-bc``: frame-by-frame behaviour cloning with a small CNN over a time-spaced frame stack.

The baseline the latent GPT must beat: ``n_stack`` frames spaced ``spacing_s`` seconds
(``StackDataset`` in training, ``TimedFrameStack`` in play) are stacked on the channel axis and
fed to a Nature-DQN-sized CNN, trained with class-weighted cross-entropy.

Options for perception and robustness (each off by default): random-shift augmentation
(``augment_pad``, RAD/DrQ), an IMPALA encoder that keeps 2-pixel cars (``encoder``), frame
differences at the input (``motion``), and action chunking with ACT's temporal ensembling
(``chunk``, ``ensemble_coeff``). EMA weights are ``TrainConfig.ema_decay``.

Example:
    >>> import numpy as np
    >>> from bc_gym.actions import HIGHWAY_ACTIONS
    >>> from bc_gym.agents.cnn_bc import CNNBCAgent
    >>> agent = CNNBCAgent(HIGHWAY_ACTIONS, (64, 64, 3))
    >>> 0 <= agent.act(np.zeros((4, 64, 64, 3), np.uint8)) < 9
    True
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bc_gym.actions import ActionMap
from bc_gym.agents.base import Agent, config_from_dict, config_to_dict, register_agent
from bc_gym.agents.chunking import TemporalEnsembler
from bc_gym.agents.training import TrainConfig

ENCODERS = ("nature", "impala")
MOTIONS = ("none", "diff")
NORMALIZE = ("none", "dataset")


@dataclass
class CNNBCConfig:
    """Hyper-parameters of the CNN baseline."""

    n_stack: int = 4
    """Frames per stack. 2 frames did not do better, on 20 or on 100 recipe episodes, within
    the spread between training runs (two 4-frame runs on 100 episodes drove 256 and 142;
    compare with ``benchmarks/agents.py --episodes 100 --set cnn-bc.n_stack=2``)."""
    spacing_s: float = 1 / 30
    """Seconds between stacked frames (consecutive frames: see ``LatentGPTConfig.spacing_s``)."""
    channels: tuple[int, ...] = (32, 64, 64)
    """Channels of the three conv layers of the ``nature`` encoder (8x8/4, 4x4/2, 3x3/1, as in
    Nature DQN)."""
    encoder: str = "nature"
    """``"nature"``: Nature DQN's 8x8/4 stem. ``"impala"``: IMPALA's residual stages (per stage
    a 3x3 conv at full resolution, a 3x3/2 max-pool, two residual blocks; Espeholt et al. 2018),
    which see every pixel before downsampling, so a car 2 pixels wide is not averaged away."""
    impala_channels: tuple[int, ...] = (16, 32, 32)
    """Channels of the ``impala`` encoder's stages (one stage per entry)."""
    hidden: int = 256
    """Width of the fully connected layer."""
    dropout: float = 0.2
    """Dropout before the output layer."""
    class_weight_power: float = 0.5
    """Cross-entropy class weights are ``frequency ** -power`` (0: unweighted)."""
    mirror: str = ""
    """Training only: also learn from the stacks mirrored left-right with these two keys
    exchanged, ``"left:right"`` (see ``LatentGPTConfig.mirror``). Empty: off."""
    augment_pad: int = 0
    """Training only: shift each training stack by up to this many pixels (replicate-padded
    random crop, one shift for all frames of a stack; RAD/DrQ). Labels are unchanged; composes
    with ``mirror``. 0: off."""
    motion: str = "none"
    """``"none"``: the stacked frames as they are. ``"diff"``: the newest frame and the
    ``n_stack - 1`` differences between consecutive stacked frames (same channel count), so the
    closing speed of the car ahead is visible at the encoder's first layer. Needs ``n_stack >=
    2``."""
    normalize: str = "none"
    """``"none"``: pixels scaled to [0, 1]. ``"dataset"``: each colour channel standardised
    with the mean and standard deviation of the training frames (kept in the run, applied the
    same way in play), so a mostly-white page does not feed the first layer a large constant
    that the network must first learn to cancel."""
    chunk: int = 1
    """Predict the actions of the next ``chunk`` steps (the label of step ``i`` is the action
    recorded ``i`` frames later in the same episode; steps past its end are ignored). At play,
    each ``act()`` call is one step (play at the recording rate) and the overlapping
    predictions of each step are averaged (``ensemble_coeff``); validation scores the first
    step's head. 1: off."""
    ensemble_coeff: float = 0.01
    """Temporal ensembling weight ``exp(-coeff * i)`` of the ``i``-th oldest prediction of a
    step (ACT's default 0.01: older ones slightly favoured; see
    :class:`~bc_gym.agents.chunking.TemporalEnsembler`). Used when ``chunk > 1``."""
    label_shift: int = 0
    """Training only: label each stack with the keys recorded this many steps after its newest
    frame (the last ``label_shift`` steps of each episode get no label). In a live recording
    the game may already show the effect of the keys held at a tick in that tick's frame; the
    clone then learns to read its own last keys from the picture instead of what to do next.
    0: the keys of the frame's own tick."""

    def __post_init__(self) -> None:
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, actual value: {self.encoder!r}")
        if self.motion not in MOTIONS:
            raise ValueError(f"motion must be one of {MOTIONS}, actual value: {self.motion!r}")
        if self.normalize not in NORMALIZE:
            raise ValueError(
                f"normalize must be one of {NORMALIZE}, actual value: {self.normalize!r}"
            )
        if self.motion == "diff" and self.n_stack < 2:
            raise ValueError(
                f"motion='diff' needs n_stack >= 2 (differences between stacked frames), "
                f"actual n_stack: {self.n_stack!r}; raise n_stack or use motion='none'"
            )
        if int(self.augment_pad) != self.augment_pad or self.augment_pad < 0:
            raise ValueError(
                f"augment_pad must be an integer >= 0 (pixels), actual value: {self.augment_pad!r}"
            )
        if int(self.chunk) != self.chunk or self.chunk < 1:
            raise ValueError(f"chunk must be an integer >= 1, actual value: {self.chunk!r}")
        if int(self.label_shift) != self.label_shift or self.label_shift < 0:
            raise ValueError(
                f"label_shift must be an integer >= 0 (steps), actual value: {self.label_shift!r}"
            )
        if not self.impala_channels or min(self.impala_channels) < 1:
            raise ValueError(
                f"impala_channels must be positive channel counts, one per stage, actual "
                f"value: {self.impala_channels!r}"
            )


class _Residual(nn.Module):
    """IMPALA's residual block: ``x + conv(relu(conv(relu(x))))`` (3x3, same channels)."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv1(F.relu(self.conv0(F.relu(x))))


def _encoder(in_ch: int, cfg: CNNBCConfig) -> nn.Sequential:
    """The convolutional feature extractor ``(B, in_ch, H, W) -> (B, F)`` that ``cfg`` names."""
    if cfg.encoder == "impala":
        layers: list[nn.Module] = []
        for ch in cfg.impala_channels:
            layers += [
                nn.Conv2d(in_ch, ch, 3, padding=1),
                nn.MaxPool2d(3, 2, padding=1),  # (H, W) -> (H/2, W/2)
                _Residual(ch),
                _Residual(ch),
            ]
            in_ch = ch
        return nn.Sequential(*layers, nn.ReLU(), nn.Flatten())
    c1, c2, c3 = cfg.channels
    return nn.Sequential(
        nn.Conv2d(in_ch, c1, 8, 4), nn.ReLU(),
        nn.Conv2d(c1, c2, 4, 2), nn.ReLU(),
        nn.Conv2d(c2, c3, 3, 1), nn.ReLU(),
        nn.Flatten(),
    )  # fmt: skip


class CNNPolicy(nn.Module):
    """``(B, n*C, H, W) uint8 -> (B, n_actions)`` logits (``(B, chunk, n_actions)`` if chunked)."""

    def __init__(self, in_ch: int, hw: tuple[int, int], n_actions: int, cfg: CNNBCConfig) -> None:
        super().__init__()
        self.n_stack, self.motion, self.chunk = cfg.n_stack, cfg.motion, cfg.chunk
        self.normalize = cfg.normalize == "dataset"
        self.features = _encoder(in_ch, cfg)
        with torch.no_grad():
            flat = self.features(torch.zeros(1, in_ch, *hw)).shape[1]
        self.head = nn.Sequential(
            nn.Linear(flat, cfg.hidden), nn.ReLU(), nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden, n_actions * cfg.chunk),
        )  # fmt: skip
        self.register_buffer("class_weight", torch.ones(n_actions))
        # Per-channel input statistics in [0, 1] units (identity unless normalize="dataset").
        channels = in_ch // cfg.n_stack
        self.register_buffer("input_mean", torch.zeros(channels))
        self.register_buffer("input_std", torch.ones(channels))

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 stacks -> the encoder's float input (``motion="diff"``: newest + differences)."""
        f = x.float().reshape(len(x), self.n_stack, -1, *x.shape[2:]) / 255.0  # (B, n, C, H, W)
        if self.normalize:  # (skipped otherwise: act() runs in the control loop)
            f = (f - self.input_mean[:, None, None]) / self.input_std[:, None, None]
        if self.motion == "diff":
            return torch.cat([f[:, -1], (f[:, 1:] - f[:, :-1]).flatten(1, 2)], 1)  # (B, n*C, H, W)
        return f.flatten(1, 2)

    def forward(
        self, x: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits, and the class-weighted cross-entropy when ``targets`` are given.

        With ``chunk > 1`` the logits are ``(B, chunk, n_actions)`` and ``targets`` ``(B,
        chunk)``, where ``-1`` marks steps past the episode's end (ignored).
        """
        logits = self.head(self.features(self.inputs(x)))  # (B, chunk*n_actions)
        if self.chunk > 1:
            logits = logits.reshape(len(x), self.chunk, -1)  # (B, chunk, n_actions)
        if targets is None:
            return logits, None
        flat = logits.reshape(-1, logits.shape[-1])
        loss = F.cross_entropy(flat, targets.reshape(-1), weight=self.class_weight, ignore_index=-1)
        return logits, loss


def channel_stats(
    frames: torch.Tensor, max_frames: int = 2000
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation in [0, 1] units of ``(N, C, H, W)`` uint8 frames.

    An evenly spaced sample of at most ``max_frames`` frames is enough for two numbers per
    channel and keeps this cheap on 100 recorded episodes. The std is floored at 1/255 so a
    constant channel does not divide by zero.
    """
    step = max(1, len(frames) // max_frames)
    x = frames[::step].float().div_(255.0).transpose(0, 1).flatten(1)  # (C, n*H*W)
    return x.mean(1), x.std(1).clamp(min=1 / 255)


@register_agent("cnn-bc")
class CNNBCAgent(Agent):
    """A CNN over ``n_stack`` frames spaced ``spacing_s`` seconds.

    Args:
        action_map: action vocabulary.
        obs_shape: ``(H, W, C)`` of one frame.
        config: hyper-parameters.
        device: torch device for inference.
    """

    def __init__(
        self,
        action_map: ActionMap,
        obs_shape: tuple[int, int, int],
        config: CNNBCConfig | None = None,
        device: str = "cpu",
    ) -> None:
        config = config or CNNBCConfig()
        super().__init__(action_map, obs_shape, config.n_stack, config.spacing_s)
        self.config = config
        self.device = torch.device(device)
        h, w, c = self.obs_shape
        self.net = CNNPolicy(c * config.n_stack, (h, w), action_map.n, config).to(self.device)
        self.net.eval()
        self.ensembler = TemporalEnsembler(config.chunk, config.ensemble_coeff)

    def reset(self) -> None:
        """Forget the pending chunk predictions (a new episode)."""
        self.ensembler.reset()

    @torch.inference_mode()
    def _act(self, obs: np.ndarray) -> int:
        x = torch.from_numpy(obs).permute(0, 3, 1, 2).reshape(1, -1, *obs.shape[1:3])  # (1,nC,H,W)
        logits, _ = self.net(x.to(self.device))
        if self.config.chunk == 1:
            return int(logits[0].argmax())
        probs = torch.softmax(logits[0].float(), -1).cpu().numpy()  # (chunk, n_actions)
        return int(np.argmax(self.ensembler.update(probs)))

    def to(self, device: str | torch.device) -> CNNBCAgent:
        """Move the network to ``device``; returns the agent."""
        self.device = torch.device(device)
        self.net.to(self.device)
        return self

    def config_dict(self) -> dict[str, Any]:
        """The :class:`CNNBCConfig` as JSON."""
        return config_to_dict(self.config)

    def tensors(self) -> dict[str, torch.Tensor]:
        """The network's state dict."""
        return dict(self.net.state_dict())

    optional_tensors = ("input_mean", "input_std")  # runs saved before ``normalize`` existed

    def load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore :meth:`tensors` (runs saved before ``normalize`` existed lack its buffers)."""
        state = self.net.state_dict()
        for name in self.optional_tensors:  # older runs: the identity, as they trained
            tensors.setdefault(name, state[name])
        self.net.load_state_dict(tensors)

    @classmethod
    def _from_config(cls, *, action_map, obs_shape, n_stack, spacing_s, agent_config, device):
        return cls(action_map, obs_shape, config_from_dict(CNNBCConfig, agent_config), device)

    @classmethod
    def train(
        cls,
        datasets: list[Any],
        out: str | Path,
        train_cfg: TrainConfig | None = None,
        config: CNNBCConfig | None = None,
    ) -> CNNBCAgent:
        """Train on ``StackDataset`` items of the train episodes; save into ``out``."""
        from torch.utils.data import DataLoader, RandomSampler

        from bc_gym.agents.augment import random_shift
        from bc_gym.agents.data import open_datasets, recorded_from, split
        from bc_gym.agents.training import (
            class_weights,
            classification_metrics,
            fit,
            is_main,
            seed_everything,
            setup_torch,
            world,
        )
        from bc_gym.datasets.torch import StackDataset

        cfg, config = train_cfg or TrainConfig(), config or CNNBCConfig()
        out = Path(out)
        device = setup_torch(cfg)
        seed_everything(cfg.seed)
        t0 = time.perf_counter()
        span_s = (config.n_stack - 1) * config.spacing_s  # how far back a stack reaches
        datasets, ids = split(
            open_datasets(datasets, cfg.obs_size), cfg.val_fraction, cfg.seed, span_s=span_s
        )
        agent = cls(datasets[0].action_map, tuple(datasets[0].obs_shape), config, str(device))
        agent.recorded_from = recorded_from(datasets)

        def table(which: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            """Frames of every stack held once in memory, and each stack's frame indices.

            HDF5 reads per epoch would dominate the CPU time, and materialised stacks would hold
            each frame ``n_stack`` times (12 GB for 100 episodes with mirroring). The labels are
            ``(N,)``, or ``(N, chunk)`` (the next ``chunk`` actions, -1 past the end) if chunked.
            """
            parts = []
            for ds, pair in zip(datasets, ids, strict=False):
                sd = StackDataset(ds, config.n_stack, config.spacing_s, episodes=pair[which])
                fr, idx, acts = sd.frame_table()
                if config.chunk > 1 or config.label_shift:
                    shift = int(config.label_shift)
                    acts = sd.item_future_actions(config.chunk + shift)[:, shift:]
                    keep = acts[:, 0] >= 0  # stacks whose shifted label is inside the episode
                    idx, acts = idx[keep], acts[keep]
                    acts = acts[:, 0] if config.chunk == 1 else acts  # (N,) or (N, chunk)
                parts.append((fr, idx, acts))
            if len(parts) == 1:
                return parts[0]
            offsets = np.cumsum([0] + [len(f) for f, _, _ in parts])
            return (
                torch.cat([f for f, _, _ in parts]),
                torch.cat([i + int(o) for (_, i, _), o in zip(parts, offsets, strict=False)]),
                torch.cat([a for _, _, a in parts]),
            )

        frames, index, ys = table(0)
        vframes, vindex, vy = table(1)
        n_items = len(index)
        if config.mirror:  # items n_items.. are the mirrored ones (width flipped, keys exchanged)
            perm = torch.from_numpy(agent.action_map.mirror_permutation(config.mirror))
            ys = torch.cat([ys, torch.where(ys >= 0, perm[ys.clamp(min=0)], ys)])
        now = ys if config.chunk == 1 else ys[:, 0]  # the action of each stack's newest frame

        def stacks(fr: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
            """``(B, n)`` frame indices -> ``(B, n*C, H, W)`` uint8 stacks."""
            x = fr[idx]  # (B, n, C, H, W)
            return x.reshape(len(idx), -1, *x.shape[3:])

        net = agent.net.to(device)
        if config.normalize == "dataset":
            mean, std = channel_stats(frames)
            net.input_mean.copy_(mean)
            net.input_std.copy_(std)
        if config.class_weight_power > 0:
            net.class_weight.copy_(
                class_weights(now.numpy(), agent.action_map.n, config.class_weight_power)
            )
        rank, n_proc = world()
        gen = torch.Generator().manual_seed(cfg.seed * 1000 + rank)
        # Shifts draw from their own stream: the batches stay those of a run without them.
        shift_gen = torch.Generator().manual_seed(cfg.seed * 1000 + rank + 500_000)
        n_batches = cfg.steps_per_epoch or max(1, len(ys) // (cfg.batch_size * n_proc))

        def batches(epoch: int):
            sampler = RandomSampler(
                range(len(ys)), replacement=True, num_samples=n_batches * cfg.batch_size,
                generator=gen,
            )  # fmt: skip
            return DataLoader(list(sampler), batch_size=cfg.batch_size)

        def step_loss(model: nn.Module, rows: torch.Tensor) -> torch.Tensor:
            x = stacks(frames, index[rows % max(n_items, 1)])
            flip = rows >= n_items  # the mirrored items
            if bool(flip.any()):
                x[flip] = x[flip].flip(-1)
            x = random_shift(x.to(device), config.augment_pad, shift_gen)  # pad 0: unchanged
            return model(x, ys[rows].to(device))[1]

        def validate(model: nn.Module) -> dict[str, float]:
            preds, loss = [], 0.0
            for i in range(0, len(vy), 512):
                x = stacks(vframes, vindex[i : i + 512])
                logits, l_ = model(x.to(device), vy[i : i + 512].to(device))
                now_logits = logits if config.chunk == 1 else logits[:, 0]  # this step's head
                preds.append(now_logits.argmax(-1).cpu())
                loss += float(l_) * len(logits)
            vnow = vy if config.chunk == 1 else vy[:, 0]
            m = classification_metrics(vnow.numpy(), torch.cat(preds).numpy(), agent.action_map.n)
            return {"val_loss": loss / max(len(vy), 1), "val_acc": m["acc"], "val_f1": m["f1"]}

        history = fit(net, batches, step_loss, validate, cfg, out, "cnn")
        agent.net.eval()
        agent.train_history = {"cnn": history}
        if is_main():
            agent.to("cpu").save(out, extra={"train_time_s": round(time.perf_counter() - t0, 1)})
        return agent.to(device)
