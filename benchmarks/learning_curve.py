"""Learning curve: % of the expert against recorded episodes (pixel agents and exact state).

For each episode count (``--episodes``, default 10,20,50,100) every agent (``--agents``,
default cnn-bc and latent-gpt) and the exact-state MLP (``benchmarks/bc_ceiling.py``) are
trained and driven with the agent protocol of ``benchmarks/agents.py``
(``benchmarks/protocol.py``): each training seed (``--train-seeds``, default 0,1,2) trains for a
fixed number of updates and drives the same ``--eval-seeds`` unseen seeds (default 50). A point
is the mean % of the expert over training seeds; its error bar spans their min-max. The x axis
also gives the minutes of play recorded (the recipe's steps / fps: episodes x mean episode
length). Each (agent, episodes, seed) result is cached as JSON in ``--out``: run the command
again to resume an interrupted run. Writes ``benchmarks/results/learning_curve.md`` and
``docs/img/learning_curve.png``.

    .venv/bin/python -m benchmarks.learning_curve                  # the full curve
    .venv/bin/python -m benchmarks.learning_curve --tiny --out /tmp/lc --no-write   # smoke test
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for `benchmarks.*` when run as a file

from benchmarks import protocol as P  # noqa: E402
from benchmarks.machine import write_result  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    """The options (the protocol's, then the curve's)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--episodes", default=None,
                   help="recipe episode counts, comma-separated (default 10,20,50,100; --tiny "
                   "2,3)")  # fmt: skip
    p.add_argument("--agents", default="cnn-bc,latent-gpt", help="pixel agents to train")
    P.add_options(p)
    p.add_argument("--out", default=str(ROOT / "runs" / "learning_curve"),
                   help="run folders and cached results (resume: run again with the same "
                   "folder)")  # fmt: skip
    p.add_argument(
        "--name", default="learning_curve", help="results file name (benchmarks/results/NAME.md)"
    )
    p.add_argument(
        "--png",
        default=str(ROOT / "docs" / "img" / "learning_curve.png"),
        help="the plot (--tiny: OUT/learning_curve.png)",
    )
    p.add_argument(
        "--no-write",
        action="store_true",
        help="no results file (the table is printed, the plot goes to OUT)",
    )
    return p


