"""``bc-gym demo``: the main job, end to end, with a table at the end."""

from __future__ import annotations

from pathlib import Path

import typer


def demo(
    out: Path = typer.Option(Path("out/demo"), "-o", "--out", help="Output folder."),
    quick: bool = typer.Option(False, help="~3 minutes: short recording, training and play."),
    agents: str = typer.Option("latent-gpt,cnn-bc", help="Agents to train and play."),
    record_s: float = typer.Option(0.0, help="Seconds to record (0: 300, quick 45)."),
    train_s: float = typer.Option(0.0, help="latent-gpt training budget, s (0: 360, quick 60)."),
    episodes: int = typer.Option(0, help="Live games per policy (0: 5, quick 1)."),
    max_steps: int = typer.Option(0, help="Steps per live game (0: 600, quick 300)."),
    seed: int = typer.Option(0, help="Training seed; live games use seeds 20000+seed..."),
    device: str = typer.Option("cpu", help="Training device: cpu or cuda."),
) -> None:
    """Record the expert playing HighwayRacer's window, train agents, watch them drive it live.

    The scripted expert plays through real X key events while `bc-gym record` records the
    window; VAE + latent GPT and the baselines train on that recording; then each agent plays
    live in a fresh window through ScreenEnv. Ends with a table (mean return, crash rate,
    control rate, observation age) and writes OUT/table.md, results.json, returns.png and
    latent_gpt_driving.gif. Starts its own Xvfb when there is no display.
    """
    from bc_gym.agents import agent_names
    from bc_gym.demo import DemoConfig, run_demo

    names = tuple(a.strip() for a in agents.split(",") if a.strip())
    unknown = [a for a in names if a not in agent_names()]
    if unknown or not names:
        raise typer.BadParameter(
            f"unknown agents {unknown}; expected some of {agent_names()}", param_hint="--agents"
        )
    sizes = {"--record-s": record_s, "--train-s": train_s, "--episodes": episodes}
    for hint, value in {**sizes, "--max-steps": max_steps}.items():
        if value < 0:
            raise typer.BadParameter(
                f"must be >= 0 (0: the default), actual value: {value}", param_hint=hint
            )
    run_demo(
        DemoConfig(
            out=out,
            quick=quick,
            agents=names,
            record_s=record_s,
            train_s=train_s,
            episodes=episodes,
            max_steps=max_steps,
            seed=seed,
            device=device,
        )  # fmt: skip
    )
