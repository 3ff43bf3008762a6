"""Fixtures of the agent tests: a tiny expert dataset, tiny agent configs."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """4 HighwayRacer expert episodes of 60 steps (64x64 RGB), cached for the session."""
    from bc_gym.datasets.recipes import highway_expert_dataset

    root = tmp_path_factory.mktemp("datasets")
    return highway_expert_dataset(n_episodes=4, noise=0.05, seed=0, root=root, max_steps=60)


def _tiny_train_config(**kw):
    from bc_gym.agents.training import TrainConfig

    return TrainConfig(
        **{
            "epochs": 1,
            "steps_per_epoch": 3,
            "batch_size": 16,
            "progress": False,
            "val_fraction": 0.25,
            **kw,
        }
    )


def _tiny_gpt_config(**kw):
    from bc_gym.agents.latent_gpt import LatentGPTConfig

    return LatentGPTConfig(
        **{
            "context": 4,
            "latent_dim": 8,
            "vae_channels": (8, 8, 16, 16),
            "vae_epochs": 1,
            "vae_steps_per_epoch": 3,
            "vae_batch_size": 16,
            "n_layer": 1,
            "n_head": 2,
            "n_embd": 16,
            **kw,
        }
    )


def _run_episode(agent, steps: int = 30, seed: int = 42) -> list[int]:
    """Let ``agent`` drive HighwayRacer (frame-stacked as it asks) for up to ``steps`` steps."""
    import gymnasium as gym

    import bc_gym  # noqa: F401
    from bc_gym.wrappers import TimedFrameStack

    env = gym.make("bc_gym/HighwayRacer-v0")
    if agent.n_stack > 1:
        env = TimedFrameStack(env, agent.n_stack, agent.spacing_s)
    agent.reset()
    obs, _ = env.reset(seed=seed)
    actions = []
    for _ in range(steps):
        a = agent.act(obs)
        assert env.action_space.contains(a)
        actions.append(a)
        obs, _, term, trunc, _ = env.step(a)
        if term or trunc:
            break
    env.close()
    return actions


@pytest.fixture(scope="session")
def tiny_train_config():
    """Factory of a TrainConfig of 1 epoch x 3 steps (keyword overrides)."""
    return _tiny_train_config


@pytest.fixture(scope="session")
def tiny_gpt_config():
    """Factory of a tiny LatentGPTConfig (keyword overrides)."""
    return _tiny_gpt_config


@pytest.fixture
def run_episode():
    """``run_episode(agent, steps=30, seed=42) -> actions`` on HighwayRacer."""
    return _run_episode
