"""``bc-gym game``: play the built-in games in a real window."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Play a built-in game in a real window.", no_args_is_help=True)


@app.command()
def highway(
    fps: float = typer.Option(30.0, help="Frames (game ticks) per second."),
    scale: int = typer.Option(5, help="Integer upscale of the 96x96 frame (window = 96*scale)."),
    seed: int = typer.Option(0, help="Seed of the first game; each restart uses the next."),
    lanes: int = typer.Option(4, help="Number of lanes (2-5)."),
    traffic_density: float = typer.Option(1.0, help="Traffic density (0 = empty road)."),
    traffic_speed: float = typer.Option(1.0, help="Traffic speed factor."),
    max_steps: int = typer.Option(0, help="End each game after N ticks (0: no limit)."),
    max_episodes: int = typer.Option(0, help="Quit after N games (0: until Escape)."),
    log: Path = typer.Option(None, help="Append a JSON line per finished game to this file."),
    autopilot: bool = typer.Option(
        False, help="The scripted expert plays, through real X key events (XTEST)."
    ),
    autopilot_noise: float = typer.Option(0.0, help="Autopilot noise (random actions, drifts)."),
    start_paused: bool = typer.Option(
        False, help="Hold the first game until Space/Enter (for agents that reset the game)."
    ),
) -> None:
    """HighwayRacer: arrows drive, Space/Enter restarts after GAME OVER, Escape quits.

    The window is titled 'bc-gym HighwayRacer' and is 96*scale pixels square.
    """
    from bc_gym.games.highway import GameConfig, ScriptedExpert
    from bc_gym.games.highway.window import run_window

    if scale < 1:
        raise typer.BadParameter(f"must be >= 1, actual value: {scale}", param_hint="--scale")
    if not fps > 0:
        raise typer.BadParameter(f"must be > 0, actual value: {fps}", param_hint="--fps")
    try:
        config = GameConfig(lanes, traffic_density, traffic_speed)
    except ValueError as exc:  # the lanes and traffic the user typed
        raise typer.BadParameter(str(exc)) from None
    run_window(
        fps=fps,
        scale=scale,
        seed=seed,
        config=config,
        max_steps=max_steps or None,
        max_episodes=max_episodes or None,
        log=log,
        autopilot=ScriptedExpert(autopilot_noise, seed=seed) if autopilot else None,
        start_paused=start_paused,
    )
