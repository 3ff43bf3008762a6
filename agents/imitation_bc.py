"""``imitation-bc``: the ``imitation`` library's behaviour cloning with an SB3 CNN policy.

Needs the ``imitation`` extra (imitation 1.0.1 pins gymnasium 0.29.1 and stable-baselines3
2.2.1, so it lives in its own environment, ``.venv-imitation``). Observations are the same
time-spaced frame stacks as ``cnn-bc``, channel-first ``(n*C, H, W)`` uint8, and the policy is
SB3's ``ActorCriticCnnPolicy`` (NatureCNN). Weights are saved as safetensors like every agent.

Example:
    >>> from bc_gym.agents import agent_class
    >>> agent_class("imitation-bc").name  # doctest: +SKIP
    'imitation-bc'
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bc_gym.actions import ActionMap
from bc_gym.agents.base import Agent, config_from_dict, config_to_dict, register_agent
from bc_gym.agents.training import TrainConfig
from bc_gym.errors import require


@dataclass
class ImitationBCConfig:
    """Hyper-parameters of imitation's BC."""

    n_stack: int = 4
    """Frames per stack."""
    spacing_s: float = 1 / 30
    """Seconds between stacked frames."""
    ent_weight: float = 1e-3
    """imitation's entropy bonus weight."""
    l2_weight: float = 0.0
    """imitation's L2 weight penalty."""


def _spaces(obs_shape: tuple[int, int, int], n_stack: int, n_actions: int):
    from gymnasium import spaces

    h, w, c = obs_shape
    return spaces.Box(0, 255, (n_stack * c, h, w), np.uint8), spaces.Discrete(n_actions)


def _policy(obs_shape: tuple[int, int, int], n_stack: int, n_actions: int, lr: float):
    policies = require("stable_baselines3.common.policies", "imitation")
    obs_space, act_space = _spaces(obs_shape, n_stack, n_actions)
    return policies.ActorCriticCnnPolicy(obs_space, act_space, lr_schedule=lambda _: lr)


