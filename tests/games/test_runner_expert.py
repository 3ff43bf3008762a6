"""The Runner's scripted expert: beats random, and plays as well from the pixels."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import bc_gym  # noqa: F401
from bc_gym.evaluation import evaluate
from bc_gym.games.runner import RUNNER_ACTIONS, RunnerGame, ScriptedExpert, render, scene_of
from bc_gym.games.runner.screen import SceneReader, speed_at_score
from tests.utils import SEED


def test_expert_scores_over_ten_times_random():
    env = gym.make("bc_gym/Runner-v0")
    seeds = range(SEED, SEED + 10)
    expert = ScriptedExpert()
    rng = np.random.default_rng(SEED)
    good = evaluate(lambda e, o: expert(e), env, seeds, "expert")
    rand = evaluate(lambda e, o: int(rng.integers(3)), env, seeds, "random")
    assert good.crash_rate == 0.0
    assert good.mean >= 10 * rand.mean, (good.mean, rand.mean)


def test_noise_takes_random_actions_and_keeps_the_intended_one():
    g = RunnerGame(SEED)
    noisy, clean = ScriptedExpert(noise=1.0, seed=SEED), ScriptedExpert()
    actions, intended = [], []
    for _ in range(100):
        actions.append(noisy(g))
        intended.append(noisy.intended)
        assert noisy.intended == clean(g)
        g.step(up=actions[-1] == 1, down=actions[-1] == 2)
        if g.state.crashed:
            g.reset(SEED)
    assert actions != intended and set(actions) == {0, 1, 2}


def test_the_scene_read_from_pixels_gives_the_same_keys():
    expert = ScriptedExpert()
    reader = SceneReader()
    same = total = 0
    for seed in range(SEED, SEED + 3):
        g = RunnerGame(seed)
        while not g.state.crashed and g.state.steps < 600:
            exact, seen = scene_of(g), reader.read(render(g))
            assert seen.speed == pytest.approx(exact.speed, abs=0.02)
            assert seen.elevation == exact.elevation // 1
            same += expert.keys(exact) == expert.keys(seen)
            total += 1
            g.step(*(k in expert.keys(seen) for k in ("up", "down")))
        assert not g.state.crashed
    assert same / total > 0.99


def test_reader_finds_the_canvas_anywhere_in_a_grab_and_reads_the_score():
    g = RunnerGame(SEED)
    for _ in range(200):
        g.step(*(k in ScriptedExpert().keys(scene_of(g)) for k in ("up", "down")))
    grab = np.zeros((300, 800, 3), np.uint8)
    grab[40:190, 70:670] = render(g)
    reader = SceneReader()
    scene = reader.read(grab)
    assert reader.origin == (40, 70)
    assert reader.read_score(grab[40:190, 70:670]) == g.state.score
    assert [o.x for o in scene.obstacles] == [o.x // 100 for o in g.state.obstacles if o.x < 60000]
    assert speed_at_score(0) == 8.0 and speed_at_score(10**6) == 16.0
    assert SceneReader().read(np.zeros((150, 600, 3), np.uint8)) is None


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"noise must be in \[0, 1\], actual value: 2"):
        ScriptedExpert(noise=2)
    with pytest.raises(ValueError, match="lead must be >= 0 steps, actual value: -1"):
        ScriptedExpert(lead=-1)


def test_runner_expert_dataset_is_cached_and_replays(tmp_path):
    from bc_gym.datasets import load_dataset
    from bc_gym.datasets.recipes import runner_expert_dataset

    path = runner_expert_dataset(n_episodes=2, noise=0.1, seed=SEED, root=tmp_path, max_steps=80)
    assert runner_expert_dataset(n_episodes=2, noise=0.1, seed=SEED, root=tmp_path,
                                 max_steps=80) == path  # fmt: skip
    ds = load_dataset(path)
    assert ds.metadata["game_id"] == "bc_gym/Runner-v0" and len(ds) == 2
    ep = ds[0]
    assert ep.observations.shape == (len(ep) + 1, 75, 300, 3)
    # The executed keys replay the recorded frames in a fresh env: the data is the game's.
    env = gym.make("bc_gym/Runner-v0", obs_size=(75, 300), max_steps=80)
    obs, _ = env.reset(seed=SEED * 100_003)
    assert np.array_equal(obs, ep.observations[0])
    am = env.unwrapped.action_map
    for t, held in enumerate(ep.held_keys):
        obs, *_ = env.step(am.from_multibinary(held))
        assert np.array_equal(obs, ep.observations[t + 1])


def test_runner_expert_dataset_with_a_lead_jumps_earlier(tmp_path):
    """``lead`` makes a new recipe (the plain one keeps its cache key) whose expert jumps first."""
    from bc_gym.datasets import load_dataset
    from bc_gym.datasets.recipes import runner_expert_dataset

    kw = {"n_episodes": 1, "noise": 0.0, "seed": SEED, "root": tmp_path, "max_steps": 200}
    plain = runner_expert_dataset(**kw)
    assert runner_expert_dataset(**kw, lead=0.0) == plain
    early = runner_expert_dataset(**kw, lead=2.0)
    assert early != plain
    up = RUNNER_ACTIONS.index("up")

    def first_jump(path) -> int:
        return int(np.flatnonzero(load_dataset(path)[0].actions == up)[0])

    assert first_jump(early) < first_jump(plain)
