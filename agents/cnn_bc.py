"""``cnn-bc``: frame-by-frame behaviour cloning with a small CNN over a time-spaced frame stack.

The baseline the latent GPT must beat: ``n_stack`` frames spaced ``spacing_s`` seconds
(``StackDataset`` in training, ``TimedFrameStack`` in play) are stacked on the channel axis and
fed to a Nature-DQN-sized CNN, trained with class-weighted cross-entropy.

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
from bc_gym.agents.training import TrainConfig


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
    """Channels of the three conv layers (8x8/4, 4x4/2, 3x3/1, as in Nature DQN)."""
    hidden: int = 256
    """Width of the fully connected layer."""
    dropout: float = 0.2
    """Dropout before the output layer."""
    class_weight_power: float = 0.5
    """Cross-entropy class weights are ``frequency ** -power`` (0: unweighted)."""
    mirror: str = ""
    """Training only: also learn from the stacks mirrored left-right with these two keys
    exchanged, ``"left:right"`` (see ``LatentGPTConfig.mirror``). Empty: off."""


class CNNPolicy(nn.Module):
    """``(B, n*C, H, W) uint8 -> (B, n_actions)`` logits."""

    def __init__(self, in_ch: int, hw: tuple[int, int], n_actions: int, cfg: CNNBCConfig) -> None:
        super().__init__()
        c1, c2, c3 = cfg.channels
        self.features = nn.Sequential(
            nn.Conv2d(in_ch, c1, 8, 4), nn.ReLU(),
            nn.Conv2d(c1, c2, 4, 2), nn.ReLU(),
            nn.Conv2d(c2, c3, 3, 1), nn.ReLU(),
            nn.Flatten(),
        )  # fmt: skip
        with torch.no_grad():
            flat = self.features(torch.zeros(1, in_ch, *hw)).shape[1]
        self.head = nn.Sequential(
            nn.Linear(flat, cfg.hidden), nn.ReLU(), nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden, n_actions),
        )  # fmt: skip
        self.register_buffer("class_weight", torch.ones(n_actions))

    def forward(
        self, x: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits, and the class-weighted cross-entropy when ``targets`` are given."""
        logits = self.head(self.features(x.float() / 255.0))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits, targets, weight=self.class_weight)


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

    @torch.inference_mode()
    def _act(self, obs: np.ndarray) -> int:
        x = torch.from_numpy(obs).permute(0, 3, 1, 2).reshape(1, -1, *obs.shape[1:3])  # (1,nC,H,W)
        logits, _ = self.net(x.to(self.device))
        return int(logits[0].argmax())

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

    def load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore :meth:`tensors`."""
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

        from bc_gym.agents.data import open_datasets, split
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
        datasets = open_datasets(datasets)
        ids = split(datasets, cfg.val_fraction, cfg.seed)
        agent = cls(datasets[0].action_map, tuple(datasets[0].obs_shape), config, str(device))

        def table(which: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            """Frames of every stack held once in memory, and each stack's frame indices.

            HDF5 reads per epoch would dominate the CPU time, and materialised stacks would hold
            each frame ``n_stack`` times (12 GB for 100 episodes with mirroring).
            """
            parts = [
                StackDataset(
                    ds, config.n_stack, config.spacing_s, episodes=pair[which]
                ).frame_table()
                for ds, pair in zip(datasets, ids, strict=False)
            ]
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
            ys = torch.cat([ys, perm[ys]])

        def stacks(fr: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
            """``(B, n)`` frame indices -> ``(B, n*C, H, W)`` uint8 stacks."""
            x = fr[idx]  # (B, n, C, H, W)
            return x.reshape(len(idx), -1, *x.shape[3:])

        net = agent.net.to(device)
        if config.class_weight_power > 0:
            net.class_weight.copy_(
                class_weights(ys.numpy(), agent.action_map.n, config.class_weight_power)
            )
        rank, n_proc = world()
        gen = torch.Generator().manual_seed(cfg.seed * 1000 + rank)
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
            return model(x.to(device), ys[rows].to(device))[1]

        def validate(model: nn.Module) -> dict[str, float]:
            preds, loss = [], 0.0
            for i in range(0, len(vy), 512):
                x = stacks(vframes, vindex[i : i + 512])
                logits, l_ = model(x.to(device), vy[i : i + 512].to(device))
                preds.append(logits.argmax(-1).cpu())
                loss += float(l_) * len(logits)
            m = classification_metrics(vy.numpy(), torch.cat(preds).numpy(), agent.action_map.n)
            return {"val_loss": loss / max(len(vy), 1), "val_acc": m["acc"], "val_f1": m["f1"]}

        history = fit(net, batches, step_loss, validate, cfg, out, "cnn")
        agent.net.eval()
        agent.train_history = {"cnn": history}
        if is_main():
            agent.to("cpu").save(out, extra={"train_time_s": round(time.perf_counter() - t0, 1)})
        return agent.to(device)
