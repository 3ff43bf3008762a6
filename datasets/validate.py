"""Check a dataset against the format and name every problem found.

Example:
    >>> from bc_gym.datasets import validate
    >>> from bc_gym.datasets.recipes import highway_expert_dataset
    >>> validate(highway_expert_dataset(n_episodes=1, max_steps=10))
    []
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bc_gym.errors import DatasetFormatError

from . import spec
from .reader import Dataset

_T_ARRAYS = {
    "actions": (np.int64, ()),
    "rewards": (np.float32, ()),
    "terminations": (np.bool_, ()),
    "truncations": (np.bool_, ()),
}


def validate(path: str | Path | Dataset, *, strict: bool = False) -> list[str]:
    """Check shapes, dtypes, monotonic timestamps and action range of every episode.

    Args:
        path: a dataset folder or an open :class:`Dataset`.
        strict: raise instead of returning the problems.

    Returns:
        One line per problem, each naming the episode and array (empty when valid).

    Raises:
        DatasetFormatError: the folder is not a dataset at all (always), or any problem
            when ``strict``.
    """
    ds = path if isinstance(path, Dataset) else Dataset.open(path)
    problems: list[str] = []
    meta = ds.metadata
    try:
        amap = ds.action_map
    except DatasetFormatError as exc:
        problems.append(str(exc))
        amap = None
    h, w, c = ds.obs_shape
    n_keys = len(meta.get("keys", []))
    if amap is not None and list(amap.keys) != list(meta.get("keys", [])):
        problems.append(f"metadata keys {meta.get('keys')} differ from action_map keys {amap.keys}")
    if not ds.episode_ids:
        problems.append(f"no episode files in {str(ds.path / spec.EPISODES_DIR)!r}")
    for i, eid in enumerate(ds.episode_ids):
        name = f"episode {eid}"
        try:
            ep = ds[i]
            f = ep._file
        except DatasetFormatError as exc:
            problems.append(f"{name}: {exc}")
            continue
        missing = [k for k in ("observations", "timestamps", *_T_ARRAYS, "held_keys") if k not in f]
        if missing:
            problems.append(f"{name}: missing arrays {missing}")
            continue
        obs = f["observations"]
        if obs.dtype != np.uint8:
            problems.append(f"{name}: observations dtype is {obs.dtype}, expected uint8")
        if obs.shape[1:] != (h, w, c):
            problems.append(
                f"{name}: observations frames are {obs.shape[1:]}, metadata says {(h, w, c)}"
            )
        t = obs.shape[0] - 1
        if not ep.complete:
            problems.append(
                f"{name}: incomplete (the writer stopped mid-episode); {len(ep)} steps readable"
            )
            t = len(ep)
        elif int(f.attrs.get("total_steps", t)) != t:
            problems.append(
                f"{name}: observations has {t + 1} rows but total_steps is "
                f"{int(f.attrs['total_steps'])} (expected total_steps + 1 rows)"
            )
        ts = f["timestamps"]
        if ts.dtype != np.float64:
            problems.append(f"{name}: timestamps dtype is {ts.dtype}, expected float64")
        if ep.complete and ts.shape != (t + 1,):
            problems.append(f"{name}: timestamps has shape {ts.shape}, expected ({t + 1},)")
        tv = ts[: t + 1]
        if not np.all(np.isfinite(tv)):
            problems.append(f"{name}: timestamps contain NaN or inf")
        d = np.diff(tv)
        if np.any(d < 0):
            j = int(np.argmax(d < 0))
            problems.append(
                f"{name}: timestamps not monotonic: timestamps[{j + 1}]={float(tv[j + 1])!r} < "
                f"timestamps[{j}]={float(tv[j])!r}"
            )
        for key, (dtype, tail) in _T_ARRAYS.items():
            arr = f[key]
            if arr.dtype != dtype:
                problems.append(f"{name}: {key} dtype is {arr.dtype}, expected {np.dtype(dtype)}")
            if ep.complete and arr.shape != (t, *tail):
                problems.append(f"{name}: {key} has shape {arr.shape}, expected ({t},)")
        hk = f["held_keys"]
        if hk.dtype != np.bool_ or hk.shape[1:] != (n_keys,):
            problems.append(
                f"{name}: held_keys is {hk.dtype} {hk.shape}, expected bool ({t}, {n_keys})"
            )
        if amap is not None and t > 0:
            a = f["actions"][:t]
            bad = np.flatnonzero((a < 0) | (a >= amap.n))
            if bad.size:
                problems.append(
                    f"{name}: actions[{bad[0]}]={int(a[bad[0]])} out of range [0, {amap.n}) "
                    f"({bad.size} bad actions)"
                )
        if "key_events" in f and f["key_events"].dtype.names != spec.KEY_EVENT_H5_DTYPE.names:
            problems.append(f"{name}: key_events has fields {f['key_events'].dtype.names}")
    if strict and problems:
        raise DatasetFormatError(
            f"{str(ds.path)!r} is not a valid dataset:\n  " + "\n  ".join(problems)
        )
    return problems
