import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import bc_gym  # noqa: F401  (registers the envs)
from bc_gym.games.highway import GameConfig, HighwayGame, HighwayRacerEnv, render
from bc_gym.games.highway.game import CAR_H, Car
from tests.utils import SEED


def test_make_and_check_env():
    env = gym.make("bc_gym/HighwayRacer-v0")
    check_env(env.unwrapped)
    obs, info = env.reset(seed=SEED)
    assert obs.shape == (64, 64, 3) and obs.dtype == np.uint8
    assert info["t"] == 0.0
    assert env.unwrapped.action_map.names[0] == "noop"
    assert env.unwrapped.key_names == ("left", "right", "up", "down")


@pytest.mark.parametrize("kwargs", [{"obs_size": (84, 84)}, {"grayscale": True}, {"lanes": 3}])
def test_options_change_the_spaces(kwargs):
    env = gym.make("bc_gym/HighwayRacer-v0", **kwargs)
    check_env(env.unwrapped)
    obs, _ = env.reset(seed=SEED)
    assert env.observation_space.contains(obs)


def test_same_seed_same_episode():
    def run(seed):
        env = HighwayRacerEnv()
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(0)
        frames, rewards = [obs], []
        for _ in range(120):
            obs, r, term, trunc, _ = env.step(int(rng.integers(9)))
            frames.append(obs)
            rewards.append(r)
            if term or trunc:
                break
        return np.stack(frames), np.array(rewards)

    f1, r1 = run(SEED)
    f2, r2 = run(SEED)
    f3, _ = run(SEED + 1)
    assert np.array_equal(f1, f2) and np.array_equal(r1, r2)
    assert not np.array_equal(f1[:5], f3[:5])


def _empty_env(**kw):
    env = HighwayRacerEnv(traffic_density=0.0, **kw)
    env.reset(seed=SEED)
    return env


def test_keys_do_what_they_say():
    am = HighwayRacerEnv().action_map
    env = _empty_env()
    g = env.unwrapped.game
    x0 = g.state.x
    env.step(am.index("left"))
    assert g.state.x < x0
    x1 = g.state.x
    env.step(am.index("right"))
    env.step(am.index("right"))
    assert g.state.x > x1
    v0 = g.state.v
    env.step(am.index("up"))
    assert g.state.v > v0
    v1 = g.state.v
    env.step(am.index("down"))
    assert g.state.v < v1
    v2 = g.state.v
    env.step(am.index("noop"))
    assert g.state.v < v2  # coasting slows down, gently
    assert v2 - g.state.v < v1 - v2


def test_reward_is_distance_and_time_advances():
    env = _empty_env()
    _, r, _, _, info = env.step(0)
    assert r > 0
    assert info["t"] == pytest.approx(1 / 30)
    assert info["distance"] == pytest.approx(r)


def test_leaving_the_road_terminates():
    env = _empty_env()
    left = env.action_map.index("left")
    for _ in range(200):
        _, _, term, trunc, info = env.step(left)
        if term:
            break
    assert term and not trunc and info["crash"] == "off road"
    frame = render(env.game)
    assert (frame[34:62, 0] == (150, 0, 0)).all()  # the GAME OVER banner


def test_collision_terminates():
    env = _empty_env()
    g = env.game
    lane = g.lane_of(g.state.x)
    g.state.cars.append(Car(lane, g.state.distance + CAR_H + 2, 10.0, 10.0, 0))
    for _ in range(30):
        _, _, term, _, info = env.step(env.action_map.index("up"))
        if term:
            break
    assert term and info["crash"] == "collision"


def test_truncation_at_step_limit():
    env = _empty_env(max_steps=5)
    ends = [env.step(env.action_map.index("noop"))[2:4] for _ in range(5)]
    assert ends == [(False, False)] * 4 + [(False, True)]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=re.escape("lanes must be in [2, 5], got 7")):
        GameConfig(lanes=7)
    with pytest.raises(ValueError, match="render_mode must be one of"):
        HighwayRacerEnv(render_mode="human")
    env = HighwayRacerEnv()
    env.reset(seed=SEED)
    with pytest.raises(ValueError, match="actual value: 9"):
        env.step(9)


def test_render_rgb_array_is_the_frame_upscaled():
    env = HighwayRacerEnv(render_mode="rgb_array", render_scale=3)
    env.reset(seed=SEED)
    big = env.render()
    assert big.shape == (288, 288, 3)
    assert np.array_equal(big[::3, ::3], render(env.game))


def test_game_is_usable_without_env():
    g = HighwayGame(GameConfig(traffic_density=0), seed=0)
    assert g.step(up=True) > 0
