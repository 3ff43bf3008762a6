"""The agent protocol: several training seeds per agent, the same unseen seeds for every agent.

For each agent and each training seed (one :class:`Job`): train on the expert episodes of the
dataset recipe for a **fixed number of updates** (epochs x steps per epoch; never a wall-time
budget, so a run repeats on any machine), keep the best held-out epoch as usual, then drive
the same unseen evaluation seeds (:meth:`Setup.seeds`, never recipe seeds) through
:func:`bc_gym.evaluation.run_episodes`. The expert (noise 0, reading the game state) drives them
too, and every return is also given as % of the expert's mean. The exact-state MLP of
``benchmarks/bc_ceiling.py`` (:data:`REFERENCE`) trained on the same episodes is the reference
(perception solved): the same seeds, the same evaluation.

:func:`run_jobs` runs the jobs in parallel processes (``jobs`` at a time, ``Setup.threads``
torch threads each) and caches each job's result as ``result.json`` in its run folder: an
interrupted run resumes where it stopped, and a cached result is reused only if every setting
that made it and the code that decides it (:func:`code_digest`) are unchanged (:meth:`Job.key`).
``benchmarks/agents.py`` (one table) and ``benchmarks/learning_curve.py`` (one point per
episode count) are built on it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import multiprocessing
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

PROTOCOL_VERSION = 1
REFERENCE = "state-mlp"
"""Name of the reference row: the MLP on the exact game state (``benchmarks/bc_ceiling.py``)."""
EVAL_SEED0 = 10_000
"""First evaluation seed (the recipe's episodes use seeds 0..episodes-1)."""
WATCH_SEEDS, WATCH_MAX = 10, 400
""""How they fail": the expert drives this many evaluation seeds, at most this many steps."""
UNTRAINED = ("majority", "random")
TINY_GPT = {"context": 4, "latent_dim": 8, "vae_channels": (8, 8, 16, 16), "vae_epochs": 1,
            "vae_steps_per_epoch": 3, "n_layer": 1, "n_embd": 16, "n_head": 2}  # fmt: skip
"""Latent GPT sizes of the smoke tests (``--tiny``)."""
TINY_TRAIN = {"epochs": 1, "steps_per_epoch": 3, "batch_size": 16}
"""Training options of the smoke tests (``--tiny``)."""


@dataclass(frozen=True)
class ReferenceConfig:
    """Options of the exact-state MLP reference (``--set state-mlp.KEY=VALUE``)."""

    updates: int = 40_000
    """MLP updates (batches of 256), as ``benchmarks/bc_ceiling.py``."""
    mirrored: bool = True
    """Also learn the left-right mirrored states (set to match the pixel agents' mirroring)."""


@dataclass(frozen=True)
class Setup:
    """What every job of one protocol run shares: data, evaluation seeds and threads."""

    episodes: int = 20
    """Recipe episodes (``highway_expert_dataset``; 20% held out for validation)."""
    noise: float = 0.05
    """Expert noise of the recipe."""
    obs_size: int = 64
    """Side of the square observations, px."""
    max_steps: int = 1000
    """Steps per recipe and evaluation episode."""
    eval_seeds: int = 50
    """Unseen evaluation seeds (one episode each): ``EVAL_SEED0 ..``."""
    mirror: str = "left:right"
    """Agents with a ``mirror`` option also learn the mirrored frames with these keys exchanged."""
    threads: int = 1
    """torch threads per job."""

    def __post_init__(self) -> None:
        for name in ("episodes", "max_steps", "eval_seeds", "threads", "obs_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, actual value: {getattr(self, name)!r}")
        if self.episodes < 2:
            raise ValueError(
                f"episodes must be >= 2 (20% are held out, at least one), actual value: "
                f"{self.episodes!r}"
            )

    @property
    def seeds(self) -> list[int]:
        """The evaluation seeds."""
        return list(range(EVAL_SEED0, EVAL_SEED0 + self.eval_seeds))

    def dataset(self) -> Path:
        """The recipe dataset folder (built once, then cached on disk)."""
        from bc_gym.datasets.recipes import highway_expert_dataset

        size = (self.obs_size, self.obs_size)
        return highway_expert_dataset(
            n_episodes=self.episodes, noise=self.noise, seed=0, max_steps=self.max_steps,
            obs_size=size,
        )  # fmt: skip

    def make_env(self, agent: Any = None, max_steps: int | None = None) -> Any:
        """The headless game at this setup's size; with a frame stack for ``agent`` if needed."""
        import gymnasium as gym

        import bc_gym  # noqa: F401  (registers the env)
        from bc_gym.wrappers import TimedFrameStack

        env = gym.make(
            "bc_gym/HighwayRacer-v0",
            max_steps=max_steps or self.max_steps,
            obs_size=(self.obs_size, self.obs_size),
        )
        if agent is not None and agent.n_stack > 1:
            env = TimedFrameStack(env, agent.n_stack, agent.spacing_s)
        return env


ROOT = Path(__file__).resolve().parent.parent
CODE = ("agents", "datasets", "bc_gym/games", "bc_gym/wrappers", "bc_gym/evaluation.py",
        "bc_gym/actions.py", "bc_gym/imaging.py", "benchmarks/protocol.py",
        "benchmarks/bc_ceiling.py")  # fmt: skip
"""The source that decides a job's result (training, the game, the evaluation)."""


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-1 of the :data:`CODE` sources: a cached result is stale once they change."""
    h = hashlib.sha1()
    for part in CODE:
        path = ROOT / part
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def _jsonable(x: Any) -> Any:
    """Dataclasses, tuples and paths as plain JSON values (for cache keys)."""
    return json.loads(json.dumps(x, default=lambda o: dataclasses.asdict(o)
                                 if dataclasses.is_dataclass(o) else str(o)))  # fmt: skip


@dataclass
class Job:
    """One agent, one training seed: train into ``out``, then drive ``setup.seeds``."""

    agent: str
    """Agent name, or :data:`REFERENCE`."""
    seed: int
    """Training seed (held-out split, initial weights, sampling, dropout)."""
    setup: Setup
    out: Path
    """Run folder (the trained agent and ``result.json``)."""
    train: dict[str, Any] = field(default_factory=dict)
    """:class:`~bc_gym.agents.training.TrainConfig` fields (besides seed and threads)."""
    config: Any = None
    """The agent's config dataclass (``None``: the agent has none); for :data:`REFERENCE` a
    :class:`ReferenceConfig`."""
    watch: bool = False
    """Also measure "how it fails" (:func:`watch_expert`)."""

    def key(self) -> dict[str, Any]:
        """Everything that decides this job's result (a cached result must match it)."""
        return _jsonable({
            "protocol": PROTOCOL_VERSION, "code": code_digest(), "agent": self.agent,
            "seed": self.seed,
            "setup": self.setup, "train": self.train, "config": self.config, "watch": self.watch,
        })  # fmt: skip

    @property
    def label(self) -> str:
        """E.g. ``cnn-bc seed 1 (20 episodes)``."""
        return f"{self.agent} seed {self.seed} ({self.setup.episodes} episodes)"


# Options: --set AGENT.KEY=VALUE
def parse_value(raw: str, default: Any, what: str) -> Any:
    """``raw`` as the type of ``default`` (bool, int, float, str, tuple); ``what`` names it."""
    text = raw.strip()
    try:
        if isinstance(default, bool):
            words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
            return words[text.lower()]
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
        if isinstance(default, str):
            return raw
        if isinstance(default, tuple):
            return tuple(json.loads(text))
        return json.loads(text)
    except (KeyError, ValueError, TypeError):
        kind = type(default).__name__ if default is not None else "JSON"
        raise ValueError(
            f"--set {what}={raw}: expected a {kind} value like {default!r}, actual value: {raw!r}"
        ) from None


def default_config(name: str, setup: Setup, tiny: bool = False) -> Any:
    """An agent's config dataclass for the protocol (mirroring as ``setup``; tiny sizes)."""
    if name == REFERENCE:
        return ReferenceConfig(updates=50 if tiny else 40_000, mirrored=bool(setup.mirror))
    from bc_gym.commands.agents import agent_config

    config = agent_config(name, [])
    if config is None:
        return None
    if tiny and name == "latent-gpt":
        config = dataclasses.replace(config, **TINY_GPT)
    if hasattr(config, "mirror"):
        config = dataclasses.replace(config, mirror=setup.mirror)
    return config


NOT_SETTABLE = {"seed", "num_threads", "time_budget_s", "resume", "progress", "obs_size"}
"""``TrainConfig`` fields the protocol decides (no wall-time budget: runs must repeat; the frame
size is ``--obs-size``, the size the agents also play at)."""


def apply_sets(
    items: Sequence[str],
    configs: dict[str, Any],
    train: dict[str, dict[str, Any]],
    default_agent: str = "latent-gpt",
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Apply ``[AGENT.]KEY=VALUE`` options to the agents' configs or training options.

    ``KEY`` is a field of the agent's config dataclass or of ``TrainConfig`` (``epochs``,
    ``steps_per_epoch``, ``lr``, ``batch_size``, ``patience``...); without ``AGENT.`` the option
    is for ``default_agent``. Values are parsed as the field's type (str, int, float, bool).

    Args:
        items: the options, e.g. ``["cnn-bc.augment_pad=4", "cnn-bc.epochs=40"]``.
        configs: agent name -> its config dataclass (``None``: it has none).
        train: agent name -> its ``TrainConfig`` fields.
        default_agent: the agent of unprefixed options.

    Returns:
        The new ``configs`` and ``train`` (the inputs are not changed).

    Raises:
        ValueError: an unknown agent or key, or a value of the wrong type.
    """
    from bc_gym.agents.training import TrainConfig

    configs, train = dict(configs), {k: dict(v) for k, v in train.items()}
    train_defaults = TrainConfig()
    for item in items:
        head, eq, raw = item.partition("=")
        agent, dot, key = head.partition(".")
        if not dot:
            agent, key = default_agent, head
        key = key.strip().replace("-", "_")
        if not eq or agent not in configs:
            raise ValueError(
                f"--set {item!r}: expected [AGENT.]KEY=VALUE with AGENT one of {list(configs)}"
            )
        config = configs[agent]
        fields = {f.name for f in dataclasses.fields(config)} if config is not None else set()
        train_fields = {f.name for f in dataclasses.fields(TrainConfig)} - NOT_SETTABLE
        if key in fields:
            value = parse_value(raw, getattr(config, key), head)
            configs[agent] = dataclasses.replace(config, **{key: value})
        elif key in train_fields and agent != REFERENCE and agent not in UNTRAINED:
            default = train[agent].get(key, getattr(train_defaults, key))
            train[agent][key] = parse_value(raw, default, head)
        else:
            known = sorted(fields) + ([] if agent in (REFERENCE, *UNTRAINED) else
                                      sorted(train_fields))  # fmt: skip
            raise ValueError(f"--set {item!r}: {agent} has no option {key!r}; expected one of "
                             f"{known}")  # fmt: skip
    return configs, train


def make_jobs(
    names: Sequence[str],
    seeds: Sequence[int],
    setup: Setup,
    out: Path,
    configs: dict[str, Any],
    train: dict[str, dict[str, Any]],
    *,
    watch_first: bool = True,
    folder: Callable[[str, int], str] = lambda name, seed: f"{name}-seed{seed}",
) -> list[Job]:
    """One job per agent and training seed; the first seed also watches the expert."""
    return [
        Job(
            name,
            seed,
            setup,
            Path(out) / folder(name, seed),
            train.get(name, {}),
            configs.get(name),
            watch=watch_first and k == 0 and name != REFERENCE,
        )  # fmt: skip
        for name in names
        for k, seed in enumerate(seeds)
    ]


# One job
def _updates(run: Path) -> dict[str, int]:
    """Optimizer steps per training stage, from the run's ``*_metrics.csv`` files."""
    import csv

    steps = {}
    files = {"vae": run / "vae" / "vae_metrics.csv", "gpt": run / "gpt_metrics.csv",
             "cnn": run / "cnn_metrics.csv", "bc": run / "bc_metrics.csv"}  # fmt: skip
    for stage, path in files.items():
        if path.is_file():
            with open(path, newline="") as f:
                rows = list(csv.DictReader(f))
            if rows and rows[-1].get("steps"):
                steps[stage] = int(float(rows[-1]["steps"]))
    return steps


def watch_expert(agent: Any, setup: Setup) -> dict[str, float]:
    """The expert (noise 0) drives evaluation seeds; the agent says what it would press.

    Returns:
        ``agree`` (share of steps where the agent's key set equals the expert's),
        ``brake_recall`` (share of the expert's braking steps where the agent brakes too) and
        ``up_when_braking`` (where it presses "up" instead); braking is what the expert does
        when it closes on slower traffic.
    """
    from bc_gym.games.highway import ScriptedExpert

    env = setup.make_env(agent, WATCH_MAX)
    names = agent.action_map.names
    brake = [names.index(k) for k in ("down", "down+left", "down+right")]
    up = [names.index(k) for k in ("up", "up+left", "up+right")]
    teacher = ScriptedExpert(noise=0.0)
    said, did = [], []
    for seed in setup.seeds[:WATCH_SEEDS]:
        obs, _ = env.reset(seed=seed)
        agent.reset()
        while True:
            did.append(teacher(env))
            said.append(agent.act(obs))
            obs, _, term, trunc, _ = env.step(did[-1])
            if term or trunc:
                break
    said_a, did_a = np.asarray(said), np.asarray(did)
    braking = np.isin(did_a, brake)
    nan = float("nan")
    return {
        "agree": float((said_a == did_a).mean()),
        "brake_recall": float(np.isin(said_a[braking], brake).mean()) if braking.any() else nan,
        "up_when_braking": float(np.isin(said_a[braking], up).mean()) if braking.any() else nan,
    }


def _untrained_val(agent: Any, data: Path, seed: int, val_fraction: float) -> dict[str, float]:
    """Held-out accuracy / macro-F1 of an agent that ignores its input (majority, random)."""
    from bc_gym.agents.training import classification_metrics
    from bc_gym.datasets import load_dataset
    from bc_gym.datasets.torch import split_episodes

    ds = load_dataset(data)
    _, val_ids = split_episodes(ds, val_fraction=val_fraction, seed=seed)  # as the agents split
    y = np.concatenate([np.asarray(ds[i].actions) for i in val_ids])
    pred = np.array([agent.act(np.zeros(agent.obs_shape, np.uint8)) for _ in y])
    m = classification_metrics(y, pred, ds.action_map.n)
    return {"val_acc": m["acc"], "val_f1": m["f1"]}


def _run_agent(job: Job) -> dict[str, Any]:
    from bc_gym.agents import agent_class, load_agent
    from bc_gym.agents.training import TrainConfig
    from bc_gym.bench import best_val_metrics
    from bc_gym.evaluation import agent_policy, run_episodes

    setup = job.setup
    data = setup.dataset()
    cfg = TrainConfig(
        **{**job.train, "seed": job.seed, "num_threads": setup.threads, "progress": False}
    )
    t0 = time.perf_counter()
    agent_class(job.agent).train([data], job.out, cfg, job.config)
    wall = time.perf_counter() - t0
    agent = load_agent(job.out)
    val = best_val_metrics(job.out)
    if not val:
        val = _untrained_val(agent, data, job.seed, cfg.val_fraction)
    res = run_episodes(agent_policy(agent), setup.make_env(agent), setup.seeds, name=job.agent,
                       reset=agent.reset)  # fmt: skip
    saved = json.loads((job.out / "config.json").read_text())
    return {
        "episodes": [e.to_dict() for e in res.episodes],
        "act_p50_ms": res.summary()["act_p50_ms"],
        "val_acc": val["val_acc"],
        "val_f1": val["val_f1"],
        "train_wall_s": wall,
        "train_time_s": saved.get("train_time_s", wall),
        "updates": _updates(job.out),
        "watch": watch_expert(agent, setup) if job.watch else None,
    }


def _run_reference(job: Job) -> dict[str, Any]:
    from bc_gym.evaluation import run_episodes
    from benchmarks import bc_ceiling

    setup, ref = job.setup, job.config
    t0 = time.perf_counter()
    xs, ys = bc_ceiling.recipe_states(
        setup.episodes, setup.noise, setup.max_steps, (setup.obs_size, setup.obs_size)
    )
    env = setup.make_env()
    rows = bc_ceiling.state_rows(xs, ys, ref.mirrored, env.unwrapped.game.config.lanes)
    predict, fitted = bc_ceiling.fit_mlp(rows, job.seed, ref.updates)
    wall = time.perf_counter() - t0
    res = run_episodes(bc_ceiling.state_policy(predict), env, setup.seeds, name=job.agent)
    return {
        "episodes": [e.to_dict() for e in res.episodes],
        "act_p50_ms": res.summary()["act_p50_ms"],
        "val_acc": fitted["val_acc"],
        "val_f1": fitted["val_f1"],
        "train_wall_s": wall,
        "train_time_s": fitted["fit_s"],
        "updates": {"mlp": ref.updates},
        "watch": None,
    }


def run_job(job: Job) -> dict[str, Any]:
    """Train and drive one job; its result (also written to ``job.out/result.json``).

    An agent that cannot be trained here (e.g. ``imitation-bc`` outside its environment) gives
    ``{"skipped": reason}``, which is not cached.
    """
    import torch

    torch.set_num_threads(job.setup.threads)
    job.out.mkdir(parents=True, exist_ok=True)
    try:
        rec = _run_reference(job) if job.agent == REFERENCE else _run_agent(job)
    except ImportError as exc:  # an agent whose extra is missing here
        return {"agent": job.agent, "seed": job.seed, "skipped": str(exc).split(". ")[0]}
    rec = {"agent": job.agent, "seed": job.seed, **rec, "key": job.key()}
    (job.out / "result.json").write_text(json.dumps(rec, indent=1))
    return rec


def cached(job: Job) -> dict[str, Any] | None:
    """The job's cached result, if its key equals the job's (else ``None``)."""
    path = job.out / "result.json"
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text())
    except json.JSONDecodeError:  # a run killed while writing: do it again
        return None
    return rec if rec.get("key") == job.key() else None


