"""Compare agents fairly on the same data: same split, same training budget, offline and online.

:func:`run_bench` does, for each agent:

1. **Train** on the training episodes of ``split_episodes(ds, val_fraction, seed)`` (the split
   every agent's ``train`` uses) under one time budget: ``budget_s`` seconds each, or, when
   ``budget_s`` is 0, the latent GPT's measured wall time (it trains first, unbudgeted).
2. **Offline**: replay the held-out episodes frame by frame through ``Agent.act`` (the stack
   built by the same time rule as :class:`~bc_gym.wrappers.TimedFrameStack`, from the dataset's
   timestamps); action accuracy, macro-F1 and the per-action confusion matrix. Agents that feed
   their previous action back (the latent GPT) see their *own* previous actions, as when they
   play. The training run's best-epoch validation scores (teacher-forced) are reported beside.
3. **Online**: one episode per seed on a headless env (``env_id``) or a live window (``title``,
   through :class:`~bc_gym.envs.ScreenEnv`); mean return with a 95% CI, crash rate (episodes
   that ended by ``terminated``) and ``act()`` latency p50/p95.

It writes ``results.md`` (Markdown tables with the machine line), ``results.json``,
``returns.png``, ``offline.png`` and ``confusion-AGENT.png`` into the results folder.

torch is used only through :mod:`bc_gym.agents`, imported inside the functions, so importing
this module (e.g. for :func:`machine_line`) stays cheap.

Example:
    >>> from bc_gym.bench import BenchConfig
    >>> cfg = BenchConfig(datasets=["data/run1"], agents=("majority", "random"), budget_s=5)
    >>> cfg.agents
    ('majority', 'random')
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from bc_gym.evaluation import EvalResult, agent_policy, mean_ci95, run_episodes

BENCH_VERSION = 1
UNTRAINED = ("random", "majority")  # nothing to learn: no budget applies


def machine_line() -> str:
    """E.g. ``2 cores (Intel Xeon ...), 24 GiB, Linux 6.1, Python 3.11.7, 2026-11-25 UTC``."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        mem_s = f"{mem:.0f} GiB"
    except (ValueError, OSError):
        mem_s = "? GiB"
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_s}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
    )


@dataclass
class BenchConfig:
    """What :func:`run_bench` compares and how."""

    datasets: Sequence[str | Path]
    """Dataset folders (bc-gym format); every agent trains on all of them."""
    agents: tuple[str, ...] = ("latent-gpt", "cnn-bc", "majority", "random")
    """Agent names (``bc_gym.agents.agent_names()``)."""
    budget_s: float = 0.0
    """Training seconds per agent; 0: the latent GPT's wall time (it must be in ``agents``)."""
    seeds: int = 10
    """Online episodes per agent (one per seed)."""
    env_id: str | None = "bc_gym/HighwayRacer-v0"
    """Headless Gymnasium env for the online part (``None`` with ``title``)."""
    title: str | None = None
    """Play a live window whose title contains this, through ``bc_gym/Screen-v0``."""
    screen: dict[str, Any] = field(default_factory=dict)
    """More ``ScreenEnv`` options of the live window: ``region`` (instead of ``title``),
    ``game_over`` (a detector), ``reset_keys`` (``bc-gym bench`` fills them from its options)."""
    launch_game: bool = False
    """With ``title``: start the built-in HighwayRacer window for each agent (``WindowProcess``)."""
    max_steps: int = 0
    """Steps per online episode (0: the env's own limit; needed for windows without game over)."""
    fps: float = 30.0
    """Control rate on a live window."""
    results: Path = Path("bench-results")
    """Results folder (``runs/`` inside holds the trained agents)."""
    val_fraction: float = 0.2
    """Fraction of episodes held out (``split_episodes``), per dataset."""
    seed: int = 0
    """Seed of the split and training; online seeds are ``10_000 + 100 * seed + k``."""
    device: str = "cpu"
    """Training and inference device (``cpu`` or ``cuda``)."""
    threads: int = 0
    """torch CPU threads (0: torch's default)."""
    progress: bool = True
    """Stage headers and tqdm bars."""
    configs: dict[str, Any] = field(default_factory=dict)
    """Agent name -> its config dataclass (default: the agent's defaults)."""
    command: str = ""
    """The command line to print in ``results.md`` (empty: a note that Python called it)."""

    def __post_init__(self) -> None:
        from bc_gym.agents import agent_names

        self.datasets = [Path(d) for d in self.datasets]
        self.results = Path(self.results)
        self.agents = tuple(a.strip() for a in self.agents if a.strip())
        if not self.datasets:
            raise ValueError("datasets is empty; pass at least one dataset folder")
        if not self.agents:
            raise ValueError("agents is empty; pass names such as ('cnn-bc', 'majority')")
        unknown = [a for a in self.agents if a not in agent_names()]
        if unknown:
            raise ValueError(f"unknown agents {unknown}; expected some of {agent_names()}")
        if len(set(self.agents)) != len(self.agents):
            raise ValueError(f"agents lists a name twice, actual value: {self.agents!r}")
        if (self.env_id is None) == (not self.live):
            raise ValueError(
                f"give exactly one of env_id and title (or screen['region']), actual values: "
                f"{self.env_id!r}, {self.title!r}"
            )
        if self.launch_game and self.title is None:
            raise ValueError("launch_game=True needs title (the built-in game's window title)")
        if self.budget_s < 0:
            raise ValueError(f"budget_s must be >= 0, actual value: {self.budget_s!r}")
        trained = [a for a in self.agents if a not in UNTRAINED]
        if self.budget_s == 0 and trained and "latent-gpt" not in self.agents:
            raise ValueError(
                f"budget_s is 0 (use the latent GPT's wall time) but latent-gpt is not in "
                f"{list(self.agents)}; give a budget in seconds (--budget) or add latent-gpt"
            )
        if self.seeds < 0:
            raise ValueError(f"seeds must be >= 0, actual value: {self.seeds!r}")
        if self.max_steps < 0:
            raise ValueError(f"max_steps must be >= 0, actual value: {self.max_steps!r}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1), actual value: {self.val_fraction!r}")

    @property
    def live(self) -> bool:
        """True when the online part plays a live window (``title`` or a ``region``)."""
        return self.title is not None or self.screen.get("region") is not None

    @property
    def online_seeds(self) -> list[int]:
        """The seeds of the online episodes."""
        return [10_000 + 100 * self.seed + k for k in range(self.seeds)]


