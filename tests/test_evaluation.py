import math

import gymnasium as gym
import numpy as np
import pytest

import bc_gym  # noqa: F401  (registers the env)
from bc_gym.actions import HIGHWAY_ACTIONS
from bc_gym.evaluation import (
    Episode,
    EvalResult,
    evaluate,
    mean_ci95,
    run_episodes,
    summarize,
)
from tests.utils import SEED


def _episode(ret: float = 1.0, crash: bool = False, reason: str = "") -> Episode:
    return Episode(seed=None, return_=ret, steps=1, seconds=1.0, crash=crash, crash_reason=reason)


def test_evaluate_counts_returns_crashes_and_their_reasons():
    """Steering left forever leaves the road; the result says so for every episode."""
    env = gym.make("bc_gym/HighwayRacer-v0", max_steps=300)
    left = HIGHWAY_ACTIONS.index("left")
    res = evaluate(lambda e, o: left, env, [0, 1, 2], "left")
    assert res.crashes == [True] * 3 and res.crash_rate == 1.0
    assert res.crash_reasons == ["off road"] * 3 and res.crash_kinds == "off road 3"
    assert all(0 < n < 300 for n in res.lengths) and np.isfinite(res.mean)
    assert [e.seed for e in res.episodes] == [0, 1, 2]


def test_episodes_that_end_by_truncation_are_not_crashes():
    env = gym.make("bc_gym/HighwayRacer-v0", max_steps=5)
    res = evaluate(lambda e, o: HIGHWAY_ACTIONS.index("noop"), env, [0, 1], "noop")
    assert res.crashes == [False, False] and res.crash_reasons == []
    assert res.crash_kinds == "none" and res.lengths == [5, 5]
    assert [e.crash_reason for e in res.episodes] == ["", ""]


def test_crash_kinds_lists_the_most_frequent_reason_first():
    res = EvalResult("x", [_episode(0, True, "collision"), _episode(0, True, "off road"),
                           _episode(), _episode(0, True, "collision")])  # fmt: skip
    assert res.crash_kinds == "collision 2, off road 1"
    assert res.crash_rate == 0.75


def test_seconds_are_game_time_from_info_t():
    """HighwayRacer reports info['t'] (game seconds at 30 fps): 12 steps are 0.4 s."""
    env = gym.make("bc_gym/HighwayRacer-v0", max_steps=12)
    res = run_episodes(lambda e, o: HIGHWAY_ACTIONS.index("noop"), env, [SEED])
    assert res.lengths == [12] and res.seconds == [pytest.approx(12 / 30)]


def test_seconds_fall_back_to_steps_over_fps_without_info_t():
    """CartPole reports no info['t']: seconds are steps / metadata['render_fps'] (50)."""
    env = gym.make("CartPole-v1")
    res = run_episodes(lambda e, o: 0, env, [SEED, SEED + 1])
    assert "t" not in env.reset(seed=SEED)[1]
    assert res.seconds == [pytest.approx(n / 50) for n in res.lengths]
    res = run_episodes(lambda e, o: 0, env, [SEED], fps=10.0)
    assert res.seconds == [pytest.approx(res.lengths[0] / 10)]


def test_max_steps_cuts_an_episode_without_a_crash_and_reset_runs_per_episode():
    env = gym.make("bc_gym/HighwayRacer-v0", max_steps=1000)
    resets, seen = [], []
    res = run_episodes(lambda e, o: HIGHWAY_ACTIONS.index("noop"), env, [1, 2], max_steps=7,
                       reset=lambda: resets.append(1),
                       on_step=lambda k, n: seen.append((k, n)),
                       after_episode=lambda k: seen.append(("end", k)))  # fmt: skip
    assert res.lengths == [7, 7] and res.crashes == [False, False]
    assert len(resets) == 2 and len(res.act_ms) == 14
    assert seen[6:8] == [(0, 7), ("end", 0)] and seen[-1] == ("end", 1)
    assert math.isnan(res.episodes[0].control_hz)  # headless: no live timings
    assert math.isnan(res.summary()["obs_age_p50_ms"])


def test_summary_gives_mean_ci_crash_rate_and_share_of_a_reference():
    returns = [10.0, 20.0, 30.0]
    s = summarize(returns, [True, False, False], lengths=[1, 2, 3], reference=40.0)
    assert s["mean_return"] == 20.0 and s["crash_rate"] == pytest.approx(1 / 3)
    # Student t, 2 degrees of freedom: 4.303 * sd 10 / sqrt(3).
    assert s["ci95"] == pytest.approx(4.3027 * 10 / math.sqrt(3), rel=1e-4)
    assert s["pct_of_reference"] == pytest.approx(50.0) and s["mean_steps"] == 2.0
    assert math.isnan(summarize(returns, [False] * 3)["pct_of_reference"])
    assert math.isnan(mean_ci95([5.0])[1]) and mean_ci95([5.0])[0] == 5.0
    res = EvalResult("x", [_episode(r) for r in returns])
    assert res.summary(reference=40.0)["pct_of_reference"] == pytest.approx(50.0)


def test_episode_records_round_trip_through_json_dicts():
    env = gym.make("bc_gym/HighwayRacer-v0", max_steps=300)
    res = evaluate(lambda e, o: HIGHWAY_ACTIONS.index("left"), env, [SEED])
    d = res.episodes[0].to_dict()
    assert set(d) >= {"seed", "return", "steps", "seconds", "crash", "crash_reason"}
    assert d["crash_reason"] == "off road"
    back = Episode.from_dict(d)
    assert back.return_ == res.returns[0] and back.steps == res.lengths[0]
