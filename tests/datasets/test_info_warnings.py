"""``bc-gym data info`` warns about what will hurt training, and stays quiet otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from bc_gym.cli import app
from tests.utils import SEED

ONE_EPISODE = "warning: a single episode"
RARE_UP = "warning: action 'up' is on 0.67% of the frames (1 of 150)"
NEVER_DOWN = "warning: key 'down' was never pressed"
STILL = "warning: still screen in every episode"


def write(path: Path, episodes: int, actions: list[int], moving: bool) -> Path:
    """A 48x64 recording; each episode takes ``actions``; frames move or stay still."""
    from bc_gym.actions import ActionMap
    from bc_gym.datasets import DatasetWriter

    rng = np.random.default_rng(SEED)
    amap = ActionMap.from_names(["noop", "up", "down"])
    with DatasetWriter(path, action_map=amap, fps=30.0, obs_shape=(48, 64, 3)) as writer:
        for _ in range(episodes):
            frame = np.full((48, 64, 3), 90, np.uint8)
            writer.begin_episode(frame)
            for a in actions:
                if moving:
                    frame = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
                writer.step(a, frame)
            writer.end_episode()
    return path


def info(path: Path) -> str:
    res = CliRunner().invoke(app, ["data", "info", str(path)])
    assert res.exit_code == 0, res.output
    return " ".join(res.output.split())


def test_each_warning_names_the_problem_and_the_fix(tmp_path):
    out = info(write(tmp_path / "bad", 1, [0] * 149 + [1], moving=False))
    assert ONE_EPISODE in out and "F9 starts a new episode" in out
    assert RARE_UP in out and "record more play that uses it" in out
    assert NEVER_DOWN in out and "leave it out of --keys" in out
    assert STILL in out and "bc-gym find-region" in out


def test_a_still_episode_among_moving_ones_is_named(tmp_path):
    from bc_gym.commands.data import training_warnings
    from bc_gym.datasets import load_dataset
    from bc_gym.datasets.ops import merge

    data = write(tmp_path / "d", 2, [0, 1, 2] * 20, moving=True)
    still = write(tmp_path / "s", 1, [0, 1, 2] * 20, moving=False)
    merged = load_dataset(merge([data, still], tmp_path / "m"))
    assert training_warnings(merged) == [
        "still screen in episodes [2]: the frames barely change (pixel std < 1 levels over "
        "time); check the region or window (`bc-gym find-region`) and that the game was "
        "visible, not covered or minimised"
    ]


def test_a_healthy_recording_has_no_warning(tmp_path):
    out = info(write(tmp_path / "good", 3, [0, 1, 2] * 40, moving=True))
    assert "warning" not in out
