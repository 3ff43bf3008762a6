"""``bc-gym record`` end to end: a real window, a bot sending real X key events, real files.

The bot (``bot.py``, a separate process) logs the ``time.monotonic()`` of each key event it
sends; the recorder stores timestamps on the same clock (minus ``clock_origin``), so the test
can say, for every frame, which keys were really down when it was grabbed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bc_gym.datasets import load_dataset, validate
from bc_gym.record.alignment import label_errors

pytestmark = pytest.mark.x11

BOT = Path(__file__).with_name("bot.py")
TITLE = "bc-gym HighwayRacer"


def _exe() -> str:
    exe = Path(sys.executable).with_name("bc-gym")
    return str(exe) if exe.exists() else "bc-gym"


def _record(out: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [_exe(), "record", "-o", str(out), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _bot(log: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(BOT), "--log", str(log), *args])


def _wait_for_episode(out: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not (out / "episodes" / "episode_0.hdf5").exists():
        assert time.monotonic() < deadline, "the recorder wrote no episode file"
        time.sleep(0.05)


def _labelled(ds) -> tuple[np.ndarray, np.ndarray]:
    """Monotonic times and held keys of every labelled frame (all episodes, in order)."""
    origin = ds.metadata["recording"]["clock_origin"]
    ts = [ep.timestamps[: len(ep)] + origin for ep in ds]
    return np.concatenate(ts), np.concatenate([ep.held_keys for ep in ds])


def test_record_labels_match_the_bot(highway_window, tmp_path):
    out, log, fps, seconds = tmp_path / "run", tmp_path / "bot.json", 30.0, 4.0
    rec = _record(out, "--title", "HighwayRacer", "--fps", str(fps), "--duration", str(seconds))
    _wait_for_episode(out)
    # Keys the recorder must ignore: "a" (not in --keys) and "space".
    bot = _bot(log, "--seed", "42", "--seconds", "3", "--keys", "left,right,up,down,a,space")
    assert bot.wait(20) == 0
    output, _ = rec.communicate(timeout=30)
    assert rec.returncode == 0, output
    assert "Recording window 'bc-gym HighwayRacer' at" in output and "Done: 1 episode(s)" in output

    assert validate(out) == []
    ds = load_dataset(out)
    meta = ds.metadata
    # game_id: what --title matched (a title showing a score would change every second).
    assert meta["source"] == "recorder" and meta["game_id"] == "HighwayRacer"
    assert meta["region"] == list(highway_window.window.region)
    assert meta["screen_size"] == [1280, 800] and meta["fps"] == fps
    assert meta["keys"] == ["left", "right", "up", "down"] and ds.obs_shape == (480, 480, 3)
    assert meta["action_map"]["actions"][:3] == ["noop", "left", "right"]
    (ep,) = list(ds)
    assert ep.complete and ep.truncations[-1] and not ep.terminations.any()
    n_frames = len(ep) + 1
    assert abs(n_frames - fps * seconds) <= 0.01 * fps * seconds, n_frames
    gaps = np.diff(ep.timestamps)
    assert np.all(gaps > 0)  # monotonic
    assert abs(np.median(gaps) * fps - 1) < 0.05 and gaps.max() < 2 / fps  # no tick lost

    # Labels: the keys really held at each tick, within one tick.
    events = json.loads(log.read_text())["events"]
    ts, held = _labelled(ds)
    errors = label_errors(ts, held, meta["keys"], [(a, k, d) for _, a, k, d in events])
    assert len(errors) >= 15 and all(abs(e) <= 1 for e in errors), errors
    assert errors.count(0) >= 0.8 * len(errors), errors
    assert np.array_equal(ep.actions, ds.action_map.labels_from_held(ep.held_keys))
    values, counts = np.unique(errors, return_counts=True)
    print(f"label error (ticks): {dict(zip(values.tolist(), counts.tolist(), strict=True))}")

    # The raw key log: every recorded-key event of the bot, nothing else.
    origin = meta["recording"]["clock_origin"]
    kev = ep.key_events
    logged = [(str(k), bool(d)) for k, d in zip(kev["key"], kev["down"], strict=True)]
    sent = [(k, d) for b, a, k, d in events if k in meta["keys"] and a < ts[-1]]
    assert logged[: len(sent)] == sent
    assert np.all(np.abs(ep.key_events["time"][: len(sent)] + origin - [e[1] for e in events
                  if e[2] in meta["keys"] and e[1] < ts[-1]]) < 0.01)  # fmt: skip


def test_cut_on_game_over(highway_window_factory, tmp_path):
    # 45-tick games end with the GAME OVER banner; the bot presses Space to start the next one.
    game = highway_window_factory("--traffic-density", "0", "--max-steps", "45")
    out, log = tmp_path / "run", tmp_path / "bot.json"
    script = [[t / 10, "space", i % 2 == 0] for i, t in enumerate(range(5, 70, 2))]
    rec = _record(out, "--title", "HighwayRacer", "--duration", "6", "--cut-on-game-over", "-q")
    _wait_for_episode(out)
    bot = _bot(log, "--focus", str(game.window.wid), "--script", json.dumps(script))
    assert bot.wait(20) == 0
    output, _ = rec.communicate(timeout=30)
    assert rec.returncode == 0, output
    assert validate(out) == []
    from bc_gym.envs.highway import game_over_detector

    det = game_over_detector()
    ds = load_dataset(out)
    ended = [ep for ep in ds if ep.terminations[-1]]
    assert len(ended) >= 2, [(len(ep), ep.terminations[-1]) for ep in ds]
    for ep in ds:
        frames = np.asarray(ep.observations)
        over = [det(f, 0.0) for f in frames]
        assert not any(over[:-1]), ep.id  # no banner inside an episode
        assert over[-1] == bool(ep.terminations[-1])  # ends on the banner iff terminated
        assert not ep.terminations[:-1].any()
    for ep in ended[1:]:  # whole games: 45 ticks of the game at the same 30 fps
        assert 40 <= len(ep) <= 50, len(ep)


def test_sigterm_finishes_and_sigkill_leaves_a_valid_file(highway_window, tmp_path):
    out = tmp_path / "term"
    rec = _record(out, "--title", "HighwayRacer")
    _wait_for_episode(out)
    time.sleep(1.5)
    rec.send_signal(signal.SIGTERM)
    output, _ = rec.communicate(timeout=20)
    assert rec.returncode == 0, output
    assert "Done: 1 episode(s)" in output
    assert validate(out) == []
    ep = load_dataset(out)[0]
    assert ep.complete and len(ep) >= 30

    out = tmp_path / "kill"
    rec = _record(out, "--title", "HighwayRacer")
    _wait_for_episode(out)
    time.sleep(2.0)
    rec.kill()
    rec.communicate(timeout=20)
    # The only finding: the killed episode is flagged incomplete, and readable.
    (problem,) = validate(out)
    assert problem.startswith("episode 0: incomplete (the writer stopped mid-episode);"), problem
    ep = load_dataset(out)[0]
    assert not ep.complete
    assert len(ep) >= 30 * 1.0  # at least every step older than ~0.25 s
    assert np.all(np.diff(ep.timestamps) > 0)
    assert np.asarray(ep.observations[-1]).any()


def test_clear_errors(xvfb, tmp_path):
    r = subprocess.run(
        [_exe(), "record", "--title", "No Such Game", "-o", str(tmp_path / "x")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert "error: No visible window with title containing 'No Such Game'" in r.stderr
    r = subprocess.run(
        [_exe(), "record", "--region", "1000,700,640,480", "-o", str(tmp_path / "x")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert "region (1000, 700, 640, 480) (left, top, width, height) is not inside" in r.stderr
    assert "which is 1280x800" in r.stderr
    assert not (tmp_path / "x").exists()


def test_a_frozen_screen_ends_episodes_without_f9(highway_window_factory, tmp_path):
    """A game that restarts by itself, like a third-party one with no game-over screen to match.

    The autopilot drives 45-tick games; at the end the screen freezes (GAME OVER) for 1 s, then
    the autopilot starts the next game. Nobody presses F9: --game-over-still 0.5 cuts them.
    """
    game = highway_window_factory("--traffic-density", "0", "--max-steps", "45", "--autopilot")
    out = tmp_path / "run"
    region = ",".join(map(str, game.window.region))  # a region: no built-in game preset
    rec = _record(out, "--region", region, "--game-over-still", "0.5", "--duration", "7", "-q")
    output, _ = rec.communicate(timeout=60)
    assert rec.returncode == 0, output
    assert "Episodes end at game over: FrozenScreenDetector(seconds=0.5, tol=0)." in output
    assert validate(out) == []
    from bc_gym.envs.highway import game_over_detector

    banner = game_over_detector()  # to check where each episode ends
    ds = load_dataset(out)
    ended = [ep for ep in ds if ep.terminations[-1]]
    assert len(ended) >= 2, [(len(ep), ep.terminations[-1]) for ep in ds]
    for ep in ds:
        over = [banner(f, 0.0) for f in np.asarray(ep.observations)]
        assert not any(over[:-1]), ep.id  # no frozen GAME OVER frames inside an episode
        assert over[-1] == bool(ep.terminations[-1])  # a cut episode ends on the first one
    for ep in ended[1:]:  # whole games: 45 ticks at the same 30 fps, not 45 + 15 still frames
        assert 40 <= len(ep) <= 50, len(ep)
    meta = ds.metadata["recording"]
    assert meta["game_over"] == "FrozenScreenDetector(seconds=0.5, tol=0)"
    assert meta["skipped_game_over"] >= 25 * len(ended)  # ~1 s of frozen frames per game


def test_cut_on_game_over_needs_a_detector_off_the_built_in_game(xvfb, tmp_path):
    out = tmp_path / "x"
    r = subprocess.run(
        [_exe(), "record", "--region", "0,0,64,64", "--cut-on-game-over", "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "error: --cut-on-game-over needs --game-over-image PNG (a screenshot of the game-over "
        "screen: `bc-gym find-region --title TEXT --save-game-over PNG`) or --game-over-still "
        "SECONDS (a game that freezes when it ends), unless the game is bc-gym HighwayRacer"
    ]
    assert not (tmp_path / "x").exists()
