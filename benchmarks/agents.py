"""Agents on HighwayRacer (headless): each trained with several seeds, all on the same unseen seeds.

The protocol (``benchmarks/protocol.py``): every agent trains on ``--episodes`` episodes of the
expert dataset recipe (``--noise``) once per training seed (``--train-seeds``, default 0,1,2),
for a fixed number of updates (``--epochs`` x ``--steps-per-epoch``, per agent with ``--set
AGENT.epochs=N``; never a wall-time budget), and each trained agent drives the same
``--eval-seeds`` unseen seeds (default 50). One training run can land far from the next, so
the table gives each training seed's mean return and % of the expert, the mean % over seeds
and its spread (min-max, std): a method beats another when the spreads say so. The exact-state
MLP of ``benchmarks/bc_ceiling.py`` on the same episodes (mirrored too when the pixel agents
mirror) is the reference row. "How they fail" uses the first training seed. ``--vae-ablation``
also compares the VAE reconstruction losses. Writes ``benchmarks/results/NAME.md`` and keeps
each job's result in ``--out`` (give a folder to resume an interrupted run).

    .venv/bin/python benchmarks/agents.py --out runs/agents            # the full protocol
    .venv/bin/python benchmarks/agents.py --agents cnn-bc --set cnn-bc.augment_pad=4 \\
        --name agents-cnn-aug --out runs/agents-cnn-aug                # an ablation, labelled
    .venv/bin/python benchmarks/agents.py --tiny                       # smoke test (a minute)
    .venv-imitation/bin/python benchmarks/agents.py --agents imitation-bc --name agents-imitation
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for `benchmarks.*`

from benchmarks import protocol as P  # noqa: E402
from benchmarks.machine import write_result  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    """The options (the protocol's, then this table's)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--episodes",
        type=int,
        default=None,
        help="training episodes of the recipe (default 20; --tiny 4)",
    )
    p.add_argument("--agents", default="latent-gpt,cnn-bc,imitation-bc,majority,random")
    P.add_options(p)
    p.add_argument("--vae-ablation", action="store_true", help="also compare VAE losses")
    p.add_argument("--ablation-epochs", type=int, default=3, help="VAE epochs per ablation run")
    p.add_argument("--budget", default=None, help=argparse.SUPPRESS)  # removed: a clear error
    p.add_argument("--out", default="", help="run folders (default: a temporary folder)")
    p.add_argument("--name", default="agents",
                   help="results file name (benchmarks/results/NAME.md)")  # fmt: skip
    return p


def _f(x: float, fmt: str) -> str:
    return "" if x is None or np.isnan(x) else format(x, fmt)


def _updates(u: dict[str, int]) -> str:
    """``{"vae": 1800, "gpt": 7500}`` -> ``1,800 VAE + 7,500``."""
    parts = [f"{n:,} VAE" if stage == "vae" else f"{n:,}" for stage, n in u.items()]
    return " + ".join(parts) or "0"


def agents_table(
    summaries: list[tuple[str, dict[str, Any] | str]], expert: Any
) -> tuple[str, str, str]:
    """The main table, the per-seed table and the "how they fail" table (Markdown)."""
    main = [
        "| agent | mean % of expert | spread: min-max (std) | per training seed: return "
        "(% of expert) | crash rate | held-out acc | macro-F1 | updates | train wall (s) "
        "| act() p50 (ms) |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {expert.name} | 100% | | {expert.mean:.1f} ± {expert.ci95:.1f} "
        f"| {100 * expert.crash_rate:.0f}% | | | | | |",
    ]
    per = [
        "| agent | training seed | mean return ± 95% CI | % of expert | crash rate | mean steps "
        "| held-out acc | macro-F1 | train wall (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    fail = [
        "| agent | crashes by kind | mean steps | agrees with the expert | brake recall "
        "| `up` where the expert brakes |",
        "|---|---|---|---|---|---|",
    ]
    for label, s in summaries:
        if isinstance(s, str):  # not run here
            main.append(f"| {label} | not run: {s} | | | | | | | | |")
            continue
        seeds = " · ".join(
            f"{p['seed']}: {p['mean_return']:.1f} ({p['pct_of_reference']:.0f}%)"
            for p in s["per_seed"]
        )
        std = _f(s["pct_std"], ".0f")
        main.append(
            f"| {label} | **{s['pct_mean']:.0f}%** | {s['pct_min']:.0f}-{s['pct_max']:.0f}%"
            f"{f' ({std})' if std else ''} | {seeds} | {100 * s['crash_rate']:.0f}% "
            f"| {s['val_acc']:.3f} | {s['val_f1']:.3f} | {_updates(s['per_seed'][0]['updates'])} "
            f"| {s['train_time_s']:.0f} | {s['act_p50_ms']:.2f} |"
        )
        for p in s["per_seed"]:
            per.append(
                f"| {label} | {p['seed']} | {p['mean_return']:.1f} ± {_f(p['ci95'], '.1f')} "
                f"| {p['pct_of_reference']:.0f}% | {100 * p['crash_rate']:.0f}% "
                f"| {p['mean_steps']:.0f} | {p['val_acc']:.3f} | {p['val_f1']:.3f} "
                f"| {p['train_time_s']:.0f} |"
            )
        first = s["per_seed"][0]
        if first["watch"] is not None:
            w = first["watch"]
            fail.append(
                f"| {label} | {first['crash_kinds']} | {first['mean_steps']:.0f} "
                f"| {w['agree']:.2f} | {_f(w['brake_recall'], '.2f')} "
                f"| {_f(w['up_when_braking'], '.2f')} |"
            )
    return "\n".join(main), "\n".join(per), "\n".join(fail)


