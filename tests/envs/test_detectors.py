"""Game-over detectors, the HighwayRacer score reader and the elastic clock (no screen)."""

from __future__ import annotations

import re
import time
import warnings

import numpy as np
import pytest

from bc_gym.envs import ElasticClock, FrozenScreenDetector, LateStepWarning, TemplateDetector
from bc_gym.envs.detectors import AnyOf, SurvivalReward
from bc_gym.envs.highway import ScoreReward, game_over_detector, read_score
from bc_gym.games.highway.game import GameConfig, HighwayGame
from bc_gym.games.highway.render import render
from bc_gym.imaging import upscale
from tests.utils import SEED


def _game(steps: int = 0, crash: bool = False) -> HighwayGame:
    game = HighwayGame(GameConfig(traffic_density=0), seed=SEED)
    for _ in range(steps):
        game.step(up=True)
    if crash:
        game.state.crashed, game.state.crash_reason = True, "collision"
    return game


@pytest.mark.parametrize("scale", [1, 3, 5])
def test_game_over_template_on_the_crash_screen(scale):
    det = game_over_detector()
    assert det(upscale(render(_game(40, crash=True)), scale), 0.0)
    assert not det(upscale(render(_game(40)), scale), 0.0)


@pytest.mark.parametrize("scale", [1, 5])
def test_read_score(scale):
    game = _game(200)
    expected = min(int(game.state.distance // 10), 9999)
    assert expected > 0
    assert read_score(upscale(render(game), scale)) == expected
    game.state.crashed = True  # dimmed by the game-over screen, still readable
    assert read_score(upscale(render(game), scale)) == expected
    assert read_score(np.zeros((96, 96, 3), np.uint8)) is None


def test_score_reward_counts_the_headless_units():
    game = _game(0)
    rew = ScoreReward()
    rew.reset(render(game))
    total = 0.0
    for _ in range(300):
        game.step(up=True)
        total += rew(render(game), {})
    assert total == int(game.state.distance // 10)


def test_frozen_screen_detector():
    det = FrozenScreenDetector(seconds=1.0)
    a = np.zeros((40, 40, 3), np.uint8)
    b = a.copy()
    b[:20] = 200
    det.reset(a, 0.0)
    assert not det(a, 0.5)
    assert det(a, 1.0)
    assert not det(b, 1.1)  # changed: the timer restarts
    assert not det(b, 2.0) and det(b, 2.1)
    with pytest.raises(ValueError, match=re.escape("seconds must be > 0, actual value: 0")):
        FrozenScreenDetector(0)


def test_template_detector_from_a_saved_image(tmp_path):
    import cv2

    crash = upscale(render(_game(10, crash=True)), 2)
    path = tmp_path / "game_over.png"
    cv2.imwrite(str(path), cv2.cvtColor(crash, cv2.COLOR_RGB2BGR))
    det = TemplateDetector(path, box=(34 / 96, 0, 62 / 96, 1))
    assert det(upscale(render(_game(30, crash=True)), 5), 0.0)
    assert AnyOf(det, FrozenScreenDetector(5))(crash, 0.0)
    with pytest.raises(FileNotFoundError, match="cannot read the game-over image"):
        TemplateDetector(tmp_path / "missing.png")
    with pytest.raises(ValueError, match=re.escape("box must be (top, left, bottom, right)")):
        TemplateDetector(crash, box=(0.5, 0, 0.2, 1))


def test_survival_reward():
    r = SurvivalReward(2.0)
    assert r(np.zeros((2, 2, 3)), {"terminated": False}) == 2.0
    assert r(np.zeros((2, 2, 3)), {"terminated": True}) == 0.0


def test_elastic_clock_absorbs_overruns_and_restarts():
    clock = ElasticClock(0.02)
    clock.start()
    t0 = time.monotonic()
    clock.wait()
    time.sleep(0.03)  # overrun of ~10 ms: absorbed, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, overrun = clock.wait()
    assert 0 < overrun < 0.02
    clock.wait()  # the next step is short: back on the nominal grid
    assert time.monotonic() - t0 == pytest.approx(0.06, abs=0.008)
    time.sleep(0.05)  # more than a period late: warn and restart
    with pytest.warns(LateStepWarning, match="the clock restarts"):
        _, overrun = clock.wait()
    assert overrun > 0.02 and clock.late_steps == 1
    t1, _ = clock.wait()
    t2, _ = clock.wait()
    assert t2 - t1 == pytest.approx(0.02, abs=0.006)
    assert 20 < clock.rate < 80
    with pytest.raises(ValueError, match=re.escape("period must be > 0 seconds")):
        ElasticClock(0)


def test_frozen_screen_reports_when_the_screen_stopped():
    det = FrozenScreenDetector(seconds=1.0, tol=1.0)
    moving = [np.full((30, 60, 3), 10 * i, np.uint8) for i in range(5)]
    det.reset(moving[0], 0.0)
    assert det.pending_since is None
    for i, frame in enumerate(moving[1:], start=1):  # the screen changes every 0.25 s
        assert not det(frame, 0.25 * i) and det.pending_since is None
    last = moving[-1]
    assert not det(last, 1.25) and det.pending_since == 1.0  # still since 1.0 s
    assert not det(last, 1.75) and det.pending_since == 1.0
    assert det(last, 2.0) and det.pending_since == 1.0  # fires 1 s after
    noisy = last.copy()
    noisy[0, :30] += 1  # a change far below tol: still the same screen
    assert det(noisy, 2.25)
    assert not det(moving[0], 2.5) and det.pending_since is None  # the next game
    assert repr(det) == "FrozenScreenDetector(seconds=1, tol=1)"


def test_frozen_screen_tolerance_compares_with_the_first_still_frame():
    det = FrozenScreenDetector(seconds=1.0, tol=2.0)
    det.reset(np.zeros((32, 32, 1), np.uint8), 0.0)
    for k in range(1, 12):  # a slow fade: each step is 1 grey level, below tol, but it adds up
        fired = det(np.full((32, 32, 1), k, np.uint8), 0.125 * k)
    assert not fired  # 3 levels from the first still frame: the timer restarted every 3 steps
    with pytest.raises(ValueError, match=re.escape("tol must be >= 0 (mean pixel difference")):
        FrozenScreenDetector(1.0, tol=-1)


def test_any_of_feeds_every_detector_and_reports_the_earliest_pending():
    image = np.zeros((40, 40, 3), np.uint8)
    template = TemplateDetector(image)  # fires on a black screen
    frozen = FrozenScreenDetector(seconds=0.5)
    both = AnyOf(template, frozen)
    grey = np.full((40, 40, 3), 128, np.uint8)
    both.reset(grey, 0.0)
    assert both(image, 0.1)  # the template fires; the frozen detector still saw the frame
    assert frozen.pending_since is None and both.pending_since is None
    assert not both(grey, 0.25) and both(grey, 0.75)  # still since 0.25 s, for 0.5 s
    assert both.pending_since == 0.25
    assert repr(both).startswith("AnyOf(TemplateDetector(box=(0.0, 0.0, 1.0, 1.0), tol=20), ")
