"""Whole-dataset operations: merge datasets, split one by episode.

Episode files are copied, never rewritten in place; the sources are left untouched.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import h5py

from bc_gym.errors import ConfigError, DatasetExistsError, DatasetFormatError

from . import spec
from .reader import Dataset


def _copy_episodes(
    sources: list[tuple[Dataset, int]], out: Path, meta: dict, overwrite: bool
) -> Path:
    out = Path(out)
    taken = out.exists() and (not out.is_dir() or any(out.iterdir()))
    if taken:
        if not overwrite or not (out / spec.METADATA_FILE).is_file():
            raise DatasetExistsError(f"{str(out)!r} already exists; refusing to overwrite it")
        shutil.rmtree(out)
    (out / spec.EPISODES_DIR).mkdir(parents=True)
    steps = 0
    for new_id, (ds, pos) in enumerate(sources):
        ep = ds[pos]
        dst = out / spec.EPISODES_DIR / spec.episode_filename(new_id)
        shutil.copyfile(ep.path, dst)
        with h5py.File(dst, "r+") as f:
            f.attrs["id"] = new_id
        steps += len(ep)
    spec.write_metadata(out, {**meta, "total_episodes": len(sources), "total_steps": steps})
    return out


def merge(paths: Sequence[str | Path], out: str | Path, *, overwrite: bool = False) -> Path:
    """Concatenate the episodes of several compatible datasets into a new dataset ``out``.

    Raises:
        DatasetFormatError: the datasets differ in observation shape, keys or action map.
    """
    if not paths:
        raise ConfigError("merge needs at least one dataset")
    dss = [Dataset.open(p) for p in paths]
    first = dss[0].metadata
    for ds in dss[1:]:
        for key in ("obs_shape", "action_map", "keys"):
            if ds.metadata[key] != first[key]:
                raise DatasetFormatError(
                    f"cannot merge {str(ds.path)!r}: its {key} is {ds.metadata[key]!r}, "
                    f"{str(dss[0].path)!r} has {first[key]!r}"
                )
    meta = {**first, "merged_from": [str(d.path) for d in dss]}
    return _copy_episodes([(d, i) for d in dss for i in range(len(d))], Path(out), meta, overwrite)


def split(
    path: str | Path,
    train_out: str | Path,
    val_out: str | Path,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    overwrite: bool = False,
) -> tuple[Path, Path]:
    """Split a dataset by episode into two new datasets (same rule as ``split_episodes``)."""
    import numpy as np

    ds = Dataset.open(path)
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in [0, 1), actual value: {val_fraction!r}")
    order = np.random.default_rng(seed).permutation(len(ds))
    n_val = int(round(val_fraction * len(ds)))
    if val_fraction > 0 and len(ds) >= 2:
        n_val = min(max(n_val, 1), len(ds) - 1)
    val, train = sorted(order[:n_val].tolist()), sorted(order[n_val:].tolist())
    meta = {**ds.metadata, "split_from": str(ds.path), "split_seed": seed}
    a = _copy_episodes(
        [(ds, i) for i in train], Path(train_out), {**meta, "split": "train"}, overwrite
    )
    b = _copy_episodes([(ds, i) for i in val], Path(val_out), {**meta, "split": "val"}, overwrite)
    return a, b
