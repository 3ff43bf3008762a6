"""``bc-gym bench``: compare agents on datasets, offline and online, under one training budget."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from bc_gym.commands.window_options import (
    WindowOptionError,
    WindowOptions,
    with_window_options,
)


def _command_line() -> str:
    """The command as typed (``bc-gym bench ...``), or a note when called from Python."""
    if Path(sys.argv[0]).name in ("bc-gym", "cli.py", "__main__.py"):
        return " ".join(["bc-gym", *sys.argv[1:]])
    return "bc-gym bench (called from Python)"


def _agent_configs(names: tuple[str, ...], overrides: list[str]) -> dict[str, Any]:
    """``AGENT.KEY=VALUE`` options -> each agent's config dataclass (``bc-gym train --set``)."""
    from bc_gym.commands.agents import agent_config

    per_agent: dict[str, list[str]] = {}
    for item in overrides:
        agent, dot, rest = item.partition(".")
        if not dot or agent not in names:
            raise typer.BadParameter(
                f"--set {item!r}: expected AGENT.KEY=VALUE with AGENT one of {list(names)}"
            )
        per_agent.setdefault(agent, []).append(rest)
    return {agent: agent_config(agent, items) for agent, items in per_agent.items()}


@with_window_options()
def bench(
    datasets: list[Path] = typer.Argument(None, help="Dataset folders (bc-gym format)."),
    agents: str = typer.Option(
        "latent-gpt,cnn-bc,majority,random", help="Comma-separated agent names."
    ),
    budget: float = typer.Option(
        0.0, help="Training seconds per agent (0: latent-gpt's measured wall time)."
    ),
    seeds: int = typer.Option(10, help="Online episodes per agent, one per seed."),
    env_id: str = typer.Option(
        None, "--env", help="Headless env for the online part (default bc_gym/HighwayRacer-v0)."
    ),
    window_args: dict[str, Any] | None = None,  # --title, --region, --game-over-*, ...
    launch_game: bool = typer.Option(
        False, help="With --title: start the built-in HighwayRacer window for each agent."
    ),
    max_steps: int = typer.Option(0, help="Steps per online episode (0: the env's limit)."),
    fps: float = typer.Option(30.0, help="Control rate on a live window."),
    results: Path = typer.Option(Path("bench-results"), help="Results folder to write."),
    val_fraction: float = typer.Option(0.2, help="Fraction of episodes held out."),
    device: str = typer.Option("cpu", help="cpu or cuda."),
    seed: int = typer.Option(0, help="Seed of the split and training (and the online seeds)."),
    threads: int = typer.Option(0, help="torch CPU threads (0: default)."),
    quiet: bool = typer.Option(False, help="No stage headers or progress bars."),
    set_: list[str] = typer.Option(
        [], "--set", help="Agent option AGENT.KEY=VALUE, e.g. --set latent-gpt.context=8."
    ),
    suite: bool = typer.Option(
        False, help="Run the project's benchmark suite (python -m benchmarks) instead."
    ),
) -> None:
    """Train AGENTS on DATASET... under one budget; score them offline and online.

    Offline: held-out action accuracy, macro-F1 and confusion matrices. Online: mean return
    and episode seconds (95% CI), crash rate and act() latency on a headless env (--env) or a
    live window (--title or --region, ending episodes as `bc-gym play` does: --game-over-*,
    --reset-keys, --max-steps). Writes RESULTS/results.md, results.json and PNG plots.
    """
    if suite:
        from bc_gym.bench import run_suite

        raise typer.Exit(run_suite())
    if not datasets:
        raise typer.BadParameter("give at least one DATASET folder (or --suite)")
    window = WindowOptions.parse(**(window_args or {}))
    if env_id is not None and window.has_window:
        raise typer.BadParameter("give --env ID or --title TEXT (or --region), not both")
    if not window.has_window and (window.has_game_over or window.reset_keys is not None):
        raise WindowOptionError(
            "--game-over-* and --reset-keys are for a live window: add --title TEXT or "
            "--region X,Y,W,H"
        )
    if not window.has_window and env_id is None:
        env_id = "bc_gym/HighwayRacer-v0"
    screen = window.env_kwargs()
    screen.pop("title", None)
    from bc_gym.bench import BenchConfig, run_bench

    names = tuple(a.strip() for a in agents.split(",") if a.strip())
    try:
        cfg = BenchConfig(
            datasets=datasets,
            agents=names,
            budget_s=budget,
            seeds=seeds,
            env_id=env_id,
            title=window.title,
            screen=screen,
            launch_game=launch_game,
            max_steps=max_steps,
            fps=fps,
            results=results,
            val_fraction=val_fraction,
            seed=seed,
            device=device,
            threads=threads,
            progress=not quiet,
            configs=_agent_configs(names, set_),
            command=_command_line(),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    result = run_bench(cfg)
    typer.echo("\n" + (results / "results.md").read_text())
    typer.echo(
        f"wrote {results}/: results.md, results.json, returns.png, offline.png, "
        f"confusion-*.png, runs/ ({result['wall_s']:.0f} s)"
    )
