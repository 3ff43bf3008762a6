"""``bc-gym train`` and ``bc-gym play``: train an agent on datasets, let it drive a game.

torch and the agents are imported inside the commands so that ``bc-gym --help`` stays fast.
Multi-process training: ``torchrun --nproc-per-node 2 -m bc_gym.cli train ...`` (DDP, gloo on
CPU); rank 0 writes the run folder.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import typer

AGENT_CONFIGS = {
    "latent-gpt": ("bc_gym.agents.latent_gpt", "LatentGPTConfig"),
    "cnn-bc": ("bc_gym.agents.cnn_bc", "CNNBCConfig"),
    "imitation-bc": ("bc_gym.agents.imitation_bc", "ImitationBCConfig"),
}


def agent_config(agent: str, overrides: list[str]) -> Any:
    """Build an agent's config dataclass from ``key=value`` strings (values parsed as JSON)."""
    import importlib

    if agent not in AGENT_CONFIGS:
        if overrides:
            raise typer.BadParameter(f"agent {agent!r} has no options, got --set {overrides}")
        return None
    module, name = AGENT_CONFIGS[agent]
    cls = getattr(importlib.import_module(module), name)
    fields = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in fields:
            raise typer.BadParameter(
                f"--set {item!r}: expected KEY=VALUE with KEY one of {sorted(fields)}"
            )
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        kwargs[key] = tuple(value) if isinstance(value, list) else value
    return cls(**kwargs)


def train(
    agent: str = typer.Argument(..., help="latent-gpt, cnn-bc, imitation-bc, random, majority."),
    datasets: list[Path] = typer.Argument(..., help="Dataset folders (bc-gym format)."),
    out: Path = typer.Option(..., "-o", "--out", help="Run folder to write."),
    epochs: int = typer.Option(30, help="Maximum epochs (the GPT stage for latent-gpt)."),
    steps_per_epoch: int = typer.Option(0, help="Steps per epoch (0: one pass)."),
    batch_size: int = typer.Option(128, help="Mini-batch size (per process)."),
    lr: float = typer.Option(1e-3, help="Learning rate."),
    patience: int = typer.Option(5, help="Early stopping patience in epochs (0: off)."),
    val_fraction: float = typer.Option(0.2, help="Fraction of episodes held out."),
    seed: int = typer.Option(0, help="Seed of the split, sampling and weights."),
    device: str = typer.Option("cpu", help="cpu or cuda."),
    time_budget: float = typer.Option(0.0, help="Stop training after this many seconds (0: off)."),
    threads: int = typer.Option(0, help="torch CPU threads (0: default)."),
    resume: bool = typer.Option(False, help="Continue from the training state in OUT."),
    quiet: bool = typer.Option(False, help="No progress bars."),
    set_: list[str] = typer.Option(
        [], "--set", help="Agent option KEY=VALUE, e.g. --set context=8 --set recon=fg."
    ),
) -> None:
    """Train AGENT on DATASET... and write RUN/ (safetensors, config.json, metrics CSV, curves)."""
    from bc_gym.agents import agent_class
    from bc_gym.agents.training import TrainConfig, init_distributed, is_main

    cls = agent_class(agent)
    cfg = TrainConfig(
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        batch_size=batch_size,
        lr=lr,
        patience=patience,
        val_fraction=val_fraction,
        seed=seed,
        device=device,
        time_budget_s=time_budget,
        resume=resume,
        progress=not quiet,
        num_threads=threads,
    )
    config = agent_config(agent, set_)
    init_distributed(device)
    t0 = time.perf_counter()
    trained = cls.train([str(d) for d in datasets], out, cfg, config)
    if is_main():
        typer.echo(f"trained {trained!r} in {time.perf_counter() - t0:.1f} s -> {out}")
        for stage, hist in getattr(trained, "train_history", {}).items():
            if hist:
                last = {k: round(v, 4) if isinstance(v, float) else v for k, v in hist[-1].items()}
                typer.echo(f"  {stage}: {len(hist)} epochs, last {last}")
    import torch

    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()  # rank 0 saves the run last: tear down together
        torch.distributed.destroy_process_group()


def make_play_env(agent: Any, env_id: str | None, title: str | None, fps: float, **kwargs: Any):
    """The env ``play`` drives (see :func:`bc_gym.bench.agent_env`), errors as CLI errors."""
    from bc_gym.bench import agent_env

    try:
        return agent_env(agent, env_id, title, fps=fps, **kwargs)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def play(
    run: Path = typer.Argument(..., help="Run folder written by `bc-gym train`."),
    env_id: str = typer.Option(None, "--env", help="Gymnasium id, e.g. bc_gym/HighwayRacer-v0."),
    title: str = typer.Option(None, "--title", help="Drive the live window with this title."),
    episodes: int = typer.Option(3, help="Episodes to play."),
    seed: int = typer.Option(0, help="Seed of the first episode (then seed+1, ...)."),
    max_steps: int = typer.Option(0, help="Stop an episode after N steps (0: the env's limit)."),
    fps: float = typer.Option(30.0, help="Control rate for --title."),
    device: str = typer.Option("cpu", help="cpu or cuda."),
) -> None:
    """Let the agent in RUN play: prints each episode's return and the achieved control rate."""
    import numpy as np

    from bc_gym.agents import load_agent

    agent = load_agent(run, device=device)
    env = make_play_env(agent, env_id, title, fps)
    typer.echo(f"{agent!r} on {env_id or title!r}")
    returns = []
    try:
        for ep in range(episodes):
            agent.reset()
            obs, _ = env.reset(seed=seed + ep)
            total, steps, act_s = 0.0, 0, []
            t0 = time.perf_counter()
            while True:
                ta = time.perf_counter()
                action = agent.act(obs)
                act_s.append(time.perf_counter() - ta)
                obs, reward, term, trunc, info = env.step(action)
                total += float(reward)
                steps += 1
                if term or trunc or (max_steps and steps >= max_steps):
                    break
            wall = time.perf_counter() - t0
            returns.append(total)
            typer.echo(
                f"episode {ep}: return {total:.1f}, {steps} steps, "
                f"{'crash: ' + str(info.get('crash')) if term else 'no crash'}, "
                f"control rate {steps / wall:.1f} Hz, act() p50 "
                f"{1000 * float(np.median(act_s)):.2f} ms"
            )
    finally:
        env.close()
    typer.echo(f"mean return {np.mean(returns):.1f} over {len(returns)} episodes")
