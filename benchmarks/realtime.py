"""Real-time control benchmark: the prototype's loop vs ScreenEnv, on the HighwayRacer window.

Starts a private Xvfb and the real HighwayRacer window (empty road), then drives it with a
stand-in policy that sleeps a set inference time (0, 10, 50 ms) in three loops:

(a) prototype: sequential grab, infer, ``pyautogui.press`` with pyautogui's default 0.1 s PAUSE;
(b) ScreenEnv, synchronous capture (+ TimedFrameStack reading the control ticks' frames);
(c) ScreenEnv + async capture (ring buffer at the capture rate) + TimedFrameStack.

Reported: achieved control Hz; observation age p50/p95 when the step's keys go out (policy
time included); stack spacing error p95 against the requested spacing; our process's CPU use;
and, once, key-to-pixel latency (press a key, time until the window's pixels change).

    .venv/bin/python benchmarks/realtime.py            # ~1 min; writes results/realtime.md
    .venv/bin/python benchmarks/realtime.py --seconds 1 --infer-ms 10   # smoke test
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import gymnasium as gym  # noqa: E402

import bc_gym  # noqa: E402, F401
from bc_gym.screen.capture import ScreenCapture  # noqa: E402
from bc_gym.screen.keys import KeyController, _pyautogui  # noqa: E402
from bc_gym.screen.windows import find_window, wait_for_window  # noqa: E402
from bc_gym.screen.xvfb import Xvfb  # noqa: E402
from bc_gym.wrappers import TimedFrameStack  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "realtime.md"
TITLE = "bc-gym HighwayRacer"

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
p.add_argument("--seconds", type=float, default=5.0, help="seconds per (loop, inference) run")
p.add_argument("--infer-ms", type=float, nargs="+", default=[0.0, 10.0, 50.0])
p.add_argument("--fps", type=float, default=30.0, help="control rate and capture rate")
p.add_argument("--stack", type=int, default=4, help="frames per TimedFrameStack")
p.add_argument("--spacing", type=float, default=0.1, help="stack spacing, s")
p.add_argument("--obs-size", type=int, default=64)
p.add_argument("--out", type=Path, default=RESULTS)
args = p.parse_args()


def policy(step: int, infer_s: float) -> str:
    """The stand-in policy: think for ``infer_s``, then accelerate or brake (stays on road)."""
    if infer_s > 0:
        time.sleep(infer_s)
    return "up" if step % 20 < 10 else "down"


def cpu() -> float:
    t = os.times()
    return t.user + t.system


def run_prototype(infer_s: float) -> dict:
    """(a): grab, convert naively, infer, pyautogui.press with the default pause."""
    pag = _pyautogui()
    pag.PAUSE = 0.1  # pyautogui's default, as the prototype ran
    import cv2

    cap = ScreenCapture(title=TITLE, size=None)
    ages, ticks = [], []
    c0, t_end = cpu(), time.monotonic() + args.seconds
    step = 0
    try:
        while time.monotonic() < t_end:
            raw = cap.grab_bgra()
            t_obs = time.monotonic()
            frame = np.ascontiguousarray(raw[..., [2, 1, 0]])
            cv2.resize(frame, (args.obs_size, args.obs_size), interpolation=cv2.INTER_AREA)
            key = policy(step, infer_s)
            ages.append(time.monotonic() - t_obs)
            pag.press(key)  # keyDown + keyUp, then pyautogui's 0.1 s PAUSE
            ticks.append(time.monotonic())
            step += 1
    finally:
        pag.PAUSE = 0
        cap.close()
    wall = ticks[-1] - ticks[0] if len(ticks) > 1 else float("nan")
    return {
        "hz": (len(ticks) - 1) / wall,
        "age": ages,
        "spacing_err": [],
        "cpu": (cpu() - c0) / args.seconds,
    }


def run_env(infer_s: float, async_capture: bool) -> dict:
    """(b)/(c): ScreenEnv (+ async capture) + TimedFrameStack."""
    env = gym.make(
        "bc_gym/Screen-v0",
        game="highway",
        obs_size=(args.obs_size, args.obs_size),
        fps=args.fps,
        capture_fps=args.fps if async_capture else None,
        warn_late=False,
    )
    env = TimedFrameStack(env, args.stack, args.spacing)
    am = env.unwrapped.action_map
    ages, errs = [], []
    try:
        _, info = env.reset()
        t_reset = info["t"]
        span = (args.stack - 1) * args.spacing
        c0, t0 = cpu(), time.monotonic()
        step = 0
        while time.monotonic() - t0 < args.seconds:
            action = am.index(policy(step, infer_s))
            _, _, terminated, truncated, info = env.step(action)
            ages.append(info["act_delay"])
            if info["t"] - t_reset >= span + args.spacing / 2:  # no reset padding in the stack
                errs.extend(np.abs(np.diff(info["stack_times"]) - args.spacing))
            step += 1
            if terminated or truncated:
                _, info = env.reset()
                t_reset = info["t"]
        wall = time.monotonic() - t0
        used = cpu() - c0
    finally:
        env.close()
    return {"hz": step / wall, "age": ages, "spacing_err": errs, "cpu": used / wall}


def key_to_pixel_latency(n: int = 15) -> list[float]:
    """Hold left / release, timing the first grab whose pixels around the car change."""
    cap = ScreenCapture(title=TITLE, size=None)
    win = find_window(TITLE)
    lat = []
    with KeyController(["left", "right"], window=win) as keys:
        for i in range(n):
            key = "left" if i % 2 == 0 else "right"
            time.sleep(0.15)
            # The player's car sits at native rows 72-88; only it moves sideways there.
            before = cap.grab_bgra()[72 * 5 : 88 * 5].copy()
            t0 = time.monotonic()
            keys.hold({key})
            while time.monotonic() - t0 < 0.5:
                now = cap.grab_bgra()[72 * 5 : 88 * 5]
                if np.any(now != before):
                    lat.append(time.monotonic() - t0)
                    break
            keys.hold(set())
    cap.close()
    return lat


def pct(values: list[float], q: float, scale: float = 1000.0) -> str:
    return f"{np.percentile(values, q) * scale:.1f}" if len(values) else "n/a"


def main() -> None:
    rows = []
    with Xvfb(1280, 800):
        code = (
            "from bc_gym.games.highway.game import GameConfig\n"
            "from bc_gym.games.highway.window import run_window\n"
            f"run_window(fps={args.fps}, config=GameConfig(traffic_density=0))"
        )
        game = subprocess.Popen([sys.executable, "-c", code])
        try:
            wait_for_window(TITLE, 20, game)
            time.sleep(0.3)
            loops = [
                ("(a) prototype: grab, infer, press (PAUSE=0.1)", run_prototype),
                ("(b) ScreenEnv, sync capture", lambda s: run_env(s, False)),
                ("(c) ScreenEnv + async capture + TimedFrameStack", lambda s: run_env(s, True)),
            ]
            for name, fn in loops:
                for ms in args.infer_ms:
                    r = fn(ms / 1000)
                    rows.append((name, ms, r))
                    print(
                        f"{name:50s} {ms:4.0f} ms  {r['hz']:6.1f} Hz  age p50 {pct(r['age'], 50)}"
                        f" p95 {pct(r['age'], 95)} ms  spacing err p95 "
                        f"{pct(r['spacing_err'], 95)} ms  cpu {r['cpu'] * 100:.0f}%",
                        flush=True,
                    )
            latency = key_to_pixel_latency()
        finally:
            game.terminate()
            game.wait(5)

    period_ms = 1000 / args.fps
    lines = [
        "# Real-time control benchmark",
        "",
        f"`{shlex.join(['python', 'benchmarks/realtime.py', *sys.argv[1:]])}` on "
        f"{platform.node() or 'this machine'}, {os.cpu_count()} CPUs, Xvfb 1280x800, "
        f"HighwayRacer window 480x480 (empty road), control and capture at {args.fps:g} Hz, "
        f"observations {args.obs_size}x{args.obs_size} RGB, TimedFrameStack n={args.stack}, "
        f"spacing {args.spacing:g} s; {args.seconds:g} s per run.",
        "",
        "Observation age: seconds from the frame's capture to the moment the step's keys go "
        "out (policy time included). Spacing error: |gap between stacked frames - spacing|. "
        "CPU: this process (capture, conversion, keys, policy sleep excluded), % of one core.",
        "",
        "| loop | inference ms | control Hz | obs age p50 ms | obs age p95 ms "
        "| spacing err p95 ms | CPU % |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, ms, r in rows:
        lines.append(
            f"| {name} | {ms:g} | {r['hz']:.1f} | {pct(r['age'], 50)} | {pct(r['age'], 95)} "
            f"| {pct(r['spacing_err'], 95)} | {r['cpu'] * 100:.0f} |"
        )
    lines += [
        "",
        f"Key-to-pixel latency (pyautogui keyDown -> pygame window pixels change, {len(latency)} "
        f"probes): p50 {pct(latency, 50)} ms, p95 {pct(latency, 95)} ms. It includes the "
        f"game's own frame period ({period_ms:.1f} ms at {args.fps:g} fps): the window only "
        "redraws once per game tick.",
        "",
        f"Goals (10 ms policy, loop c): >= 30 Hz, obs age p95 <= 40 ms, spacing error p95 <= "
        f"half a capture period ({period_ms / 2:.1f} ms).",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
