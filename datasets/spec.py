"""The dataset format's constants and its ``metadata.json`` (see ``docs/dataset-format.md``)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bc_gym.errors import DatasetFormatError

FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)
METADATA_FILE = "metadata.json"
EPISODES_DIR = "episodes"
EPISODE_RE = re.compile(r"^episode_(\d+)\.hdf5$")
SOURCES = ("recorder", "game", "import")
COLORS = {1: "gray", 3: "rgb", 4: "rgba"}
KEY_BYTES = 32

# Arrays of an episode file: name -> (dtype, rows: "T" or "T+1").
STEP_ARRAYS = {
    "actions": np.dtype(np.int64),
    "rewards": np.dtype(np.float32),
    "terminations": np.dtype(bool),
    "truncations": np.dtype(bool),
}
KEY_EVENT_DTYPE = np.dtype([("time", np.float64), ("key", f"U{KEY_BYTES}"), ("down", bool)])
"""In-memory key log: ``(time s, key name, down)``."""
KEY_EVENT_H5_DTYPE = np.dtype([("time", np.float64), ("key", f"S{KEY_BYTES}"), ("down", bool)])
"""On-disk key log (UTF-8 bytes)."""

REQUIRED_METADATA = (
    "format_version",
    "created",
    "source",
    "game_id",
    "fps",
    "obs_shape",
    "color",
    "action_map",
    "keys",
    "observation_space",
    "action_space",
    "region",
    "screen_size",
    "storage",
    "total_episodes",
    "total_steps",
    "bc_gym_version",
)


def episode_filename(index: int) -> str:
    """File name of episode ``index`` inside ``episodes/``."""
    return f"episode_{int(index)}.hdf5"


def list_episode_files(root: Path) -> list[tuple[int, Path]]:
    """``(id, path)`` of every episode file of a dataset folder, by id."""
    folder = Path(root) / EPISODES_DIR
    if not folder.is_dir():
        return []
    found = []
    for p in folder.iterdir():
        m = EPISODE_RE.match(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def key_events_to_disk(events: np.ndarray) -> np.ndarray:
    """Convert an in-memory key log to its on-disk dtype (UTF-8 bytes, checked length)."""
    out = np.zeros(len(events), dtype=KEY_EVENT_H5_DTYPE)
    out["time"] = events["time"]
    out["down"] = events["down"]
    for i, k in enumerate(events["key"]):
        b = str(k).encode("utf-8")
        if len(b) > KEY_BYTES:
            raise ValueError(f"key name {k!r} is longer than {KEY_BYTES} UTF-8 bytes")
        out["key"][i] = b
    return out


def key_events_from_disk(raw: np.ndarray) -> np.ndarray:
    """Inverse of :func:`key_events_to_disk`."""
    out = np.zeros(len(raw), dtype=KEY_EVENT_DTYPE)
    out["time"] = raw["time"]
    out["down"] = raw["down"]
    out["key"] = [b.decode("utf-8") for b in raw["key"]]
    return out


def make_key_events(events: Any) -> np.ndarray:
    """Coerce ``None``, a structured array or ``[(time, key, down), ...]`` to a key log."""
    if events is None:
        return np.zeros(0, dtype=KEY_EVENT_DTYPE)
    if isinstance(events, np.ndarray) and events.dtype.names == KEY_EVENT_DTYPE.names:
        out = np.zeros(len(events), dtype=KEY_EVENT_DTYPE)
        for name in KEY_EVENT_DTYPE.names:
            out[name] = events[name]
        return out
    rows = [(float(t), str(k), bool(d)) for t, k, d in events]
    return np.array(rows, dtype=KEY_EVENT_DTYPE)


def write_metadata(root: Path, metadata: dict[str, Any]) -> None:
    """Write ``metadata.json`` atomically (temporary file + ``os.replace``)."""
    root = Path(root)
    text = json.dumps(metadata, indent=2, sort_keys=False)
    fd, tmp = tempfile.mkstemp(prefix=".metadata.", suffix=".json", dir=root)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, root / METADATA_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_metadata(root: Path) -> dict[str, Any]:
    """Read and check ``metadata.json`` of a dataset folder.

    Raises:
        DatasetFormatError: the folder is missing, is not a bc-gym dataset, or has an
            unsupported ``format_version``.
    """
    root = Path(root)
    if not root.exists():
        raise DatasetFormatError(f"no dataset at {str(root)!r}: the path does not exist")
    if not root.is_dir():
        raise DatasetFormatError(
            f"{str(root)!r} is a file, not a bc-gym dataset: a dataset is a folder holding "
            f"{METADATA_FILE} and {EPISODES_DIR}/episode_{{i}}.hdf5 (see docs/dataset-format.md)"
        )
    meta_path = root / METADATA_FILE
    if not meta_path.is_file():
        raise DatasetFormatError(
            f"{str(root)!r} is not a bc-gym dataset: it has no {METADATA_FILE} "
            "(see docs/dataset-format.md; import PNG folders with `bc-gym data import-png`)"
        )
    try:
        meta = json.loads(meta_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetFormatError(
            f"{str(meta_path)!r} is not valid JSON ({exc}): the file is corrupt or truncated"
        ) from None
    if not isinstance(meta, dict) or "format_version" not in meta:
        raise DatasetFormatError(
            f"{str(meta_path)!r} is not bc-gym metadata: it has no 'format_version' "
            "(is this a Minari or other dataset?)"
        )
    version = meta["format_version"]
    if version not in SUPPORTED_VERSIONS:
        raise DatasetFormatError(
            f"{str(root)!r} has format_version {version!r}; this bc-gym reads versions "
            f"{list(SUPPORTED_VERSIONS)}. Upgrade bc-gym to read it."
        )
    missing = [k for k in REQUIRED_METADATA if k not in meta]
    if missing:
        raise DatasetFormatError(
            f"{str(meta_path)!r} lacks required keys {missing} (see docs/dataset-format.md)"
        )
    return meta
