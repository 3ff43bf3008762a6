"""The recorder's action vocabulary for a list of recorded keys, and its hotkeys.

The rule (also in ``docs/recording.md``):

* the four arrows (``left, right, up, down``, any order) give
  :data:`~bc_gym.actions.HIGHWAY_ACTIONS`: noop, the 4 arrows and the 4 diagonals; left+right
  and up+down cancel out;
* any other key list gives noop, one action per key and one per pair of keys
  (``1 + K + K*(K-1)/2`` actions), no opposites.

Whatever the map, ``held_keys`` stores the raw held state of every recorded key, so a dataset
can be relabelled later with another map.

Example:
    >>> action_map_for_keys(["up", "down", "left", "right"]).names[:3]
    ('noop', 'left', 'right')
    >>> action_map_for_keys(["a", "d", "space"]).names
    ('noop', 'a', 'd', 'space', 'a+d', 'a+space', 'd+space')
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from bc_gym.actions import HIGHWAY_ACTIONS, HIGHWAY_KEYS, NOOP, ActionMap


def check_keys(keys: Sequence[str]) -> tuple[str, ...]:
    """Normalise a key list (pyautogui/pynput names) and reject empty or repeated names.

    Raises:
        ValueError: naming the bad value.
    """
    out = tuple(str(k).strip().lower() if len(str(k).strip()) > 1 else str(k) for k in keys)
    if not out or any(not k for k in out):
        raise ValueError(
            f"keys must be a non-empty list of key names such as left,right,up,down, "
            f"actual value: {list(keys)!r}"
        )
    dup = sorted({k for k in out if out.count(k) > 1})
    if dup:
        raise ValueError(f"keys must be unique, {dup} repeated in {list(keys)!r}")
    return out


def action_map_for_keys(keys: Sequence[str]) -> ActionMap:
    """The recorder's action map for ``keys`` (see the module docstring for the rule)."""
    keys = check_keys(keys)
    if set(keys) == set(HIGHWAY_KEYS) and len(keys) == len(HIGHWAY_KEYS):
        return HIGHWAY_ACTIONS
    names = [NOOP, *keys, *("+".join(p) for p in itertools.combinations(keys, 2))]
    return ActionMap.from_names(names, keys=keys)


@dataclass(frozen=True)
class Hotkeys:
    """Recorder hotkeys (pynput/pyautogui names); they are never recorded as game keys.

    Args:
        toggle: start recording / pause (pausing ends the current episode).
        cut: end the current episode and start a new one at the next tick.
        stop: end the episode, finish the file and exit.
    """

    toggle: str = "f8"
    cut: str = "f9"
    stop: str = "f10"

    def __post_init__(self) -> None:
        names = (self.toggle, self.cut, self.stop)
        if len(set(names)) != 3:
            raise ValueError(f"hotkeys must be three different keys, actual value: {names!r}")

    @property
    def names(self) -> tuple[str, str, str]:
        """``(toggle, cut, stop)``."""
        return (self.toggle, self.cut, self.stop)

    def check_disjoint(self, keys: Sequence[str]) -> None:
        """Raise ``ValueError`` when a recorded key is also a hotkey."""
        clash = [k for k in keys if k in self.names]
        if clash:
            raise ValueError(
                f"keys {clash} are recorder hotkeys (toggle={self.toggle}, cut={self.cut}, "
                f"stop={self.stop}); record other keys or choose other hotkeys (--hotkeys)"
            )
