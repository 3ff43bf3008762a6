"""Runner: cloning an expert that acts early (the browser autopilot's ``lead``).

The browser autopilot reads the screen, so by default it acts ``lead`` steps early to make up for
its screen and key latency. Recorded, such an expert teaches its early timing to the clone.
This benchmark measures how much that costs, headless so that nothing else changes: for each
lead, ``runner_expert_dataset(lead=LEAD, labels="executed")`` records 48 games of the expert at
the page's native 150x600 frame (keys as pressed, noise included, as the recorder sees them),
cnn-bc trains on it for the Runner demo's 3,000 updates (frames resized to 48x96 as ``bc-gym
train`` does by default), once per training seed, and plays ``--eval-seeds`` unseen seeds with
its keys delayed by 0, 1 and 2 steps (live, a key arrives about one step after its frame).
The expert with each lead plays the same seeds with the same delays.

    .venv/bin/python -m benchmarks.runner_lead         # writes benchmarks/results/runner_lead.md
    .venv/bin/python -m benchmarks.runner_lead --tiny --no-write   # smoke test
    .venv/bin/python -m benchmarks.runner_lead --leads 0 --set motion=diff --name runner_diff

``--set KEY=VALUE`` (repeatable) gives cnn-bc options as ``bc-gym train --set`` does; the runs of
each set of options keep their own folders and the table names them.

Top to bottom on purpose (CleanRL style): one table from one script. Each (lead, training
seed) job keeps its result in ``--out``; run again to resume.
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for `benchmarks.*` when run as a file

from benchmarks.machine import write_result  # noqa: E402

EVAL_SEED0 = 30_000  # unseen: the recipe plays seeds seed * 100_003 + i
NATIVE = (150, 600)  # the page's canvas: what the recorder grabs


def build_parser() -> argparse.ArgumentParser:
    """The options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--leads", default="0,2", help="expert leads in steps, comma-separated")
    p.add_argument("--train-seeds", default="0,1,2", help="training seeds, comma-separated")
    p.add_argument("--eval-seeds", type=int, default=50, help="unseen seeds to play")
    p.add_argument("--episodes", type=int, default=48, help="recorded games per lead")
    p.add_argument("--noise", type=float, default=0.02, help="expert noise while recording")
    p.add_argument("--updates", type=int, default=3000, help="cnn-bc updates (the demo's)")
    p.add_argument("--delays", default="0,1,2", help="key delays in steps, comma-separated")
    p.add_argument("--max-steps", type=int, default=1000, help="steps per game (33 s)")
    p.add_argument("--jobs", type=int, default=2, help="trainings at a time (1 thread each)")
    p.add_argument("--out", default=str(ROOT / "runs" / "runner_lead"), help="runs and results")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="sets",
                   help="a cnn-bc option (as bc-gym train --set), repeatable")  # fmt: skip
    p.add_argument("--name", default="runner_lead", help="results file: benchmarks/results/NAME.md")
    p.add_argument("--tiny", action="store_true", help="tiny sizes: a smoke test")
    p.add_argument("--no-write", action="store_true", help="print only")
    return p


def ints(text: str) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]``."""
    return [int(x) for x in text.split(",") if x.strip()]


def options_tag(sets: list[str]) -> str:
    """A run-folder suffix naming the ``--set`` options (empty for the defaults)."""
    text = "_".join(sorted(sets)).replace("=", "-")
    return "-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in text) if sets else ""


def delayed(policy: Any, delay: int) -> tuple[Any, Any]:
    """``policy`` whose actions come out ``delay`` steps late (noop before), and its reset."""
    queue: collections.deque[int] = collections.deque()

    def reset() -> None:
        queue.clear()
        queue.extend([0] * delay)  # 0: noop

    def act(env: Any, obs: Any) -> int:
        queue.append(int(policy(env, obs)))
        return queue.popleft()

    return act, reset


def play(policy: Any, reset: Any, env: Any, args: argparse.Namespace, delay: int) -> float:
    """Mean return over the evaluation seeds with keys ``delay`` steps late."""
    from bc_gym.evaluation import run_episodes

    act, clear = delayed(policy, delay)

    def on_reset() -> None:
        clear()
        reset()

    seeds = range(EVAL_SEED0, EVAL_SEED0 + args.eval_seeds)
    return run_episodes(act, env, seeds, reset=on_reset, max_steps=args.max_steps).mean


def make_env(agent: Any | None, max_steps: int) -> Any:
    """Headless Runner at the native size; an agent's frames stacked, then resized."""
    import gymnasium as gym

    import bc_gym  # noqa: F401  (registers the envs)
    from bc_gym.wrappers import ResizeFrames, TimedFrameStack

    env = gym.make("bc_gym/Runner-v0", max_steps=max_steps, obs_size=NATIVE)
    if agent is None:
        return env
    if agent.n_stack > 1:
        env = TimedFrameStack(env, agent.n_stack, agent.spacing_s)
    return ResizeFrames(env, agent.obs_shape[:2])