def say(text: str, show: bool = True) -> None:
    """Print a stage header."""
    if show:
        print(f"\n== {text}", flush=True)


# Playing
PlayResult = EvalResult
"""What an agent did over some episodes (headless or live): :class:`bc_gym.evaluation.EvalResult`
(``summary()`` gives the mean return, 95% CI, crash rate, act() and live-timing percentiles)."""


def play_episodes(
    agent: Any,
    env: Any,
    seeds: Sequence[int | None],
    *,
    max_steps: int = 0,
    desc: str = "",
    progress: bool = True,
    on_step: Callable[[int, int], None] | None = None,
    after_episode: Callable[[int], None] | None = None,
) -> PlayResult:
    """Let ``agent`` play one episode per seed on ``env`` (headless or a live ``ScreenEnv``).

    The loop is :func:`bc_gym.evaluation.run_episodes` with ``agent.act`` as the policy.

    Args:
        agent: a :class:`bc_gym.agents.Agent` (``reset`` and ``act``).
        env: a Gymnasium env giving the agent's observations (see :func:`agent_env`).
        seeds: the ``reset`` seed of each episode (``None``: no seed, e.g. a live window).
        max_steps: stop an episode after this many steps (0: only the env ends it).
        desc: label of the progress bar.
        progress: show a tqdm bar per episode.
        on_step: called with ``(episode, steps so far)`` after every step.
        after_episode: called with the episode's index after it ends.

    Returns:
        Returns, lengths, crashes (``terminated``), act() times and live timings.
    """
    return run_episodes(
        agent_policy(agent),
        env,
        seeds,
        name=desc.strip() or "agent",
        reset=agent.reset,
        max_steps=max_steps,
        on_step=on_step,
        after_episode=after_episode,
        progress=progress,
        desc=desc,
    )