def run_jobs(
    jobs: Sequence[Job], n_jobs: int = 1, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """Run every job (cached ones are read back), ``n_jobs`` processes at a time.

    With ``n_jobs > 1`` each job runs in a worker process (``spawn``; a fresh one per job on
    Python 3.11+, so memory is returned after each job), with ``Setup.threads`` torch threads.

    Returns:
        The results, in the order of ``jobs``.
    """
    results: list[dict[str, Any] | None] = [None] * len(jobs)
    todo = []
    for i, job in enumerate(jobs):
        results[i] = cached(job)
        if results[i] is not None:
            log(f"  {job.label}: cached ({job.out / 'result.json'})")
        else:
            todo.append(i)

    def done(i: int, rec: dict[str, Any]) -> None:
        results[i] = rec
        if "skipped" in rec:
            log(f"  {jobs[i].label}: skipped ({rec['skipped']})")
            return
        mean = np.mean([e["return"] for e in rec["episodes"]])
        log(f"  {jobs[i].label}: trained in {rec['train_wall_s']:.0f} s "
            f"({rec['updates']} updates), mean return {mean:.1f}")  # fmt: skip

    if n_jobs <= 1 or len(todo) <= 1:
        for i in todo:
            log(f"  {jobs[i].label}: training...")
            done(i, run_job(jobs[i]))
    else:
        # A fresh process per job where Python allows it (3.11+): memory goes back after each.
        fresh = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(n_jobs, mp_context=ctx, **fresh) as pool:
            futures = {pool.submit(run_job, jobs[i]): i for i in todo}
            log(f"  {len(todo)} jobs, {n_jobs} at a time: " +
                ", ".join(jobs[i].label for i in todo))  # fmt: skip
            for f in as_completed(futures):
                done(futures[f], f.result())
    return results  # type: ignore[return-value]


def peak_children_rss_gib() -> float:
    """Largest resident set of this process or any finished child (Linux reports KiB)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 2**20


# The expert and the summaries
def expert_result(setup: Setup, out: Path) -> Any:
    """The expert (noise 0) on ``setup.seeds``; cached in ``out/expert.json``."""
    from bc_gym.evaluation import Episode, EvalResult, evaluate
    from bc_gym.games.highway import ScriptedExpert

    key = _jsonable({"protocol": PROTOCOL_VERSION, "code": code_digest(), "seeds": setup.seeds,
                     "max_steps": setup.max_steps})  # fmt: skip
    path = Path(out) / "expert.json"
    name = "expert (noise 0, reads the game state)"
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved.get("key") == key:
            return EvalResult(name, [Episode.from_dict(e) for e in saved["episodes"]])
    expert = ScriptedExpert(noise=0.0)
    res = evaluate(lambda env, obs: expert(env), setup.make_env(), setup.seeds, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": key, "episodes": [e.to_dict() for e in res.episodes]}))
    return res


def seed_summary(rec: dict[str, Any], expert_mean: float) -> dict[str, Any]:
    """One training seed's figures: :func:`bc_gym.evaluation.summarize` plus training ones."""
    from bc_gym.evaluation import summarize

    eps = rec["episodes"]
    s = summarize([e["return"] for e in eps], [e["crash"] for e in eps],
                  lengths=[e["steps"] for e in eps], seconds=[e["seconds"] for e in eps],
                  reference=expert_mean)  # fmt: skip
    reasons = [e["crash_reason"] for e in eps if e["crash"]]
    kinds = ", ".join(f"{r} {n}" for r, n in Counter(reasons).most_common()) or "none"
    return {**s, "seed": rec["seed"], "crash_kinds": kinds,
            **{k: rec[k] for k in ("act_p50_ms", "val_acc", "val_f1", "train_wall_s",
                                   "train_time_s", "updates", "watch")}}  # fmt: skip


def agent_summary(records: Sequence[dict[str, Any]], expert_mean: float) -> dict[str, Any]:
    """One agent over its training seeds: each seed's figures, and their mean and spread.

    Returns:
        ``per_seed`` (:func:`seed_summary` of each), ``pct_mean`` (mean over seeds of the % of
        the expert), ``pct_min``/``pct_max``, ``pct_std`` (sample std over seeds; NaN for one
        seed), and the means over seeds of ``mean_return``, ``crash_rate``, ``val_acc``,
        ``val_f1``, ``train_wall_s``, ``train_time_s`` and ``act_p50_ms``.
    """
    per = [seed_summary(r, expert_mean) for r in records]
    pcts = np.array([p["pct_of_reference"] for p in per])
    mean = {k: float(np.mean([p[k] for p in per])) for k in
            ("mean_return", "crash_rate", "val_acc", "val_f1", "train_wall_s", "train_time_s",
             "act_p50_ms")}  # fmt: skip
    return {
        "per_seed": per,
        "seeds": [p["seed"] for p in per],
        "pct_mean": float(pcts.mean()),
        "pct_min": float(pcts.min()),
        "pct_max": float(pcts.max()),
        "pct_std": float(pcts.std(ddof=1)) if len(pcts) > 1 else float("nan"),
        **mean,
    }


# Command-line options shared by benchmarks/agents.py and benchmarks/learning_curve.py
def add_options(p: Any) -> None:
    """Add the protocol's options to an ``argparse`` parser (``None`` defaults: see --tiny)."""
    p.add_argument("--noise", type=float, default=0.05, help="expert noise of the recipe")
    p.add_argument(
        "--obs-size",
        type=int,
        default=64,
        help="side of the square observations, px (96 is the game's native frame)",
    )
    p.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="steps per recipe and evaluation episode (default 1000; --tiny 60)",
    )
    p.add_argument(
        "--eval-seeds",
        type=int,
        default=None,
        help=f"unseen seeds to drive, {EVAL_SEED0}.. (default 50; --tiny 2)",
    )
    p.add_argument(
        "--train-seeds",
        default=None,
        help="training seeds of every agent, comma-separated (default 0,1,2; --tiny 0)",
    )
    p.add_argument(
        "--seed", type=int, default=None, help="one training seed: the same as --train-seeds SEED"
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=30,
        help="epochs of every trained agent (latent-gpt: its GPT stage)",
    )
    p.add_argument(
        "--steps-per-epoch",
        type=int,
        default=250,
        help="updates per epoch: training length is epochs x steps, never wall time",
    )
    p.add_argument(
        "--mirror",
        default="left:right",
        help="agents with a mirror option (and the exact-state MLP) also learn the "
        "left-right mirrored frames with these keys swapped; '' turns it off",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="[AGENT.]KEY=VALUE",
        help="an agent option or training option (epochs, steps_per_epoch, lr, "
        "patience...) of one agent; AGENT defaults to latent-gpt; state-mlp.updates "
        "sets the reference MLP's updates",
    )
    p.add_argument(
        "--variant",
        default=None,
        help="label of this run in its table (default: the --set options)",
    )
    p.add_argument(
        "--no-reference",
        action="store_true",
        help=f"no exact-state MLP reference row ({REFERENCE})",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="jobs (agent x training seed) run at a time, one process each",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads per job")
    p.add_argument("--tiny", action="store_true", help="tiny sizes: a smoke test")  # fmt: skip


def seeds_option(args: Any) -> list[int]:
    """The training seeds of ``--train-seeds`` / ``--seed`` (``ValueError`` if both or bad)."""
    if args.seed is not None and args.train_seeds is not None:
        raise ValueError(
            f"give --seed {args.seed} or --train-seeds {args.train_seeds}, not both "
            "(--seed N is --train-seeds N)"
        )
    if args.seed is not None:
        return [args.seed]
    text = args.train_seeds if args.train_seeds is not None else ("0" if args.tiny else "0,1,2")
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ValueError(
            f"--train-seeds must be comma-separated integers like 0,1,2, actual value: {text!r}"
        ) from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"--train-seeds needs distinct seeds like 0,1,2, actual value: {text!r}")
    return seeds


