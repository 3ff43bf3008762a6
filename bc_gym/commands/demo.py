"""``bc-gym demo``: the main job, end to end, with a table at the end."""

from __future__ import annotations

from pathlib import Path

import typer

GAMES = ("highway", "runner")


def demo(
    game: str = typer.Option(
        "highway",
        help="highway: the pygame HighwayRacer window; runner: the Runner page in "
        "Chromium (a browser game that freezes when a game ends and restarts by itself).",
    ),  # fmt: skip
    out: Path | None = typer.Option(
        None, "-o", "--out", help="Output folder (default: out/demo, runner: out/demo-runner)."
    ),
    quick: bool = typer.Option(False, help="~3 minutes: short recording, training and play."),
    agents: str = typer.Option(
        "",
        help="Agents to train and play, the lead first (default: highway cnn-bc,latent-gpt; "
        "runner cnn-bc).",
    ),
    record_s: float = typer.Option(
        0.0, help="Seconds to record (0: 600, quick 45; runner: 600, quick 60)."
    ),
    train_s: float = typer.Option(
        0.0,
        help="highway: the lead agent's training budget, s; the others get a third (0: 600, "
        "quick 60).",
    ),
    updates: int = typer.Option(0, help="runner: optimizer updates per model (0: 3000, quick 60)."),
    episodes: int = typer.Option(0, help="Live games per policy (0: 10, quick 1)."),
    max_steps: int = typer.Option(
        0, help="Steps per live game (0: 600, quick 300; runner: at most 1000, quick 300)."
    ),
    seed: int = typer.Option(0, help="Training seed; live games use seeds 20000+seed..."),
    device: str = typer.Option("cpu", help="Training device: cpu or cuda."),
) -> None:
    """Record the expert playing a built-in game's window, train agents, watch them play live.

    The scripted expert plays through real X key events while `bc-gym record` records the
    window; the CNN baseline and the VAE + latent GPT train on that recording; then each agent plays
    live in a fresh window through ScreenEnv. Ends with a table (mean return, crash rate,
    control rate, observation age) and writes OUT/table.md, results.json, returns.png and
    agent_driving.gif (the lead agent, the first of --agents). `--game runner` does the same
    on the Runner page in Chromium (10 minutes of recording, episodes cut when the screen
    freezes; the score comes from the page's title; OUT/table.md, results.json, scores.png).
    Starts its own Xvfb when there is no display.
    """
    from bc_gym.agents import agent_names
    from bc_gym.demo import DemoConfig, run_demo

    if game not in GAMES:
        raise typer.BadParameter(f"expected one of {list(GAMES)}, actual value: {game!r}",
                                 param_hint="--game")  # fmt: skip
    only = {"highway": ("--updates", updates), "runner": ("--train-s", train_s)}[game]
    if only[1]:
        raise typer.BadParameter(
            f"{only[0]} does not apply to --game {game}: the highway demo trains under a time "
            "budget (--train-s), the runner demo for a number of updates (--updates)",
            param_hint=only[0],
        )

    names = tuple(a.strip() for a in agents.split(",") if a.strip())
    unknown = [a for a in names if a not in agent_names()]
    if unknown or (agents.strip() and not names):
        raise typer.BadParameter(
            f"unknown agents {unknown}; expected some of {agent_names()}", param_hint="--agents"
        )
    sizes = {"--record-s": record_s, "--train-s": train_s, "--episodes": episodes}
    for hint, value in {**sizes, "--max-steps": max_steps, "--updates": updates}.items():
        if value < 0:
            raise typer.BadParameter(
                f"must be >= 0 (0: the default), actual value: {value}", param_hint=hint
            )
    if game == "runner":
        from bc_gym.demo_runner import RunnerDemoConfig, run_runner_demo

        chosen = {"agents": names} if names else {}
        cfg = RunnerDemoConfig(quick=quick, **chosen, record_s=record_s, updates=updates,
                               episodes=episodes, max_steps=max_steps, seed=seed, device=device,
                               **({} if out is None else {"out": out}))  # fmt: skip
        run_runner_demo(cfg)
        return
    run_demo(
        DemoConfig(
            out=out or Path("out/demo"),
            quick=quick,
            **({"agents": names} if names else {}),  # else DemoConfig's lead-first default
            record_s=record_s,
            train_s=train_s,
            episodes=episodes,
            max_steps=max_steps,
            seed=seed,
            device=device,
        )  # fmt: skip
    )
