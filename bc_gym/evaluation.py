"""Score a policy on a Gymnasium env over seeds: one episode loop and one summary.

Every place that lets a policy drive (``bc-gym bench``, ``bc-gym demo``, ``benchmarks/``) goes
through :func:`run_episodes` and reports with :meth:`EvalResult.summary`, so their figures mean
the same thing:

* **per episode** (:class:`Episode`): the reset seed, the return, the length in steps and in
  seconds (game time: the final ``info["episode_s"]`` when the env reports it, as ScreenEnv
  does, else ``info["t"]`` at the end minus at the reset, else steps / fps), whether it
  crashed (``terminated``, not ``truncated`` nor cut at ``max_steps``) and why
  (``info["crash"]``), and for live envs the achieved control rate (``info["rate"]``) and
  observation age (``info["act_delay"]``);
* **summary**: mean return with a 95% confidence interval (Student t over episodes), crash rate,
  mean length, ``act()`` latency percentiles, live timings, and the mean as a percentage of a
  reference (e.g. the expert's mean on the same seeds).

Example:
    >>> import gymnasium as gym, bc_gym
    >>> env = gym.make("bc_gym/HighwayRacer-v0", max_steps=5)
    >>> res = evaluate(lambda env, obs: 0, env, seeds=[0, 1], name="noop")
    >>> res.lengths, res.crashes, res.episodes[0].seconds
    ([5, 5], [False, False], 0.16666666666666666)
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

Policy = Callable[[gym.Env, Any], Any]
"""``policy(env, obs) -> action``."""


@dataclass
class Episode:
    """What happened in one episode."""

    seed: int | None
    """The ``reset`` seed (``None``: unseeded, e.g. a live window)."""
    return_: float
    """Sum of the rewards."""
    steps: int
    """Length in steps."""
    seconds: float
    """Length in game seconds: the final ``info["episode_s"]`` (ScreenEnv: up to when the game
    ended), else ``info["t"]`` at the end minus at the reset, else steps / fps (NaN when none
    is known)."""
    crash: bool
    """The episode ended by ``terminated`` (a truncation or the step limit is no crash)."""
    crash_reason: str = ""
    """When ``crash``: the final ``info["crash"]`` (HighwayRacer: ``"collision"`` or
    ``"off road"``), else ``"crash"``. Empty otherwise."""
    control_hz: float = float("nan")
    """Median achieved control rate, ``info["rate"]`` (live envs; NaN headless)."""
    obs_age_p50_ms: float = float("nan")
    """Median observation age when the keys went out, ``1000 * info["act_delay"]`` (live)."""
    obs_age_p95_ms: float = float("nan")
    """Its 95th percentile."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (``return_`` is written as ``return``)."""
        d = asdict(self)
        d["return"] = d.pop("return_")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Episode:
        """The inverse of :meth:`to_dict`."""
        d = dict(d)
        d["return_"] = d.pop("return")
        return cls(**d)