def vae_ablation(args: Any, setup: P.Setup, gpt_cfg: Any, seed: int, out: Path) -> str:
    """Which VAE reconstruction loss keeps what decides the action? A Markdown section."""
    import dataclasses

    from bc_gym.agents import agent_class
    from bc_gym.agents.data import load_episodes, split
    from bc_gym.agents.latent_gpt import _latents, train_vae, vae_report
    from bc_gym.agents.training import TrainConfig
    from bc_gym.datasets import load_dataset

    ds = load_dataset(setup.dataset())
    base = TrainConfig(progress=False, num_threads=setup.threads, seed=seed)
    ids = split([ds], base.val_fraction, base.seed).ids  # 20+ episodes: whole ones, of ds
    tr_eps = load_episodes([ds], [ids[0][0]])
    va_eps = load_episodes([ds], [ids[0][1]])
    epochs = 1 if args.tiny else args.ablation_epochs
    lines = [
        "| recon loss | probe acc | probe macro-F1 | val MSE | val foreground MSE | time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for recon in ("mse", "fg", "edge"):
        variant = dataclasses.replace(gpt_cfg, recon=recon)
        agent = agent_class("latent-gpt")(ds.action_map, ds.obs_shape, variant)
        t = time.perf_counter()
        vae, _ = train_vae([ds], ids, out / f"vae-{recon}", base, agent.vae_config(), epochs,
                           gpt_cfg.vae_steps_per_epoch, gpt_cfg.vae_batch_size, gpt_cfg.vae_lr,
                           np.concatenate(va_eps.frames))  # fmt: skip
        wall = time.perf_counter() - t
        n = ds.action_map.n
        lt = _latents(vae, tr_eps, gpt_cfg.context, gpt_cfg.spacing_s, n, "cpu")
        lv = _latents(vae, va_eps, gpt_cfg.context, gpt_cfg.spacing_s, n, "cpu")
        r = vae_report(vae, tr_eps, va_eps, lt, lv, n)
        lines.append(f"| {recon} | {r['probe_acc']:.3f} | {r['probe_f1']:.3f} | {r['val_mse']:.5f} "
                     f"| {r['val_fg_mse']:.5f} | {wall:.0f} |")  # fmt: skip
        print(lines[-1], flush=True)
    return (
        f"\n## VAE reconstruction loss ({epochs} epochs x {gpt_cfg.vae_steps_per_epoch} steps "
        "each, held-out episodes)\n\n" + "\n".join(lines) + "\n\nProbe: logistic regression "
        "(balanced classes) from the latent mean of one frame to the expert's action. "
        "Foreground: pixels that differ from the background (per-pixel median frame) by more "
        "than 0.08 in some channel.\n"
    )


def main(argv: list[str] | None = None) -> None:
    """Run the protocol and write the table."""
    parser = build_parser()
    args = parser.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    command = shlex.join(["python", "benchmarks/agents.py", *given])  # quoted: copy-pasteable
    import torch

    import bc_gym  # noqa: F401  (registers the env)
    from bc_gym.agents import agent_class, agent_names
    from bc_gym.datasets import load_dataset

    if args.budget is not None:
        parser.error(
            f"--budget {args.budget}: training has no time budget any more; its length is "
            "--epochs x --steps-per-epoch (one agent: --set AGENT.epochs=N)"
        )
    torch.set_num_threads(args.threads)
    names = [n.strip() for n in args.agents.split(",") if n.strip()]
    unknown = [n for n in names if n not in agent_names()]
    if unknown:
        parser.error(f"--agents: unknown agents {unknown}; expected some of {agent_names()}")
    try:
        seeds = P.seeds_option(args)
        setup = P.setup_from_options(args, args.episodes or (4 if args.tiny else 20))
        configs, train = P.agent_options(args, names, setup)
    except ValueError as exc:
        parser.error(str(exc))
    variant = P.variant_label(args)
    out = Path(args.out or tempfile.mkdtemp(prefix="bench-agents-"))

    t = time.perf_counter()
    data = setup.dataset()  # built once here, before any job reads it
    ds = load_dataset(data)
    print(f"dataset {data}: {len(ds)} episodes, {ds.total_steps} steps "
          f"({time.perf_counter() - t:.1f} s)", flush=True)  # fmt: skip

    runnable, skipped = [], {}
    for name in names:
        try:
            agent_class(name)
        except ImportError as exc:
            print(f"skip {name}: {exc}")
            skipped[name] = str(exc).split(". ")[0]
            continue
        runnable.append(name)
    with_reference = bool(names) and not args.no_reference
    summaries: list[tuple[str, Any]] = []
    expert = None
    records: dict[str, list[dict[str, Any]]] = {}
    if names:
        expert = P.expert_result(setup, out)
        print(expert.row(), flush=True)
        order = sorted(runnable, key=lambda n: n != "latent-gpt")  # the slowest first
        jobs = P.make_jobs(order + ([P.REFERENCE] if with_reference else []), seeds, setup,
                           out, configs, train)  # fmt: skip
        print(f"{len(jobs)} jobs: {len(seeds)} training seed(s) x "
              f"{len(jobs) // len(seeds)} agent(s), {args.jobs} at a time", flush=True)  # fmt: skip
        results = P.run_jobs(jobs, args.jobs)
        for job, rec in zip(jobs, results, strict=True):
            records.setdefault(job.agent, []).append(rec)
        for name in names:
            recs = records.get(name, [])
            gone = [r["skipped"] for r in recs if "skipped" in r]
            if name in skipped or gone:
                summaries.append((name, skipped.get(name) or gone[0]))
                continue
            summaries.append((name, P.agent_summary(recs, expert.mean)))
        if with_reference:
            ref = configs[P.REFERENCE]
            label = (f"exact-state MLP (reference: {ref.updates:,} updates"
                     f"{', + mirrored' if ref.mirrored else ''})")  # fmt: skip
            summaries.append((label, P.agent_summary(records[P.REFERENCE], expert.mean)))

    ablation = ""
    if args.vae_ablation:
        ablation = vae_ablation(args, setup, configs["latent-gpt"], seeds[0], out)

    if names:
        main_t, per_t, fail_t = agents_table(summaries, expert)
        md = (
            f"""## Agents on HighwayRacer (headless){f": {variant}" if variant else ""}

Training: {len(ds)} expert episodes (`highway_expert_dataset(noise={setup.noise})`: labels are
the expert's own actions, also where the noise pressed other keys; {ds.total_steps} steps of
{setup.obs_size}x{setup.obs_size} frames, 20% of episodes held out for validation; agents with
a mirror option also learn the left-right mirrored frames: `mirror={setup.mirror!r}`), once per
training seed ({", ".join(map(str, seeds))}), each for a fixed number of updates
(`updates`: {args.epochs} epochs x {args.steps_per_epoch} steps unless `--set` says otherwise,
plus latent-gpt's VAE stage; the best held-out epoch is kept; no wall-time budget).
Evaluation: the same {setup.eval_seeds} unseen seeds ({setup.seeds[0]}..{setup.seeds[-1]}) for
every trained agent, one episode each (max {setup.max_steps} steps). % of expert: mean return
over the evaluation seeds / the expert's; mean % over training seeds, spread = min-max and
sample std over training seeds. Crash rate, held-out acc / macro-F1 (best epoch,
teacher-forced, held-out episodes), train wall and act() p50 (with frame encoding): means over
training seeds; {args.jobs} job(s) at a time, {setup.threads} torch thread(s) each. The
exact-state MLP (`benchmarks/bc_ceiling.py`) holds out the last 20% of the episodes instead.
Variant: {variant or "defaults"}.
Peak memory of the whole benchmark process (max RSS): {P.peak_children_rss_gib():.1f} GiB
(the largest of the main process and each job's process).

{main_t}

### Per training seed

{per_t}

### How they fail

Training seed {seeds[0]}: crashes by kind over the evaluation episodes above, and the mean
episode length. Then the expert (noise 0) drives {min(P.WATCH_SEEDS, setup.eval_seeds)} of the
evaluation seeds (at most {P.WATCH_MAX} steps each) while each agent says what it would press
at every step: how often it agrees with the expert, how often it brakes (`down`, alone or with a
side) where the expert brakes (braking is how the expert avoids slower traffic ahead), and how
often it presses `up` there instead.

{fail_t}
"""
            + ablation
        )
        summary_json = {"variant": variant, "command": command, "setup": P._jsonable(setup),
                        "train_seeds": seeds, "expert_mean": expert.mean,
                        "agents": {label: s for label, s in summaries}}  # fmt: skip
        (out / "summary.json").write_text(json.dumps(summary_json, indent=1))
    else:  # the VAE ablation alone: no agent table, and no expert to compare with
        md = (
            f"Data: {len(ds)} expert episodes (`highway_expert_dataset(noise={setup.noise})`, "
            f"{ds.total_steps} steps of {setup.obs_size}x{setup.obs_size} frames; 20% of "
            f"episodes held out). Peak memory of the process (max RSS): "
            f"{P.peak_children_rss_gib():.1f} GiB.\n" + ablation
        )
    path = write_result(args.name if not args.tiny else f"{args.name}-tiny", md, command)
    print(md)
    print(f"wrote {path} (runs and per-job results in {out})")


if __name__ == "__main__":
    main()