def agent_env(
    agent: Any,
    env_id: str | None = None,
    title: str | None = None,
    *,
    fps: float = 30.0,
    **kwargs: Any,
) -> Any:
    """The env an agent plays: ``env_id`` headless, or the live window ``title``.

    Observations are resized to the agent's frame shape; agents with ``n_stack > 1`` get
    :class:`~bc_gym.wrappers.TimedFrameStack` at their ``spacing_s`` (game time headless,
    capture time live, where a background capture at ``fps`` keeps the spacing exact). A
    window titled like the built-in game uses ScreenEnv's ``game="highway"`` preset (score
    reward, game-over detector, reset keys).

    Args:
        agent: the agent (``obs_shape``, ``action_map``, ``n_stack``, ``spacing_s``).
        env_id: a registered Gymnasium id, e.g. ``bc_gym/HighwayRacer-v0``.
        title: or the title (a part of it) of a live window.
        fps: control and capture rate of a live window.
        **kwargs: more options of ``gym.make`` (live: of ``ScreenEnv``, e.g. ``region`` instead
            of ``title``, ``game_over``, ``reset_keys``).

    Raises:
        ValueError: neither or both of ``env_id``/``title``, or a frame shape the agent was not
            trained on.
    """
    import gymnasium as gym

    import bc_gym  # noqa: F401  (registers the envs)
    from bc_gym.agents.data import recorded_frame_size
    from bc_gym.wrappers import ResizeFrames, TimedFrameStack

    live = title is not None or kwargs.get("region") is not None  # a window, or a region
    if (env_id is None) == (not live):
        raise ValueError(
            f"give exactly one of env_id and title (or region=), actual values: {env_id!r}, "
            f"{title!r}"
        )
    h, w, c = agent.obs_shape
    # A window is captured at the recorded size, then resized as training resized the data.
    fh, fw = recorded_frame_size(agent) if live else (h, w)
    if live:
        from bc_gym.games.highway.window import TITLE

        game = "highway" if title is not None and title.lower() in TITLE.lower() else None
        env = gym.make(
            "bc_gym/Screen-v0",
            game=game,
            title=title,
            actions=agent.action_map,
            obs_size=(fh, fw),
            grayscale=c == 1,
            fps=fps,
            capture_fps=fps,
            warn_late=False,
            **kwargs,
        )
    else:
        try:
            env = gym.make(env_id, **kwargs)
        except gym.error.UnregisteredEnv as exc:  # an id the user typed
            from bc_gym.errors import ConfigError

            raise ConfigError(f"unknown env id {env_id!r}: {exc}") from None
        if tuple(env.observation_space.shape) != agent.obs_shape:
            env.close()
            env = gym.make(env_id, obs_size=(h, w), grayscale=c == 1, **kwargs)
    if tuple(env.observation_space.shape) != (fh, fw, c):
        shape = tuple(env.observation_space.shape)
        env.close()
        raise ValueError(
            f"{env_id or title!r} gives observations of shape {shape}, the agent was trained "
            f"on {(fh, fw, c)}; record or resize the dataset to the env's frame size"
        )
    if agent.n_stack > 1:
        env = TimedFrameStack(env, agent.n_stack, agent.spacing_s)
    if (fh, fw) != (h, w):  # after the stack: it reads older frames from the capture buffer
        env = ResizeFrames(env, (h, w))
    return env


# Offline
def held_out(
    datasets: Sequence[Any], val_fraction: float, seed: int
) -> tuple[list[Any], list[list[int]]]:
    """What every agent holds out (:func:`bc_gym.agents.data.split`): datasets and positions.

    Whole episodes (``split_episodes``) of a dataset with enough of them, as in the published
    benchmarks; else the last part of each episode, a time block of an ``EpisodeBlocks`` view.

    Returns:
        ``(datasets, ids)``: the datasets (or views) to replay, and the held-out positions in each.
    """
    from bc_gym.agents.data import split

    parts = split(datasets, val_fraction, seed, need_val=False)
    return parts.datasets, [val for _, val in parts.ids]