def _pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def mean_ci95(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% confidence interval (Student t; NaN below 2 values)."""
    n = len(values)
    if n == 0:
        return float("nan"), float("nan")
    mean = float(np.mean(values))
    if n < 2:
        return mean, float("nan")
    from scipy import stats  # scipy comes with scikit-learn/gymnasium users; lazy

    return mean, float(stats.t.ppf(0.975, n - 1) * np.std(values, ddof=1) / math.sqrt(n))


def summarize(
    returns: Sequence[float],
    crashes: Sequence[bool],
    *,
    lengths: Sequence[int] = (),
    seconds: Sequence[float] = (),
    act_ms: Sequence[float] = (),
    rates: Sequence[float] = (),
    ages_ms: Sequence[float] = (),
    reference: float | None = None,
) -> dict[str, Any]:
    """The one summary of a set of episodes (what every table here prints).

    Args:
        returns: per-episode returns.
        crashes: per-episode crash flags.
        lengths: per-episode steps (optional).
        seconds: per-episode game seconds (optional).
        act_ms: ``act()`` wall time of every step, ms (optional).
        rates: ``info["rate"]`` of every step, Hz (live envs).
        ages_ms: observation age of every step, ms (live envs).
        reference: a mean return to compare with (e.g. the expert's on the same seeds).

    Returns:
        ``episodes``, ``returns``, ``mean_return``, ``ci95``, ``crash_rate``, ``mean_steps``,
        ``mean_seconds``, ``act_p50_ms``, ``act_p95_ms``, ``control_hz`` (median),
        ``obs_age_p50_ms``, ``obs_age_p95_ms`` and ``pct_of_reference`` (NaN without a
        reference). Values that do not apply are NaN.
    """
    mean, ci = mean_ci95(returns)
    pct = float("nan")
    if reference is not None and reference != 0 and returns:
        pct = 100.0 * mean / reference
    return {
        "episodes": len(returns),
        "returns": [float(r) for r in returns],
        "mean_return": mean,
        "ci95": ci,
        "crash_rate": float(np.mean(crashes)) if len(crashes) else float("nan"),
        "mean_steps": float(np.mean(lengths)) if len(lengths) else float("nan"),
        "mean_seconds": float(np.mean(seconds)) if len(seconds) else float("nan"),
        "act_p50_ms": _pct(act_ms, 50),
        "act_p95_ms": _pct(act_ms, 95),
        "control_hz": float(np.median(rates)) if len(rates) else float("nan"),
        "obs_age_p50_ms": _pct(ages_ms, 50),
        "obs_age_p95_ms": _pct(ages_ms, 95),
        "pct_of_reference": pct,
    }


@dataclass
class EvalResult:
    """The episodes of one policy, and the per-step timings pooled over them."""

    name: str = "policy"
    episodes: list[Episode] = field(default_factory=list)
    act_ms: list[float] = field(default_factory=list)
    """``policy`` wall time of every step, ms."""
    rates: list[float] = field(default_factory=list)
    """``info["rate"]`` of every step (live envs: achieved control rate, Hz)."""
    ages_ms: list[float] = field(default_factory=list)
    """``1000 * info["act_delay"]`` of every step (live envs: observation age)."""

    @property
    def returns(self) -> list[float]:
        """Per-episode returns."""
        return [e.return_ for e in self.episodes]

    @property
    def lengths(self) -> list[int]:
        """Per-episode steps."""
        return [e.steps for e in self.episodes]

    @property
    def seconds(self) -> list[float]:
        """Per-episode game seconds."""
        return [e.seconds for e in self.episodes]

    @property
    def crashes(self) -> list[bool]:
        """Per-episode crash flags."""
        return [e.crash for e in self.episodes]

    @property
    def crash_reasons(self) -> list[str]:
        """The reason of each crashed episode, in order (see :attr:`Episode.crash_reason`)."""
        return [e.crash_reason for e in self.episodes if e.crash]

    @property
    def mean(self) -> float:
        """Mean return."""
        return mean_ci95(self.returns)[0]

    @property
    def ci95(self) -> float:
        """Half-width of the 95% confidence interval of the mean (Student t)."""
        return mean_ci95(self.returns)[1]

    @property
    def crash_rate(self) -> float:
        """Fraction of episodes that ended in a crash (terminated, not truncated)."""
        return float(np.mean(self.crashes)) if self.episodes else float("nan")

    @property
    def crash_kinds(self) -> str:
        """Crashes counted by reason, most frequent first, e.g. ``"collision 9, off road 2"``."""
        counts = Counter(self.crash_reasons).most_common()
        return ", ".join(f"{reason} {n}" for reason, n in counts) or "none"

    def summary(self, reference: float | None = None) -> dict[str, Any]:
        """:func:`summarize` of these episodes (``reference``: a mean return to compare with)."""
        return summarize(
            self.returns,
            self.crashes,
            lengths=self.lengths,
            seconds=self.seconds,
            act_ms=self.act_ms,
            rates=self.rates,
            ages_ms=self.ages_ms,
            reference=reference,
        )

    def row(self) -> str:
        """A Markdown table row: name | mean +- CI | crash rate | mean length."""
        return (
            f"| {self.name} | {self.mean:.1f} ± {self.ci95:.1f} | {100 * self.crash_rate:.0f}% "
            f"| {np.mean(self.lengths):.0f} |"
        )


TABLE_HEADER = "| policy | mean return ± 95% CI | crash rate | mean steps |\n|---|---|---|---|"


def _fps(env: gym.Env) -> float:
    fps = getattr(env, "metadata", {}).get("render_fps")
    return float(fps) if fps else float("nan")


def run_episodes(
    policy: Policy,
    env: gym.Env,
    seeds: Iterable[int | None],
    *,
    name: str = "policy",
    reset: Callable[[], None] | None = None,
    max_steps: int = 0,
    fps: float | None = None,
    on_step: Callable[[int, int], None] | None = None,
    after_episode: Callable[[int], None] | None = None,
    progress: bool = False,
    desc: str = "",
    result: EvalResult | None = None,
) -> EvalResult:
    """Run one episode per seed with ``action = policy(env, obs)``: the one episode loop.

    Args:
        policy: called with the env and the current observation, returns an action.
        env: the env (reset with each seed); headless or a live ``ScreenEnv``.
        seeds: one episode per seed (``None``: reset without a seed).
        name: label of the result.
        reset: called after each ``env.reset`` (e.g. an agent's ``reset``).
        max_steps: stop an episode after this many steps (0: only the env ends it); an episode
            cut here is not a crash.
        fps: steps per game second, for :attr:`Episode.seconds` when the env reports no
            ``info["t"]`` (default: ``env.metadata["render_fps"]``).
        on_step: called with ``(episode index, steps so far)`` after every step.
        after_episode: called with the episode's index after it ends.
        progress: show a tqdm bar per episode.
        desc: label of the progress bar.
        result: append the episodes to this result (so ``after_episode`` can read
            ``result.episodes[-1]``); default: a new one named ``name``.

    Returns:
        The episodes, and the policy's wall time per step (``act_ms``) with the live timings.
    """
    seeds = list(seeds)
    rate = fps if fps else _fps(env)
    bar_cls = None
    if progress:
        from tqdm.auto import tqdm as bar_cls
    result = EvalResult(name) if result is None else result
    for k, seed in enumerate(seeds):
        obs, info = env.reset(seed=None if seed is None else int(seed))
        if reset is not None:
            reset()
        t_start = info.get("t")
        bar = None
        if bar_cls is not None:
            bar = bar_cls(total=max_steps or None, desc=f"{desc} episode {k + 1}/{len(seeds)}",
                          leave=False)  # fmt: skip
        total, steps, terminated = 0.0, 0, False
        rates, ages = [], []
        while True:
            t0 = time.perf_counter()
            action = policy(env, obs)
            result.act_ms.append(1000 * (time.perf_counter() - t0))
            obs, reward, terminated, truncated, info = env.step(action)
            total += float(reward)
            steps += 1
            if "rate" in info:
                rates.append(float(info["rate"]))
            if "act_delay" in info:
                ages.append(1000 * float(info["act_delay"]))
            if bar is not None:
                bar.update()
            if on_step is not None:
                on_step(k, steps)
            if terminated or truncated or (max_steps and steps >= max_steps):
                break
        if bar is not None:
            bar.close()
        t_end = info.get("t")
        if "episode_s" in info:  # ScreenEnv: up to when the game ended (e.g. the screen froze)
            seconds = float(info["episode_s"])
        elif t_start is not None and t_end is not None:
            seconds = float(t_end) - float(t_start)
        else:
            seconds = steps / rate
        result.rates += rates
        result.ages_ms += ages
        result.episodes.append(
            Episode(
                seed=None if seed is None else int(seed),
                return_=total,
                steps=steps,
                seconds=seconds,
                crash=bool(terminated),
                crash_reason=str(info.get("crash") or "crash") if terminated else "",
                control_hz=float(np.median(rates)) if rates else float("nan"),
                obs_age_p50_ms=_pct(ages, 50),
                obs_age_p95_ms=_pct(ages, 95),
            )
        )
        if after_episode is not None:
            after_episode(k)
    return result


def evaluate(
    policy: Policy,
    env: gym.Env,
    seeds: Iterable[int],
    name: str = "policy",
    reset: Callable[[], None] | None = None,
    max_steps: int = 0,
) -> EvalResult:
    """Run one episode per seed with ``action = policy(env, obs)`` (see :func:`run_episodes`).

    Args:
        policy: called with the env and the current observation, returns an action.
        env: the env (reset with each seed).
        seeds: one episode per seed.
        name: label of the result.
        reset: called at the start of each episode (e.g. an agent's ``reset``).
        max_steps: stop an episode after this many steps (0: only the env ends it).
    """
    return run_episodes(policy, env, seeds, name=name, reset=reset, max_steps=max_steps)


def agent_policy(agent: Any) -> Policy:
    """``policy(env, obs) = agent.act(obs)``: an :class:`bc_gym.agents.Agent` as a policy.

    Pass ``reset=agent.reset`` to :func:`run_episodes` with it.
    """

    def policy(env: gym.Env, obs: Any) -> Any:
        return agent.act(obs)

    return policy


__all__ = [
    "TABLE_HEADER",
    "EvalResult",
    "Episode",
    "Policy",
    "agent_policy",
    "evaluate",
    "mean_ci95",
    "run_episodes",
    "summarize",
]
