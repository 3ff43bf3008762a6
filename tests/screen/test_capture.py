"""ScreenCapture and AsyncCapture on a real Xvfb and the real HighwayRacer window."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from bc_gym.errors import DisplayError, RegionError, UnsupportedPlatform, WindowNotFound
from bc_gym.screen.capture import AsyncCapture, FrameBuffer, ScreenCapture, convert


def test_convert_sizes_and_colours():
    bgra = np.zeros((480, 480, 4), np.uint8)
    bgra[..., 2] = 200  # red in BGRA
    rgb = convert(bgra, (64, 64))
    assert rgb.shape == (64, 64, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == [200, 0, 0]
    assert convert(bgra).shape == (480, 480, 3)
    gray = convert(bgra, (84, 84), grayscale=True)
    assert gray.shape == (84, 84, 1)


def test_frame_buffer_nearest_and_order():
    buf = FrameBuffer(4)
    for i, t in enumerate([1.0, 2.0, 3.0, 4.0, 5.0]):
        buf.append((t, i, np.full((1,), i)))
    assert len(buf) == 4 and buf.latest()[0] == 5.0
    assert [f[0] for f in buf.frames_at([0.0, 2.4, 2.5, 2.6, 9.0])] == [2.0, 2.0, 2.0, 3.0, 5.0]
    buf.append((3.5, 9, np.zeros(1)))  # out of order: inserted in time order
    assert [f[0] for f in buf.frames_at([3.4, 3.6, 4.2])] == [3.5, 3.5, 4.0]


@pytest.mark.x11
def test_grab_window_by_title(highway_window):
    with ScreenCapture(title="HighwayRacer", size=(64, 64)) as cap:
        assert cap.region == highway_window.window.region
        frame = cap.grab()
        assert frame.shape == (64, 64, 3) and frame.dtype == np.uint8
        assert cap.shape == (64, 64, 3)
        # The game's grass green dominates the left shoulder.
        r, g, b = frame[32, 2]
        assert g > r and g > b
    with ScreenCapture(title="HighwayRacer", grayscale=True) as cap:
        assert cap.grab().shape == (480, 480, 1)


@pytest.mark.x11
def test_follows_a_moved_window(highway_window):
    from Xlib import display as xdisplay

    with ScreenCapture(title="HighwayRacer", size=(32, 32)) as cap:
        cap.grab()
        d = xdisplay.Display()
        win = d.create_resource_object("window", highway_window.window.wid)
        win.configure(x=100, y=50)
        d.sync()
        d.close()
        deadline = time.monotonic() + 5
        while cap.current_region()[:2] != (100, 50) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert cap.region == (100, 50, 480, 480)
        assert cap.grab().shape == (32, 32, 3)


@pytest.mark.x11
def test_region_outside_screen(xvfb):
    with pytest.raises(RegionError, match=re.escape("is not inside the screen, which is 1280x800")):
        ScreenCapture((1000, 700, 480, 480))
    with pytest.raises(RegionError, match=re.escape("is empty: width and height must be > 0")):
        ScreenCapture((0, 0, 0, 10))
    with ScreenCapture((0, 0, 100, 50)) as cap:
        assert cap.grab().shape == (50, 100, 3)


@pytest.mark.x11
def test_window_not_found_lists_titles(highway_window):
    with pytest.raises(WindowNotFound) as err:
        ScreenCapture(title="Highway Racr")
    msg = str(err.value)
    assert "No visible window with title containing 'Highway Racr'" in msg
    assert "Visible windows: ['bc-gym HighwayRacer']" in msg


def test_no_display_is_explained(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    with pytest.raises(DisplayError, match=re.escape("No DISPLAY is set")) as err:
        ScreenCapture((0, 0, 10, 10))
    assert "Xvfb" in str(err.value)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    with pytest.raises(UnsupportedPlatform, match=re.escape("This is a Wayland session")):
        ScreenCapture(title="x")


def test_region_xor_title():
    with pytest.raises(ValueError, match=re.escape("give exactly one of region=")):
        ScreenCapture()


@pytest.mark.x11
def test_async_capture_ring_buffer(highway_window):
    cap = ScreenCapture(title="HighwayRacer", size=(48, 48))
    ac = AsyncCapture(cap, fps=50, buffer_s=1.0)
    with ac:
        time.sleep(0.6)
        t, fid, frame = ac.latest()
        assert frame.shape == (48, 48, 3)
        assert 0 <= time.monotonic() - t < 0.1
        assert ac.grabs >= 20
        picked = ac.frames_at([t - 0.2, t - 0.1, t])
        gaps = np.diff([p[0] for p in picked])
        assert np.all(np.abs(gaps - 0.1) <= 0.5 / 50 + 0.005)
        assert ac.at(t)[1] == fid
        assert ac.late + ac.dropped <= ac.grabs
    assert not ac.running
    n = ac.grabs
    time.sleep(0.1)
    assert ac.grabs == n  # stopped
    assert len(ac.buffer) <= ac.buffer.capacity == 51
    ac.close()


@pytest.mark.x11
def test_async_capture_reports_a_closed_window(highway_window):
    ac = AsyncCapture(ScreenCapture(title="HighwayRacer", size=(16, 16)), fps=50)
    with ac:
        highway_window.proc.terminate()
        highway_window.proc.wait(5)
        deadline = time.monotonic() + 3
        with pytest.raises(Exception, match="has closed"):  # noqa: B017
            while time.monotonic() < deadline:
                ac.latest()
                time.sleep(0.02)
    ac.close()
