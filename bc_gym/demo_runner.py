"""``bc-gym demo --game runner``: record -> train -> play, live, on the Runner page in Chromium.

The same path a user takes with a third-party game: a browser page that freezes when a game
ends and restarts by itself, a window at its own size (600x150), no game-over image, no F9.

1. **Record.** The Runner page opens as a Chromium app window; the autopilot (the scripted
   expert reading the window's pixels, with a little noise) plays it through real X key
   events while :class:`~bc_gym.record.Recorder` records the window at its own size and the
   keyboard, cutting an episode whenever the screen stays still for 1 s (the frozen
   GAME OVER picture).
2. **Train.** Each agent trains on that recording for a fixed number of optimizer updates
   (not a time budget: the result does not depend on the machine's speed); the agents'
   ``obs_size`` rule resizes the 600x150 frames on load.
3. **Play live.** The expert (the autopilot, noise 0), each agent (through
   ``bc_gym/Screen-v0`` on the page's window, ``TimedFrameStack`` at its spacing) and random
   play ``episodes`` games each on a fresh page, the same seeds for every policy. Each game's
   score is the page's own: the title's ``last`` field when its ``games`` counter goes up
   (a game cut at ``max_steps`` counts the title's score at the cut). Control rate and
   observation age come from the env's ``info``.
4. **Report.** A Markdown table (mean score ± 95% CI, % of expert, crash rate, game length,
   control Hz, observation age), a JSON file and a bar plot in ``out``.

No display? It starts its own Xvfb and says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from bc_gym.demo import (
    LiveResult,
    bar_plot,
    fmt_age,
    fmt_ci,
    private_display,
    say,
    train_agents,
    write_json,
)
from bc_gym.errors import BcGymError
from bc_gym.games.runner.browser import TITLE, RunnerPage, TitleStatus
from bc_gym.games.runner.expert import Scene, ScriptedExpert
from bc_gym.games.runner.game import RULES

KEYS = ("up", "down")
WINDOW_TITLE = f"{TITLE} |"
"""What the page's window title contains (the capture and the env find the window by it)."""
STILL_S = 1.0
"""An episode ends once the screen has stayed still this long (the page freezes 1.5 s)."""
STILL_TOL = 0.0
"""Any change of the 32x32 thumbnail counts as motion. The page is drawn pixel-exact and Xvfb
grabs are exact, so the GAME OVER freeze differs by exactly 0; with the CLI's default
tolerance (1.0), a stretch with no obstacle on screen (only the dust and the score's digits
move: a thumbnail difference of 0.04 over 1 s, measured on a recording) read as a freeze and
cut a running game."""
SUMMARY = ("episodes", "mean_return", "ci95", "crash_rate", "mean_seconds", "control_hz",
           "obs_age_p50_ms", "obs_age_p95_ms")  # fmt: skip


# Distance (cpx) run after 1, 2, ... steps: the speed is SPEED0 + ACCEL * step, up to SPEED_MAX.
_DISTANCE = np.cumsum(
    np.minimum(RULES["SPEED0"] + RULES["ACCEL"] * np.arange(100_000), RULES["SPEED_MAX"])
)


