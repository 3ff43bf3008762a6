"""``bc-gym data``: inspect, check, view, export, merge and split trajectory datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

app = typer.Typer(
    help="Inspect, check, view, export, merge and split datasets.", no_args_is_help=True
)


RARE_SHARE = 0.01
"""``data info`` warns about an action on fewer than this share of the labelled frames."""
STILL_STD = 1.0
"""An episode whose pixels vary less than this over time (std, 0-255 levels) is a still screen."""


def still_score(ep: Any, n: int = 32) -> float:
    """How much an episode's frames change: the mean over pixels of their std over time.

    Read from ``n`` frames spread over the episode (0-255 levels; 0: one constant picture).
    """
    import numpy as np

    m = len(ep) + 1
    idx = np.unique(np.linspace(0, m - 1, min(n, m)).astype(int))
    frames = np.asarray(ep.observations[idx], np.float32)  # (n, H, W, C)
    return float(frames.std(axis=0).mean()) if len(frames) > 1 else 0.0


def training_warnings(ds: Any) -> list[str]:
    """What in ``ds`` will hurt training, one sentence each (empty: nothing found).

    A single episode, an action on under 1% of the frames, a still screen (frames that barely
    change: a wrong region, or a covered or minimised window), a key never pressed.
    """
    import numpy as np

    names = ds.action_map.names
    counts = np.zeros(ds.action_map.n, np.int64)
    pressed = np.zeros(len(ds.metadata["keys"]), bool)
    for ep in ds:
        counts += np.bincount(np.asarray(ep.actions), minlength=ds.action_map.n)
        if len(ep):
            pressed |= np.asarray(ep.held_keys, bool).any(axis=0)
    total = int(counts.sum())
    out = []
    if len(ds) == 1:
        out.append(
            "a single episode: training validates on its last part (a time block) instead of "
            "on whole episodes it never saw; record several (F9 starts a new episode) for a "
            "fairer score"
        )
    for name, c in zip(names, counts, strict=True):
        if 0 < c < RARE_SHARE * total:
            out.append(
                f"action {name!r} is on {100 * c / total:.2f}% of the frames ({c} of {total}): "
                "the agents will hardly learn it; record more play that uses it"
            )
    for key, was in zip(ds.metadata["keys"], pressed, strict=True):
        if not was:
            out.append(
                f"key {key!r} was never pressed: no agent can learn to press it; record play "
                "that uses it, or leave it out of --keys"
            )
    still = [i for i, ep in enumerate(ds) if len(ep) and still_score(ep) < STILL_STD]
    if still:
        which = "every episode" if len(still) == len(ds) else f"episodes {still}"
        out.append(
            f"still screen in {which}: the frames barely change (pixel std < {STILL_STD:g} "
            "levels over time); check the region or window (`bc-gym find-region`) and that "
            "the game was visible, not covered or minimised"
        )
    return out


@app.command()
def info(path: Path = typer.Argument(..., help="Dataset folder.")) -> None:
    """Print the metadata, episode count, steps, duration and action counts, and warnings.

    The warnings name what will hurt training: a single episode, an action on under 1% of the
    frames, a still screen, a key never pressed.
    """
    import numpy as np

    from bc_gym.datasets import load_dataset

    ds = load_dataset(path)
    m = ds.metadata
    steps = [len(ep) for ep in ds]
    typer.echo(f"dataset      {ds.path}")
    typer.echo(f"format       v{m['format_version']}, source {m['source']}, game {m['game_id']}")
    typer.echo(f"observations {tuple(m['obs_shape'])} uint8 {m['color']}, fps {ds.fps:g}")
    typer.echo(f"episodes     {len(ds)} ({sum(not ep.complete for ep in ds)} incomplete)")
    typer.echo(
        f"steps        {sum(steps)} (min {min(steps, default=0)}, max {max(steps, default=0)})"
    )
    typer.echo(f"duration     {sum(ep.duration for ep in ds):.1f} s")
    counts = np.zeros(ds.action_map.n, np.int64)
    for ep in ds:
        counts += np.bincount(ep.actions, minlength=ds.action_map.n)
    total = max(int(counts.sum()), 1)
    typer.echo(
        "actions      "
        + ", ".join(
            f"{n} {100 * c / total:.1f}%" for n, c in zip(ds.action_map.names, counts, strict=True)
        )
    )
    for line in training_warnings(ds):
        typer.secho(f"warning: {line}", fg=typer.colors.YELLOW)


@app.command()
def validate(path: Path = typer.Argument(..., help="Dataset folder.")) -> None:
    """Check every episode; list each problem and exit 1 when there are any."""
    from bc_gym.datasets import validate as check

    problems = check(path)
    for p in problems:
        typer.echo(p)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{path}: valid")


@app.command()
def view(
    path: Path = typer.Argument(..., help="Dataset folder."),
    episode: int = typer.Option(0, help="Episode position."),
    out: Path = typer.Option(Path("episode.gif"), "-o", "--out", help="GIF or MP4 to write."),
    scale: int = typer.Option(4, help="Integer upscale of the frames."),
    max_frames: int = typer.Option(0, help="Only the first N frames (0: all)."),
) -> None:
    """Write a GIF/MP4 of an episode with the held keys drawn, and a PNG plot beside it."""
    import cv2
    import imageio.v2 as imageio
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from bc_gym.datasets import load_dataset
    from bc_gym.imaging import upscale

    if scale < 1:
        raise typer.BadParameter(
            f"must be an integer >= 1, actual value: {scale}", param_hint="--scale"
        )
    if max_frames < 0:
        raise typer.BadParameter(
            f"must be >= 0 (0: all frames), actual value: {max_frames}", param_hint="--max-frames"
        )
    if out.suffix.lower() not in (".gif", ".mp4"):
        raise typer.BadParameter(
            f"must end in .gif or .mp4, actual value: {str(out)!r}", param_hint="--out"
        )
    ds = load_dataset(path)
    if not -len(ds) <= episode < len(ds):
        raise typer.BadParameter(
            f"the dataset has {len(ds)} episode(s) (positions 0..{len(ds) - 1}), actual value: "
            f"{episode}",
            param_hint="--episode",
        )
    ep = ds[episode]
    keys = list(ds.metadata["keys"])
    n = len(ep) + 1 if max_frames <= 0 else min(max_frames, len(ep) + 1)
    frames = []
    for i in range(n):
        f = ep.observations[i]
        f = np.repeat(f, 3, axis=2) if f.shape[2] == 1 else f[..., :3]
        f = np.ascontiguousarray(upscale(f, scale))
        held = ep.held_keys[min(i, len(ep) - 1)] if len(ep) else np.zeros(len(keys), bool)
        x = 2
        for k, on in zip(keys, held, strict=True):
            color = (255, 255, 0) if on else (90, 90, 90)
            cv2.putText(f, k, (x, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35, color, 1, cv2.LINE_AA)
            x += 7 * len(k) + 6
        frames.append(f)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".gif":
        imageio.mimsave(out, frames, duration=1000 / ds.fps, loop=0)
    else:
        imageio.mimsave(out, frames, fps=ds.fps)
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 6))
    counts = np.bincount(ep.actions, minlength=ds.action_map.n)
    a1.bar(ds.action_map.names, counts)
    a1.set_title(f"episode {episode}: action counts")
    a1.tick_params(axis="x", rotation=45)
    t = ep.timestamps[:-1] - ep.timestamps[0]
    for j in range(len(keys)):
        a2.fill_between(t, j, j + 0.8 * ep.held_keys[:, j], step="post")
    a2.set_yticks(np.arange(len(keys)) + 0.4, keys)
    a2.set_xlabel("time (s)")
    a2.set_title("held keys")
    fig.tight_layout()
    plot = out.with_suffix(".png")
    fig.savefig(plot, dpi=80)
    plt.close(fig)
    typer.echo(f"wrote {out} ({n} frames) and {plot}")


@app.command()
def export(
    path: Path = typer.Argument(..., help="Dataset folder."),
    to: str = typer.Option(..., help="minari or png."),
    out: str = typer.Option(..., "-o", "--out", help="Minari dataset id, or PNG folder."),
    episode: int = typer.Option(0, help="Episode to export (png)."),
    lossless: bool = typer.Option(False, help="Minari: store raw arrays, not JPEG."),
) -> None:
    """Export to a Minari dataset or a PNG folder (imitation: use bc_gym.datasets.exports)."""
    from bc_gym.datasets import load_dataset

    ds = load_dataset(path)
    if to == "png" and not -len(ds) <= episode < len(ds):
        raise typer.BadParameter(
            f"the dataset has {len(ds)} episode(s), actual value: {episode}", param_hint="--episode"
        )
    if to == "minari":
        from bc_gym.datasets.exports import MINARI_JPEG_NOTE, to_minari

        m = to_minari(ds, out, lossless=lossless)
        typer.echo(f"wrote Minari dataset {out!r} ({m.total_episodes} episodes)")
        if not lossless:
            typer.echo(MINARI_JPEG_NOTE)
    elif to == "png":
        from bc_gym.datasets.pngfolder import export_png_folder

        typer.echo(f"wrote {export_png_folder(ds, out, episode)}")
    else:
        raise typer.BadParameter(f"--to must be minari or png, actual value: {to!r}")


@app.command("import-png")
def import_png(
    folder: Path = typer.Argument(..., help="Folder of numbered PNG frames + keys.csv/jsonl."),
    out: Path = typer.Option(..., "-o", "--out", help="Dataset folder to create."),
    fps: float = typer.Option(30.0, help="Frame rate when the log has no times."),
    actions: str = typer.Option("highway", help="'highway' or comma-separated action names."),
    overwrite: bool = typer.Option(False, help="Replace an existing dataset."),
) -> None:
    """Import a prototype-style PNG folder as a one-episode dataset."""
    from bc_gym.actions import HIGHWAY_ACTIONS, ActionMap
    from bc_gym.datasets.pngfolder import import_png_folder

    if not fps > 0:
        raise typer.BadParameter(f"must be > 0, actual value: {fps}", param_hint="--fps")
    try:
        amap = HIGHWAY_ACTIONS if actions == "highway" else ActionMap.from_names(actions.split(","))
    except ValueError as exc:  # the names the user typed
        raise typer.BadParameter(str(exc), param_hint="--actions") from None
    typer.echo(
        f"wrote {import_png_folder(folder, out, action_map=amap, fps=fps, overwrite=overwrite)}"
    )


@app.command()
def merge(
    paths: list[Path] = typer.Argument(..., help="Datasets to merge."),
    out: Path = typer.Option(..., "-o", "--out", help="New dataset folder."),
    overwrite: bool = typer.Option(False, help="Replace an existing dataset at --out."),
) -> None:
    """Concatenate compatible datasets into a new one."""
    from bc_gym.datasets.ops import merge as do_merge

    typer.echo(f"wrote {do_merge(paths, out, overwrite=overwrite)}")


@app.command()
def split(
    path: Path = typer.Argument(..., help="Dataset folder."),
    train: Path = typer.Option(..., help="New training dataset folder."),
    val: Path = typer.Option(..., help="New validation dataset folder."),
    val_fraction: float = typer.Option(0.2, help="Fraction of episodes for validation."),
    seed: int = typer.Option(0, help="Seed of the episode shuffle."),
) -> None:
    """Split a dataset by episode into train and validation datasets."""
    from bc_gym.datasets.ops import split as do_split

    if not 0.0 <= val_fraction < 1.0:
        raise typer.BadParameter(
            f"must be in [0, 1), actual value: {val_fraction}", param_hint="--val-fraction"
        )
    a, b = do_split(path, train, val, val_fraction=val_fraction, seed=seed)
    typer.echo(f"wrote {a} and {b}")