def setup_from_options(args: Any, episodes: int) -> Setup:
    """The :class:`Setup` of the parsed options (``--tiny``: 60-step episodes, 2 seeds)."""
    return Setup(
        episodes=episodes,
        noise=args.noise,
        obs_size=args.obs_size,
        max_steps=args.max_steps or (60 if args.tiny else 1000),
        eval_seeds=args.eval_seeds or (2 if args.tiny else 50),
        mirror=args.mirror,
        threads=args.threads,
    )


def agent_options(
    args: Any, names: Sequence[str], setup: Setup
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Every agent's config and training options from the parsed options and ``--set``."""
    base = {"epochs": args.epochs, "steps_per_epoch": args.steps_per_epoch, "patience": 0}
    if args.tiny:
        base.update(TINY_TRAIN)
    # latent-gpt and cnn-bc always: --set may name them (the VAE ablation reads latent-gpt's).
    everyone = list(dict.fromkeys([*names, "latent-gpt", "cnn-bc", REFERENCE]))
    configs = {n: default_config(n, setup, args.tiny) for n in everyone}
    train = {n: {} if n in UNTRAINED or n == REFERENCE else dict(base) for n in everyone}
    return apply_sets(args.set, configs, train)


def variant_label(args: Any) -> str:
    """``--variant``, else the ``--set`` options joined (empty: the defaults)."""
    return args.variant if args.variant is not None else ", ".join(args.set)
