"""Reference agents without a network: ``random`` and ``majority`` (the most frequent action).

Every benchmark lists them: a learned agent is only worth its training time if it beats both.

Example:
    >>> import numpy as np
    >>> from bc_gym.actions import HIGHWAY_ACTIONS
    >>> from bc_gym.agents.simple import MajorityAgent
    >>> agent = MajorityAgent(HIGHWAY_ACTIONS, (64, 64, 3), counts=[1, 0, 0, 5, 0, 0, 0, 0, 0])
    >>> HIGHWAY_ACTIONS.names[agent.act(np.zeros((64, 64, 3), np.uint8))]
    'up'
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bc_gym.actions import ActionMap
from bc_gym.agents.base import Agent, register_agent


def _train_counts(datasets: list[Any], val_fraction: float, seed: int) -> np.ndarray:
    from bc_gym.agents.data import open_datasets, split

    parts = split(open_datasets(datasets, resize=False), val_fraction, seed, need_val=False)
    counts = np.zeros(parts.datasets[0].action_map.n, np.int64)
    for ds, (train_ids, _) in zip(parts.datasets, parts.ids, strict=True):
        for i in train_ids:
            counts += np.bincount(np.asarray(ds[i].actions), minlength=len(counts))
    return counts


@register_agent("random")
class RandomAgent(Agent):
    """Uniformly random actions (seeded; ``reset`` does not reseed).

    Args:
        action_map: action vocabulary.
        obs_shape: ``(H, W, C)`` of one frame.
        seed: seed of the action draws.
    """

    def __init__(
        self, action_map: ActionMap, obs_shape: tuple[int, int, int], seed: int | None = 0
    ) -> None:
        super().__init__(action_map, obs_shape)
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def _act(self, obs: np.ndarray) -> int:
        return int(self.rng.integers(self.action_map.n))

    def config_dict(self) -> dict[str, Any]:
        """The seed."""
        return {"seed": self.seed}

    @classmethod
    def _from_config(cls, *, action_map, obs_shape, n_stack, spacing_s, agent_config, device):
        return cls(action_map, obs_shape, seed=agent_config.get("seed", 0))

    @classmethod
    def train(cls, datasets: list[Any], out: str | Path, train_cfg: Any = None, config: Any = None):
        """Nothing to learn: read the action map and frame shape, save into ``out``."""
        from bc_gym.agents.data import open_datasets, recorded_from

        ds = open_datasets(datasets, resize=False)[0]
        seed = getattr(train_cfg, "seed", 0)
        agent = cls(ds.action_map, tuple(ds.obs_shape), seed=seed)
        agent.recorded_from = recorded_from([ds])
        agent.save(out, extra={"train_time_s": 0.0})
        return agent


@register_agent("majority")
class MajorityAgent(Agent):
    """Always the action most frequent in the training episodes.

    Args:
        action_map: action vocabulary.
        obs_shape: ``(H, W, C)`` of one frame.
        counts: how often each action occurs in the training data.
    """

    def __init__(
        self,
        action_map: ActionMap,
        obs_shape: tuple[int, int, int],
        counts: Sequence[int] | None = None,
    ) -> None:
        super().__init__(action_map, obs_shape)
        counts = np.zeros(action_map.n, np.int64) if counts is None else np.asarray(counts)
        if counts.shape != (action_map.n,):
            raise ValueError(
                f"counts must have one entry per action ({action_map.n}), actual value: {counts!r}"
            )
        self.counts = counts.astype(np.int64)
        self.action = int(np.argmax(self.counts))

    def _act(self, obs: np.ndarray) -> int:
        return self.action

    def config_dict(self) -> dict[str, Any]:
        """The action counts."""
        return {"counts": self.counts.tolist()}

    @classmethod
    def _from_config(cls, *, action_map, obs_shape, n_stack, spacing_s, agent_config, device):
        from bc_gym.errors import CheckpointError

        counts = agent_config.get("counts")
        if not isinstance(counts, list) or len(counts) != action_map.n:
            raise CheckpointError(
                f"majority checkpoint: counts must list {action_map.n} integers, got {counts!r}"
            )
        return cls(action_map, obs_shape, counts=counts)

    @classmethod
    def train(cls, datasets: list[Any], out: str | Path, train_cfg: Any = None, config: Any = None):
        """Count the actions of the training episodes; save into ``out``."""
        from bc_gym.agents.data import open_datasets, recorded_from

        t0 = time.perf_counter()
        val_fraction = getattr(train_cfg, "val_fraction", 0.2)
        seed = getattr(train_cfg, "seed", 0)
        datasets = open_datasets(datasets, resize=False)
        counts = _train_counts(datasets, val_fraction, seed)
        agent = cls(datasets[0].action_map, tuple(datasets[0].obs_shape), counts=counts)
        agent.recorded_from = recorded_from(datasets)
        agent.save(out, extra={"train_time_s": round(time.perf_counter() - t0, 3)})
        return agent
