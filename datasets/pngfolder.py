"""Prototype-style folders of numbered PNG frames plus a key log, in and out.

A PNG folder holds ``<anything><number>.png`` frames (ordered by the number) and a key log:

* ``keys.csv`` with a header ``frame,time,keys``: one row per frame, ``keys`` the held keys
  joined by ``+`` (empty: none), ``time`` in seconds (may be empty: ``frame / fps``); an
  optional ``action`` column names the frame's label when it is not the held keys (datasets
  labelled by their demonstrator, such as the HighwayRacer recipe); or
* ``keys.jsonl``: raw key events ``{"time": s, "key": "left", "down": true}``; frame ``i`` is
  taken at ``i / fps`` and the keys held then are its label.

Frame ``i``'s label is the key set held at frame ``i``; the last frame gets no action (the
format keeps T+1 observations for T actions).

Example:
    >>> import tempfile, pathlib
    >>> from bc_gym.datasets import load_dataset
    >>> from bc_gym.datasets.pngfolder import export_png_folder, import_png_folder
    >>> from bc_gym.datasets.recipes import highway_expert_dataset
    >>> ds = load_dataset(highway_expert_dataset(n_episodes=1, max_steps=5))
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> folder = export_png_folder(ds, tmp / "pngs")
    >>> back = load_dataset(import_png_folder(folder, tmp / "ds", action_map=ds.action_map))
    >>> bool((back[0].observations[:] == ds[0].observations[:]).all())
    True
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np

from bc_gym.actions import ActionMap
from bc_gym.errors import DatasetError

from . import spec
from .reader import Dataset
from .writer import DatasetWriter, EpisodeData

_NUM = re.compile(r"(\d+)(?=\.png$)", re.IGNORECASE)


def export_png_folder(ds: Dataset, out: str | Path, episode: int = 0) -> Path:
    """Write episode ``episode`` as ``frame_{i:06d}.png`` files plus ``keys.csv``."""
    import cv2

    out = Path(out)
    out.mkdir(parents=True, exist_ok=False)
    ep = ds[episode]
    keys = list(ds.metadata["keys"])
    obs = np.asarray(ep.observations)
    for i, frame in enumerate(obs):
        img = frame if frame.shape[2] == 1 else cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        if not cv2.imwrite(str(out / f"frame_{i:06d}.png"), img):
            raise OSError(f"could not write {out / f'frame_{i:06d}.png'}")
    with open(out / "keys.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["frame", "time", "keys", "action"])
        actions = np.asarray(ep.actions)
        for i in range(len(obs)):
            held = ep.held_keys[i] if i < len(ep) else np.zeros(len(keys), bool)
            w.writerow(
                [
                    i,
                    repr(float(ep.timestamps[i])),
                    "+".join(k for k, h in zip(keys, held, strict=True) if h),
                    ds.action_map.names[int(actions[i])] if i < len(ep) else "",
                ]
            )
    return out


def _frames(folder: Path) -> list[Path]:
    found = []
    for p in folder.iterdir():
        m = _NUM.search(p.name)
        if m and p.is_file():
            found.append((int(m.group(1)), p))
    if not found:
        raise DatasetError(f"no numbered PNG frames (e.g. frame_000001.png) in {str(folder)!r}")
    return [p for _, p in sorted(found)]


def import_png_folder(
    folder: str | Path,
    out: str | Path,
    *,
    action_map: ActionMap,
    fps: float = 30.0,
    key_log: str | Path | None = None,
    overwrite: bool = False,
    game_id: str | None = None,
) -> Path:
    """Convert a PNG folder (see the module docstring) into a one-episode dataset.

    Args:
        folder: the folder of numbered PNG frames.
        out: the dataset folder to create.
        action_map: how held keys map to actions.
        fps: the frame rate (used when the log has no times).
        key_log: ``keys.csv`` or ``keys.jsonl`` (default: the one found in ``folder``).
        overwrite: replace an existing dataset at ``out``.
        game_id: stored in the metadata.

    Returns:
        The dataset folder.
    """
    import cv2

    folder = Path(folder)
    files = _frames(folder)
    frames = []
    for p in files:
        img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise DatasetError(f"{str(p)!r} is not a readable PNG image")
        if img.ndim == 2:
            img = img[:, :, None]
        elif img.shape[2] == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        elif img.shape[2] == 4:
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
        if img.dtype != np.uint8:
            raise DatasetError(f"{str(p)!r} is {img.dtype}, expected 8-bit")
        if frames and img.shape != frames[0].shape:
            raise DatasetError(f"{str(p)!r} is {img.shape}, the first frame is {frames[0].shape}")
        frames.append(img)
    n = len(frames)
    keys = list(action_map.keys)
    if key_log is None:
        for name in ("keys.csv", "keys.jsonl"):
            if (folder / name).is_file():
                key_log = folder / name
                break
        else:
            raise DatasetError(f"no key log (keys.csv or keys.jsonl) in {str(folder)!r}")
    key_log = Path(key_log)
    times = np.arange(n, dtype=np.float64) / fps
    held = np.zeros((n, len(keys)), bool)
    events: list[tuple[float, str, bool]] = []
    named: dict[int, int] = {}  # labels from the optional "action" column of keys.csv
    if key_log.suffix == ".csv":
        with open(key_log, newline="") as f:
            rows = list(csv.DictReader(f))
        if len(rows) != n or not rows or set(rows[0]) < {"frame", "keys"}:
            raise DatasetError(
                f"{str(key_log)!r} must have a header frame,time,keys and one row per frame "
                f"({n} frames), got {len(rows)} rows"
            )
        for r in rows:
            i = int(r["frame"])
            if r.get("time"):
                times[i] = float(r["time"])
            for k in filter(None, r["keys"].split("+")):
                if k in keys:
                    held[i, keys.index(k)] = True
            if r.get("action"):
                named[i] = action_map.index(r["action"])
    else:
        with open(key_log) as f:
            events = [
                (float(e["time"]), str(e["key"]), bool(e["down"]))
                for e in map(json.loads, filter(str.strip, f))
            ]
        events.sort(key=lambda e: e[0])
        state: set[str] = set()
        j = 0
        for i, t in enumerate(times):
            while j < len(events) and events[j][0] <= t:
                _, k, down = events[j]
                state = state | {k} if down else state - {k}
                j += 1
            held[i] = [k in state for k in keys]
    actions = action_map.labels_from_held(held[:-1])
    for i, a in named.items():
        if i < len(actions):
            actions[i] = a
    meta_key_events = spec.make_key_events(events)
    with DatasetWriter(
        out,
        action_map=action_map,
        fps=fps,
        obs_shape=frames[0].shape,
        source="import",
        game_id=game_id,
        overwrite=overwrite,
        imported_from=str(folder),
    ) as w:
        w.add_episode(
            EpisodeData(
                observations=np.stack(frames),
                actions=actions,
                timestamps=times,
                held_keys=held[:-1],
                key_events=meta_key_events,
            )
        )
    return Path(out)
