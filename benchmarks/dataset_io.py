"""Dataset read speed and size: bc-gym HDF5 vs a PNG folder vs Minari's loader.

Random single-frame reads/s and random 16-frame windows/s (frames 3 apart, 0.1 s at 30 fps),
on the same HighwayRacer expert frames; MB on disk per 1,000 frames.

    .venv/bin/python benchmarks/dataset_io.py                      # full run
    .venv/bin/python benchmarks/dataset_io.py --episodes 2 --steps 60 --reads 50   # smoke test
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

from bc_gym.bench import machine_line
from bc_gym.datasets import DatasetWriter, EpisodeData, load_dataset
from bc_gym.datasets.pngfolder import export_png_folder
from bc_gym.datasets.recipes import highway_expert_dataset

p = argparse.ArgumentParser()
p.add_argument("--episodes", type=int, default=10)
p.add_argument("--steps", type=int, default=1000)
p.add_argument("--reads", type=int, default=2000, help="random reads per measurement")
p.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "dataset_io.md")
args = p.parse_args()

WINDOW, GAP = 16, 3
rng = np.random.default_rng(0)
tmp = Path(tempfile.mkdtemp(prefix="bc-gym-bench-"))
path = highway_expert_dataset(
    n_episodes=args.episodes, noise=0.05, seed=0, root=tmp / "cache", max_steps=args.steps
)
ds = load_dataset(path)
lengths = [len(ep) + 1 for ep in ds]
n_frames = sum(lengths)


def du(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def pick_frames(n: int) -> list[tuple[int, int]]:
    e = rng.integers(0, len(ds), n)
    return [(int(a), int(rng.integers(0, lengths[a]))) for a in e]


def pick_windows(n: int) -> list[tuple[int, np.ndarray]]:
    span = (WINDOW - 1) * GAP
    out = []
    for a in rng.integers(0, len(ds), n):
        start = int(rng.integers(0, lengths[a] - span))
        out.append((int(a), start + GAP * np.arange(WINDOW)))
    return out


def rate(fn, items) -> float:
    t = time.perf_counter()
    for it in items:
        fn(*it)
    return len(items) / (time.perf_counter() - t)


rows = []
singles, windows = pick_frames(args.reads), pick_windows(max(args.reads // 4, 10))

# bc-gym HDF5 (one frame per chunk, gzip 1)
rows.append(
    (
        "bc-gym HDF5 (default: gzip 1)",
        rate(lambda e, i: ds[e].observations[i], singles),
        rate(lambda e, idx: ds[e].observations[idx], windows),
        du(path) / n_frames * 1000,
    )
)

# The same episodes stored uncompressed (the writer's compression=None): the speed end of the
# size/speed trade-off, for datasets read many times over (training on many epochs).
raw_path = tmp / "raw"
with DatasetWriter(
    raw_path, action_map=ds.action_map, fps=ds.fps, obs_shape=tuple(ds.metadata["obs_shape"]),
    compression=None,
) as w:  # fmt: skip
    for ep in ds:
        w.add_episode(
            EpisodeData(
                observations=np.asarray(ep.observations), actions=np.asarray(ep.actions),
                timestamps=np.asarray(ep.timestamps),
            )
        )  # fmt: skip
raw = load_dataset(raw_path)
rows.append(
    (
        "bc-gym HDF5, uncompressed",
        rate(lambda e, i: raw[e].observations[i], singles),
        rate(lambda e, idx: raw[e].observations[idx], windows),
        du(raw_path) / n_frames * 1000,
    )
)

# PNG folder, one per episode (cv2.imread, BGR -> RGB)
png = tmp / "png"
png.mkdir()
folders = [export_png_folder(ds, png / f"ep{i}", episode=i) for i in range(len(ds))]


def png_read(e: int, i: int) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(folders[e] / f"frame_{i:06d}.png")), cv2.COLOR_BGR2RGB)


rows.append(
    (
        "PNG folder",
        rate(png_read, singles),
        rate(lambda e, idx: np.stack([png_read(e, i) for i in idx]), windows),
        du(png) / n_frames * 1000,
    )
)

# Minari (its default JPEG encoding), read through MinariDataset
try:
    import minari

    from bc_gym.datasets.exports import to_minari

    os.environ["MINARI_DATASETS_PATH"] = str(tmp / "minari")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        to_minari(ds, "bench/highway-v0")
        m = minari.load_dataset("bench/highway-v0")
    rows.append(
        (
            "Minari 0.5 (JPEG, `dataset[e]`)",
            rate(lambda e, i: m[e].observations[i], singles[: max(len(singles) // 10, 5)]),
            rate(lambda e, idx: m[e].observations[idx], windows[: max(len(windows) // 5, 5)]),
            du(tmp / "minari") / n_frames * 1000,
        )
    )
except ImportError:
    print("minari not installed: skipping its row")

machine = machine_line()  # the same machine line as every other results table
ours = rows[0]
lines = [
    "# Dataset I/O benchmark",
    "",
    f"`benchmarks/dataset_io.py --episodes {args.episodes} --steps {args.steps} "
    f"--reads {args.reads}`: {len(ds)} HighwayRacer expert episodes, {n_frames} frames of "
    f"64x64x3 uint8; windows = {WINDOW} frames {GAP} apart. Machine: {machine}.",
    "",
    "| storage | single frames/s | 16-frame windows/s | MB / 1000 frames | window time vs default |",  # noqa: E501
    "|---|---|---|---|---|",
]
for name, s, w, mb in rows:
    lines.append(f"| {name} | {s:,.0f} | {w:,.0f} | {mb:.2f} | {ours[2] / w:.2f}x |")
lines += [
    "",
    "Minari's loader reads whole episodes (`dataset[e]` decodes every frame of the episode), "
    "so its per-read cost grows with episode length; Minari JPEG-encodes image observations "
    "(lossy), bc-gym stores them losslessly.",
]
text = "\n".join(lines) + "\n"
print(text)
args.out.parent.mkdir(parents=True, exist_ok=True)
args.out.write_text(text)
shutil.rmtree(tmp, ignore_errors=True)
