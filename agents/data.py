"""What every trained agent reads: the datasets at its frame size, split for validation.

:func:`open_datasets` opens datasets and resizes their frames (on load) to the agents' size;
:func:`split` holds out whole episodes when there are enough, otherwise the last part of each
episode as a time block (a single long recording can be validated too).

:class:`Episodes` holds episodes in memory for agents that cache per-frame features (the
latent GPT).
The latent GPT encodes every frame once and then trains on windows of *latents*, so it needs
the window indices rather than the frames that ``bc_gym.datasets.torch.SequenceDataset``
returns. :func:`window_indices` picks them by the dataset's time rule (the frame with the
nearest timestamp to each target time, clipped at the episode start), the same rule
``SequenceDataset`` and ``TimedFrameStack`` use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from bc_gym.actions import ActionMap


@dataclass
class Episodes:
    """Episodes as numpy arrays: ``frames[i]`` (T+1, H, W, C), ``actions[i]`` (T,), ``times[i]``."""

    action_map: ActionMap
    fps: float
    frames: list[np.ndarray] = field(default_factory=list)
    actions: list[np.ndarray] = field(default_factory=list)
    times: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def n_steps(self) -> int:
        """Labelled frames (steps) over all episodes."""
        return int(sum(len(a) for a in self.actions))

    def all_actions(self) -> np.ndarray:
        """All action labels, concatenated."""
        return np.concatenate(self.actions) if self.actions else np.zeros(0, np.int64)

    def mirrored(self, swap: str) -> Episodes:
        """The same episodes flipped left-right, with the keys in ``swap`` exchanged.

        For games whose screen is left-right symmetric (a road seen from above): it doubles the
        situations the demonstrations show. ``swap`` is ``"left:right"``.
        """
        perm = self.action_map.mirror_permutation(swap)
        return Episodes(
            self.action_map,
            self.fps,
            [np.ascontiguousarray(f[:, :, ::-1]) for f in self.frames],
            [perm[a] for a in self.actions],
            list(self.times),
        )

    def __add__(self, other: Episodes) -> Episodes:
        return Episodes(
            self.action_map,
            self.fps,
            self.frames + other.frames,
            self.actions + other.actions,
            self.times + other.times,
        )


def open_datasets(
    paths: Sequence[str | Path | Any],
    obs_size: Sequence[int] | None = None,
    *,
    resize: bool = True,
) -> list[Any]:
    """Open datasets (paths or already opened datasets) and show their frames at the agents' size.

    The frame size is ``obs_size`` ``(height, width)``, or when None
    :func:`~bc_gym.datasets.views.auto_obs_size` of the first dataset (recorded frames every
    agent accepts are kept as they are). Datasets of another size are wrapped in a
    :class:`~bc_gym.datasets.views.ResizedDataset`, which resizes each frame on load with
    ``bc_gym.imaging.resize``, as ``play`` resizes live frames. ``resize=False`` (agents that
    read no pixels) keeps the frames as recorded.

    Raises:
        DatasetError: no dataset, or datasets of different actions or colour channels.
        ConfigError: an ``obs_size`` that does not suit every agent.
    """
    from bc_gym.datasets import load_dataset
    from bc_gym.datasets.views import ResizedDataset, agent_frame_size
    from bc_gym.errors import DatasetError

    out = [p if hasattr(p, "action_map") else load_dataset(p) for p in paths]
    if not out:
        raise DatasetError("no dataset given: pass at least one dataset folder")
    first = out[0]
    for ds in out[1:]:
        if ds.action_map != first.action_map or ds.obs_shape[2] != first.obs_shape[2]:
            raise DatasetError(
                f"datasets disagree: {ds.action_map.names} {tuple(ds.obs_shape)} vs "
                f"{first.action_map.names} {tuple(first.obs_shape)}; train on datasets of one "
                "game recorded with the same keys and colours"
            )
    if not resize:
        return out
    size = agent_frame_size(first.obs_shape, obs_size)
    return [ds if tuple(ds.obs_shape[:2]) == size else ResizedDataset(ds, size) for ds in out]


def recorded_from(datasets: Sequence[Any]) -> dict[str, Any]:
    """Where the first dataset was recorded: what ``play`` needs to find the game again.

    Returns:
        ``{"window_title", "region", "fps", "frame_shape"}``: the window title (the text the
        recorder's ``--title`` matched, ``metadata["recording"]["title_match"]``, else the
        full title ``["title"]``, else the ``game_id`` of a ``recorder`` dataset, else None),
        the captured ``[left, top, width, height]`` or None, the recording rate, and
        ``[H, W, C]`` of the frames as recorded (before any resize to the agent's size).
    """
    ds = datasets[0]
    base = ds
    while hasattr(base, "base"):  # views: the recorded frames are those of the base dataset
        base = base.base
    meta = ds.metadata
    region = meta.get("region")
    fps = meta.get("fps")
    # The recorder keeps the text --title matched in metadata["recording"]["title_match"] (a
    # page's title may change: "Runner | score 27") and the full window title in "title";
    # game_id may be a name the user chose with --game-id (older recordings: the title).
    rec = meta.get("recording") if isinstance(meta.get("recording"), dict) else {}
    title = (
        rec.get("title_match")
        or rec.get("title")
        or (meta.get("game_id") if meta.get("source") == "recorder" else None)
    )
    return {
        "window_title": title,
        "region": [int(v) for v in region] if region is not None else None,
        "fps": float(fps) if fps is not None else None,
        "frame_shape": [int(v) for v in base.obs_shape],
    }


def recorded_frame_size(agent: Any) -> tuple[int, int]:
    """``(height, width)`` of the frames ``agent``'s training data was recorded at.

    From ``agent.recorded_from["frame_shape"]`` (see :func:`recorded_from`); the agent's own
    ``obs_shape`` when that is unknown or of other channels. A live window captured at this
    size and resized with ``bc_gym.imaging.resize`` gives the pixels training saw.
    """
    h, w, c = agent.obs_shape
    shape = (getattr(agent, "recorded_from", None) or {}).get("frame_shape")
    ok = isinstance(shape, list | tuple) and len(shape) == 3
    if ok and all(isinstance(v, int) and v > 0 for v in shape) and shape[2] == c:
        return int(shape[0]), int(shape[1])
    return h, w


class Split(NamedTuple):
    """What :func:`split` returns.

    Attributes:
        datasets: what ``ids`` index: the datasets given (whole-episode hold-out), or for a
            dataset split into time blocks an :class:`~bc_gym.datasets.views.EpisodeBlocks`
            view whose episodes are the blocks.
        ids: per dataset, ``(train, val)`` positions of episodes in ``datasets[k]``.
    """

    datasets: list[Any]
    ids: list[tuple[list[int], list[int]]]


def holds_whole_episodes(n_episodes: int, val_fraction: float) -> bool:
    """True when :func:`split` holds out whole episodes of a dataset of ``n_episodes``.

    That is when it holds out at most twice the requested share of episodes (with the default
    0.2: 3 episodes or more; the benchmark datasets hold 20 or 100).
    """
    n_val = max(1, round(val_fraction * n_episodes))
    return val_fraction > 0 and n_episodes >= 2 and n_val <= 2 * val_fraction * n_episodes


def time_blocks(ds: Any, val_fraction: float, span_s: float) -> tuple[Any, list[int], list[int]]:
    """Hold out the last ``val_fraction`` of each episode of ``ds`` as a time block.

    Between the training block and the validation block of an episode lies a gap of
    ``span_s`` seconds of unused frames: a window of the agent's context ending on a
    validation frame, even one reaching back before the block, touches no training frame, and
    no training window touches a validation frame.

    Returns:
        ``(EpisodeBlocks view, train ids, val ids)``; an episode too short for a training block
        before the gap contributes its validation block only.
    """
    from bc_gym.datasets.views import EpisodeBlocks

    blocks: list[tuple[int, int, int]] = []
    train: list[int] = []
    val: list[int] = []
    for e in range(len(ds)):
        ep = ds[e]
        n = len(ep)
        if n == 0:
            continue
        v0 = n - min(n, max(1, round(val_fraction * n)))  # first held-out step
        ts = np.asarray(ep.timestamps, np.float64)
        # The training block's frames are 0..s1: the frames that are never the nearest one to
        # a time at or after ts[v0] - span_s (the time rule of every window), however
        # irregular the clock: frame k is safe when its midpoint with k + 1 lies before.
        mids = (ts[:-1] + ts[1:]) / 2
        s1 = int(np.searchsorted(mids, ts[v0] - span_s, side="left")) - 1
        if s1 >= 1:
            train.append(len(blocks))
            blocks.append((e, 0, s1))
        val.append(len(blocks))
        blocks.append((e, v0, n))
    return EpisodeBlocks(ds, blocks), train, val


def split(
    datasets: Sequence[Any],
    val_fraction: float,
    seed: int,
    need_val: bool = True,
    *,
    span_s: float = 0.0,
) -> Split:
    """Training and validation parts of each dataset: whole episodes, or time blocks.

    A dataset with enough episodes (:func:`holds_whole_episodes`) is split by
    ``split_episodes(ds, val_fraction, seed)``, as the published benchmarks were. Otherwise (a
    single long recording, say) the last ``val_fraction`` of each of its episodes is held out
    (:func:`time_blocks`), with a gap of ``span_s`` seconds, the agent's context (the time its
    frame stack or GPT context spans), before it. ``val_fraction=0`` holds out nothing.

    Args:
        datasets: opened datasets (:func:`open_datasets`).
        val_fraction: share held out, in ``[0, 1)``.
        seed: seed of the episode shuffle (whole-episode hold-out).
        need_val: raise when ``val_fraction > 0`` but nothing could be held out.
        span_s: seconds of context before a frame that the agent reads.

    Returns:
        A :class:`Split`: ``split.datasets[k]`` and its ``(train, val)`` episode positions.

    Raises:
        ConfigError: ``val_fraction`` outside ``[0, 1)`` or a negative ``span_s``.
        DatasetError: no training step is left, or (``need_val``) nothing to validate on.
    """
    from bc_gym.datasets.torch import split_episodes
    from bc_gym.errors import ConfigError, DatasetError

    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(
            f"val_fraction must be in [0, 1) (0: no validation), actual value: {val_fraction!r}"
        )
    if span_s < 0:
        raise ConfigError(f"span_s must be >= 0 seconds, actual value: {span_s!r}")
    out: list[Any] = []
    ids: list[tuple[list[int], list[int]]] = []
    for ds in datasets:
        if val_fraction == 0 or holds_whole_episodes(len(ds), val_fraction):
            out.append(ds)
            ids.append(split_episodes(ds, val_fraction=val_fraction, seed=seed))
        else:
            view, train, val = time_blocks(ds, val_fraction, span_s)
            out.append(view)
            ids.append((train, val))
    steps = [
        sum(len(ds[i]) for i in idx) for ds, pair in zip(out, ids, strict=True) for idx in pair
    ]
    n_train, n_val = sum(steps[0::2]), sum(steps[1::2])
    if n_train == 0 or (need_val and val_fraction > 0 and n_val == 0):
        sizes = ", ".join(f"{len(ds)} episode(s) of {ds.total_steps} steps" for ds in datasets)
    if n_train == 0:
        raise DatasetError(
            f"nothing left to train on: {sizes}, val_fraction={val_fraction}, a context of "
            f"{span_s:g} s before each held-out block. Record more (or longer) episodes, or "
            "lower --val-fraction"
        )
    if need_val and val_fraction > 0 and n_val == 0:
        raise DatasetError(
            f"nothing could be held out for validation from {sizes}; record more steps, or "
            "train with --val-fraction 0 (no validation: the last epoch's weights are kept)"
        )
    return Split(out, ids)


def part_names(datasets: Sequence[Any], ids: Sequence[Sequence[int]]) -> list[list[Any]]:
    """The parts ``ids[k]`` of each ``datasets[k]`` (a :class:`Split`'s) as JSON.

    Episode positions of a dataset, or ``[episode, start, stop]`` step ranges of the episodes
    of the dataset an :class:`~bc_gym.datasets.views.EpisodeBlocks` view cuts.
    """
    out = []
    for ds, idx in zip(datasets, ids, strict=True):
        blocks = getattr(ds, "blocks", None)
        out.append([list(blocks[int(i)]) if blocks is not None else int(i) for i in idx])
    return out


def load_episodes(datasets: Sequence[Any], ids: Sequence[Sequence[int]]) -> Episodes:
    """Read the listed episodes (``ids[k]`` of ``datasets[k]``) into memory."""
    eps = Episodes(datasets[0].action_map, float(datasets[0].fps))
    for ds, idx in zip(datasets, ids, strict=False):
        for i in idx:
            ep = ds[int(i)]
            if len(ep) == 0:
                continue
            eps.frames.append(np.asarray(ep.observations)[: len(ep) + 1])
            eps.actions.append(np.asarray(ep.actions, dtype=np.int64)[: len(ep)])
            eps.times.append(np.asarray(ep.timestamps, dtype=np.float64)[: len(ep) + 1])
    return eps


def nearest(times: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Index of the timestamp nearest to each target (ties: the earlier frame)."""
    i = np.searchsorted(times, targets, side="left").clip(0, len(times) - 1)
    prev = (i - 1).clip(0)
    take_prev = (i > 0) & (np.abs(targets - times[prev]) <= np.abs(times[i] - targets))
    return np.where(take_prev, prev, i)


def window_indices(times: np.ndarray, n: int, spacing_s: float, n_labels: int) -> np.ndarray:
    """``(n_labels, n)`` frame indices: for frame ``j``, the frames nearest ``t_j - kΔ``.

    Oldest first; targets before the first frame are clipped to it (start padding).
    """
    t = times[:n_labels, None] - spacing_s * np.arange(n - 1, -1, -1)[None]  # (J, n)
    t = np.maximum(t, times[0])
    return nearest(times, t.ravel()).reshape(t.shape)


def prev_actions(actions: np.ndarray, n_frames: int, none: int) -> np.ndarray:
    """Action held just before each frame (``none`` for the first): ``(n_frames,)``."""
    out = np.full(n_frames, none, dtype=np.int64)
    out[1 : len(actions) + 1] = actions[: n_frames - 1]
    return out
