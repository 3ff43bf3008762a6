"""Screen capture: a region or a window (followed when it moves) as RGB uint8 frames.

:class:`ScreenCapture` grabs synchronously; :class:`AsyncCapture` runs it on a background
thread at a fixed rate into a ring buffer of ``(timestamp, frame_id, frame)``, so a policy can
read frames spaced exactly as in training (``at(t)``, ``frames_at(times)``), whatever its own
speed (design.md, section 3). Timestamps are ``time.monotonic()`` seconds.

Conversion cost (measured, 480x480 BGRA -> 64x64 RGB, one core): OpenCV's ``INTER_AREA`` at a
non-integer ratio takes ~450 us; halving with ``INTER_AREA`` first (a pyramid) and converting
the small image takes ~100 us; a numpy fancy-index BGRA->RGB alone takes longer than that.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import deque
from collections.abc import Sequence
from types import TracebackType

import cv2
import numpy as np

from bc_gym.errors import BcGymError, RegionError
from bc_gym.screen.backends import CaptureBackend, get_backend
from bc_gym.screen.windows import WindowHandle, WindowInfo, find_window

Frame = tuple[float, int, np.ndarray]  # (timestamp, frame_id, frame)


def _shrink(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """Area-average ``img`` to ``(h, w)``: halve while possible, then one ``INTER_AREA``."""
    while img.shape[0] >= 2 * h and img.shape[1] >= 2 * w:
        img = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if img.shape[:2] == (h, w):
        return img
    interp = cv2.INTER_AREA if h <= img.shape[0] and w <= img.shape[1] else cv2.INTER_NEAREST
    return cv2.resize(img, (w, h), interpolation=interp)


def convert(
    bgra: np.ndarray, size: tuple[int, int] | None = None, grayscale: bool = False
) -> np.ndarray:
    """BGRA ``(H, W, 4)`` -> RGB ``(h, w, 3)`` or gray ``(h, w, 1)`` uint8, resized to ``size``.

    Args:
        bgra: a raw grab.
        size: ``(height, width)`` of the output, or ``None`` for the grab's size.
        grayscale: one luminance channel instead of RGB.
    """
    h, w = size if size is not None else bgra.shape[:2]
    if grayscale:
        out = _shrink(cv2.cvtColor(bgra, cv2.COLOR_BGRA2GRAY), h, w)
        return out[:, :, None]
    if (h, w) == bgra.shape[:2]:
        return cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(_shrink(bgra, h, w), cv2.COLOR_BGRA2RGB)  # resize first: 4x cheaper


class ScreenCapture:
    """Grab a screen region, or a window by title, as RGB uint8 ``(H, W, C)`` frames.

    With ``title`` the window is looked up once (:func:`~bc_gym.screen.windows.find_window`)
    and its position is re-read before each grab, so the capture follows the window when it
    moves (one X round trip, ~0.1 ms).

    Example:
        >>> with ScreenCapture(title="HighwayRacer", size=(64, 64)) as cap:  # doctest: +SKIP
        ...     cap.grab().shape
        (64, 64, 3)

    Args:
        region: ``(left, top, width, height)`` in screen pixels.
        title: capture the visible window whose title contains this text instead.
        size: ``(height, width)`` of the output frames; ``None`` keeps the native size.
        grayscale: output ``(H, W, 1)`` luminance instead of RGB.
        follow: with ``title``, track the window's position before every grab.
        backend: capture backend name (see :mod:`bc_gym.screen.backends`).

    Raises:
        DisplayError: no X display. WindowNotFound: no window has that title (the message lists
        the visible ones). RegionError: the region is empty or not on the screen.
    """

    def __init__(
        self,
        region: tuple[int, int, int, int] | None = None,
        *,
        title: str | None = None,
        size: tuple[int, int] | None = None,
        grayscale: bool = False,
        follow: bool = True,
        backend: str = "mss",
    ) -> None:
        if (region is None) == (title is None):
            raise ValueError(
                "give exactly one of region=(left, top, width, height) or title='...', "
                f"actual values: region={region!r}, title={title!r}"
            )
        if size is not None and (len(size) != 2 or min(int(size[0]), int(size[1])) <= 0):
            raise ValueError(f"size must be (height, width) > 0 or None, actual value: {size!r}")
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.grayscale = bool(grayscale)
        self.title = title
        self._lock = threading.Lock()
        self._backend: CaptureBackend = get_backend(backend)
        self._window: WindowHandle | None = None
        try:
            if title is not None:
                info = find_window(title)
                if follow:
                    self._window = WindowHandle(info)
                self._region = info.region
                self.window: WindowInfo | None = info
            else:
                self._region = tuple(int(v) for v in region)  # type: ignore[union-attr]
                self.window = None
            self._check_region(self._region)
        except BaseException:
            self.close()
            raise

    # Geometry
    @property
    def screen_size(self) -> tuple[int, int]:
        """``(width, height)`` of the screen, px."""
        return self._backend.screen_size()

    @property
    def region(self) -> tuple[int, int, int, int]:
        """The region of the last grab (or the initial one), ``(left, top, width, height)``."""
        return self._region  # type: ignore[return-value]

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(H, W, C)`` of the frames :meth:`grab` returns."""
        h, w = self.size if self.size is not None else (self._region[3], self._region[2])
        return (h, w, 1 if self.grayscale else 3)

    def _check_region(self, region: tuple[int, ...]) -> None:
        if len(region) != 4:
            raise RegionError(
                f"region must be (left, top, width, height), actual value: {region!r}"
            )
        left, top, width, height = region
        sw, sh = self.screen_size
        if width <= 0 or height <= 0:
            raise RegionError(
                f"region {region!r} is empty: width and height must be > 0 "
                f"(the screen is {sw}x{sh})"
            )
        if left < 0 or top < 0 or left + width > sw or top + height > sh:
            what = f"window {self.title!r} at" if self.title else "region"
            raise RegionError(
                f"{what} {region!r} (left, top, width, height) is not inside the screen, which "
                f"is {sw}x{sh}: give a region within (0, 0, {sw}, {sh}), or move the window "
                "fully onto the screen."
            )

    def current_region(self) -> tuple[int, int, int, int]:
        """Re-read the followed window's position (or return the fixed region)."""
        if self._window is not None:
            info = self._window.geometry()
            if info.region != self._region:
                self._check_region(info.region)
                self._region = info.region
                self.window = info
        return self._region  # type: ignore[return-value]

    # Grabbing
    def grab_bgra(self) -> np.ndarray:
        """The native pixels of the region, BGRA ``(height, width, 4)`` uint8."""
        with self._lock:
            return self._backend.grab_bgra(self.current_region())

    def convert(self, bgra: np.ndarray) -> np.ndarray:
        """Convert a raw grab to this capture's output size and colour."""
        return convert(bgra, self.size, self.grayscale)

    def grab(self) -> np.ndarray:
        """One frame, RGB ``(H, W, 3)`` (or gray ``(H, W, 1)``) uint8 at ``size``."""
        return self.convert(self.grab_bgra())

    def close(self) -> None:
        """Release the X connections (idempotent)."""
        if self._window is not None:
            self._window.close()
            self._window = None
        if getattr(self, "_backend", None) is not None:
            self._backend.close()

    def __enter__(self) -> ScreenCapture:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class FrameBuffer:
    """A thread-safe ring buffer of ``(timestamp, frame_id, frame)``, timestamps ascending.

    Args:
        capacity: number of frames kept; the oldest are dropped.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, actual value: {capacity!r}")
        self.capacity = int(capacity)
        self._items: deque[Frame] = deque(maxlen=self.capacity)
        self._times: deque[float] = deque(maxlen=self.capacity)
        self._cond = threading.Condition()

    def __len__(self) -> int:
        return len(self._items)

    def append(self, item: Frame) -> None:
        """Add a frame; one older than the newest is inserted in time order."""
        with self._cond:
            if self._times and item[0] < self._times[-1]:
                i = bisect.bisect_right(self._times, item[0])
                if len(self._items) == self.capacity:
                    if i == 0:
                        return  # older than everything kept
                    self._items.popleft()
                    self._times.popleft()
                    i -= 1
                self._items.insert(i, item)
                self._times.insert(i, item[0])
            else:
                self._items.append(item)
                self._times.append(item[0])
            self._cond.notify_all()

    def latest(self) -> Frame | None:
        """The newest frame, or ``None`` when empty."""
        with self._cond:
            return self._items[-1] if self._items else None

    def wait_newer(self, t: float, timeout: float) -> Frame | None:
        """Block until a frame with timestamp > ``t`` exists; return the newest (or ``None``)."""
        with self._cond:
            self._cond.wait_for(lambda: self._times and self._times[-1] > t, timeout)
            return self._items[-1] if self._items else None

    def frames_at(self, times: Sequence[float]) -> list[Frame]:
        """For each time, the frame whose timestamp is nearest (ties: the older one)."""
        with self._cond:
            if not self._items:
                raise LookupError("the frame buffer is empty: no frame has been captured yet")
            ts = list(self._times)
            out = []
            for t in times:
                i = bisect.bisect_left(ts, t)
                if i == len(ts) or (i > 0 and t - ts[i - 1] <= ts[i] - t):
                    i -= 1
                out.append(self._items[i])
            return out

    def clear(self) -> None:
        """Drop every frame."""
        with self._cond:
            self._items.clear()
            self._times.clear()


class AsyncCapture:
    """Grab a :class:`ScreenCapture` on a background thread at a fixed rate into a ring buffer.

    The thread grabs on a fixed clock (``fps``). A grab that starts more than half a period
    late counts as ``late``; ticks skipped because the thread fell more than a period behind
    count as ``dropped`` (the clock then restarts). ``grabs`` counts every grab. An error in
    the thread (e.g. the window closed) is re-raised by the next :meth:`latest`/:meth:`at`.

    Example:
        >>> cap = ScreenCapture(title="HighwayRacer", size=(64, 64))  # doctest: +SKIP
        >>> with AsyncCapture(cap, fps=30) as ac:  # doctest: +SKIP
        ...     t, frame_id, frame = ac.latest()
        ...     frames = ac.frames_at([t - 0.2, t - 0.1, t])

    Args:
        capture: the capture to run.
        fps: grabs per second.
        buffer_s: seconds of frames kept in the ring buffer.
    """

    def __init__(self, capture: ScreenCapture, fps: float = 30.0, buffer_s: float = 5.0) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be > 0, actual value: {fps!r}")
        if not buffer_s > 0:
            raise ValueError(f"buffer_s must be > 0, actual value: {buffer_s!r}")
        self.capture = capture
        self.fps = float(fps)
        self.period = 1.0 / self.fps
        self.buffer = FrameBuffer(int(np.ceil(buffer_s * self.fps)) + 1)
        self.late = 0
        self.dropped = 0
        self.grabs = 0
        self._next_id = 0
        self._id_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    # Control
    def start(self) -> AsyncCapture:
        """Start the capture thread and wait for its first frame."""
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="bc-gym-capture", daemon=True)
        self._thread.start()
        self.latest(timeout=2.0)
        return self

    def stop(self) -> None:
        """Stop the thread (idempotent); the buffer keeps its frames."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None

    def close(self) -> None:
        """Stop the thread and close the capture."""
        self.stop()
        self.capture.close()

    def __enter__(self) -> AsyncCapture:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True while the capture thread runs."""
        return self._thread is not None and self._thread.is_alive()

    # Grabbing
    def _grab(self) -> tuple[Frame, np.ndarray]:
        t0 = time.monotonic()
        raw = self.capture.grab_bgra()
        ts = (t0 + time.monotonic()) / 2  # the pixels were read during the grab
        with self._id_lock:
            fid = self._next_id
            self._next_id += 1
        item = (ts, fid, self.capture.convert(raw))
        self.buffer.append(item)
        self.grabs += 1
        return item, raw

    def grab_now(self) -> tuple[Frame, np.ndarray]:
        """Grab in the calling thread, add the frame to the buffer, return it and the raw BGRA.

        ``ScreenEnv`` uses this for the newest frame of each observation, so it is fresh at the
        control tick, while the thread supplies the older frames of a time-spaced stack.
        """
        return self._grab()

    def _run(self) -> None:
        next_t = time.monotonic()
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if now < next_t:
                    self._stop.wait(next_t - now)
                    continue
                lag = now - next_t
                if lag > self.period:
                    skipped = int(lag // self.period)
                    self.dropped += skipped
                    next_t += skipped * self.period
                elif lag > self.period / 2:
                    self.late += 1
                self._grab()
                next_t += self.period
        except BaseException as exc:  # handed to the consumer by _check()
            self._error = exc

    def _check(self) -> None:
        if self._error is not None:
            raise BcGymError(f"the capture thread stopped: {self._error}") from self._error

    # Reading
    def latest(self, timeout: float = 1.0) -> Frame:
        """The newest ``(timestamp, frame_id, frame)``; waits up to ``timeout`` for a first one."""
        self._check()
        item = self.buffer.latest()
        if item is None:
            item = self.buffer.wait_newer(-np.inf, timeout)
            self._check()
            if item is None:
                raise TimeoutError(
                    f"no frame captured within {timeout} s; is the capture started (start())?"
                )
        return item

    def at(self, t: float) -> Frame:
        """The frame whose timestamp is nearest to ``t`` (``time.monotonic()`` seconds)."""
        return self.frames_at([t])[0]

    def frames_at(self, times: Sequence[float]) -> list[Frame]:
        """The nearest frame to each of ``times``, as ``(timestamp, frame_id, frame)``."""
        self._check()
        return self.buffer.frames_at(times)
