"""``bc-gym record`` and ``bc-gym find-region``: record a game played on screen.

See ``docs/recording.md`` for the walkthrough. Heavy modules are imported inside the commands.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

import typer

from bc_gym.commands.window_options import (
    Region,
    Title,
    WindowOptionError,
    WindowOptions,
    with_window_options,
)


def find_region(
    title: Title = None,
    region: Region = None,
    pick: bool = typer.Option(
        False, "--pick", help="Interactive: point at two corners with the mouse (Enter each)."
    ),
    png: Path = typer.Option(
        Path("bc-gym-region"),
        "--png",
        help="Screenshot prefix: writes PREFIX.png (the region) and PREFIX-screen.png.",
    ),
    save_game_over: Path = typer.Option(
        None,
        "--save-game-over",
        metavar="PNG",
        help="Also save the window (or region) as a game-over reference for "
        "--game-over-image, grabbed after --delay seconds.",
    ),
    delay: float = typer.Option(
        0.0, "--delay", help="With --save-game-over: count down this many seconds first."
    ),
    allow_wayland: bool = typer.Option(False, help="Run even in a Wayland session."),
) -> None:
    """List visible windows with their geometry; with --title/--region/--pick, check a region.

    Saves a PNG of the region and one of the whole screen with the region outlined in red,
    and prints the region as `--region X,Y,W,H` (what `bc-gym record` and ScreenEnv accept).
    With --save-game-over PNG it then grabs the game-over reference image (play until the game
    is over during --delay, or run it while the game-over screen shows).
    """
    from bc_gym.record.region import (
        check_platform,
        pick_region,
        save_game_over_image,
        save_screenshots,
    )
    from bc_gym.screen.windows import find_window, list_windows, screen_size

    if pick and (title is not None or region is not None):
        raise WindowOptionError("give at most one of --title, --region, --pick")
    window = WindowOptions.parse(title=title, region=region)
    if not (math.isfinite(delay) and delay >= 0):
        raise WindowOptionError(f"--delay is seconds >= 0, not {delay:g}")
    if save_game_over is not None and not window.has_window and not pick:
        raise WindowOptionError(
            "--save-game-over PNG needs the game: give --title TEXT, --region X,Y,W,H or --pick"
        )
    if save_game_over is not None and save_game_over.suffix.lower() not in (".png", ".jpg"):
        raise WindowOptionError(
            f"--save-game-over {str(save_game_over)!r} must end in .png (or .jpg)"
        )
    check_platform(allow_wayland)
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
    elif window.region is not None:
        box = window.region
    else:
        box = pick_region()
    crop, screen = save_screenshots(box, png)
    typer.echo(f"Saved {crop} (the region) and {screen} (the screen, region outlined in red).")
    typer.echo(f"--region {','.join(map(str, box))}")
    if save_game_over is not None:
        path = save_game_over_image(
            save_game_over,
            region=None if title is not None else box,
            title=title,
            delay_s=delay,
            say=lambda text: typer.echo(text, err=True),
        )
        typer.echo(f"Saved {path} (the game-over reference): pass --game-over-image {path}")


@with_window_options(reset_keys=False)
def record(
    out: Path = typer.Option(..., "-o", "--out", help="Dataset folder to create."),
    window_args: dict[str, Any] | None = None,  # --title, --region, --game-over-*
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
        False,
        help="End episodes at the game-over screen: built-in HighwayRacer's banner unless "
        "--game-over-image/--game-over-still say how (either one implies this).",
    ),
    hotkeys: str = typer.Option("f8,f9,f10", help="start/pause, new episode, stop."),
    compression: str = typer.Option("gzip", help="Frame compression: gzip, lzf or none."),
    game_id: str = typer.Option(
        None, help="Stored game id (default: the --title text, else the window title)."
    ),
    overwrite: bool = typer.Option(False, help="Replace an existing dataset at --out."),
    append: bool = typer.Option(False, help="Add episodes to an existing dataset at --out."),
    allow_wayland: bool = typer.Option(False, help="Run even in a Wayland session."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No status line."),
) -> None:
    """Record a game: screen frames and held keys on one fixed clock, into a dataset.

    Hotkeys (never recorded): F8 start/pause (pausing ends the episode), F9 new episode,
    F10 stop. Ctrl+C or SIGTERM also stop and finish the file cleanly. Episodes also end at a
    game over: --game-over-image (a game-over screen) or --game-over-still SECONDS (a game
    that freezes when it ends; the still frames are not stored).
    """
    from bc_gym.record.actions import Hotkeys, action_map_for_keys
    from bc_gym.record.recorder import Recorder
    from bc_gym.record.region import check_platform, parse_size
    from bc_gym.screen.capture import ScreenCapture

    window = WindowOptions.parse(**(window_args or {}))
    if not window.has_window:
        raise WindowOptionError("give the game: --title TEXT or --region X,Y,W,H")
    if compression not in ("gzip", "lzf", "none"):
        raise typer.BadParameter(f"--compression must be gzip, lzf or none, not {compression!r}")
    if not (math.isfinite(fps) and 0 < fps <= 1000):
        raise typer.BadParameter(f"--fps must be in (0, 1000] frames per second, not {fps:g}")
    try:
        out_size = parse_size(size) if size is not None else None
    except ValueError as exc:
        raise typer.BadParameter(f"--size: {exc}") from None
    hk = [k.strip().lower() for k in hotkeys.split(",")]
    if len(hk) != 3:
        raise typer.BadParameter(f"--hotkeys needs three keys, e.g. f8,f9,f10, not {hotkeys!r}")
    try:
        hot = Hotkeys(*hk)
    except ValueError as exc:
        raise typer.BadParameter(f"--hotkeys: {exc}") from None
    key_list = [k.strip() for k in keys.split(",")]
    try:
        amap = action_map_for_keys(key_list)
        hot.check_disjoint(key_list)
    except ValueError as exc:
        raise typer.BadParameter(f"--keys: {exc}") from None
    check_platform(allow_wayland)
    from bc_gym.screen.keys import check_key_names

    try:
        check_key_names(amap.keys)
    except ValueError as exc:
        raise typer.BadParameter(f"--keys: {exc}") from None
    capture = ScreenCapture(
        window.region,
        title=window.title,
        size=out_size,
        grayscale=gray,
    )
    try:
        detector = window.detector()
        if detector is None and cut_on_game_over:
            detector = _builtin_game_over(capture, window.game_over_tol)
    except BaseException:
        capture.close()
        raise
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
            + (f" Waiting for {hot.toggle.upper()} to start." if start_paused else "")
            + (f"\nEpisodes end at game over: {detector!r}." if detector is not None else ""),
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


def _builtin_game_over(capture: Any, tol: float) -> Any:
    """The detector of --cut-on-game-over alone: the built-in HighwayRacer's banner."""
    if capture.window is not None and "HighwayRacer" in capture.window.title:
        from bc_gym.envs.highway import game_over_detector

        return game_over_detector(tol=tol)
    raise WindowOptionError(
        "--cut-on-game-over needs --game-over-image PNG (a screenshot of the game-over screen: "
        "`bc-gym find-region --title TEXT --save-game-over PNG`) or --game-over-still SECONDS "
        "(a game that freezes when it ends), unless the game is bc-gym HighwayRacer"
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
