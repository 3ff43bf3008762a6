"""``bc-gym record`` and ``bc-gym find-region``: record a game played on screen.

See ``docs/recording.md`` for the walkthrough. Heavy modules are imported inside the commands.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import typer


def find_region(
    title: str = typer.Option(None, "--title", help="Pick the window whose title contains TEXT."),
    region: str = typer.Option(None, "--region", help="Check a raw region X,Y,W,H instead."),
    pick: bool = typer.Option(
        False, "--pick", help="Interactive: point at two corners with the mouse (Enter each)."
    ),
    png: Path = typer.Option(
        Path("bc-gym-region"),
        "--png",
        help="Screenshot prefix: writes PREFIX.png (the region) and PREFIX-screen.png.",
    ),
    allow_wayland: bool = typer.Option(False, help="Run even in a Wayland session."),
) -> None:
    """List visible windows with their geometry; with --title/--region/--pick, check a region.

    Saves a PNG of the region and one of the whole screen with the region outlined in red,
    and prints the region as `--region X,Y,W,H` (what `bc-gym record` and ScreenEnv accept).
    """
    from bc_gym.record.region import check_platform, parse_region, pick_region, save_screenshots
    from bc_gym.screen.windows import find_window, list_windows, screen_size

    check_platform(allow_wayland)
    if sum(x is not None and x is not False for x in (title, region, pick)) > 1:
        raise typer.BadParameter("give at most one of --title, --region, --pick")
    sw, sh = screen_size()
    if not pick:
        typer.echo(f"Screen {sw}x{sh}. Visible windows (left, top, width, height):")
        for w in list_windows():
            typer.echo(f"  {w.left:5d},{w.top:5d},{w.width:5d},{w.height:5d}  {w.title}")
    if title is None and region is None and not pick:
        typer.echo("Pick one with --title TEXT (or give --region X,Y,W,H, or --pick).")
        return
    if title is not None:
        win = find_window(title)
        box = win.region
        typer.echo(f"Window {win.title!r} (id {win.wid:#x}).")
    elif region is not None:
        box = parse_region(region)
    else:
        box = pick_region()
    crop, screen = save_screenshots(box, png)
    typer.echo(f"Saved {crop} (the region) and {screen} (the screen, region outlined in red).")
    typer.echo(f"--region {','.join(map(str, box))}")


def record(
    out: Path = typer.Option(..., "-o", "--out", help="Dataset folder to create."),
    title: str = typer.Option(None, "--title", help="Record the window whose title has TEXT."),
    region: str = typer.Option(None, "--region", help="Or record this region: X,Y,W,H."),
    keys: str = typer.Option("left,right,up,down", help="Keys to record (pyautogui names)."),
    fps: float = typer.Option(30.0, help="Clock rate: frames (and key samples) per second."),
    size: str = typer.Option(None, help="Store frames resized to WxH (default: captured size)."),
    gray: bool = typer.Option(False, "--gray", help="Store one grayscale channel."),
    duration: float = typer.Option(
        None, "--duration", "--max-seconds", help="Stop after this many seconds."
    ),
    start_paused: bool = typer.Option(
        False, help="Wait for the start/pause hotkey (F8) before recording."
    ),
    cut_on_game_over: bool = typer.Option(
        False, help="End the episode when a game-over screen shows (see --game-over-image)."
    ),
    game_over_image: Path = typer.Option(
        None, help="A screenshot of the game-over screen (default for HighwayRacer: its banner)."
    ),
    game_over_box: str = typer.Option(
        "0,0,1,1", help="Part of the frame to compare: top,left,bottom,right fractions."
    ),
    game_over_tol: float = typer.Option(20.0, help="Largest mean pixel difference (0-255)."),
    hotkeys: str = typer.Option("f8,f9,f10", help="start/pause, new episode, stop."),
    compression: str = typer.Option("gzip", help="Frame compression: gzip, lzf or none."),
    game_id: str = typer.Option(None, help="Stored game id (default: the window title)."),
    overwrite: bool = typer.Option(False, help="Replace an existing dataset at --out."),
    append: bool = typer.Option(False, help="Add episodes to an existing dataset at --out."),
    allow_wayland: bool = typer.Option(False, help="Run even in a Wayland session."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No status line."),
) -> None:
    """Record a game: screen frames and held keys on one fixed clock, into a dataset.

    Hotkeys (never recorded): F8 start/pause (pausing ends the episode), F9 new episode,
    F10 stop. Ctrl+C or SIGTERM also stop and finish the file cleanly.
    """
    from bc_gym.record.actions import Hotkeys, action_map_for_keys
    from bc_gym.record.recorder import Recorder
    from bc_gym.record.region import check_platform, parse_region, parse_size
    from bc_gym.screen.capture import ScreenCapture

    check_platform(allow_wayland)
    if (title is None) == (region is None):
        raise typer.BadParameter("give exactly one of --title TEXT or --region X,Y,W,H")
    if compression not in ("gzip", "lzf", "none"):
        raise typer.BadParameter(f"--compression must be gzip, lzf or none, not {compression!r}")
    hk = [k.strip().lower() for k in hotkeys.split(",")]
    if len(hk) != 3:
        raise typer.BadParameter(f"--hotkeys needs three keys, e.g. f8,f9,f10, not {hotkeys!r}")
    hot = Hotkeys(*hk)
    key_list = [k.strip() for k in keys.split(",")]
    amap = action_map_for_keys(key_list)
    capture = ScreenCapture(
        parse_region(region) if region is not None else None,
        title=title,
        size=parse_size(size) if size is not None else None,
        grayscale=gray,
    )
    detector = None
    if cut_on_game_over:
        detector = _game_over_detector(capture, game_over_image, game_over_box, game_over_tol)
    status = None if quiet else _StatusPrinter()
    try:
        rec = Recorder(
            capture,
            key_list,
            fps,
            out,
            action_map=amap,
            hotkeys=hot,
            game_over=detector,
            start_paused=start_paused,
            game_id=game_id,
            compression=None if compression == "none" else compression,
            compression_opts=1 if compression == "gzip" else None,
            overwrite=overwrite,
            append=append,
            status=status,
        )
        left, top, width, height = capture.region
        h, w, c = rec.obs_shape
        what = f"window {capture.window.title!r}" if capture.window else "region"
        typer.echo(
            f"Recording {what} at {left},{top},{width},{height} -> {w}x{h}x{c} frames, "
            f"{fps:g} fps, into {out}\n"
            f"Keys: {','.join(rec.keys)} ({amap.n} actions: {', '.join(amap.names)})\n"
            f"Hotkeys: {hot.toggle.upper()} start/pause, {hot.cut.upper()} new episode, "
            f"{hot.stop.upper()} stop (Ctrl+C also stops)."
            + (f" Waiting for {hot.toggle.upper()} to start." if start_paused else ""),
            err=True,
        )
        stats = rec.run(duration_s=duration)
    finally:
        capture.close()
    if status is not None:
        status.finish()
    pct = 100.0 * stats.dropped / max(stats.ticks, 1)
    typer.echo(
        f"Done: {stats.episodes} episode(s), {stats.frames_written} frames in {out} "
        f"({stats.bytes_written / 1e6:.1f} MB); {stats.captured} frames over "
        f"{stats.recording_s:.1f} s, dropped {stats.dropped} ticks ({pct:.2f}%: clock "
        f"{stats.dropped_clock}, queue {stats.dropped_queue}).",
        err=True,
    )


def _game_over_detector(capture: Any, image: Path | None, box: str, tol: float) -> Any:
    """The detector for --cut-on-game-over: the given screenshot, or HighwayRacer's banner."""
    from bc_gym.envs.detectors import TemplateDetector

    if image is not None:
        fractions = tuple(float(v) for v in box.split(","))
        return TemplateDetector(image, box=fractions, tol=tol)
    if capture.window is not None and "HighwayRacer" in capture.window.title:
        from bc_gym.envs.highway import game_over_detector

        return game_over_detector(tol=tol)
    raise typer.BadParameter(
        "--cut-on-game-over needs --game-over-image PNG (a screenshot of the game-over screen, "
        "e.g. from `bc-gym find-region --title ...`) unless the game is bc-gym HighwayRacer"
    )


class _StatusPrinter:
    """One status line: rewritten in place on a terminal, a new line every 5 s otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.width = 0

    def __call__(self, stats: Any) -> None:
        line = stats.line()
        if self.tty:
            sys.stderr.write("\r" + line.ljust(self.width))
            self.width = len(line)
            sys.stderr.flush()
        elif time.monotonic() - self.last >= 5.0:
            self.last = time.monotonic()
            print(line, file=sys.stderr, flush=True)

    def finish(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()