def replay_actions(
    agent: Any, datasets: Sequence[Any], ids: Sequence[Sequence[int]], progress: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The agent's action on every labelled frame of the listed episodes, and the labels.

    Each episode starts with ``agent.reset()``; frame ``j`` is given as the agent's stack of
    the frames nearest ``t_j - kΔ`` (``TimedFrameStack``'s rule on the dataset's timestamps).

    Returns:
        ``(y_true, y_pred)``, int64 arrays of equal length.
    """
    from tqdm.auto import tqdm

    from bc_gym.agents.data import window_indices

    y_true, y_pred = [], []
    total = sum(len(ds[int(i)]) for ds, idx in zip(datasets, ids, strict=True) for i in idx)
    bar = tqdm(total=total, desc=f"{agent.name} offline", leave=False, disable=not progress)
    for ds, idx in zip(datasets, ids, strict=True):
        for i in idx:
            ep = ds[int(i)]
            n = len(ep)
            if n == 0:
                continue
            frames = np.asarray(ep.observations)[: n + 1]
            times = np.asarray(ep.timestamps, dtype=np.float64)[: n + 1]
            win = window_indices(times, agent.n_stack, max(agent.spacing_s, 1e-9), n)  # (n, k)
            agent.reset()
            for j in range(n):
                y_pred.append(agent.act(frames[win[j]]))
                bar.update()
            y_true.append(np.asarray(ep.actions, dtype=np.int64)[:n])
    bar.close()
    true = np.concatenate(y_true) if y_true else np.zeros(0, np.int64)
    return true, np.asarray(y_pred, dtype=np.int64)


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """``(n, n)`` counts: row = true action, column = predicted action."""
    m = np.zeros((n, n), np.int64)
    np.add.at(m, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return m


def best_val_metrics(run: Path) -> dict[str, float]:
    """Best-epoch ``val_acc``/``val_f1`` from the run's ``*_metrics.csv`` (the final stage's)."""
    import csv

    for prefix in ("gpt", "cnn", "bc"):  # latent-gpt's GPT stage, cnn-bc, imitation-bc
        path = run / f"{prefix}_metrics.csv"
        if path.is_file():
            with open(path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if r.get("val_f1")]
            if rows:
                best = max(rows, key=lambda r: float(r["val_f1"]))
                return {"val_acc": float(best["val_acc"]), "val_f1": float(best["val_f1"])}
    return {}


# Training
def train_agents(cfg: BenchConfig, datasets: list[Any]) -> tuple[dict[str, dict[str, Any]], float]:
    """Train every agent of ``cfg`` into ``cfg.results/runs/NAME``; the latent GPT first.

    Returns:
        Name -> ``{"run", "wall_s", "budget_s"}``, and the budget the trained agents got
        (``cfg.budget_s``, or the latent GPT's wall time when that is 0).
    """
    from bc_gym.agents import agent_class
    from bc_gym.agents.training import TrainConfig

    names = sorted(cfg.agents, key=lambda n: n != "latent-gpt")
    shared = cfg.budget_s
    out: dict[str, dict[str, Any]] = {}
    for k, name in enumerate(names):
        run = cfg.results / "runs" / name
        tc = TrainConfig(
            val_fraction=cfg.val_fraction,
            seed=cfg.seed,
            device=cfg.device,
            progress=cfg.progress,
            num_threads=cfg.threads,
        )
        budget = 0.0 if name in UNTRAINED else shared
        if budget > 0:  # spend the whole budget, as benchmarks/agents.py does
            tc.time_budget_s, tc.epochs, tc.patience = budget, 10_000, 0
        label = f"{budget:.0f} s" if budget > 0 else "unbounded: its wall time is the budget"
        if name in UNTRAINED:
            label = "none: nothing to learn"
        say(f"train {k + 1}/{len(names)}: {name} (budget {label}) -> {run}", cfg.progress)
        t0 = time.perf_counter()
        agent_class(name).train(datasets, run, tc, cfg.configs.get(name))
        wall = time.perf_counter() - t0
        if name == "latent-gpt" and shared == 0:
            shared = wall
        out[name] = {"run": str(run), "wall_s": wall, "budget_s": budget}
        if cfg.progress:
            print(f"  {name}: trained in {wall:.1f} s", flush=True)
    return out, shared


# The whole bench
def run_bench(cfg: BenchConfig) -> dict[str, Any]:
    """Train, score offline and online, and write the results folder.

    Returns:
        The dict written to ``results.json``.
    """
    from bc_gym.agents import load_agent
    from bc_gym.agents.data import open_datasets, part_names
    from bc_gym.agents.training import classification_metrics

    t_start = time.perf_counter()
    cfg.results.mkdir(parents=True, exist_ok=True)
    datasets = open_datasets([str(d) for d in cfg.datasets])
    action_map = datasets[0].action_map
    held, ids = held_out(datasets, cfg.val_fraction, cfg.seed)
    n_held = sum(len(ds[int(i)]) for ds, idx in zip(held, ids, strict=True) for i in idx)
    say(
        f"1/4 split: {sum(map(len, ids))} of {sum(len(ds) for ds in datasets)} episodes held "
        f"out ({n_held} labelled frames), val_fraction={cfg.val_fraction}, seed={cfg.seed}",
        cfg.progress,
    )
    if n_held == 0:
        from bc_gym.errors import DatasetError

        raise DatasetError(
            f"no held-out frames in {[str(d) for d in cfg.datasets]}: record more (or longer) "
            "episodes"
        )
    say("2/4 train (same split, same budget)", cfg.progress)
    trained, budget = train_agents(cfg, datasets)

    say(f"3/4 offline: replay {n_held} held-out frames through act()", cfg.progress)
    rows: list[dict[str, Any]] = []
    agents = {}
    for name in cfg.agents:
        agent = load_agent(trained[name]["run"], device=cfg.device)
        agents[name] = agent
        y_true, y_pred = replay_actions(agent, held, ids, cfg.progress)
        m = classification_metrics(y_true, y_pred, action_map.n)
        config = json.loads((Path(trained[name]["run"]) / "config.json").read_text())
        rows.append(
            {
                "agent": name,
                "run": trained[name]["run"],
                "train_wall_s": trained[name]["wall_s"],
                "train_time_s": config.get("train_time_s"),
                "budget_s": trained[name]["budget_s"],
                "n_stack": agent.n_stack,
                "spacing_s": agent.spacing_s,
                "offline": {
                    "frames": len(y_true),
                    "accuracy": m["acc"],
                    "macro_f1": m["f1"],
                    "confusion": confusion(y_true, y_pred, action_map.n).tolist(),
                    "train_val": best_val_metrics(Path(trained[name]["run"])),
                },
            }
        )
        if cfg.progress:
            print(f"  {name}: accuracy {m['acc']:.3f}, macro-F1 {m['f1']:.3f}", flush=True)

    region = cfg.screen.get("region")
    where = cfg.env_id or (f"window {cfg.title!r}" if region is None else f"region {region}")
    say(f"4/4 online: {cfg.seeds} episode(s) per agent on {where}", cfg.progress)
    for row in rows:
        res = play_online(cfg, agents[row["agent"]], row["agent"])
        row["online"] = res.summary()
        row["online"]["seconds"] = res.seconds
        row["online"]["seconds_ci95"] = mean_ci95(res.seconds)[1]
        if cfg.progress:
            s = row["online"]
            secs = ", ".join(f"{x:.1f}" for x in res.seconds)
            print(
                f"  {row['agent']}: return {s['mean_return']:.1f} ± {s['ci95']:.1f}, crash "
                f"rate {s['crash_rate']:.0%}, act() p50 {s['act_p50_ms']:.2f} ms"
                + (f"; episodes {secs} s: {s['mean_seconds']:.1f} ± "
                   f"{s['seconds_ci95']:.1f} s" if cfg.live else ""),
                flush=True,
            )  # fmt: skip

    result = {
        "bench_version": BENCH_VERSION,
        "machine": machine_line(),
        "command": cfg.command or "bc_gym.bench.run_bench (Python)",
        "datasets": [str(d) for d in cfg.datasets],
        "actions": list(action_map.names),
        "split": {
            "val_fraction": cfg.val_fraction,
            "seed": cfg.seed,
            "held_out": part_names(held, ids),
            "held_out_frames": n_held,
        },
        "budget_s": budget,
        "budget_source": "--budget"
        if cfg.budget_s > 0
        else ("latent-gpt wall time" if "latent-gpt" in cfg.agents else "none"),
        "online_env": {
            "env_id": cfg.env_id,
            "title": cfg.title,
            "region": list(region) if region is not None else None,
            "game_over": repr(cfg.screen["game_over"]) if "game_over" in cfg.screen else None,
            "reset_keys": list(cfg.screen["reset_keys"]) if "reset_keys" in cfg.screen else None,
            "seeds": cfg.online_seeds if cfg.env_id else [],
            "episodes": cfg.seeds,
            "max_steps": cfg.max_steps,
            "fps": cfg.fps if cfg.live else None,
        },
        "agents": rows,
        "wall_s": time.perf_counter() - t_start,
    }
    write_results(cfg.results, result)
    return result


def play_online(cfg: BenchConfig, agent: Any, name: str) -> PlayResult:
    """One agent's online episodes on ``cfg.env_id`` or the live window ``cfg.title``."""
    if cfg.seeds == 0:
        return PlayResult(name)
    with ExitStack() as stack:
        if cfg.launch_game:
            from bc_gym.games.highway.launch import WindowProcess

            args = ["--start-paused", "--seed", str(10_000 + 100 * cfg.seed), "--fps", str(cfg.fps)]
            if cfg.max_steps:
                args += ["--max-steps", str(cfg.max_steps)]
            stack.enter_context(WindowProcess(args))
        kwargs = {}
        if cfg.env_id is not None and cfg.max_steps and "HighwayRacer" in cfg.env_id:
            kwargs["max_steps"] = cfg.max_steps
        env = agent_env(agent, cfg.env_id, cfg.title, fps=cfg.fps, **cfg.screen, **kwargs)
        stack.callback(env.close)
        seeds: list[int | None] = list(cfg.online_seeds) if cfg.env_id else [None] * cfg.seeds
        return play_episodes(
            agent, env, seeds, max_steps=cfg.max_steps, desc=f"  {name}", progress=cfg.progress
        )


# Report
def _f(x: float | None, fmt: str = ".3f") -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def _held_out_text(split: dict[str, Any]) -> str:
    """What was held out: whole episodes, or time blocks ``[episode, start, stop]``."""
    parts = [p for held in split["held_out"] for p in held]
    vf, frames = split["val_fraction"], split["held_out_frames"]
    if any(isinstance(p, list) for p in parts):
        return (
            f"the last {vf:g} of each episode, {len(parts)} time block(s) ({frames} labelled "
            "frames; too few episodes to hold out whole ones)"
        )
    return (
        f"{len(parts)} episodes ({frames} labelled frames), `split_episodes(val_fraction={vf}, "
        f"seed={split['seed']})`"
    )


def results_markdown(result: dict[str, Any]) -> str:
    """The ``results.md`` text: machine line, command, setup, offline and online tables."""
    rows = result["agents"]
    env = result["online_env"]
    live = f"window {env['title']!r}" if env.get("region") is None else f"region {env['region']}"
    where = env["env_id"] or f"live {live} (ScreenEnv, {env['fps']:g} Hz)"
    seeds = env["seeds"]
    seeds_s = f", seeds {seeds[0]}..{seeds[-1]}" if seeds else ""
    if all(r["agent"] in UNTRAINED for r in rows):
        budget = "none (random and majority learn nothing)"
    elif result["budget_source"] == "--budget":
        budget = f"{result['budget_s']:.1f} s per trained agent (--budget)"
    else:
        budget = (
            f"{result['budget_s']:.1f} s per trained agent (the latent GPT's wall time; it "
            "trained without a budget)"
        )
    lines = [
        "# bc-gym bench",
        "",
        f"Machine: {result['machine']}",
        "",
        f"Command: `{result['command']}`",
        "",
        f"Datasets: {', '.join(result['datasets'])}. Held out: {_held_out_text(result['split'])}. "
        f"Training budget: {budget}.",
        "",
        "## Offline (held-out episodes, replayed through act())",
        "",
        "| agent | accuracy | macro-F1 | train val acc / F1 (best epoch, teacher-forced) "
        "| train wall (s) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        o = r["offline"]
        tv = o["train_val"]
        tv_s = f"{tv['val_acc']:.3f} / {tv['val_f1']:.3f}" if tv else ""
        lines.append(
            f"| {r['agent']} | {_f(o['accuracy'])} | {_f(o['macro_f1'])} | {tv_s} "
            f"| {r['train_wall_s']:.1f} |"
        )
    lines += [
        "",
        f"## Online ({env['episodes']} episode(s) per agent on {where}{seeds_s}"
        + (f", max {env['max_steps']} steps" if env["max_steps"] else "")
        + ")",
        "",
        "| agent | mean return ± 95% CI | crash rate | mean steps | mean seconds ± 95% CI "
        "| act() p50 / p95 (ms) | control Hz | obs age p50 / p95 (ms) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s = r.get("online", {})
        if not s or not s["episodes"]:
            lines.append(f"| {r['agent']} | not played | | | | | | |")
            continue
        ci = _f(s["ci95"], ".1f")
        sec_ci = _f(s.get("seconds_ci95"), ".1f")
        lines.append(
            f"| {r['agent']} | {s['mean_return']:.1f}{' ± ' + ci if ci else ''} "
            f"| {100 * s['crash_rate']:.0f}% | {s['mean_steps']:.0f} "
            f"| {_f(s['mean_seconds'], '.1f')}{' ± ' + sec_ci if sec_ci else ''} "
            f"| {_f(s['act_p50_ms'], '.2f')} / {_f(s['act_p95_ms'], '.2f')} "
            f"| {_f(s['control_hz'], '.1f')} "
            f"| {_f(s['obs_age_p50_ms'], '.1f')} / {_f(s['obs_age_p95_ms'], '.1f')} |"
        )
    lines += [
        "",
        "Accuracy and macro-F1: every labelled frame of the held-out episodes, given to act() "
        "as the agent's time-spaced stack; agents that use their previous action see their "
        "own. Crash rate: episodes that ended by `terminated`. Mean seconds: game time per "
        "episode (on a live window, until the game over began). Confusion matrices: "
        "`confusion-AGENT.png`; plots: `returns.png`, `offline.png`.",
    ]
    return "\n".join(lines) + "\n"


def write_results(folder: Path, result: dict[str, Any]) -> list[Path]:
    """Write ``results.md``, ``results.json`` and the PNG plots into ``folder``; their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "results.md", folder / "results.json"]
    written[0].write_text(results_markdown(result))
    written[1].write_text(json.dumps(result, indent=2, allow_nan=True))
    rows = result["agents"]
    names = [r["agent"] for r in rows]

    played = [r for r in rows if r.get("online", {}).get("episodes")]
    if played:
        fig, ax = plt.subplots(figsize=(1.5 + 1.2 * len(played), 3.5))
        ci = [r["online"]["ci95"] for r in played]
        ax.bar(
            [r["agent"] for r in played],
            [r["online"]["mean_return"] for r in played],
            yerr=[0 if math.isnan(c) else c for c in ci],
            capsize=4,
        )
        ax.set_ylabel("mean return (95% CI)")
        ax.set_title("online return")
        fig.tight_layout()
        fig.savefig(folder / "returns.png", dpi=100)
        plt.close(fig)
        written.append(folder / "returns.png")

    fig, ax = plt.subplots(figsize=(1.5 + 1.2 * len(rows), 3.5))
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r["offline"]["accuracy"] for r in rows], 0.4, label="accuracy")
    ax.bar(x + 0.2, [r["offline"]["macro_f1"] for r in rows], 0.4, label="macro-F1")
    ax.set_xticks(x, names)
    ax.set_ylim(0, 1)
    ax.set_title("held-out episodes")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "offline.png", dpi=100)
    plt.close(fig)
    written.append(folder / "offline.png")

    actions = result["actions"]
    for r in rows:
        m = np.asarray(r["offline"]["confusion"], dtype=np.float64)
        share = m / np.maximum(m.sum(1, keepdims=True), 1)
        fig, ax = plt.subplots(figsize=(5.5, 5))
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for i, j in zip(*np.nonzero(m), strict=True):
            ax.text(
                j,
                i,
                f"{int(m[i, j])}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if share[i, j] > 0.5 else "black",
            )
        ax.set_xticks(range(len(actions)), actions, rotation=60, fontsize=8)
        ax.set_yticks(range(len(actions)), actions, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("expert (held out)")
        ax.set_title(
            f"{r['agent']}: acc {r['offline']['accuracy']:.3f}, F1 {r['offline']['macro_f1']:.3f}"
        )
        fig.tight_layout()
        path = folder / f"confusion-{r['agent']}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


# The benchmark suite
def run_suite(root: Path | None = None, names: Sequence[str] = ()) -> int:
    """Run ``python -m benchmarks [NAMES]`` from a source checkout; its exit code.

    Args:
        root: the repository root (default: the folder above the ``bc_gym`` package).
        names: benchmarks to run (default: all of them).

    Raises:
        BcGymError: ``root/benchmarks`` is missing (an installed bc-gym, not a checkout).
    """
    import subprocess

    from bc_gym.errors import BcGymError

    root = Path(root) if root is not None else Path(__file__).resolve().parent.parent
    if not (root / "benchmarks" / "__main__.py").is_file():
        raise BcGymError(
            f"the benchmark suite needs a source checkout: {root / 'benchmarks'} is missing. "
            "Clone the bc-gym repository and run `bc-gym bench --suite` (or "
            "`python -m benchmarks`) from it."
        )
    return subprocess.call([sys.executable, "-m", "benchmarks", *names], cwd=root)


__all__ = [
    "BenchConfig",
    "PlayResult",
    "agent_env",
    "machine_line",
    "play_episodes",
    "replay_actions",
    "run_bench",
    "run_suite",
    "write_results",
]
