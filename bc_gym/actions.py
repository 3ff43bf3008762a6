"""Named key combinations: the one action vocabulary shared by games, screen env, recorder and data.

An :class:`ActionMap` lists the keys a game uses (``keys``) and the key combinations an agent may
hold (``combos``); action ``i`` of a ``Discrete`` space means "hold exactly ``combos[i]``".

Example:
    >>> from bc_gym.actions import HIGHWAY_ACTIONS
    >>> HIGHWAY_ACTIONS.names[:4]
    ('noop', 'left', 'right', 'up')
    >>> sorted(HIGHWAY_ACTIONS.to_keys(HIGHWAY_ACTIONS.index("up+left")))
    ['left', 'up']
    >>> HIGHWAY_ACTIONS.from_keys({"up", "left"})
    5
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

NOOP = "noop"


def _combo_name(combo: Iterable[str], keys: Sequence[str]) -> str:
    # Names list keys in the order of ``keys`` reversed for the vertical keys first: "up+left".
    ordered = sorted(combo, key=lambda k: (-_VERTICAL.get(k, 0), keys.index(k)))
    return "+".join(ordered) if ordered else NOOP


_VERTICAL = {"up": 1, "down": 1}


@dataclass(frozen=True)
class ActionMap:
    """A ``Discrete`` action space over named key combinations.

    Args:
        keys: key names, as pyautogui/pynput spell them (``"left"``, ``"a"``, ``"space"``...).
        combos: the key set held by each action index; the empty set is "noop".
        opposites: pairs of keys that cancel out when both are held (e.g. left and right).
    """

    keys: tuple[str, ...]
    combos: tuple[frozenset[str], ...]
    opposites: tuple[tuple[str, str], ...] = ()
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if len(set(self.keys)) != len(self.keys):
            raise ValueError(f"keys must be unique, got {self.keys!r}")
        combos = tuple(frozenset(c) for c in self.combos)
        object.__setattr__(self, "combos", combos)
        for c in combos:
            unknown = set(c) - set(self.keys)
            if unknown:
                raise ValueError(
                    f"combo {sorted(c)} uses keys {sorted(unknown)} not in keys={self.keys!r}"
                )
        if len(set(combos)) != len(combos):
            raise ValueError(f"combos must be unique, got {[sorted(c) for c in combos]}")
        object.__setattr__(self, "names", tuple(_combo_name(c, self.keys) for c in combos))

    # Constructors
    @classmethod
    def from_names(
        cls,
        names: Sequence[str],
        keys: Sequence[str] | None = None,
        opposites: Sequence[tuple[str, str]] = (),
    ) -> ActionMap:
        """Build a map from names such as ``["noop", "left", "up+left"]``."""
        combos = [frozenset() if n == NOOP else frozenset(n.split("+")) for n in names]
        if keys is None:
            seen: list[str] = []
            for n in names:
                for k in [] if n == NOOP else n.split("+"):
                    if k not in seen:
                        seen.append(k)
            keys = seen
        return cls(tuple(keys), tuple(combos), tuple(tuple(p) for p in opposites))

    @classmethod
    def single_keys(cls, keys: Sequence[str]) -> ActionMap:
        """Noop plus one action per key (no combinations)."""
        return cls(tuple(keys), (frozenset(),) + tuple(frozenset([k]) for k in keys))

    # Conversions
    @property
    def n(self) -> int:
        """Number of actions."""
        return len(self.combos)

    def index(self, name: str) -> int:
        """Action index of a name such as ``"up+left"`` (key order does not matter)."""
        combo = frozenset() if name == NOOP else frozenset(name.split("+"))
        try:
            return self.combos.index(combo)
        except ValueError:
            raise ValueError(f"no action named {name!r}; expected one of {self.names}") from None

    def to_keys(self, action: int) -> frozenset[str]:
        """Keys held by action ``action``."""
        if not 0 <= int(action) < self.n:
            raise ValueError(f"action {action!r} out of range: expected 0 <= action < {self.n}")
        return self.combos[int(action)]

    def from_keys(self, held: Iterable[str]) -> int:
        """Action index for a set of held keys.

        Keys outside ``keys`` are ignored; opposite keys held together cancel out. If the set is
        not one of the combos, the largest combo contained in it wins (ties: lowest index).
        """
        s = {k for k in held if k in self.keys}
        for a, b in self.opposites:
            if a in s and b in s:
                s -= {a, b}
        s = frozenset(s)
        if s in self.combos:
            return self.combos.index(s)
        best, best_size = 0, -1
        for i, c in enumerate(self.combos):
            if c <= s and len(c) > best_size:
                best, best_size = i, len(c)
        return best

    def to_multibinary(self, action: int) -> np.ndarray:
        """Held-key vector (bool, one column per key) of an action."""
        held = self.to_keys(action)
        return np.array([k in held for k in self.keys], dtype=bool)

    def from_multibinary(self, vec: Sequence[bool] | np.ndarray) -> int:
        """Action index of a held-key vector (see :meth:`from_keys`)."""
        vec = np.asarray(vec, dtype=bool)
        if vec.shape != (len(self.keys),):
            raise ValueError(f"held-key vector has shape {vec.shape}, expected ({len(self.keys)},)")
        return self.from_keys(k for k, v in zip(self.keys, vec, strict=True) if v)

    def labels_from_held(self, held: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`from_multibinary` over a ``(T, n_keys)`` bool array."""
        held = np.asarray(held, dtype=bool)
        cache: dict[bytes, int] = {}
        out = np.empty(len(held), dtype=np.int64)
        for i, row in enumerate(held):
            key = row.tobytes()
            if key not in cache:
                cache[key] = self.from_multibinary(row)
            out[i] = cache[key]
        return out

    def mirror_permutation(self, swap: str) -> np.ndarray:
        """``perm[a]``: action ``a`` with two keys exchanged, for mirrored training frames.

        Args:
            swap: the two keys a horizontal mirror exchanges, ``"left:right"``.

        Example:
            >>> perm = HIGHWAY_ACTIONS.mirror_permutation("left:right")
            >>> HIGHWAY_ACTIONS.names[perm[HIGHWAY_ACTIONS.index("up+left")]]
            'up+right'
        """
        pair = swap.split(":")
        if len(pair) != 2 or not all(k in self.keys for k in pair):
            raise ValueError(f"mirror swap {swap!r}: expected 'KEY:KEY' with keys in {self.keys}")
        a, b = pair
        table = {a: b, b: a}
        perm = np.empty(self.n, dtype=np.int64)
        for i, combo in enumerate(self.combos):
            swapped = frozenset(table.get(k, k) for k in combo)
            if swapped not in self.combos:
                raise ValueError(f"mirror swap {swap!r}: {sorted(swapped)} is not an action")
            perm[i] = self.combos.index(swapped)
        return perm

    # Serialisation
    def to_dict(self) -> dict:
        """JSON-ready description (stored in dataset metadata and checkpoints)."""
        return {
            "keys": list(self.keys),
            "actions": list(self.names),
            "opposites": [list(p) for p in self.opposites],
        }

    @classmethod
    def from_dict(cls, d: dict) -> ActionMap:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls.from_names(d["actions"], keys=d["keys"], opposites=d.get("opposites", ()))
        except (KeyError, TypeError) as exc:
            raise ValueError(
                f"not an action map: expected keys 'keys' and 'actions', got {d!r}"
            ) from exc

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict())


HIGHWAY_KEYS = ("left", "right", "up", "down")
HIGHWAY_ACTIONS = ActionMap.from_names(
    ["noop", "left", "right", "up", "down", "up+left", "up+right", "down+left", "down+right"],
    keys=HIGHWAY_KEYS,
    opposites=(("left", "right"), ("up", "down")),
)
