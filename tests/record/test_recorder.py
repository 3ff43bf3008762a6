"""``Recorder`` from Python: hotkeys (start/pause, cut, stop), resizing, a window that closes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bc_gym.datasets import load_dataset, validate
from bc_gym.errors import BcGymError
from bc_gym.record.recorder import Recorder
from bc_gym.screen.capture import ScreenCapture

pytestmark = pytest.mark.x11

BOT = Path(__file__).with_name("bot.py")
KEYS = ["left", "right", "up", "down"]


def _bot(log: Path, script: list) -> subprocess.Popen:
    cmd = [sys.executable, str(BOT), "--log", str(log), "--script", json.dumps(script)]
    return subprocess.Popen(cmd)


def test_hotkeys_start_cut_pause_stop(highway_window, tmp_path):
    script = [
        [0.5, "f8", True], [0.55, "f8", False],  # start
        [0.7, "left", True], [0.8, "a", True], [1.0, "left", False], [1.1, "a", False],
        [1.5, "f9", True], [1.55, "f9", False],  # new episode
        [1.7, "up", True], [1.9, "up", False],
        [2.2, "f8", True], [2.25, "f8", False],  # pause
        [2.4, "right", True], [2.5, "right", False],  # not recorded: paused
        [2.9, "f8", True], [2.95, "f8", False],  # resume
        [3.1, "down", True], [3.3, "down", False],
        [3.6, "f10", True], [3.65, "f10", False],  # stop
    ]  # fmt: skip
    log = tmp_path / "bot.json"
    with ScreenCapture(title="HighwayRacer") as cap:
        rec = Recorder(cap, KEYS, 30, tmp_path / "run", start_paused=True)
        rec.start(duration_s=20)
        bot = _bot(log, script)
        stats = rec.run()
    assert bot.wait(10) == 0
    assert stats.elapsed_s < 6  # F10 stopped it, not the 20 s limit
    assert validate(tmp_path / "run") == []
    ds = load_dataset(tmp_path / "run")
    assert len(ds) == 3 and stats.episodes == 3
    durations = [ep.timestamps[-1] - ep.timestamps[0] for ep in ds]
    assert [round(d, 1) for d in durations] == pytest.approx([1.0, 0.7, 0.7], abs=0.15)
    gap = ds[2].timestamps[0] - ds[1].timestamps[-1]
    assert 0.55 < gap < 0.85  # the pause
    keys = [[(str(k), bool(d)) for k, d in ep.key_events[["key", "down"]]] for ep in ds]
    assert keys == [
        [("left", True), ("left", False)],
        [("up", True), ("up", False)],
        [("down", True), ("down", False)],
    ]
    for ep, key, ticks in zip(ds, ["left", "up", "down"], [9, 6, 6], strict=True):
        col = ep.held_keys[:, KEYS.index(key)]
        assert abs(int(col.sum()) - ticks) <= 1  # held 0.3 / 0.2 / 0.2 s at 30 fps
        assert not np.delete(ep.held_keys, KEYS.index(key), axis=1).any()
        assert ep.truncations[-1] and ep.truncations.sum() == 1


def test_size_and_grayscale(highway_window, tmp_path):
    with ScreenCapture(title="HighwayRacer", size=(60, 80), grayscale=True) as cap:
        stats = Recorder(cap, ["a", "s"], 20, tmp_path / "run", game_id="mine").run(1.0)
    ds = load_dataset(tmp_path / "run")
    assert ds.obs_shape == (60, 80, 1) and ds.metadata["color"] == "gray"
    assert ds.metadata["game_id"] == "mine"
    assert ds.metadata["action_map"]["actions"] == ["noop", "a", "s", "a+s"]
    assert ds.metadata["recording"]["size"] == [60, 80]
    assert stats.frames_written == len(ds[0]) + 1 == 20


def test_window_closing_stops_with_a_clear_error_and_a_valid_file(highway_window, tmp_path):
    with ScreenCapture(title="HighwayRacer") as cap:
        rec = Recorder(cap, KEYS, 30, tmp_path / "run").start(duration_s=10)
        time.sleep(1.0)
        highway_window.proc.terminate()
        with pytest.raises(BcGymError, match=re.escape("the recording stopped early")) as err:
            rec.run()
    assert "has closed" in str(err.value.__cause__)
    assert validate(tmp_path / "run") == []
    assert len(load_dataset(tmp_path / "run")[0]) >= 20


def test_a_tap_shorter_than_the_period_labels_the_next_tick(highway_window, tmp_path):
    # A browser game jumps on the key-down event, so a 5 ms tap counts; at 10 fps a tick would
    # sample it held only ~5% of the time. Each tap must label exactly one frame: the first
    # tick after its press, as a press held over that tick would.
    taps = [0.6 + 0.37 * i for i in range(8)]
    script = [e for t in taps for e in ([t, "up", True], [t + 0.005, "up", False])]
    log = tmp_path / "bot.json"
    with ScreenCapture(title="HighwayRacer") as cap:
        rec = Recorder(cap, KEYS, 10, tmp_path / "run").start(duration_s=4.0)
        bot = _bot(log, script)
        rec.run()
    assert bot.wait(10) == 0
    ds = load_dataset(tmp_path / "run")
    (ep,) = list(ds)
    origin = ds.metadata["recording"]["clock_origin"]
    pressed = [a - origin for a, _, key, down in json.loads(log.read_text())["events"] if down]
    assert len(ep.key_events) == 2 * len(taps)  # the raw log has every tap
    col = ep.held_keys[:, KEYS.index("up")]
    ticks = ep.timestamps[: len(col)]
    labelled = ticks[col]
    assert len(labelled) == len(taps), (labelled, pressed)
    # Each labelled tick is the first one after a press (timestamps: the middle of the grab).
    for t_label, t_press in zip(labelled, pressed, strict=True):
        assert 0 < t_label - t_press < 0.1 + 0.02, (t_label, t_press)
    assert np.array_equal(ep.actions, ds.action_map.labels_from_held(ep.held_keys))
