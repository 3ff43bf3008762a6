"""``bc-gym demo``: record -> train -> play, live, on the built-in game's real window.

1. **Record.** The HighwayRacer window runs with ``--autopilot``: the scripted expert plays
   through real X key events, and :class:`~bc_gym.record.Recorder` records the window and the
   keyboard on a fixed clock, exactly as it would record a person.
2. **Train.** Every agent trains on that recording under a time budget.
3. **Play live.** Each agent drives a fresh window through :class:`~bc_gym.envs.ScreenEnv`
   (async capture, ``TimedFrameStack`` at the agent's spacing), on the same game seeds as the
   expert and a random policy. Returns and crashes come from the game's own log; control rate
   and observation age from the env's ``info``.
4. **Report.** A Markdown table, a JSON file, a bar plot, and a GIF of the latent GPT driving.

No display? It starts its own Xvfb and says so.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bc_gym.games.highway.launch import WindowProcess
from bc_gym.games.highway.window import TITLE

KEYS = ("left", "right", "up", "down")
GIF = "agent_driving.gif"
"""The lead agent (``DemoConfig.agents[0]``) driving live, written to ``DemoConfig.out``."""


@dataclass
class DemoConfig:
    """What the demo does; ``quick=True`` shrinks every stage (about 3 minutes in all)."""

    out: Path = Path("out/demo")
    """Output folder (dataset, runs, table, plots, GIF)."""
    quick: bool = False
    """Short recording, short training, one live episode per policy."""
    agents: tuple[str, ...] = ("cnn-bc", "latent-gpt")
    """Agents to train and play (random is always played as the floor). The first is the lead:
    it gets the whole training budget and the GIF. cnn-bc leads because it is the best agent
    under the multi-seed protocol (README, "Agents"); the flagship latent GPT follows."""
    record_s: float = 0.0
    """Seconds of expert play to record (0: 600, or 45 with ``quick``). Ten minutes is the
    learning curve's 20-episode point (README, "How much to record"); more drives better."""
    train_s: float = 0.0
    """Training budget of the lead agent in seconds; the others get a third (0: 600 / 60)."""
    episodes: int = 0
    """Live episodes per policy (0: 10, or 1 with ``quick``)."""
    max_steps: int = 0
    """Steps (1/30 s each) per live game (0: 600, or 300 with ``quick``)."""
    fps: float = 30.0
    """Game, recording and control rate."""
    noise: float = 0.05
    """Expert noise while recording (random actions and drift-then-recover)."""
    mirror: str = "left:right"
    """Agents with a ``mirror`` option also learn the left-right mirrored frames with these keys
    exchanged (the road is symmetric); empty: off."""
    seed: int = 0
    """Seed of training; live games use seeds 20_000 + seed onwards."""
    device: str = "cpu"
    """Training device."""

    def __post_init__(self) -> None:
        self.out = Path(self.out).resolve()  # the game runs in another folder: absolute paths
        self.record_s = self.record_s or (45.0 if self.quick else 600.0)
        self.train_s = self.train_s or (60.0 if self.quick else 600.0)
        self.episodes = self.episodes or (1 if self.quick else 10)
        if not self.agents:
            raise ValueError("agents must name at least one agent to train")
        self.max_steps = self.max_steps or (300 if self.quick else 600)


SUMMARY_KEYS = ("episodes", "mean_return", "ci95", "crash_rate", "control_hz",
                "obs_age_p50_ms", "obs_age_p95_ms")  # fmt: skip
"""The figures of a :class:`LiveResult` summary (the HighwayRacer table's)."""


