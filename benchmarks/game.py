"""The built-in games headless: steps per second, and the scripted experts vs random over N seeds.

HighwayRacer first, then Runner (the browser game's headless twin).

.venv/bin/python -m benchmarks.game            # 50 seeds, writes benchmarks/results/game.md
.venv/bin/python -m benchmarks.game --seeds 3  # smoke test
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import bc_gym  # noqa: F401
from bc_gym.evaluation import TABLE_HEADER, evaluate
from bc_gym.games.highway import ScriptedExpert
from bc_gym.games.runner import ScriptedExpert as RunnerExpert
from bc_gym.games.runner.screen import SceneReader
from benchmarks.machine import write_result

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--seeds", type=int, default=50, help="episodes per policy")
parser.add_argument("--steps", type=int, default=20_000, help="steps for the speed test")
parser.add_argument("--no-write", action="store_true", help="print only")
args = parser.parse_args()

try:  # one core, as the issue asks
    import torch

    torch.set_num_threads(1)
except ImportError:
    pass

# 1. Headless speed: random actions, default 64x64 observation, one process.
speed_rows = []
for label, kw in [("64x64 RGB (default)", {}), ("96x96 RGB (native)", {"obs_size": (96, 96)}),
                  ("84x84 gray", {"obs_size": (84, 84), "grayscale": True})]:  # fmt: skip
    env = gym.make("bc_gym/HighwayRacer-v0", **kw)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.integers(9, size=args.steps)
    t0 = time.perf_counter()
    for a in actions:
        _, _, term, trunc, _ = env.step(int(a))
        if term or trunc:
            env.reset()
    speed_rows.append(f"| {label} | {args.steps / (time.perf_counter() - t0):,.0f} |")

# 2. Policies over the same seeds (unseen by anything that trains: 10_000+).
seeds = range(10_000, 10_000 + args.seeds)
env = gym.make("bc_gym/HighwayRacer-v0")
expert = ScriptedExpert(noise=0.0)
noisy = ScriptedExpert(noise=0.1, seed=0)
rng = np.random.default_rng(0)
results = [
    evaluate(lambda e, o: expert(e), env, seeds, "scripted expert (noise 0)"),
    evaluate(lambda e, o: noisy(e), env, seeds, "scripted expert (noise 0.1)"),
    evaluate(lambda e, o: int(rng.integers(9)), env, seeds, "random"),
]

# 3. Runner: the same two measures.
runner_speed_rows = []
for label, kw in [("150x600 RGB (native, default)", {}), ("75x300 RGB", {"obs_size": (75, 300)}),
                  ("64x256 gray", {"obs_size": (64, 256), "grayscale": True})]:  # fmt: skip
    env = gym.make("bc_gym/Runner-v0", **kw)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.integers(3, size=args.steps)
    t0 = time.perf_counter()
    for a in actions:
        _, _, term, trunc, _ = env.step(int(a))
        if term or trunc:
            env.reset()
    runner_speed_rows.append(f"| {label} | {args.steps / (time.perf_counter() - t0):,.0f} |")

env = gym.make("bc_gym/Runner-v0")
r_expert = RunnerExpert()
r_noisy = RunnerExpert(noise=0.02, seed=0)
reader = SceneReader()
rng = np.random.default_rng(0)
runner_results = [
    evaluate(lambda e, o: r_expert(e), env, seeds, "scripted expert (noise 0)"),
    evaluate(lambda e, o: r_noisy(e), env, seeds, "scripted expert (noise 0.02)"),
    evaluate(
        lambda e, o: e.unwrapped.action_map.from_keys(r_expert.keys(reader.read(o))),
        env,
        seeds,
        "scripted expert reading the frame (SceneReader)",
    ),  # fmt: skip
    evaluate(lambda e, o: int(rng.integers(3)), env, seeds, "random"),
]
ratio = runner_results[0].mean / runner_results[-1].mean

md = "\n".join(
    [
        "### HighwayRacer headless steps per second (one process, random actions)",
        "| observation | steps/s |",
        "|---|---|",
        *speed_rows,
        "",
        f"### Policies over {args.seeds} seeds (episodes of at most 1000 steps = 33 s)",
        TABLE_HEADER,
        *[r.row() for r in results],
        "",
        "### Runner headless steps per second (one process, random actions, with rendering)",
        "| observation | steps/s |",
        "|---|---|",
        *runner_speed_rows,
        "",
        f"### Runner policies over {args.seeds} seeds (episodes of at most 1000 steps = 33 s)",
        TABLE_HEADER,
        *[r.row() for r in runner_results],
        "",
        f"The expert's mean return is {ratio:.1f}x random's. The frame-reading row finds the "
        "runner, the obstacles and the score by colour, as `bc-gym game runner --autopilot` "
        "does on the browser page.",
    ]
)
print(md)
if not args.no_write:
    print("wrote", write_result("game", md, "python -m benchmarks.game"))
