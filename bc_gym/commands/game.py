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


@app.command()
def runner(
    seed: int = typer.Option(1, help="Seed of the first game; each restart uses the next."),
    autopilot: bool = typer.Option(
        False,
        help="The scripted expert plays: it reads the window's pixels and sends real "
        "X key events (XTEST).",
    ),
    autopilot_lead: float = typer.Option(
        0.0,
        help="Autopilot: act this many game steps early (0: on time; an early expert is "
        "cloned badly, see README 'Runner').",
    ),
    seconds: float = typer.Option(0.0, help="Close the page after this many seconds (0: never)."),
    left: int = typer.Option(0, help="Window position on screen, px from the left."),
    top: int = typer.Option(0, help="Window position on screen, px from the top."),
) -> None:
    """Runner in a Chromium window: Arrow Up jumps, Arrow Down ducks.

    After GAME OVER the picture freezes for 1.5 s, then the next game starts (Space: at once).
    The window is 600x150 (the canvas) and titled 'bc-gym Runner | score S | best B | games G'.
    Close it, press Ctrl+C or send SIGTERM to stop: Chromium is closed and no key stays held.
    """
    import signal
    import subprocess
    import threading

    from bc_gym.games.runner.browser import RunnerPage
    from bc_gym.games.runner.expert import ScriptedExpert
    from bc_gym.games.runner.screen import run_autopilot

    stop = threading.Event()

    def _stop(signum, frame) -> None:  # SIGTERM: leave through the context managers
        stop.set()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _stop)  # before KeyController chains its own handler
    with RunnerPage(seed=seed, position=(left, top)) as page:
        typer.echo(f"{page.current_title()} (window {page.window.region}); Ctrl+C stops")
        limit = seconds or None
        if autopilot:  # until --seconds, a signal, or the user closes the window
            threading.Thread(target=lambda: (page.proc.wait(), stop.set()), daemon=True).start()
            try:
                run_autopilot(page.window, ScriptedExpert(lead=autopilot_lead), seconds=limit,
                              stop=stop)  # fmt: skip
            except Exception:
                if page.proc.poll() is None:
                    raise  # a real error; otherwise the user closed the window mid-step
        else:
            try:
                page.proc.wait(limit)
            except subprocess.TimeoutExpired:  # --seconds elapsed
                pass