def job(lead: float, seed: int, data: str, args: argparse.Namespace) -> dict[str, Any]:
    """Train cnn-bc on ``data`` with ``seed`` and play it at every delay (cached in --out)."""
    import torch

    from bc_gym.agents import agent_class, load_agent
    from bc_gym.agents.training import TrainConfig
    from bc_gym.commands.agents import agent_config
    from bc_gym.evaluation import agent_policy

    torch.set_num_threads(1)
    run = Path(args.out) / f"lead{lead:g}-seed{seed}{options_tag(args.sets)}"
    key = {"lead": lead, "seed": seed, "data": Path(data).name, "updates": args.updates,
           "eval_seeds": args.eval_seeds, "delays": args.delays,
           "max_steps": args.max_steps}  # fmt: skip
    if args.sets:  # (runs of the defaults keep the key they had before --set existed)
        key["set"] = sorted(args.sets)
    cache = run / "result.json"
    if cache.is_file() and json.loads(cache.read_text()).get("key") == key:
        return json.loads(cache.read_text())
    t0 = time.perf_counter()
    epochs = min(10, args.updates)
    cfg = TrainConfig(epochs=epochs, steps_per_epoch=max(1, args.updates // epochs), seed=seed,
                      num_threads=1, progress=False)  # fmt: skip
    agent_class("cnn-bc").train([data], run, cfg, agent_config("cnn-bc", args.sets))
    train_s = time.perf_counter() - t0
    agent = load_agent(run)
    env = make_env(agent, args.max_steps)
    returns = {d: play(agent_policy(agent), agent.reset, env, args, d) for d in ints(args.delays)}
    env.close()
    rec = {"key": key, "returns": {str(d): r for d, r in returns.items()}, "train_s": train_s}
    cache.write_text(json.dumps(rec, indent=1))
    print(f"  lead {lead:g} seed {seed}: trained in {train_s:.0f} s, returns "
          f"{ {d: round(r, 1) for d, r in returns.items()} }", flush=True)  # fmt: skip
    return rec


def main(argv: list[str] | None = None) -> None:
    """Record, train and play every (lead, training seed); write the table."""
    parser = build_parser()
    args = parser.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    command = shlex.join(["python", "-m", "benchmarks.runner_lead", *given])
    if args.tiny:
        args.train_seeds, args.eval_seeds, args.episodes, args.updates = "0", 2, 2, 20
        args.max_steps = 120
    from bc_gym.commands.agents import agent_config
    from bc_gym.datasets.recipes import runner_expert_dataset
    from bc_gym.errors import ConfigError
    from bc_gym.games.runner import ScriptedExpert

    try:
        agent_config("cnn-bc", args.sets)  # a typo fails here, not in every job
    except ConfigError as exc:
        parser.error(str(exc))
    leads = [float(x) for x in args.leads.split(",") if x.strip()]
    seeds, delays = ints(args.train_seeds), ints(args.delays)
    if not leads or not seeds or not delays or min(delays) < 0 or min(leads) < 0:
        parser.error("--leads, --train-seeds and --delays need values >= 0")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    data = {}
    for lead in leads:  # built once here, before any job reads them
        data[lead] = str(runner_expert_dataset(
            n_episodes=args.episodes, noise=args.noise, seed=0, obs_size=NATIVE,
            max_steps=args.max_steps, labels="executed", lead=lead,
        ))  # fmt: skip
    env = make_env(None, args.max_steps)
    expert = {}
    for lead in leads:
        pilot = ScriptedExpert(lead=lead)
        expert[lead] = {
            d: play(lambda e, o, p=pilot: p(e), pilot.reset, env, args, d)
            for d in sorted({0, *delays})
        }  # 0: the reference
        print(f"expert lead {lead:g}: {expert[lead]}", flush=True)
    env.close()
    ref = expert[min(leads)][0]  # the on-time expert's return with no delay: 100%

    # spawn: no fork of a process that has torch's threads running
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {(lead, s): pool.submit(job, lead, s, data[lead], args)
                   for lead in leads for s in seeds}  # fmt: skip
        results = {k: f.result() for k, f in futures.items()}

    def pct(x: float) -> str:
        return f"{100 * x / ref:.0f}%"

    trained = "cnn-bc trained on it" + (f" ({', '.join(args.sets)})" if args.sets else "")
    head = "| expert lead (steps) | policy | " + " | ".join(
        f"keys {d} step(s) late" for d in delays) + " |"  # fmt: skip
    lines = [head, "|---|---|" + "---|" * len(delays)]
    for lead in leads:
        lines.append(f"| {lead:g} | the expert | "
                     + " | ".join(pct(expert[lead][d]) for d in delays) + " |")  # fmt: skip
        cells = []
        for d in delays:
            per = [results[(lead, s)]["returns"][str(d)] for s in seeds]
            cells.append(f"**{pct(float(np.mean(per)))}** ("
                         + " · ".join(pct(r) for r in per) + ")")  # fmt: skip
        lines.append(f"| {lead:g} | {trained} | " + " | ".join(cells) + " |")
    options = " with " + ", ".join(f"`{x}`" for x in args.sets) if args.sets else ""
    md = f"""## Runner: cloning an expert that acts early

Headless `bc_gym/Runner-v0`. Per expert lead: {args.episodes} recorded games
(`runner_expert_dataset(lead=LEAD, noise={args.noise}, labels="executed")`,
{NATIVE[0]}x{NATIVE[1]} frames), cnn-bc{options} trained for {args.updates:,} updates per
training seed ({", ".join(map(str, seeds))}), each playing {args.eval_seeds} unseen seeds
({EVAL_SEED0}..) of at most {args.max_steps} steps with its keys
{" / ".join(map(str, delays))} step(s) late. Cells: % of the
on-time expert's mean return with no delay ({ref:.1f}); cnn-bc: mean over training seeds in
bold, then each seed.

{chr(10).join(lines)}
"""
    print(md)
    if not args.no_write:
        print(f"wrote {write_result(args.name, md, command)}")


if __name__ == "__main__":
    main()
