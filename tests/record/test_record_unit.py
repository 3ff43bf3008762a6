"""The recorder's pure parts: action-map rule, hotkeys, region/size parsing, platform check."""

from __future__ import annotations

import re

import pytest

from bc_gym.actions import HIGHWAY_ACTIONS
from bc_gym.errors import RegionError, UnsupportedPlatform
from bc_gym.record.actions import Hotkeys, action_map_for_keys, check_keys
from bc_gym.record.recorder import RecorderStats
from bc_gym.record.region import check_platform, parse_region, parse_size, pick_region


def test_arrows_give_highway_actions_in_any_order():
    assert action_map_for_keys(["up", "down", "left", "right"]) is HIGHWAY_ACTIONS
    assert action_map_for_keys(["left", "right", "up", "down"]) is HIGHWAY_ACTIONS


def test_other_keys_give_noop_singles_and_pairs():
    amap = action_map_for_keys(["a", "d", "space"])
    assert amap.names == ("noop", "a", "d", "space", "a+d", "a+space", "d+space")
    assert amap.keys == ("a", "d", "space")
    assert amap.from_keys({"a", "d", "space"}) == amap.index("a+d")  # largest combo, lowest index
    three = action_map_for_keys(["left", "right", "up"])
    assert three.n == 1 + 3 + 3 and three.opposites == ()


def test_key_list_errors():
    with pytest.raises(ValueError, match=re.escape("keys must be a non-empty list")):
        check_keys([])
    with pytest.raises(ValueError, match=re.escape("keys must be unique, ['left'] repeated")):
        check_keys(["left", "Left"])
    with pytest.raises(ValueError, match=re.escape("keys ['f9'] are recorder hotkeys")):
        Hotkeys().check_disjoint(["left", "f9"])
    with pytest.raises(ValueError, match=re.escape("hotkeys must be three different keys")):
        Hotkeys("f8", "f8", "f10")


def test_parse_region_and_size():
    assert parse_region(" 10, 20,640,480") == (10, 20, 640, 480)
    assert parse_size("160x120") == (120, 160)
    with pytest.raises(RegionError, match=re.escape("region must be X,Y,W,H (four integers")):
        parse_region("10,20,640")
    with pytest.raises(RegionError, match=re.escape("region '0,0,0,10' is empty")):
        parse_region("0,0,0,10")
    with pytest.raises(ValueError, match=re.escape("size must be WxH, e.g. 160x120")):
        parse_size("160*120")


def test_pick_region_spans_both_corners():
    corners = iter([(300, 200), (100, 50)])
    prompts: list[str] = []
    assert pick_region(prompts.append, lambda: next(corners)) == (100, 50, 201, 151)
    assert "TOP-LEFT" in prompts[0] and "BOTTOM-RIGHT" in prompts[1]


def test_wayland_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("XDG_SESSION_TYPE", "wayland")
    monkeypatch.setenv("DISPLAY", ":0")
    with pytest.raises(UnsupportedPlatform, match=re.escape("This is a Wayland session")):
        check_platform()
    assert check_platform(allow_wayland=True) == ":0"


def test_status_line():
    s = RecorderStats(state="recording", ticks=90, captured=89, dropped_queue=1, queue_max=60)
    s.recording_s, s.fps, s.bytes_written, s.focused = 3.0, 29.9, 2_500_000, False
    assert s.line() == (
        "REC 00:03.0 | ep 0 | 89 frames  29.9 fps | dropped 1 (clock 0, queue 1) | "
        "queue 0/60 | 2.5 MB | focus: NOT the game window"
    )