@register_agent("imitation-bc")
class ImitationBCAgent(Agent):
    """imitation's BC policy (SB3 ``ActorCriticCnnPolicy``) over a frame stack.

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
        config: ImitationBCConfig | None = None,
        device: str = "cpu",
    ) -> None:
        config = config or ImitationBCConfig()
        super().__init__(action_map, obs_shape, config.n_stack, config.spacing_s)
        self.config = config
        self.device = torch.device(device)
        self.policy = _policy(self.obs_shape, config.n_stack, action_map.n, 1e-3).to(self.device)
        self.policy.set_training_mode(False)

    @torch.inference_mode()
    def _act(self, obs: np.ndarray) -> int:
        x = torch.from_numpy(obs).permute(0, 3, 1, 2).reshape(1, -1, *obs.shape[1:3])
        action = self.policy._predict(x.to(self.device), deterministic=True)
        return int(action.reshape(-1)[0])

    def to(self, device: str | torch.device) -> ImitationBCAgent:
        """Move the policy to ``device``; returns the agent."""
        self.device = torch.device(device)
        self.policy.to(self.device)
        return self

    def config_dict(self) -> dict[str, Any]:
        """The :class:`ImitationBCConfig` as JSON."""
        return config_to_dict(self.config)

    def tensors(self) -> dict[str, torch.Tensor]:
        """The SB3 policy's state dict, without the aliases of the shared feature extractor."""
        seen: set[int] = set()
        out = {}
        for k, v in self.policy.state_dict(keep_vars=False).items():
            ptr = v.untyped_storage().data_ptr()
            if ptr in seen:  # pi_/vf_features_extractor alias features_extractor
                continue
            seen.add(ptr)
            out[k] = v
        return out

    def load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore :meth:`tensors` (aliases are restored through the shared modules)."""
        missing, unexpected = self.policy.load_state_dict(tensors, strict=False)
        aliased = set(self.policy.state_dict()) - set(self.tensors())
        if set(missing) - aliased or unexpected:
            from bc_gym.errors import CheckpointError

            raise CheckpointError(
                f"imitation-bc weights do not match the policy: missing "
                f"{sorted(set(missing) - aliased)[:5]}, unexpected {sorted(unexpected)[:5]}"
            )

    @classmethod
    def _from_config(cls, *, action_map, obs_shape, n_stack, spacing_s, agent_config, device):
        return cls(action_map, obs_shape, config_from_dict(ImitationBCConfig, agent_config), device)

    @classmethod
    def train(
        cls,
        datasets: list[Any],
        out: str | Path,
        train_cfg: TrainConfig | None = None,
        config: ImitationBCConfig | None = None,
    ) -> ImitationBCAgent:
        """Train with ``imitation.algorithms.bc.BC`` on the train episodes; save into ``out``."""
        from torch.utils.data import ConcatDataset

        from bc_gym.agents.data import open_datasets, recorded_from, split
        from bc_gym.agents.training import (
            classification_metrics,
            seed_everything,
            setup_torch,
            write_curves,
        )
        from bc_gym.datasets.torch import StackDataset

        bc = require("imitation.algorithms.bc", "imitation")
        types = require("imitation.data.types", "imitation")
        cfg, config = train_cfg or TrainConfig(), config or ImitationBCConfig()
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        device = setup_torch(cfg)
        seed_everything(cfg.seed)
        t0 = time.perf_counter()
        span_s = (config.n_stack - 1) * config.spacing_s  # how far back a stack reaches
        datasets, ids = split(
            open_datasets(datasets, cfg.obs_size), cfg.val_fraction, cfg.seed, span_s=span_s
        )

        def stacks(which: int) -> tuple[torch.Tensor, torch.Tensor]:
            return _materialise(
                ConcatDataset(
                    [
                        StackDataset(ds, config.n_stack, config.spacing_s, episodes=pair[which])
                        for ds, pair in zip(datasets, ids, strict=False)
                    ]
                )
            )

        xs, ys = stacks(0)
        vx, vy = stacks(1)
        agent = cls(datasets[0].action_map, tuple(datasets[0].obs_shape), config, str(device))
        agent.recorded_from = recorded_from(datasets)
        agent.policy = _policy(agent.obs_shape, config.n_stack, agent.action_map.n, cfg.lr)
        agent.policy.to(device)
        obs_space, act_space = _spaces(agent.obs_shape, config.n_stack, agent.action_map.n)
        obs = xs.numpy()
        demos = types.Transitions(  # BC reads obs and acts only; next_obs shares the array
            obs=obs,
            acts=ys.numpy(),
            infos=np.array([{}] * len(ys)),
            next_obs=obs,
            dones=np.zeros(len(ys), dtype=bool),
        )
        trainer = bc.BC(
            observation_space=obs_space,
            action_space=act_space,
            rng=np.random.default_rng(cfg.seed),
            policy=agent.policy,
            demonstrations=demos,
            batch_size=cfg.batch_size,
            optimizer_kwargs={"lr": cfg.lr},
            ent_weight=config.ent_weight,
            l2_weight=config.l2_weight,
            device=device,
        )
        history: list[dict] = []
        per_epoch = cfg.steps_per_epoch or max(1, len(xs) // cfg.batch_size)
        best, bad, best_state = -1.0, 0, None
        for epoch in range(cfg.epochs):
            trainer.train(n_batches=per_epoch, progress_bar=cfg.progress, log_interval=10**9)
            agent.policy.set_training_mode(False)
            with torch.no_grad():
                preds = [
                    agent.policy._predict(vx[i : i + 512].to(device), deterministic=True).cpu()
                    for i in range(0, len(vx), 512)
                ]
            pred = torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long)
            m = classification_metrics(vy.numpy(), pred.numpy(), agent.action_map.n)
            history.append(
                {
                    "epoch": epoch + 1,
                    "steps": (epoch + 1) * per_epoch,
                    "time_s": round(time.perf_counter() - t0, 2),
                    "val_acc": m["acc"],
                    "val_f1": m["f1"],
                }
            )
            write_curves(history, out / "bc_metrics.csv", out / "bc_curves.png", "imitation-bc")
            if m["f1"] > best or len(vy) == 0:  # no validation (val_fraction=0): the last
                best, bad = m["f1"], 0
                best_state = {k: v.detach().clone() for k, v in agent.policy.state_dict().items()}
            else:
                bad += 1
            over = cfg.time_budget_s > 0 and time.perf_counter() - t0 > cfg.time_budget_s
            if over or (cfg.patience > 0 and bad >= cfg.patience):
                break
        if best_state is not None:
            agent.policy.load_state_dict(best_state)
        agent.policy.set_training_mode(False)
        agent.train_history = {"bc": history}
        agent.to("cpu").save(out, extra={"train_time_s": round(time.perf_counter() - t0, 1)})
        return agent.to(device)


def _materialise(dataset: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Every ``(stack, action)`` item in memory (``imitation``'s ``Transitions`` needs arrays)."""
    from torch.utils.data import DataLoader

    xs, ys = [], []
    for x, y in DataLoader(dataset, batch_size=256, shuffle=False):
        xs.append(x)
        ys.append(y)
    if not xs:
        return torch.zeros(0, dtype=torch.uint8), torch.zeros(0, dtype=torch.long)
    return torch.cat(xs), torch.cat(ys)
