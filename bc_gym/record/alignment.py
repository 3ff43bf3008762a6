"""Check a recording's key labels against a log of the key events that were really sent.

Used by the recorder's tests and benchmark: a bot sends X key events and logs the
``time.monotonic()`` at which each reached the X server; the recording's timestamps are on the
same clock (plus ``metadata["recording"]["clock_origin"]``).

Example:
    >>> ts = np.arange(6) / 30  # frames at 30 fps
    >>> held = np.array([[0], [0], [1], [1], [1], [0]], bool)
    >>> label_errors(ts, held, ["left"], [(0.05, "left", True), (0.16, "left", False)])
    [0, 0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def align(
    timestamps: np.ndarray,
    held: np.ndarray,
    keys: Sequence[str],
    events: Sequence[tuple[float, str, bool]],
) -> list[tuple[float, str, int, float]]:
    """For each sent event: ``(time, key, error_ticks, margin_s)``.

    ``error_ticks`` = (first frame labelled with the event) - (first frame grabbed after it):
    0 means the first frame grabbed after the event carries the new key state, 1 one frame
    later, 99 never. ``margin_s`` = capture time of the first frame after the event minus the
    event's time. Events before the first or after the last frame are skipped.

    Args:
        timestamps: ``(N,)`` capture times of the labelled frames, ascending.
        held: ``(N, K)`` recorded held keys of those frames.
        keys: the ``K`` column names of ``held``.
        events: ``(time, key, down)`` as sent, on the timestamps' clock; keys outside
            ``keys`` are ignored.
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    held = np.asarray(held, dtype=bool)
    out: list[tuple[float, str, int, float]] = []
    for col, key in enumerate(keys):
        mine = [(float(t), bool(d)) for t, k, d in events if k == key]
        for n, (t, down) in enumerate(mine):
            j = int(np.searchsorted(ts, t))  # first frame grabbed after the event
            end = int(np.searchsorted(ts, mine[n + 1][0])) if n + 1 < len(mine) else len(ts)
            if j == 0 or j >= len(ts) or end <= j:
                continue
            first = None
            for i in range(max(j - 2, 1), min(end + 1, len(ts))):
                if held[i, col] == down and held[i - 1, col] != down:
                    first = i
                    break
            if first is None and held[j, col] == down:
                first = j  # the state was already shown (the event was a no-op)
            err = first - j if first is not None else 99
            out.append((t, key, err, float(ts[j] - t)))
    return out


def label_errors(
    timestamps: np.ndarray,
    held: np.ndarray,
    keys: Sequence[str],
    events: Sequence[tuple[float, str, bool]],
) -> list[int]:
    """The ``error_ticks`` of :func:`align` for each event (0: exact, 1: one frame late)."""
    return [a[2] for a in align(timestamps, held, keys, events)]
