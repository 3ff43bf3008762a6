"""Score a policy on a Gymnasium env over seeds: mean return with a 95% CI, crash rate."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

Policy = Callable[[gym.Env, np.ndarray], int]


@dataclass
class EvalResult:
    """Per-episode returns, lengths and terminations of one policy."""

    name: str
    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    crashes: list[bool] = field(default_factory=list)
    crash_reasons: list[str] = field(default_factory=list)
    """Per crashed episode, the final ``info["crash"]`` when the env reports one (HighwayRacer:
    ``"collision"`` or ``"off road"``), else ``"crash"``."""

    @property
    def mean(self) -> float:
        """Mean return."""
        return float(np.mean(self.returns)) if self.returns else float("nan")

    @property
    def ci95(self) -> float:
        """Half-width of the 95% confidence interval of the mean (Student t)."""
        n = len(self.returns)
        if n < 2:
            return float("nan")
        from scipy import stats  # scipy comes with scikit-learn/gymnasium users; lazy

        return float(stats.t.ppf(0.975, n - 1) * np.std(self.returns, ddof=1) / math.sqrt(n))

    @property
    def crash_rate(self) -> float:
        """Fraction of episodes that ended in a crash (terminated, not truncated)."""
        return float(np.mean(self.crashes)) if self.crashes else float("nan")

    @property
    def crash_kinds(self) -> str:
        """Crashes counted by reason, most frequent first, e.g. ``"collision 9, off road 2"``."""
        counts = Counter(self.crash_reasons).most_common()
        return ", ".join(f"{reason} {n}" for reason, n in counts) or "none"

    def row(self) -> str:
        """A Markdown table row: name | mean +- CI | crash rate | mean length."""
        return (
            f"| {self.name} | {self.mean:.1f} ± {self.ci95:.1f} | {100 * self.crash_rate:.0f}% "
            f"| {np.mean(self.lengths):.0f} |"
        )


TABLE_HEADER = "| policy | mean return ± 95% CI | crash rate | mean steps |\n|---|---|---|---|"


def evaluate(
    policy: Policy,
    env: gym.Env,
    seeds: Iterable[int],
    name: str = "policy",
    reset: Callable[[], None] | None = None,
) -> EvalResult:
    """Run one episode per seed with ``action = policy(env, obs)``.

    Args:
        policy: called with the env and the current observation, returns an action.
        env: the env (reset with each seed).
        seeds: one episode per seed.
        name: label of the result.
        reset: called before each episode (e.g. an agent's ``reset``).
    """
    result = EvalResult(name)
    for seed in seeds:
        if reset is not None:
            reset()
        obs, _ = env.reset(seed=int(seed))
        total, steps = 0.0, 0
        while True:
            obs, r, term, trunc, info = env.step(policy(env, obs))
            total += float(r)
            steps += 1
            if term or trunc:
                break
        result.returns.append(total)
        result.lengths.append(steps)
        result.crashes.append(bool(term))
        if term:
            result.crash_reasons.append(str(info.get("crash") or "crash"))
    return result