def score_after(steps: int) -> int:
    """The page's score after ``steps`` steps of a game (the score is the distance run).

    Example:
        >>> score_after(30), score_after(1000)
        (24, 1279)
    """
    return int(_DISTANCE[min(max(int(steps), 1), len(_DISTANCE)) - 1] // RULES["SCORE_UNIT"])


def steps_to(score: float) -> int:
    """Steps a game takes to reach ``score``: its length on the page's own clock.

    Example:
        >>> steps_to(score_after(1000))
        1000
    """
    return int(np.searchsorted(_DISTANCE, float(score) * RULES["SCORE_UNIT"], side="left")) + 1


@dataclass
class RunnerDemoConfig:
    """What the Runner demo does; ``quick=True`` shrinks every stage."""

    out: Path = Path("out/demo-runner")
    """Output folder (dataset, runs, table, plot)."""
    quick: bool = False
    """Short recording, short training, one live game per policy."""
    agents: tuple[str, ...] = ("cnn-bc",)
    """Agents to train and play (random is always played as the floor). cnn-bc is the best
    pixel agent under the HighwayRacer protocol (README, "Agents"); add ``latent-gpt`` to
    compare (its VAE stage alone needs ~10 minutes for 3,000 updates on 2 cores)."""
    record_s: float = 0.0
    """Seconds of expert play to record (0: 600, or 60 with ``quick``)."""
    updates: int = 0
    """Optimizer updates of each trained model (the VAE and the GPT of latent-gpt each get
    this many; 0: 3,000, or 60 with ``quick``: cnn-bc trains 3,000 in a few minutes on 2
    cores)."""
    episodes: int = 0
    """Live games per policy (0: 10, or 1 with ``quick``)."""
    max_steps: int = 0
    """A live game is cut once it has run this many 1/30 s steps (0: 1000 = 33 s, or 300 with
    ``quick``): once its score reaches ``score_after(max_steps)``, which is then its score."""
    fps: float = 30.0
    """Recording and control rate (the page runs 30 steps/s)."""
    noise: float = 0.01
    """Expert noise while recording: the share of the autopilot's decisions (60 per second)
    replaced by a random key, so that the recording holds crashes and recoveries."""
    agent_options: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {"cnn-bc": {"motion": "diff"}}
    )
    """Options of each agent's own config (``--set`` of ``bc-gym train``), over its defaults.
    cnn-bc sees frame differences (``motion="diff"``): on plain frames of the white page it
    first predicts "no key" for a seed-dependent part of its updates, and when to jump depends
    on the scroll speed, which grows during a game while a recording's long games hold mostly
    the top speed. Headless, over 4 training seeds, differences reach 91% of the expert, the
    defaults 45%, ``normalize="dataset"`` 78% (``python -m benchmarks runner_diff``,
    ``runner_lead``, ``runner_norm``)."""
    lead: float = 0.0
    """Steps early the autopilot acts (``ScriptedExpert(lead=...)``), recording and playing.
    0: on time, which the expert can afford (headless it survives keys up to 2 steps late; the
    live latency is about one step). An expert that acts early teaches its early timing
    (``python -m benchmarks.runner_lead`` measures its clones with keys 0-2 steps late)."""
    seed: int = 0
    """Seed of training and of the noise; the recording starts at page seed 1000 + seed, live
    games at 20_000 + seed (the same seeds for every policy)."""
    device: str = "cpu"
    """Training device."""

    def __post_init__(self) -> None:
        self.out = Path(self.out).resolve()
        self.record_s = self.record_s or (60.0 if self.quick else 600.0)
        self.updates = self.updates or (60 if self.quick else 3000)
        self.episodes = self.episodes or (1 if self.quick else 10)
        self.max_steps = self.max_steps or (300 if self.quick else 1000)
        for name in ("record_s", "updates", "episodes", "max_steps", "lead"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (0: the default), actual value: "
                                 f"{getattr(self, name)!r}")  # fmt: skip
        for agent in self.agent_options:
            self.agent_config(agent)  # an unknown agent or option fails here, not after recording

    def agent_config(self, name: str) -> Any:
        """Agent ``name``'s own config: its defaults with ``agent_options[name]`` (checked)."""
        from bc_gym.commands.agents import agent_config

        config = agent_config(name, [])
        options = self.agent_options.get(name, {})
        for key, value in options.items():
            if config is None or not hasattr(config, key):
                raise ValueError(f"agent_options: {name} has no option {key!r}")
            setattr(config, key, value)
        if options and hasattr(config, "__post_init__"):
            config.__post_init__()  # the combination is checked as the config's own
        return config

    @property
    def cap(self) -> int:
        """The score at which a live game is cut (``max_steps`` steps into it)."""
        return score_after(self.max_steps)

    @property
    def live_seed(self) -> int:
        """Page seed of the first live game of every policy."""
        return 20_000 + self.seed