@dataclass
class LiveResult:
    """One policy's live games."""

    policy: str
    returns: list[float] = field(default_factory=list)
    crashes: list[bool] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    ages_ms: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def summary(self, keys: tuple[str, ...] = SUMMARY_KEYS) -> dict[str, Any]:
        """Mean return, 95% CI, crash rate, control rate and observation age percentiles.

        Args:
            keys: which of :func:`bc_gym.evaluation.summarize`'s figures to keep.
        """
        from bc_gym.evaluation import summarize

        s = summarize(self.returns, self.crashes, seconds=self.seconds, rates=self.rates,
                      ages_ms=self.ages_ms)  # fmt: skip
        return {"policy": self.policy, **{k: s[k] for k in keys}}


def say(text: str) -> None:
    """A stage header."""
    print(f"\n== {text}", flush=True)


def private_display(stack: ExitStack) -> None:
    """Start a private Xvfb on ``stack`` when there is no ``DISPLAY``, and say so."""
    if not os.environ.get("DISPLAY"):
        from bc_gym.screen.xvfb import Xvfb

        x = stack.enter_context(Xvfb(1280, 800))
        print(f"No DISPLAY: started a private Xvfb on {x.display} (it stops at the end).")


def fmt_ci(row: dict[str, Any]) -> str:
    """`` ± CI`` of a summary row (empty for a single episode)."""
    return "" if np.isnan(row["ci95"]) else f" ± {row['ci95']:.1f}"


def fmt_age(row: dict[str, Any]) -> str:
    """``p50 / p95`` observation age of a summary row, ms (``n/a`` without live timings)."""
    if np.isnan(row["obs_age_p50_ms"]):
        return "n/a"
    return f"{row['obs_age_p50_ms']:.1f} / {row['obs_age_p95_ms']:.1f}"


