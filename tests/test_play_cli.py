"""``bc-gym play`` (and ``bench``/``record``/``find-region``) on a window that is not the preset.

The live tests drive the built-in HighwayRacer window through a *region* (so ScreenEnv's
HighwayRacer preset is not used: no game-over banner, no reset key, no score), like a
third-party game: 30-tick games whose screen freezes on GAME OVER until Space is pressed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bc_gym.cli import app
from bc_gym.errors import BcGymError
from tests.utils import focus_window

LENGTH = re.compile(r"^episode (\d+): ([\d.]+) s, (\d+) steps, ended by game over", re.M)


def _exe() -> str:
    exe = Path(sys.executable).with_name("bc-gym")
    return str(exe) if exe.exists() else "bc-gym"


def _error(args: list[str]) -> str:
    """The one-line error of a command that must fail (whether raised or printed)."""
    res = CliRunner().invoke(app, args)
    assert res.exit_code != 0, res.output
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        assert isinstance(res.exception, BcGymError), repr(res.exception)
        return str(res.exception)
    return " ".join(res.output.split())


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A trained ``majority`` agent (32x32 frames): it needs no training time."""
    from bc_gym.datasets.recipes import highway_expert_dataset

    root = tmp_path_factory.mktemp("play")
    data = highway_expert_dataset(n_episodes=3, max_steps=20, obs_size=(32, 32), root=root)
    out = root / "run"
    res = CliRunner().invoke(app, ["train", "majority", str(data), "-o", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture
def frozen_game(highway_window_factory, tmp_path):
    """30-tick games, paused first; each finished game is a line of ``.log``."""
    log = tmp_path / "games.jsonl"
    game = highway_window_factory("--traffic-density", "0", "--max-steps", "30",
                                  "--start-paused", "--log", str(log))  # fmt: skip
    game.log = log
    focus_window(game.window)  # a region's keys go to the focused window
    return game


@pytest.mark.x11
def test_reset_keys_start_the_next_game(run, frozen_game):
    region = ",".join(map(str, frozen_game.window.region))
    res = CliRunner().invoke(app, ["play", str(run), "--region", region, "--game-over-still",
                                   "0.5", "--reset-keys", "space", "--episodes", "2"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "game over: FrozenScreenDetector(seconds=0.5, tol=0); reset keys: ['space']" in (
        res.output
    )
    lengths = LENGTH.findall(res.output)
    assert [int(ep) for ep, _, _ in lengths] == [0, 1], res.output
    for _, seconds, steps in lengths:  # whole 30-tick games: Space started each one
        assert 0.85 <= float(seconds) <= 1.2 and 25 <= int(steps) <= 60, res.output
    assert "return" not in res.output  # no score on this window: lengths are the measure
    summary = re.search(r"episode length ([\d.]+) ± ([\d.]+) s \(mean ± 95% CI over 2 episodes\)",
                        res.output)  # fmt: skip
    assert summary and 0.85 <= float(summary.group(1)) <= 1.2, res.output
    assert len(frozen_game.log.read_text().splitlines()) == 2  # two games played to the end


@pytest.mark.x11
def test_a_game_that_restarts_by_itself_needs_no_reset_keys(run, highway_window_factory):
    """The autopilot starts the next game 1 s after GAME OVER; play waits for it at reset."""
    game = highway_window_factory("--traffic-density", "0", "--max-steps", "30", "--autopilot")
    region = ",".join(map(str, game.window.region))
    res = CliRunner().invoke(app, ["play", str(run), "--region", region, "--game-over-still",
                                   "0.5", "--episodes", "3"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "; reset keys: []" in res.output
    lengths = LENGTH.findall(res.output)
    assert [int(ep) for ep, _, _ in lengths] == [0, 1, 2], res.output
    for _, seconds, _ in lengths[1:]:  # whole games, from their first frame (episode 0 joins
        assert 0.85 <= float(seconds) <= 1.2, res.output  # a game under way)


@pytest.mark.x11
def test_without_window_options_play_uses_the_recorded_window(frozen_game, tmp_path):
    """Record the window at 20 fps, train on it, play: no --title, --region or --fps."""
    data, run = tmp_path / "data", tmp_path / "run"
    rec = subprocess.run([_exe(), "record", "--title", "HighwayRacer", "--fps", "20",
                          "--duration", "2", "-q", "-o", str(data)],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert rec.returncode == 0, rec.stderr
    res = CliRunner().invoke(app, ["train", "majority", str(data), "-o", str(run), "--quiet"])
    assert res.exit_code == 0, res.output
    recorded = json.loads((run / "config.json").read_text())["recorded_from"]
    # What --title matched (a window title may change, e.g. with a score), found again by play.
    assert recorded["window_title"] == "HighwayRacer" and recorded["fps"] == 20.0
    res = CliRunner().invoke(app, ["play", str(run), "--episodes", "1"])
    assert res.exit_code == 0, res.output
    assert "Playing the window the training data was recorded from (title " in res.output
    assert "'HighwayRacer')" in res.output
    assert " at 20 Hz; " in res.output  # the recording's rate
    # The built-in game's preset: its banner ends the game, Space restarts, the score is read.
    assert re.search(r"^episode 0: return [\d.]+, [\d.]+ s, \d+ steps, ended by game over",
                     res.output, re.M), res.output  # fmt: skip


@pytest.mark.x11
def test_bench_plays_a_region_and_reports_episode_seconds(run, frozen_game, tmp_path):
    from bc_gym.datasets.recipes import highway_expert_dataset

    data = highway_expert_dataset(n_episodes=3, max_steps=20, obs_size=(32, 32),
                                  root=tmp_path / "data")  # fmt: skip
    region = ",".join(map(str, frozen_game.window.region))
    out = tmp_path / "bench"
    res = CliRunner().invoke(app, ["bench", str(data), "--agents", "majority", "--region", region,
                                   "--game-over-still", "0.5", "--reset-keys", "space",
                                   "--seeds", "2", "--results", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    online = json.loads((out / "results.json").read_text())
    env, row = online["online_env"], online["agents"][0]["online"]
    assert env["region"] == list(frozen_game.window.region) and env["title"] is None
    assert env["game_over"] == "FrozenScreenDetector(seconds=0.5, tol=0)"
    assert env["reset_keys"] == ["space"]
    assert len(row["seconds"]) == 2 and all(0.85 <= s <= 1.2 for s in row["seconds"]), row
    md = (out / "results.md").read_text()
    assert f"live region {list(frozen_game.window.region)} (ScreenEnv, 30 Hz)" in md
    assert "| mean seconds ± 95% CI |" in md


def test_play_without_a_recorded_window_says_what_to_pass(run):
    message = _error(["play", str(run)])
    assert message.endswith(
        "config.json does not say which window its training data was recorded from: pass "
        "--title TEXT or --region X,Y,W,H (or --env ID for a headless env)"
    ), message


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> tuple[Path, Path]:
    import cv2
    import numpy as np

    root = tmp_path_factory.mktemp("images")
    cv2.imwrite(str(root / "over.png"), np.zeros((30, 60, 3), np.uint8))
    (root / "notes.png").write_text("not an image")
    return root / "over.png", root / "notes.png"


BAD = [
    (["--title", "x", "--region", "0,0,9,9"], "give --title TEXT or --region X,Y,W,H, not both"),
    (["--title", " "], "--title is empty"),
    (["--region", "0,0,9"], "region must be X,Y,W,H (four integers"),
    (["--region", "0,0,0,9"], "region '0,0,0,9' is empty: width and height must be > 0"),
    (["--title", "x", "--game-over-box", "0,0,1,1"],
     "--game-over-box 0,0,1,1 needs --game-over-image PNG"),
    (["--title", "x", "--game-over-image", "{missing}"], "does not exist; save one with"),
    (["--title", "x", "--game-over-image", "{notes}"], "is not an image OpenCV can read"),
    (["--title", "x", "--game-over-image", "{over}", "--game-over-box", "0.5,0,0.2,1"],
     "0 <= top < bottom <= 1 and 0 <= left < right <= 1, not '0.5,0,0.2,1'"),
    (["--title", "x", "--game-over-image", "{over}", "--game-over-box", "top"],
     "--game-over-box must be 4 numbers like 0.35,0,0.65,1, not 'top'"),
    (["--title", "x", "--game-over-tol", "300"],
     "--game-over-tol is a mean pixel difference between 0 and 255, not 300"),
    (["--title", "x", "--game-over-still", "0"], "(> 0), not 0"),
    (["--title", "x", "--game-over-still", "-2"], "(> 0), not -2"),
    (["--title", "x", "--game-over-still", "inf"], "(> 0), not inf"),
    (["--title", "x", "--game-over-still-tol", "2"],
     "--game-over-still-tol needs --game-over-still"),
    (["--title", "x", "--game-over-still", "1", "--game-over-still-tol", "-1"],
     "--game-over-still-tol is a mean pixel difference between 0 and 255, not -1"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), BAD)
@pytest.mark.parametrize("command", ["play", "record", "bench"])
def test_window_option_errors(command, args, message, run, images, tmp_path):
    over, notes = images
    args = [a.format(over=over, notes=notes, missing=tmp_path / "no.png") for a in args]
    if command == "play":
        args = ["play", str(run), *args]
    elif command == "record":
        args = ["record", "-o", str(tmp_path / "data"), *args]
    else:
        args = ["bench", str(tmp_path), *args]
    assert message in _error(args)
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--reset-keys", "space,,enter"], "--reset-keys is a comma-separated list of key names"),
        (["--env", "bc_gym/HighwayRacer-v0", "--title", "x"],
         "--env bc_gym/HighwayRacer-v0 plays a headless env: --title, --region"),
        (["--env", "bc_gym/HighwayRacer-v0", "--reset-keys", "space"], "plays a headless env"),
        (["--title", "x", "--episodes", "0"], "--episodes must be >= 1, not 0"),
        (["--title", "x", "--max-steps", "-1"], "--max-steps must be >= 0 (0: no limit), not -1"),
        (["--title", "x", "--fps", "0"], "--fps must be > 0 steps per second, not 0"),
    ],
)  # fmt: skip
def test_play_option_errors(args, message, run):
    assert message in _error(["play", str(run), *args])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give the game: --title TEXT or --region X,Y,W,H"),
        (["--fps", "0"], "--fps must be in (0, 1000] frames per second, not 0"),
        (["--size", "64"], "--size: size must be WxH, e.g. 160x120, actual value: '64'"),
        (["--hotkeys", "f8,f8,f9"], "--hotkeys: hotkeys must be three different keys"),
        (["--keys", "left,f9"], "--keys: keys ['f9'] are recorder hotkeys"),
        (["--compression", "zip"], "--compression must be gzip, lzf or none, not 'zip'"),
    ],
)  # fmt: skip
def test_record_option_errors(args, message, tmp_path):
    window = ["--region", "0,0,64,64"] if args else []
    assert message in _error(["record", "-o", str(tmp_path / "d"), *window, *args])
    assert not (tmp_path / "d").exists()


def test_bench_option_errors(tmp_path):
    assert "--game-over-* and --reset-keys are for a live window" in _error(
        ["bench", str(tmp_path), "--game-over-still", "1"]
    )


@pytest.mark.x11
def test_unknown_reset_key_is_one_line_with_status_2(run, xvfb):
    """The command as a user runs it: one line on stderr, exit status 2."""
    r = subprocess.run([_exe(), "play", str(run), "--region", "0,0,64,64", "--reset-keys", "spce"],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [
        "error: unknown key name 'spce': use pyautogui's names, e.g. 'left', 'up', 'space', "
        "'enter', 'a' (see pyautogui.KEYBOARD_KEYS)"
    ]
