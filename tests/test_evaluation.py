import gymnasium as gym
import numpy as np

import bc_gym  # noqa: F401  (registers the env)
from bc_gym.actions import HIGHWAY_ACTIONS
from bc_gym.evaluation import EvalResult, evaluate


def test_evaluate_counts_returns_crashes_and_their_reasons():
    """Steering left forever leaves the road; the result says so for every episode."""
    env = gym.make("bc_gym/HighwayRacer-v0", max_steps=300)
    left = HIGHWAY_ACTIONS.index("left")
    res = evaluate(lambda e, o: left, env, [0, 1, 2], "left")
    assert res.crashes == [True] * 3 and res.crash_rate == 1.0
    assert res.crash_reasons == ["off road"] * 3 and res.crash_kinds == "off road 3"
    assert all(0 < n < 300 for n in res.lengths) and np.isfinite(res.mean)


def test_episodes_that_end_by_truncation_are_not_crashes():
    env = gym.make("bc_gym/HighwayRacer-v0", max_steps=5)
    res = evaluate(lambda e, o: HIGHWAY_ACTIONS.index("noop"), env, [0, 1], "noop")
    assert res.crashes == [False, False] and res.crash_reasons == []
    assert res.crash_kinds == "none" and res.lengths == [5, 5]


def test_crash_kinds_lists_the_most_frequent_reason_first():
    res = EvalResult("x", crash_reasons=["collision", "off road", "collision"])
    assert res.crash_kinds == "collision 2, off road 1"