def write_json(path: Path, config: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """``{"config": ..., "results": rows}`` with NaN written as null (JSON has no NaN)."""
    clean = [{k: None if isinstance(v, float) and np.isnan(v) else v for k, v in r.items()}
             for r in rows]  # fmt: skip
    path.write_text(json.dumps({"config": config, "results": clean}, indent=2))


def bar_plot(rows: list[dict[str, Any]], path: Path, ylabel: str, title: str) -> None:
    """Mean return ± 95% CI per policy as a bar chart (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    names = [r["policy"].split(" (")[0] for r in rows]
    ax.bar(names, [r["mean_return"] for r in rows],
           yerr=[0 if np.isnan(r["ci95"]) else r["ci95"] for r in rows], capsize=4)  # fmt: skip
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train_agents(
    data: Path,
    runs: Path,
    names: tuple[str, ...],
    train_config: Callable[[str], Any],
    configure: Callable[[str, Any], None] = lambda name, config: None,
    label: Callable[[str], str] = lambda name: "",
    config_for: Callable[[str], Any] | None = None,
) -> dict[str, Path]:
    """Train each agent in ``names`` on the dataset ``data`` into ``runs/NAME``.

    Args:
        data: the recorded dataset.
        runs: parent folder of the run folders.
        names: agent names (``bc_gym.agents.agent_names()``).
        train_config: the agent's :class:`~bc_gym.agents.training.TrainConfig`.
        configure: edits the agent's own config (``None`` for agents without one) in place.
        label: text after the agent's name in the stage line, e.g. its budget.
        config_for: the agent's own config before ``configure`` (default: its defaults).

    Returns:
        The run folder of each agent.
    """
    from bc_gym.agents import agent_class
    from bc_gym.commands.agents import agent_config
    from bc_gym.datasets import load_dataset

    ds = load_dataset(data)
    out: dict[str, Path] = {}
    for name in names:
        run = runs / name
        say(f"train {name}{label(name)} -> {run}")
        t0 = time.monotonic()
        config = config_for(name) if config_for is not None else agent_config(name, [])
        configure(name, config)
        agent_class(name).train([ds], run, train_config(name), config)
        print(f"  {name}: {time.monotonic() - t0:.0f} s")
        out[name] = run
    return out


def _games(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def record(cfg: DemoConfig) -> Path:
    """Stage 1: the expert plays the window through real keys while the recorder records."""
    from bc_gym.envs.highway import game_over_detector
    from bc_gym.record.recorder import Recorder
    from bc_gym.screen.capture import ScreenCapture

    data = cfg.out / "data"
    log = cfg.out / "record_games.jsonl"
    log.unlink(missing_ok=True)
    game_steps = int(1.5 * cfg.max_steps)  # recorded games: 900 steps by default
    args = ["--autopilot", "--autopilot-noise", str(cfg.noise), "--seed", str(1000 + cfg.seed),
            "--max-steps", str(game_steps), "--fps", str(cfg.fps), "--log", str(log)]  # fmt: skip
    with WindowProcess(args):
        cap = ScreenCapture(title=TITLE, size=(64, 64))
        last = [0.0]

        def status(st: Any) -> None:
            if time.monotonic() - last[0] > 5:
                last[0] = time.monotonic()
                print("  " + st.line(), flush=True)

        rec = Recorder(cap, KEYS, cfg.fps, data, game_over=game_over_detector(),
                       overwrite=True, status=status)  # fmt: skip
        stats = rec.run(duration_s=cfg.record_s, handle_signals=False)
        cap.close()
    games = _games(log)
    print(f"  recorded {stats.line()}")
    print(f"  expert games while recording: {len(games)}, "
          f"crashes {sum(bool(g['crash']) for g in games)}")  # fmt: skip
    return data


def train(cfg: DemoConfig, data: Path) -> dict[str, Path]:
    """Stage 2: train every agent on the recording under its time budget."""
    from bc_gym.agents.training import TrainConfig

    def budget(name: str) -> float:
        return cfg.train_s if name == cfg.agents[0] else cfg.train_s / 3

    def configure(name: str, config: Any) -> None:
        if config is not None and hasattr(config, "mirror"):  # the agent has a mirror option
            config.mirror = cfg.mirror

    return train_agents(
        data, cfg.out / "runs", (*cfg.agents, "random"),
        lambda name: TrainConfig(time_budget_s=budget(name), seed=cfg.seed, device=cfg.device),
        configure, lambda name: f" (budget {budget(name):.0f} s)",
    )  # fmt: skip


def play_expert(cfg: DemoConfig) -> LiveResult:
    """The scripted expert (noise 0) on the live seeds, through real keys (the baseline)."""
    log = cfg.out / "live_expert.jsonl"
    log.unlink(missing_ok=True)
    args = ["--autopilot", "--start-paused", "--seed", str(20_000 + cfg.seed),
            "--max-steps", str(cfg.max_steps), "--max-episodes", str(cfg.episodes),
            "--fps", str(cfg.fps), "--log", str(log)]  # fmt: skip
    with WindowProcess(args) as game:
        game.wait(timeout_s=cfg.episodes * (cfg.max_steps / cfg.fps + 10) + 30)
    res = LiveResult("scripted expert (reads the game state)")
    for g in _games(log):
        res.returns.append(g["return"])
        res.crashes.append(bool(g["crash"]))
    res.rates = [cfg.fps]
    return res


def play_agent(cfg: DemoConfig, name: str, run: Path, gif: Path | None = None) -> LiveResult:
    """One agent drives a fresh window through ScreenEnv for ``cfg.episodes`` games."""
    from bc_gym.agents import load_agent
    from bc_gym.bench import agent_env
    from bc_gym.evaluation import agent_policy, run_episodes
    from bc_gym.screen.capture import ScreenCapture

    agent = load_agent(run)
    log = cfg.out / f"live_{name}.jsonl"
    log.unlink(missing_ok=True)
    args = ["--start-paused", "--seed", str(20_000 + cfg.seed), "--max-steps",
            str(cfg.max_steps), "--fps", str(cfg.fps), "--log", str(log)]  # fmt: skip
    res = LiveResult(name)
    frames: list[np.ndarray] = []
    with ExitStack() as stack:
        stack.enter_context(WindowProcess(args))
        env = agent_env(agent, title=TITLE, fps=cfg.fps)
        stack.callback(env.close)
        shot = stack.enter_context(ScreenCapture(title=TITLE, size=(192, 192))) if gif else None

        def grab(episode: int, steps: int) -> None:
            if shot is not None and episode == 0 and steps % 2 == 0:
                frames.append(shot.grab())

        # after_episode: let the game write its log line.
        played = run_episodes(agent_policy(agent), env, [None] * cfg.episodes, name=name,
                              reset=agent.reset, max_steps=cfg.max_steps + 61, on_step=grab,
                              after_episode=lambda _: time.sleep(0.3), progress=True,
                              desc=f"  {name}")  # fmt: skip
        res.ages_ms, res.rates = played.ages_ms, played.rates  # returns: the game's own log
    for g in _games(log)[: cfg.episodes]:
        res.returns.append(g["return"])
        res.crashes.append(bool(g["crash"]))
    if gif is not None and frames:
        import imageio.v3 as iio

        iio.imwrite(gif, np.stack(frames), duration=1000 / 15, loop=0)
    return res


def report(cfg: DemoConfig, results: list[LiveResult]) -> str:
    """Write ``table.md``, ``results.json`` and ``returns.png``; return the table."""
    rows = [r.summary() for r in results]
    expert = rows[0]["mean_return"]
    lines = [
        f"Live on the HighwayRacer window, {cfg.episodes} game(s) of at most {cfg.max_steps} "
        f"steps per policy, seeds {20_000 + cfg.seed}+; recording {cfg.record_s:.0f} s.",
        "",
        "| policy | mean return ± 95% CI | % of expert | crash rate | control Hz "
        "| obs age p50 / p95 ms |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        share = 100 * r["mean_return"] / expert
        lines.append(
            f"| {r['policy']} | {r['mean_return']:.1f}{fmt_ci(r)} | {share:.0f}% "
            f"| {100 * r['crash_rate']:.0f}% | {r['control_hz']:.1f} | {fmt_age(r)} |"
        )
    table = "\n".join(lines)
    (cfg.out / "table.md").write_text(table + "\n")
    write_json(cfg.out / "results.json", {**asdict(cfg), "out": str(cfg.out)}, rows)
    bar_plot(rows, cfg.out / "returns.png", "mean return (live)",
             "bc-gym demo: HighwayRacer, live through the screen")  # fmt: skip
    return table


def run_demo(cfg: DemoConfig) -> str:
    """Run every stage; returns the final table (also written to ``cfg.out``).

    Ctrl-C (and SIGTERM under the ``bc-gym`` command, see ``bc_gym.cli.sigterm_exits``) stops
    the game windows and the private Xvfb on the way out.
    """
    cfg.out.mkdir(parents=True, exist_ok=True)
    t_start = time.monotonic()
    with ExitStack() as stack:
        private_display(stack)
        say(f"1/4 record: the expert plays the window through real keys, {cfg.record_s:.0f} s")
        data = record(cfg)
        say("2/4 train on the recording")
        runs = train(cfg, data)
        say(f"3/4 play live through the screen, {cfg.episodes} game(s) per policy")
        results = [play_expert(cfg)]
        print(f"  expert: {results[0].summary()['mean_return']:.1f}")
        for name in (*cfg.agents, "random"):
            gif = cfg.out / GIF if name == cfg.agents[0] else None
            results.append(play_agent(cfg, name, runs[name], gif))
            print(f"  {name}: {results[-1].summary()['mean_return']:.1f}")
        say("4/4 report")
        table = report(cfg, results)
    print(table)
    print(f"\nWrote {cfg.out}/: table.md, results.json, returns.png, {GIF}, "
          f"data/, runs/ (training curves). Total {time.monotonic() - t_start:.0f} s.")  # fmt: skip
    return table