class NoisyPilot(ScriptedExpert):
    """The scripted expert whose key choice is, with probability ``noise``, a random one.

    :func:`~bc_gym.games.runner.screen.run_autopilot` asks ``keys(scene)`` (not ``__call__``,
    which adds the noise for a headless game), so the noise goes here.
    """

    def keys(self, scene: Scene) -> set[str]:
        """The expert's keys, or with probability ``noise`` a random choice of none/up/down."""
        if self.noise > 0 and self.rng.random() < self.noise:
            return [set(), {"up"}, {"down"}][int(self.rng.integers(3))]
        return super().keys(scene)


class CutAtSeconds(gym.Wrapper):
    """Truncate an episode once ``info["episode_s"]`` (ScreenEnv's game seconds) reaches a cap.

    (A step count would give a slow policy more game time: the page runs in real time.)
    """

    def __init__(self, env: gym.Env, seconds: float) -> None:
        super().__init__(env)
        self.seconds = float(seconds)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Step; ``truncated`` once the episode has lasted ``seconds``."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        if not terminated and info.get("episode_s", 0.0) >= self.seconds:
            truncated = True
        return obs, reward, terminated, truncated, info


class Autopilot:
    """:func:`~bc_gym.games.runner.screen.run_autopilot` in a thread; a context manager.

    Leaving the block stops it (its keys are released) and re-raises what it raised.
    """

    def __init__(self, page: RunnerPage, expert: ScriptedExpert) -> None:
        self.page, self.expert = page, expert
        self.stop = threading.Event()
        self.grabs = 0
        self.seconds = 0.0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="runner-autopilot", daemon=True)

    def _run(self) -> None:
        from bc_gym.games.runner.screen import run_autopilot

        t0 = time.monotonic()
        try:
            self.grabs = run_autopilot(self.page.window, self.expert, stop=self.stop)
        except BaseException as exc:  # handed to the main thread on exit
            self._error = exc
        self.seconds = time.monotonic() - t0

    def __enter__(self) -> Autopilot:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(timeout=10)
        if self._error is not None and exc[0] is None:
            raise self._error


