"""``bc-gym train`` and ``bc-gym play``: train an agent on datasets, let it drive a game.

torch and the agents are imported inside the commands so that ``bc-gym --help`` stays fast.
Multi-process training: ``torchrun --nproc-per-node 2 -m bc_gym.cli train ...`` (DDP, gloo on
CPU); rank 0 writes the run folder.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

import typer

from bc_gym.commands.window_options import (
    WindowOptionError,
    WindowOptions,
    with_window_options,
)

AGENT_CONFIGS = {
    "latent-gpt": ("bc_gym.agents.latent_gpt", "LatentGPTConfig"),
    "cnn-bc": ("bc_gym.agents.cnn_bc", "CNNBCConfig"),
    "imitation-bc": ("bc_gym.agents.imitation_bc", "ImitationBCConfig"),
}


def _set_value(field: dataclasses.Field, item: str, raw: str) -> Any:
    """The value of ``--set KEY=RAW`` for a config ``field``, checked against its default."""
    from bc_gym.errors import ConfigError

    default = field.default
    if default is dataclasses.MISSING and field.default_factory is not dataclasses.MISSING:
        default = field.default_factory()
    if isinstance(default, str):  # text as typed (a JSON string's quotes removed)
        return raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    want: tuple[type, ...] | None = None
    if isinstance(default, bool):
        want, what = (bool,), "true or false"
    elif isinstance(default, int):
        want, what = (int,), "an integer"
    elif isinstance(default, float):
        want, what = (int, float), "a number"
    elif isinstance(default, tuple | list):
        kinds = {type(v) for v in default} or {int}
        want, what = (list,), f"a JSON list like {json.dumps(list(default))}"
        if isinstance(value, list) and not all(
            type(v) in kinds or (float in kinds and type(v) is int) for v in value
        ):
            want = ()
    if want is not None and (
        not isinstance(value, want) or (isinstance(value, bool) and bool not in want)
    ):
        raise ConfigError(
            f"--set {item!r}: {field.name} must be {what} (default {json.dumps(default)}), "
            f"actual value: {raw!r}"
        )
    if isinstance(default, float):
        return float(value)
    return tuple(value) if isinstance(value, list) else value


def agent_config(agent: str, overrides: list[str]) -> Any:
    """Build an agent's config dataclass from ``KEY=VALUE`` strings.

    Values are parsed as JSON and checked against the type of the field's default (a string
    field takes the text as typed); the config's own checks run too.

    Raises:
        ConfigError: an unknown key, a value of the wrong type, or one the config refuses.
    """
    import importlib

    from bc_gym.errors import ConfigError

    if agent not in AGENT_CONFIGS:
        if overrides:
            raise ConfigError(f"agent {agent!r} has no options, got --set {overrides}")
        return None
    module, name = AGENT_CONFIGS[agent]
    cls = getattr(importlib.import_module(module), name)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in fields:
            raise ConfigError(
                f"--set {item!r}: expected KEY=VALUE with KEY one of {sorted(fields)}"
            )
        kwargs[key] = _set_value(fields[key], item, raw.strip())
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # the config's own checks, on values the user typed
        raise ConfigError(f"--set {' '.join(overrides)}: {exc}") from None


def train(
    agent: str = typer.Argument(
        ...,
        help="cnn-bc (the best measured so far: start here), latent-gpt (the flagship VAE + "
        "GPT), imitation-bc, random, majority.",
    ),
    datasets: list[Path] = typer.Argument(..., help="Dataset folders (bc-gym format)."),
    out: Path = typer.Option(..., "-o", "--out", help="Run folder to write."),
    epochs: int = typer.Option(30, help="Maximum epochs (the GPT stage for latent-gpt)."),
    steps_per_epoch: int = typer.Option(0, help="Steps per epoch (0: one pass)."),
    batch_size: int = typer.Option(128, help="Mini-batch size (per process)."),
    lr: float = typer.Option(1e-3, help="Learning rate."),
    patience: int = typer.Option(5, help="Early stopping patience in epochs (0: off)."),
    val_fraction: float = typer.Option(
        0.2,
        help="Share held out for validation: whole episodes when there are enough, else the "
        "last part of each episode. 0: no validation (the last epoch is kept).",
    ),
    obs_size: str = typer.Option(
        "auto",
        help="Frame size the agent sees, WxH (sides multiples of 16, >= 48), or auto: recorded "
        "frames as they are when every agent takes them, else 96 px on the long side.",
    ),
    seed: int = typer.Option(0, help="Seed of the split, sampling and weights."),
    device: str = typer.Option("cpu", help="cpu or cuda."),
    time_budget: float = typer.Option(0.0, help="Stop training after this many seconds (0: off)."),
    ema_decay: float = typer.Option(
        0.0, help="Keep an EMA of the weights with this decay, e.g. 0.999 (0: off)."
    ),
    threads: int = typer.Option(0, help="torch CPU threads (0: default)."),
    resume: bool = typer.Option(False, help="Continue from the training state in OUT."),
    quiet: bool = typer.Option(False, help="No progress bars."),
    set_: list[str] = typer.Option(
        [], "--set", help="Agent option KEY=VALUE, e.g. --set context=8 --set recon=fg."
    ),
) -> None:
    """Train AGENT on DATASET... and write RUN/ (safetensors, config.json, metrics CSV, curves).

    Start with cnn-bc: in the multi-seed benchmarks so far it drives better than the latent GPT
    (README, "Agents").

    RUN/config.json also says where the data was recorded (`recorded_from`: window title,
    region, fps, frame shape), so that `bc-gym play RUN` finds the game and resizes its frames
    as training did.
    """
    from bc_gym.agents import agent_class
    from bc_gym.agents.training import TrainConfig, init_distributed, is_main
    from bc_gym.datasets.views import parse_obs_size

    if out.exists() and not out.is_dir():
        raise typer.BadParameter(
            f"{str(out)!r} is a file; give a folder for the run", param_hint="--out"
        )
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
        ema_decay=ema_decay,
        obs_size=parse_obs_size(obs_size),
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


def make_play_env(
    agent: Any, env_id: str | None, window: WindowOptions | None, fps: float, **kwargs: Any
):
    """The env ``play`` drives: ``env_id`` headless, or the live ``window``.

    See :func:`bc_gym.bench.agent_env`; its ``ValueError``s (a frame shape the agent was not
    trained on, an unknown reset key) become one-line CLI errors.
    """
    from bc_gym.bench import agent_env

    live = window.env_kwargs() if window is not None else {}
    title = live.pop("title", None)
    try:
        return agent_env(agent, env_id, title, fps=fps, **live, **kwargs)
    except ValueError as exc:
        raise WindowOptionError(str(exc)) from None


def recorded_window(run: Path) -> tuple[str | None, tuple[int, int, int, int] | None, float | None]:
    """The window RUN's training data was recorded from: ``(title, region, fps)``.

    ``bc-gym train`` stores it in ``RUN/config.json`` as ``recorded_from``
    (``window_title``, ``region`` and ``fps``, each possibly ``null``).

    Raises:
        WindowOptionError: RUN does not say (trained on headless data, or before bc-gym
            stored it): the message says to pass ``--title`` or ``--region``.
    """
    from bc_gym.agents.base import read_config

    rec = read_config(run).get("recorded_from")
    title = rec.get("window_title") if isinstance(rec, dict) else None
    region = rec.get("region") if isinstance(rec, dict) else None
    ok_region = (
        isinstance(region, list) and len(region) == 4 and all(isinstance(v, int) for v in region)
    )
    if not (isinstance(title, str) and title) and not ok_region:
        raise WindowOptionError(
            f"{run}/config.json does not say which window its training data was recorded "
            "from: pass --title TEXT or --region X,Y,W,H (or --env ID for a headless env)"
        )
    fps = rec.get("fps") if isinstance(rec, dict) else None
    fps = float(fps) if isinstance(fps, int | float) and math.isfinite(fps) and fps > 0 else None
    if isinstance(title, str) and title:
        return title, None, fps
    return None, tuple(region), fps  # type: ignore[arg-type, return-value]


def _pm(mean: float, ci: float, fmt: str = ".1f") -> str:
    """``12.3 ± 1.2`` (just the mean when the CI is unknown)."""
    return format(mean, fmt) + ("" if math.isnan(ci) else f" ± {ci:{fmt}}")


@with_window_options()
def play(
    run: Path = typer.Argument(..., help="Run folder written by `bc-gym train`."),
    env_id: str = typer.Option(None, "--env", help="Gymnasium id, e.g. bc_gym/HighwayRacer-v0."),
    window_args: dict[str, Any] | None = None,  # --title, --region, --game-over-*, ...
    episodes: int = typer.Option(3, help="Episodes to play."),
    seed: int = typer.Option(0, help="Seed of the first episode (then seed+1, ...)."),
    max_steps: int = typer.Option(0, help="Stop an episode after N steps (0: the env's limit)."),
    fps: float = typer.Option(
        None,
        help="Control rate on a live window (default: the recording's fps, else 30).",
        show_default=False,
    ),
    device: str = typer.Option("cpu", help="cpu or cuda."),
) -> None:
    """Let the agent in RUN play a live window (or a headless env with --env).

    Without --title, --region or --env it plays the window its training data was recorded
    from (RUN/config.json). Episodes end at game over (--game-over-image, --game-over-still;
    the built-in HighwayRacer's banner by itself) or after --max-steps. On a window it prints
    each episode's length in seconds and steps, and their mean with a 95% confidence interval
    (and the return when the game's score is read: the built-in HighwayRacer).
    """
    import numpy as np

    from bc_gym.agents import load_agent
    from bc_gym.envs.detectors import SurvivalReward
    from bc_gym.evaluation import EvalResult, agent_policy, mean_ci95, run_episodes

    window = WindowOptions.parse(**(window_args or {}))
    if env_id is not None and (
        window.has_window or window.has_game_over or window.reset_keys is not None
    ):
        raise WindowOptionError(
            f"--env {env_id} plays a headless env: --title, --region, --game-over-* and "
            "--reset-keys are for a live window; drop them or drop --env"
        )
    if episodes < 1:
        raise WindowOptionError(f"--episodes must be >= 1, not {episodes}")
    if max_steps < 0:
        raise WindowOptionError(f"--max-steps must be >= 0 (0: no limit), not {max_steps}")
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise WindowOptionError(f"--fps must be > 0 steps per second, not {fps:g}")
    if env_id is None and not window.has_window:
        rec_title, rec_region, rec_fps = recorded_window(run)
        window = window.with_window(rec_title, rec_region)
        fps = fps or rec_fps
        where = f"title {rec_title!r}" if rec_title else f"region {rec_region}"
        typer.echo(f"Playing the window the training data was recorded from ({where}).")
    fps = fps or 30.0
    agent = load_agent(run, device=device)
    env = make_play_env(agent, env_id, None if env_id else window, fps)
    live = env_id is None
    has_reward = not live or not isinstance(
        getattr(env.unwrapped, "reward_fn", None), SurvivalReward
    )
    where = env_id or window.title or f"region {window.region}"
    det = getattr(env.unwrapped, "game_over", None)
    typer.echo(
        f"{agent!r} on {where!r}"
        + (f" at {fps:g} Hz; game over: {det!r}" if live else "")
        + (f"; reset keys: {list(env.unwrapped.reset_keys)}" if live else "")
    )
    result = EvalResult(str(run))
    clock = {"t0": time.perf_counter(), "acts": 0}

    def on_reset() -> None:
        agent.reset()
        clock["t0"], clock["acts"] = time.perf_counter(), len(result.act_ms)

    def report(k: int) -> None:
        ep = result.episodes[-1]
        wall = time.perf_counter() - clock["t0"]
        act_ms = result.act_ms[clock["acts"] :]
        if ep.crash:
            ended = "game over" + (f" ({ep.crash_reason})" if ep.crash_reason != "crash" else "")
        else:
            ended = f"--max-steps {max_steps}" if max_steps and ep.steps >= max_steps else (
                "the env's step limit")  # fmt: skip
        length = f"{ep.seconds:.2f} s, {ep.steps} steps"
        typer.echo(
            f"episode {k}: "
            + (f"return {ep.return_:.1f}, {length}" if has_reward else length)
            + f", ended by {ended}, control rate {ep.steps / wall:.1f} Hz, act() p50 "
            f"{float(np.median(act_ms)):.2f} ms"
        )

    try:
        # One episode loop for play, bench, the demos and benchmarks/ (bc_gym.evaluation).
        run_episodes(
            agent_policy(agent), env, range(seed, seed + episodes), reset=on_reset,
            max_steps=max_steps, fps=fps, after_episode=report, result=result,
        )  # fmt: skip
    finally:
        env.close()
    seconds, lengths, returns = result.seconds, result.lengths, result.returns
    n = len(seconds)
    typer.echo(
        f"episode length {_pm(*mean_ci95(seconds), '.2f')} s (mean ± 95% CI over {n} "
        f"episodes), {np.mean(lengths):.0f} steps on average"
        + (f"; return {_pm(*mean_ci95(returns))}" if has_reward else "")
    )
