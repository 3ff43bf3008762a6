"""A scripted player: sends real X key events (XTest) on a schedule and logs when it sent each.

Run as a process beside the recorder::

    python tests/record/bot.py --seed 42 --seconds 4 --keys left,right,up,down,a --log bot.json

The log is JSON: ``{"events": [[t_before, t_after, key, down], ...]}`` with
``time.monotonic()`` seconds around each ``fake_input`` + ``sync`` (so the X server had the event
between the two). ``--focus WID`` gives the window the keyboard focus first (so the game reacts);
``--script`` replays a fixed list ``[[delay_s, key, down], ...]`` instead of a random one.
Every key still down at the end is released.
"""

from __future__ import annotations

import argparse
import json
import random
import time

from Xlib import XK, X
from Xlib import display as xdisplay
from Xlib.ext import xtest

KEYSYMS = {"left": "Left", "right": "Right", "up": "Up", "down": "Down", "space": "space"}


def random_script(seed: int, seconds: float, keys: list[str]) -> list[tuple[float, str, bool]]:
    """Toggle a random key every 40-250 ms: a changing held set, diagonals included."""
    rng = random.Random(seed)
    script, held, t = [], set(), 0.3
    while t < seconds:
        key = rng.choice(keys)
        down = key not in held
        (held.add if down else held.discard)(key)
        script.append((t, key, down))
        t += rng.uniform(0.04, 0.25)
    script += [(t, k, False) for k in sorted(held)]
    return script


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--keys", default="left,right,up,down")
    p.add_argument("--script", default=None, help="JSON [[time_s, key, down], ...]")
    p.add_argument("--start-at", type=float, default=None, help="time.monotonic() of t=0")
    p.add_argument("--focus", type=lambda s: int(s, 0), default=None, help="window id")
    p.add_argument("--log", required=True)
    args = p.parse_args()
    script = (
        [tuple(e) for e in json.loads(args.script)]
        if args.script
        else random_script(args.seed, args.seconds, args.keys.split(","))
    )
    d = xdisplay.Display()
    if args.focus is not None:
        d.create_resource_object("window", args.focus).set_input_focus(
            X.RevertToParent, X.CurrentTime
        )
        d.sync()
    codes = {}
    for _, key, _ in script:
        name = key.upper() if key[0] == "f" and len(key) > 1 else key  # f9 -> F9
        sym = XK.string_to_keysym(KEYSYMS.get(key, name))
        codes[key] = d.keysym_to_keycode(sym)
    t0 = args.start_at if args.start_at is not None else time.monotonic()
    log = []
    held = set()
    try:
        for t, key, down in script:
            delay = t0 + t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            before = time.monotonic()
            xtest.fake_input(d, X.KeyPress if down else X.KeyRelease, codes[key])
            d.sync()
            log.append((before, time.monotonic(), key, bool(down)))
            (held.add if down else held.discard)(key)
    finally:
        for key in held:
            xtest.fake_input(d, X.KeyRelease, codes[key])
        d.sync()
        with open(args.log, "w") as f:
            json.dump({"events": log}, f)


if __name__ == "__main__":
    main()