def plot(
    path: Path,
    counts: list[int],
    minutes: list[float],
    curves: dict[str, list[dict[str, Any]]],
    title: str,
) -> None:
    """Mean % of the expert per episode count, error bars min-max over training seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for k, (label, points) in enumerate(curves.items()):
        mean = np.array([p["pct_mean"] for p in points])
        low = mean - np.array([p["pct_min"] for p in points])
        high = np.array([p["pct_max"] for p in points]) - mean
        shift = 1 + 0.03 * (k - (len(curves) - 1) / 2)  # keep the error bars apart
        ax.errorbar(np.array(counts) * shift, mean, yerr=[low, high], marker="o", capsize=4,
                    label=label)  # fmt: skip
    ax.axhline(100, color="grey", linestyle="--", linewidth=1, label="expert")
    ax.set_xscale("log")
    ticks = [f"{n}\n{m:.1f} min" if m < 10 else f"{n}\n{m:.0f} min"
             for n, m in zip(counts, minutes, strict=True)]  # fmt: skip
    ax.set_xticks(counts, ticks)
    ax.minorticks_off()
    ax.set_xlabel("recorded episodes (minutes of play)")
    ax.set_ylabel("% of the expert's return")
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    """Train and drive every point (cached ones are read back); write the table and plot."""
    parser = build_parser()
    args = parser.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    command = shlex.join(["python", "-m", "benchmarks.learning_curve", *given])
    import bc_gym  # noqa: F401  (registers the env)
    from bc_gym.agents import agent_names
    from bc_gym.datasets import load_dataset

    names = [n.strip() for n in args.agents.split(",") if n.strip()]
    unknown = [n for n in names if n not in agent_names()]
    if unknown:
        parser.error(f"--agents: unknown agents {unknown}; expected some of {agent_names()}")
    text = args.episodes or ("2,3" if args.tiny else "10,20,50,100")
    try:
        counts = sorted({int(n) for n in text.split(",") if n.strip()})
        seeds = P.seeds_option(args)
        setups = {n: P.setup_from_options(args, n) for n in counts}
        configs, train = P.agent_options(args, names, setups[counts[0]])
    except ValueError as exc:
        parser.error(str(exc))
    variant = P.variant_label(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    minutes = []
    for n in counts:  # build every dataset here, before any job reads it
        t = time.perf_counter()
        ds = load_dataset(setups[n].dataset())
        minutes.append(ds.total_steps / ds.fps / 60)
        print(f"{n} episodes: {ds.total_steps} steps = {minutes[-1]:.1f} min of play "
              f"({time.perf_counter() - t:.0f} s)", flush=True)  # fmt: skip
    expert = P.expert_result(setups[counts[0]], out)
    print(expert.row(), flush=True)
    everyone = [*names, P.REFERENCE]
    jobs = []
    for n in sorted(counts, reverse=True):  # the longest jobs first
        jobs += P.make_jobs(everyone, seeds, setups[n], out, configs, train, watch_first=False,
                            folder=lambda a, s, n=n: f"{a}-n{n}-seed{s}")  # fmt: skip
    results = P.run_jobs(jobs, args.jobs)
    by_point: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for job, rec in zip(jobs, results, strict=True):
        by_point.setdefault((job.agent, job.setup.episodes), []).append(rec)

    ref = configs[P.REFERENCE]
    labels = {a: a for a in names}
    labels[P.REFERENCE] = "exact-state MLP" + (" (+ mirrored)" if ref.mirrored else "")
    curves: dict[str, list[dict[str, Any]]] = {}
    for agent in everyone:
        recs = [by_point[(agent, n)] for n in counts]
        if any("skipped" in r for rs in recs for r in rs):
            print(f"skip {agent}: not run here")
            continue
        curves[labels[agent]] = [P.agent_summary(rs, expert.mean) for rs in recs]

    head = "| episodes | minutes of play | " + " | ".join(curves) + " |"
    lines = [head, "|---|---|" + "---|" * len(curves)]
    for k, n in enumerate(counts):
        cells = []
        for points in curves.values():
            p = points[k]
            std = "" if np.isnan(p["pct_std"]) else f", std {p['pct_std']:.0f}"
            cells.append(f"{p['pct_mean']:.0f}% ({p['pct_min']:.0f}-{p['pct_max']:.0f}{std})")
        lines.append(f"| {n} | {minutes[k]:.1f} | " + " | ".join(cells) + " |")
    setup = setups[counts[0]]
    png = Path(args.png) if not (args.tiny or args.no_write) else out / "learning_curve.png"
    title = (f"HighwayRacer: % of the expert vs recorded episodes ({len(seeds)} training seeds, "
             f"{setup.eval_seeds} unseen seeds)")  # fmt: skip
    plot(png, counts, minutes, curves, title)
    heading = "## Learning curve: % of the expert against recorded episodes"
    md = f"""{heading}{f": {variant}" if variant else ""}

Each cell: mean % of the expert's return over training seeds {", ".join(map(str, seeds))}
(min-max and sample std over those seeds in brackets); each training seed drives the same
{setup.eval_seeds} unseen seeds ({setup.seeds[0]}..{setup.seeds[-1]}, max {setup.max_steps}
steps; expert: {expert.mean:.1f} ± {expert.ci95:.1f}). Training data: the first N episodes of
`highway_expert_dataset(noise={setup.noise})` ({setup.obs_size}x{setup.obs_size} frames, 20%
held out for validation, mirror `{setup.mirror!r}`); minutes of play = recorded steps / fps.
Pixel agents: {args.epochs} epochs x {args.steps_per_epoch} updates unless `--set` says
otherwise (the same for every N). The exact-state MLP (`benchmarks/bc_ceiling.py`,
{ref.updates:,} updates) reads the game state the expert reads. Variant: {variant or "defaults"}.
Plot: `{png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}`.

{chr(10).join(lines)}
"""
    summary = {"command": command, "variant": variant, "episodes": counts, "minutes": minutes,
               "train_seeds": seeds, "expert_mean": expert.mean, "curves": curves}  # fmt: skip
    (out / "learning_curve.json").write_text(json.dumps(summary, indent=1))
    print(md)
    if not args.no_write:
        path = write_result(args.name if not args.tiny else f"{args.name}-tiny", md, command)
        print(f"wrote {path} and {png}")
    else:
        print(f"plot: {png}")


if __name__ == "__main__":
    main()