def wait_status(
    page: RunnerPage, cond: Callable[[TitleStatus], bool], timeout_s: float, what: str
) -> TitleStatus:
    """Poll the page's title every 20 ms until ``cond`` holds; raise after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        st = page.status()
        if cond(st):
            return st
        if time.monotonic() > deadline:
            raise BcGymError(
                f"the Runner page did not {what} within {timeout_s:g} s; its title reads "
                f"{page.current_title()!r}"
            )
        time.sleep(0.02)


def next_game(page: RunnerPage, finished: int) -> None:
    """Wait until ``finished`` games have ended and the next one is running.

    With no key held the runner crashes at the first obstacle, so a game still running ends
    within seconds; then the page restarts itself after its GAME OVER freeze.
    """
    wait_status(page, lambda st: st.games >= finished, 60, f"finish game {finished}")
    wait_status(page, lambda st: st.score < st.last or st.last == 0, 10, "restart")


def record(cfg: RunnerDemoConfig) -> tuple[Path, int]:
    """Stage 1: the autopilot plays the page through real keys while the recorder records.

    Returns:
        The dataset folder and the number of games the expert played meanwhile.
    """
    from bc_gym.envs.detectors import FrozenScreenDetector
    from bc_gym.record.recorder import Recorder
    from bc_gym.screen.capture import ScreenCapture

    data = cfg.out / "data"
    with RunnerPage(seed=1000 + cfg.seed) as page:
        cap = ScreenCapture(title=WINDOW_TITLE)  # the window's own size: what a user records
        last = [0.0]

        def status(st: Any) -> None:
            if time.monotonic() - last[0] > 5:
                last[0] = time.monotonic()
                print("  " + st.line(), flush=True)

        try:
            still = FrozenScreenDetector(STILL_S, STILL_TOL)
            rec = Recorder(cap, KEYS, cfg.fps, data, game_over=still, overwrite=True,
                           status=status)  # fmt: skip
            pilot = NoisyPilot(noise=cfg.noise, seed=cfg.seed, lead=cfg.lead)
            with Autopilot(page, pilot):
                stats = rec.run(duration_s=cfg.record_s, handle_signals=False)
        finally:
            cap.close()
        games = page.status().games
    print(f"  recorded {stats.line()}")
    print(f"  expert games while recording (noise {cfg.noise:g}): {games} ended in a crash")
    return data, games


def train(cfg: RunnerDemoConfig, data: Path) -> dict[str, Path]:
    """Stage 2: train every agent on the recording for ``cfg.updates`` optimizer updates."""
    from bc_gym.agents.training import TrainConfig

    epochs = min(10, cfg.updates)
    per_epoch = max(1, cfg.updates // epochs)

    def configure(name: str, config: Any) -> None:
        if config is not None and hasattr(config, "vae_epochs"):  # latent-gpt's VAE
            config.vae_epochs, config.vae_steps_per_epoch = epochs, per_epoch

    return train_agents(
        data, cfg.out / "runs", (*cfg.agents, "random"),
        lambda name: TrainConfig(epochs=epochs, steps_per_epoch=per_epoch, seed=cfg.seed,
                                 device=cfg.device),
        configure, lambda name: f" ({epochs} x {per_epoch} updates)",
        config_for=cfg.agent_config,  # the defaults with agent_options (checked)
    )  # fmt: skip


def add_game(res: LiveResult, score: int, cfg: RunnerDemoConfig) -> None:
    """Add one game's score (capped at ``cfg.cap``), crash flag and length to ``res``.

    A game that reached the cap counts as cut, not crashed, even if it crashed a moment later;
    its length is on the page's own clock, from the score, the same measure for every policy.
    """
    score = min(int(score), cfg.cap)
    res.returns.append(float(score))
    res.crashes.append(score < cfg.cap)
    res.seconds.append(steps_to(score) / RULES["FPS"])


def play_expert(cfg: RunnerDemoConfig) -> LiveResult:
    """The autopilot (noise 0) on the live seeds, through real keys (the baseline).

    Each game starts when the page restarts and ends when the title's ``games`` goes up, or
    at the score cap: then the autopilot lets go and the runner crashes by itself.
    """
    res = LiveResult("scripted expert (reads the pixels)")
    grabs, pilot_s = 0, 0.0
    with RunnerPage(seed=cfg.live_seed - 1) as page:
        for k in range(cfg.episodes):
            next_game(page, 1 + k)  # game 0 (no keys) only lets the page settle
            with Autopilot(page, ScriptedExpert(lead=cfg.lead)) as pilot:
                while True:
                    st = page.status()
                    if st.games > 1 + k:  # crashed: the title holds its final score
                        score = st.last
                        break
                    if st.score >= cfg.cap:
                        score = st.score
                        break
                    time.sleep(0.02)
            add_game(res, score, cfg)
            grabs, pilot_s = grabs + pilot.grabs, pilot_s + pilot.seconds
            print(f"  expert game {k + 1}: score {res.returns[-1]:.0f}"
                  f"{' (cut)' if not res.crashes[-1] else ''}", flush=True)  # fmt: skip
    res.rates = [grabs / pilot_s] if pilot_s > 0 else []
    return res


def play_agent(cfg: RunnerDemoConfig, name: str, run: Path) -> LiveResult:
    """One agent plays a fresh page through ScreenEnv for ``cfg.episodes`` games."""
    from bc_gym.agents import load_agent
    from bc_gym.bench import agent_env
    from bc_gym.envs.detectors import FrozenScreenDetector
    from bc_gym.evaluation import agent_policy, run_episodes

    agent = load_agent(run)
    res = LiveResult(name)
    with ExitStack() as stack:
        page = stack.enter_context(RunnerPage(seed=cfg.live_seed - 1))
        # No reset keys: the page restarts itself, as a third-party game may.
        env = agent_env(agent, title=WINDOW_TITLE, fps=cfg.fps,
                        game_over=FrozenScreenDetector(STILL_S, STILL_TOL))  # fmt: skip
        stack.callback(env.close)
        env = CutAtSeconds(env, cfg.max_steps / cfg.fps + 0.5)  # past the cap: see add_game
        for _ in range(3):  # the first calls are slow (torch): not during a game
            agent.act(np.zeros(env.observation_space.shape, np.uint8))
        next_game(page, 1)  # game 0 (no keys) only lets the page settle

        def after_episode(k: int) -> None:
            st = page.status()
            if st.games > 1 + k:  # the game ended: its final score
                add_game(res, st.last, cfg)
            else:  # cut: let go, and the runner crashes by itself
                add_game(res, st.score, cfg)
                env.reset()  # releases the keys (the game has not ended: no waiting)
            if k + 1 < cfg.episodes:
                next_game(page, 2 + k)

        played = run_episodes(agent_policy(agent), env, [None] * cfg.episodes, name=name,
                              reset=agent.reset,
                              after_episode=after_episode, progress=True,
                              desc=f"  {name}")  # fmt: skip
    res.ages_ms, res.rates = played.ages_ms, played.rates
    return res


def report(cfg: RunnerDemoConfig, results: list[LiveResult], recorded_games: int) -> str:
    """Write ``table.md``, ``results.json`` and ``scores.png``; return the table."""
    rows = [r.summary(SUMMARY) for r in results]
    expert = rows[0]["mean_return"]
    lines = [
        f"Live on the Runner page in Chromium (a 600x150 window), {cfg.episodes} game(s) per "
        f"policy, page seeds {cfg.live_seed}+, each cut at score {cfg.cap} ({cfg.max_steps} "
        f"steps, {cfg.max_steps / cfg.fps:.0f} s); game length on the page's clock. Trained on "
        f"{cfg.record_s:.0f} s of recorded expert play ({recorded_games} crashes at noise "
        f"{cfg.noise:g}), {cfg.updates} updates per model"
        + "".join(
            f"; {name} with {', '.join(f'{k}={v!r}' for k, v in opts.items())}"
            for name, opts in cfg.agent_options.items()
            if opts and name in cfg.agents
        )
        + ".",
        "",
        "| policy | mean score ± 95% CI | % of expert | crash rate | game length s "
        "| control Hz | obs age p50 / p95 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        share = f"{100 * r['mean_return'] / expert:.0f}%" if expert else "n/a"
        hz = "n/a" if np.isnan(r["control_hz"]) else f"{r['control_hz']:.1f}"
        lines.append(
            f"| {r['policy']} | {r['mean_return']:.1f}{fmt_ci(r)} | {share} "
            f"| {100 * r['crash_rate']:.0f}% | {r['mean_seconds']:.1f} | {hz} | {fmt_age(r)} |"
        )
    table = "\n".join(lines)
    (cfg.out / "table.md").write_text(table + "\n")
    config = {**asdict(cfg), "out": str(cfg.out), "recorded_crashes": recorded_games}
    write_json(cfg.out / "results.json", config, rows)
    bar_plot(rows, cfg.out / "scores.png", "mean score (live)",
             "bc-gym demo: the Runner page in Chromium, live through the screen")  # fmt: skip
    return table


def run_runner_demo(cfg: RunnerDemoConfig) -> str:
    """Run every stage; returns the final table (also written to ``cfg.out``).

    Ctrl-C (and SIGTERM under the ``bc-gym`` command) closes Chromium and the private Xvfb
    on the way out, and no key stays held.
    """
    cfg.out.mkdir(parents=True, exist_ok=True)
    t_start = time.monotonic()
    with ExitStack() as stack:
        private_display(stack)
        say(f"1/4 record: the autopilot plays the Runner page through real keys, "
            f"{cfg.record_s:.0f} s")  # fmt: skip
        data, recorded_games = record(cfg)
        say(f"2/4 train on the recording, {cfg.updates} updates per model")
        runs = train(cfg, data)
        say(f"3/4 play live through the screen, {cfg.episodes} game(s) per policy")
        results = [play_expert(cfg)]
        print(f"  expert: {results[0].summary()['mean_return']:.1f}")
        for name in (*cfg.agents, "random"):
            results.append(play_agent(cfg, name, runs[name]))
            print(f"  {name}: {results[-1].summary()['mean_return']:.1f}")
        say("4/4 report")
        table = report(cfg, results, recorded_games)
    print(table)
    print(f"\nWrote {cfg.out}/: table.md, results.json, scores.png, data/, runs/ (training "
          f"curves). Total {time.monotonic() - t_start:.0f} s.")  # fmt: skip
    return table
