"""Agents on HighwayRacer (headless): train on expert episodes, drive on unseen seeds.

Trains every agent on ``--episodes`` episodes of the expert dataset recipe (``--noise``), the
latent GPT first; ``cnn-bc`` (and ``imitation-bc``) then get the latent GPT's wall time as their
time budget (same CPU time). Each agent drives ``--eval-seeds`` unseen seeds; the table gives
mean return +- 95% CI, crash rate, held-out action accuracy and macro-F1 (teacher-forced, on
the held-out episodes), training wall time and act() p50. ``--vae-ablation`` also compares the
VAE reconstruction losses (linear probe and foreground error). Writes
``benchmarks/results/agents.md``.

    .venv/bin/python benchmarks/agents.py                      # the full benchmark
    .venv/bin/python benchmarks/agents.py --tiny               # smoke test (seconds)
    .venv-imitation/bin/python benchmarks/agents.py --agents imitation-bc --name agents-imitation
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for `benchmarks.machine`

import gymnasium as gym  # noqa: E402
import torch  # noqa: E402

import bc_gym  # noqa: E402, F401
from benchmarks.machine import write_result  # noqa: E402

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--episodes", type=int, default=20, help="training episodes (recipe)")
p.add_argument("--noise", type=float, default=0.05, help="expert noise of the recipe")
p.add_argument(
    "--obs-size",
    type=int,
    default=64,
    help="side of the square observations, px (64 default; 96 is the game's native frame)",
)
p.add_argument("--eval-seeds", type=int, default=20, help="unseen seeds to drive")
p.add_argument("--agents", default="latent-gpt,cnn-bc,imitation-bc,majority,random")
p.add_argument("--epochs", type=int, default=30, help="max epochs (GPT stage / cnn-bc)")
p.add_argument(
    "--budget",
    type=float,
    default=0.0,
    help="time budget (s) of cnn-bc/imitation-bc (default: latent-gpt's wall time)",
)
p.add_argument("--threads", type=int, default=2, help="torch threads")
p.add_argument(
    "--seed",
    type=int,
    default=0,
    help="training seed (held-out split, initial weights, sampling); the recipe data and the "
    "evaluation seeds stay the same, so reruns with other seeds show the spread between runs",
)
p.add_argument(
    "--mirror",
    default="left:right",
    help="latent-gpt and cnn-bc also learn left-right mirrored frames with these keys swapped "
    "(the road is symmetric); '' turns it off",
)
p.add_argument("--vae-ablation", action="store_true", help="also compare VAE losses")
p.add_argument("--ablation-epochs", type=int, default=3, help="VAE epochs per ablation run")
p.add_argument("--tiny", action="store_true", help="tiny sizes: a smoke test")
p.add_argument("--out", default="", help="run folders (default: a temporary folder)")
p.add_argument("--name", default="agents", help="results file name (benchmarks/results/NAME.md)")
p.add_argument(
    "--set",
    action="append",
    default=[],
    help="agent option [AGENT.]KEY=VALUE (AGENT: latent-gpt, the default, or cnn-bc)",
)
args = p.parse_args()
torch.set_num_threads(args.threads)
command = "python " + " ".join(["benchmarks/agents.py", *sys.argv[1:]])

from bc_gym.agents import agent_class, load_agent  # noqa: E402
from bc_gym.agents.cnn_bc import CNNBCConfig  # noqa: E402
from bc_gym.agents.latent_gpt import LatentGPTConfig  # noqa: E402
from bc_gym.agents.training import TrainConfig  # noqa: E402
from bc_gym.commands.agents import agent_config  # noqa: E402
from bc_gym.datasets import load_dataset  # noqa: E402
from bc_gym.datasets.recipes import highway_expert_dataset  # noqa: E402
from bc_gym.evaluation import EvalResult, evaluate  # noqa: E402
from bc_gym.games.highway import ScriptedExpert  # noqa: E402
from bc_gym.wrappers import TimedFrameStack  # noqa: E402

# 1. Data
max_steps = 60 if args.tiny else 1000
n_episodes = 4 if args.tiny else args.episodes
n_eval = 2 if args.tiny else args.eval_seeds
eval_seeds = list(range(10_000, 10_000 + n_eval))  # recipe seeds are 0..n_episodes-1
t = time.perf_counter()
obs_size = (args.obs_size, args.obs_size)
data = highway_expert_dataset(
    n_episodes=n_episodes, noise=args.noise, seed=0, max_steps=max_steps, obs_size=obs_size
)
ds = load_dataset(data)
print(
    f"dataset {data}: {len(ds)} episodes, {ds.total_steps} steps ({time.perf_counter() - t:.1f} s)"
)
out = Path(args.out or tempfile.mkdtemp(prefix="bench-agents-"))


def make_env(agent=None, steps: int = max_steps) -> gym.Env:
    env = gym.make("bc_gym/HighwayRacer-v0", max_steps=steps, obs_size=obs_size)
    if agent is not None and agent.n_stack > 1:
        env = TimedFrameStack(env, agent.n_stack, agent.spacing_s)
    return env


# 2. The expert (the reference: noise 0, reading the game state); not needed without agents
names = [n.strip() for n in args.agents.split(",") if n.strip()]
names.sort(key=lambda n: n != "latent-gpt")
if names:
    expert = ScriptedExpert(noise=0.0)
    expert_res = evaluate(lambda env, obs: expert(env), make_env(), eval_seeds, "expert (noise 0)")
    print(expert_res.row())

# 3. Train every agent; cnn-bc and imitation-bc get the latent GPT's wall time
tiny_gpt = {"context": 4, "latent_dim": 8, "vae_channels": (8, 8, 16, 16), "vae_epochs": 1,
            "vae_steps_per_epoch": 3, "n_layer": 1, "n_embd": 16, "n_head": 2}  # fmt: skip
gpt_cfg = LatentGPTConfig(**tiny_gpt) if args.tiny else LatentGPTConfig()
overrides: dict[str, list[str]] = {"latent-gpt": [], "cnn-bc": []}
for item in args.set:
    agent_name, dot, rest = item.partition(".")
    if dot and agent_name in overrides and "=" not in agent_name:
        overrides[agent_name].append(rest)
    else:
        overrides["latent-gpt"].append(item)
if overrides["latent-gpt"]:
    gpt_cfg = agent_config("latent-gpt", overrides["latent-gpt"])
    gpt_cfg = LatentGPTConfig(**{**gpt_cfg.__dict__, **(tiny_gpt if args.tiny else {})})
gpt_cfg.mirror = args.mirror
base = TrainConfig(
    epochs=1 if args.tiny else args.epochs,
    progress=False,
    num_threads=args.threads,
    seed=args.seed,
)
if args.tiny:
    base.steps_per_epoch, base.batch_size = 3, 16
budget = args.budget
rows = []
fail_rows = []
BRAKE = [ds.action_map.index(k) for k in ("down", "down+left", "down+right")]
UP = [ds.action_map.index(k) for k in ("up", "up+left", "up+right")]


WATCH_SEEDS, WATCH_MAX = eval_seeds[:10], 400  # the expert drives these seeds, at most 400 steps


def watch_expert(agent) -> tuple[float, float, float]:
    """The expert (noise 0) drives unseen seeds; the agent says what it would press each step.

    Returns (agreement, brake recall, share of the expert's braking steps where the agent
    presses "up"): braking is what the expert does when it closes on slower traffic.
    """
    env = make_env(agent, WATCH_MAX)
    teacher = ScriptedExpert(noise=0.0)
    said, did = [], []
    for seed in WATCH_SEEDS:
        obs, _ = env.reset(seed=seed)
        agent.reset()
        while True:
            did.append(teacher(env))
            said.append(agent.act(obs))
            obs, _, term, trunc, _ = env.step(did[-1])
            if term or trunc:
                break
    said_a, did_a = np.asarray(said), np.asarray(did)
    agree, brakes = float((said_a == did_a).mean()), np.isin(did_a, BRAKE)
    if not brakes.any():
        return agree, float("nan"), float("nan")
    return (
        agree,
        float(np.isin(said_a[brakes], BRAKE).mean()),
        float(np.isin(said_a[brakes], UP).mean()),
    )


for name in names:
    try:
        cls = agent_class(name)
    except ImportError as exc:
        print(f"skip {name}: {exc}")
        rows.append(f"| {name} | not run: {str(exc).split('. ')[0]} | | | | | | |")
        continue
    cfg = TrainConfig(**base.__dict__)
    if name in ("cnn-bc", "imitation-bc") and budget > 0:
        cfg.time_budget_s, cfg.epochs, cfg.patience = budget, 10_000, 0
    cnn_cfg = agent_config("cnn-bc", overrides["cnn-bc"]) or CNNBCConfig()
    cnn_cfg.mirror = args.mirror
    config = {"latent-gpt": gpt_cfg, "cnn-bc": cnn_cfg}.get(name)
    print(f"training {name} (budget {cfg.time_budget_s:.0f} s)...", flush=True)
    t = time.perf_counter()
    try:
        cls.train([data], out / name, cfg, config)
    except ImportError as exc:  # imitation-bc outside its environment
        print(f"skip {name}: {exc}")
        rows.append(f"| {name} | not run: {str(exc).split('. ')[0]} | | | | | | |")
        continue
    wall = time.perf_counter() - t
    if name == "latent-gpt" and not args.budget:
        budget = wall
    agent = load_agent(out / name)
    hist = getattr(cls, "train_history", None)
    # Held-out accuracy / macro-F1 of the best epoch (teacher-forced, held-out episodes).
    val = {"val_acc": float("nan"), "val_f1": float("nan")}
    for prefix in ("gpt", "cnn", "bc"):
        f = out / name / f"{prefix}_metrics.csv"
        if f.is_file():
            lines = f.read_text().splitlines()
            keys = lines[0].split(",")
            table = [
                dict(zip(keys, map(float, line.split(",")), strict=False)) for line in lines[1:]
            ]
            val = max(table, key=lambda r: r["val_f1"])
    if name in ("majority", "random"):
        from bc_gym.agents.data import split
        from bc_gym.agents.training import classification_metrics

        _, val_ids = split([ds], base.val_fraction, base.seed)[0]
        y = np.concatenate([np.asarray(ds[i].actions) for i in val_ids])
        pred = np.array([agent.act(np.zeros(agent.obs_shape, np.uint8)) for _ in y])
        m = classification_metrics(y, pred, ds.action_map.n)
        val = {"val_acc": m["acc"], "val_f1": m["f1"]}
    # Drive.
    times: list[float] = []

    def policy(env, obs, agent=agent, times=times):
        t0 = time.perf_counter()
        a = agent.act(obs)
        times.append(time.perf_counter() - t0)
        return a

    res: EvalResult = evaluate(policy, make_env(agent), eval_seeds, name, reset=agent.reset)
    p50 = 1000 * float(np.median(times))
    cfg_json = json.loads((out / name / "config.json").read_text())
    rows.append(
        f"| {name} | {res.mean:.1f} ± {res.ci95:.1f} | {res.mean / expert_res.mean:.0%} "
        f"| {100 * res.crash_rate:.0f}% | {val['val_acc']:.3f} | {val['val_f1']:.3f} "
        f"| {cfg_json.get('train_time_s', wall):.0f} | {p50:.2f} |"
    )
    print(rows[-1], flush=True)
    agree, brake, up = watch_expert(agent)
    fail_rows.append(
        f"| {name} | {res.crash_kinds} | {np.mean(res.lengths):.0f} | {agree:.2f} | {brake:.2f} "
        f"| {up:.2f} |"
    )
    print(fail_rows[-1], flush=True)

# 4. VAE ablation: which reconstruction loss keeps what decides the action?
ablation = ""
if args.vae_ablation:
    from bc_gym.agents.data import load_episodes, split
    from bc_gym.agents.latent_gpt import _latents, train_vae, vae_report

    ids = split([ds], base.val_fraction, base.seed).ids  # 20+ episodes: whole ones, of ds
    tr_eps = load_episodes([ds], [ids[0][0]])
    va_eps = load_episodes([ds], [ids[0][1]])
    lines = [
        "| recon loss | probe acc | probe macro-F1 | val MSE | val foreground MSE | time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for recon in ("mse", "fg", "edge"):
        variant = LatentGPTConfig(**{**gpt_cfg.__dict__, "recon": recon})
        agent = agent_class("latent-gpt")(ds.action_map, ds.obs_shape, variant)
        t = time.perf_counter()
        vae, _ = train_vae([ds], ids, out / f"vae-{recon}", base, agent.vae_config(),
                           1 if args.tiny else args.ablation_epochs, gpt_cfg.vae_steps_per_epoch,
                           gpt_cfg.vae_batch_size, gpt_cfg.vae_lr,
                           np.concatenate(va_eps.frames))  # fmt: skip
        wall = time.perf_counter() - t
        n = ds.action_map.n
        lt = _latents(vae, tr_eps, gpt_cfg.context, gpt_cfg.spacing_s, n, "cpu")
        lv = _latents(vae, va_eps, gpt_cfg.context, gpt_cfg.spacing_s, n, "cpu")
        r = vae_report(vae, tr_eps, va_eps, lt, lv, n)
        lines.append(f"| {recon} | {r['probe_acc']:.3f} | {r['probe_f1']:.3f} | {r['val_mse']:.5f} "
                     f"| {r['val_fg_mse']:.5f} | {wall:.0f} |")  # fmt: skip
        print(lines[-1], flush=True)
    ablation = (
        f"\n## VAE reconstruction loss ({1 if args.tiny else args.ablation_epochs} epochs x "
        f"{gpt_cfg.vae_steps_per_epoch} steps each, held-out episodes)\n\n"
    )
    ablation += "\n".join(lines)
    ablation += (
        "\n\nProbe: logistic regression (balanced classes) from the latent mean of one frame to "
        "the expert's action. Foreground: pixels that differ from the background (per-pixel "
        "median frame) by more than 0.08 in some channel.\n"
    )


# 5. The table
def peak_rss_gib() -> float:
    """Largest resident set of this process so far (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


if names:
    header = (
        "| agent | mean return ± 95% CI | % of expert | crash rate | held-out acc | macro-F1 "
        "| train wall (s) | act() p50 (ms) |\n|---|---|---|---|---|---|---|---|"
    )
    expert_row = (
        f"| expert (noise 0, reads the game state) | {expert_res.mean:.1f} ± "
        f"{expert_res.ci95:.1f} | 100% | {100 * expert_res.crash_rate:.0f}% | | | | |"
    )
    md = f"""## Agents on HighwayRacer (headless)

Training: {len(ds)} expert episodes (`highway_expert_dataset(noise={args.noise})`: labels are
the expert's own actions, also where the noise pressed other keys; {ds.total_steps} steps of
{args.obs_size}x{args.obs_size} frames, 20%
of episodes held out for validation; latent-gpt and cnn-bc also learn the left-right mirrored
frames: `mirror={args.mirror!r}`). Evaluation: {n_eval} unseen
seeds, one episode each (max {max_steps} steps). cnn-bc and imitation-bc train under the latent
GPT's wall time. Held-out acc / macro-F1: best epoch, teacher-forced, held-out episodes.
act() p50 includes frame encoding (latent-gpt: one new frame per step). Training seed
{args.seed}. Peak memory of the whole benchmark process (max RSS): {peak_rss_gib():.1f} GiB.

{header}
{expert_row}
"""
    md += "\n".join(rows) + "\n"
    md += f"""
### How they fail

Crashes by kind over the evaluation episodes above, and the mean episode length. Then the
expert (noise 0) drives {len(WATCH_SEEDS)} of the evaluation seeds (at most {WATCH_MAX} steps each)
while each agent says what it would press at every step: how often it agrees with the
expert, how often it brakes (`down`, alone or with a side) where the expert brakes (braking
is how the expert avoids slower traffic ahead), and how often it presses `up` there instead.

"""
    md += (
        "| agent | crashes by kind | mean steps | agrees with the expert | brake recall "
        "| `up` where the expert brakes |\n|---|---|---|---|---|---|\n"
    )
    md += "\n".join(fail_rows) + "\n" + ablation
else:  # the VAE ablation alone: no agent table, and no expert to compare with
    md = (
        f"Data: {len(ds)} expert episodes (`highway_expert_dataset(noise={args.noise})`, "
        f"{ds.total_steps} steps of {args.obs_size}x{args.obs_size} frames; 20% of episodes held "
        f"out). Peak memory of the process (max RSS): {peak_rss_gib():.1f} GiB.\n" + ablation
    )
path = write_result(args.name if not args.tiny else f"{args.name}-tiny", md, command)
print(md)
print(f"wrote {path}")
