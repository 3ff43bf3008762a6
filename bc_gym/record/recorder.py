"""Record a game being played: screen frames and held keys on one fixed clock, into a dataset.

Three threads (design.md, section 3):

* **capture** (``bc-gym-rec-capture``): a fixed clock of period ``1/fps``. At tick *i* it samples
  the held keys (:class:`~bc_gym.screen.keys.KeyListener`, X RECORD) and grabs frame *i*
  (:class:`~bc_gym.screen.capture.ScreenCapture`), then puts the raw grab in a bounded queue.
  It never waits for the disk: when the queue is full the frame is dropped and *counted*
  (``dropped_queue``, shown on the status line and stored in the metadata). A tick that starts
  more than one period late is skipped and counted (``dropped_clock``); the clock keeps its
  phase. Hotkeys are read here too.
* **writer** (``bc-gym-rec-writer``): converts each grab (BGRA -> RGB/gray, ``size``), runs the
  optional game-over detector, and writes through :class:`~bc_gym.datasets.DatasetWriter` (the
  only way this package writes). The label of frame *i* is the key set held at tick *i*, plus
  the keys pressed since tick *i - 1* and already released (a tap shorter than the period).
* the caller's thread (:meth:`Recorder.run`): status updates, SIGINT/SIGTERM, duration.

Timestamps are ``time.monotonic()`` seconds minus ``metadata["recording"]["clock_origin"]``
(also ``time.monotonic()``, so other processes on the machine can compare their own times);
``timestamps[i]`` is the middle of frame *i*'s grab, and raw key events use the same clock.

Episodes: one per stretch of recording. Pausing, the cut hotkey and stopping end an episode
(its last step is marked ``truncated``); with a game-over detector, the frame on which it
fires ends the episode (``terminated``), frames showing the game-over screen are skipped,
and the next episode starts on the first frame after it. A detector of a frozen screen
(:class:`~bc_gym.envs.detectors.FrozenScreenDetector`) fires only after the screen has been
still for a while: the episode then ends on the first still frame, and the still frames after
it (copies of it, labelled with whatever keys were held) are dropped, so they never become
training frames. While the screen is still, the writer holds those frames back (in memory, at
most :data:`QUEUE_BYTES`) until it either changes again (they are written) or the detector
fires (they are dropped). An episode needs two frames (one step); a shorter stretch is not
written.
"""

from __future__ import annotations

import math
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bc_gym.actions import ActionMap
from bc_gym.record.actions import Hotkeys, action_map_for_keys, check_keys
from bc_gym.screen.capture import ScreenCapture, convert

QUEUE_BYTES = 512 * 2**20
"""Most raw grab bytes the writer queue may hold (caps ``queue_s`` for large regions)."""


@dataclass
class RecorderStats:
    """Live counters of a recording (read them from any thread; :meth:`Recorder.stats`)."""

    state: str = "starting"
    """``"starting"``, ``"recording"``, ``"paused"``, ``"stopping"`` or ``"stopped"``."""
    elapsed_s: float = 0.0
    """Seconds since :meth:`Recorder.start`."""
    recording_s: float = 0.0
    """Seconds spent recording (not paused)."""
    ticks: int = 0
    """Clock ticks while recording (captured + dropped)."""
    captured: int = 0
    """Frames grabbed and queued."""
    dropped_clock: int = 0
    """Ticks skipped because the capture thread woke more than one period late."""
    dropped_queue: int = 0
    """Grabs dropped because the writer queue was full (the disk or CPU could not keep up)."""
    late: int = 0
    """Ticks grabbed more than half a period late (kept)."""
    frames_written: int = 0
    """Frames handed to the dataset writer (episodes' ``T+1`` observations)."""
    episodes: int = 0
    """Episodes finished."""
    skipped_game_over: int = 0
    """Frames not written because they showed the game-over screen."""
    queue_len: int = 0
    """Grabs waiting in the writer queue."""
    queue_max: int = 0
    """Capacity of the writer queue."""
    bytes_written: int = 0
    """Size of the episode files on disk."""
    fps: float = 0.0
    """Achieved capture rate over the last second."""
    focused: bool | None = None
    """Whether the recorded window has the keyboard focus (``None``: region capture)."""
    key_events: int = 0
    """Raw events of the recorded keys logged."""

    @property
    def dropped(self) -> int:
        """All lost ticks: ``dropped_clock + dropped_queue``."""
        return self.dropped_clock + self.dropped_queue

    def line(self) -> str:
        """The one-line status, e.g. ``REC 00:12.0 ep 1 | 360 frames 30.0 fps | dropped 0``."""
        m, s = divmod(self.recording_s, 60)
        state = {"recording": "REC", "paused": "PAUSED"}.get(self.state, self.state.upper())
        focus = "" if self.focused in (None, True) else " | focus: NOT the game window"
        return (
            f"{state} {int(m):02d}:{s:04.1f} | ep {self.episodes} | {self.captured} frames "
            f"{self.fps:5.1f} fps | dropped {self.dropped} (clock {self.dropped_clock}, "
            f"queue {self.dropped_queue}) | queue {self.queue_len}/{self.queue_max} | "
            f"{self.bytes_written / 1e6:.1f} MB{focus}"
        )


@dataclass
class _Grab:
    seq: int  # recording stretch: a new value starts a new episode
    ts: float  # seconds on the recording clock
    held: np.ndarray  # (K,) bool, sampled at the tick
    raw: np.ndarray  # BGRA grab
    events: list[tuple[float, str, bool]] = field(default_factory=list)


@dataclass
class _End:
    seq: int  # end the episode of this stretch (pause or cut)


class Recorder:
    """Record a screen region and the held keys into a bc-gym dataset.

    Example:
        >>> cap = ScreenCapture(title="HighwayRacer")  # doctest: +SKIP
        >>> rec = Recorder(cap, ["left", "right", "up", "down"], 30, "data/run1")  # doctest: +SKIP
        >>> stats = rec.run(duration_s=60)  # or rec.start(); ...; rec.stop()  # doctest: +SKIP
        >>> stats.dropped  # doctest: +SKIP
        0

    Args:
        capture: what to grab (its ``size``/``grayscale`` decide the stored frames; with
            ``size=None`` frames keep the size of the first grab).
        keys: the keys to record (pyautogui names); other keys are ignored.
        fps: clock rate, ticks per second.
        out: the dataset folder to create.
        action_map: the action vocabulary; default :func:`action_map_for_keys`.
        hotkeys: start/pause, cut and stop keys (never recorded).
        game_over: a detector ``detector(rgb_frame, t) -> bool`` (see
            :mod:`bc_gym.envs.detectors`) that ends an episode; ``None`` for no automatic cut.
            With a ``pending_since`` (a frozen screen), the episode ends on the first still
            frame and the still frames after it are not written.
        start_paused: wait for the toggle hotkey (or :meth:`resume`) before recording.
        game_id: stored as ``metadata["game_id"]``; default what ``--title`` matched (it
            stays the same when the title shows a score), else the window's title, if any.
        queue_s: seconds of grabs the writer queue holds (at most :data:`QUEUE_BYTES`).
        compression: HDF5 filter of the frames: ``"gzip"``, ``"lzf"`` or ``None``.
        compression_opts: gzip level.
        overwrite: replace an existing dataset at ``out``.
        append: add episodes to an existing compatible dataset at ``out``.
        status: called about twice a second with the :class:`RecorderStats` (from :meth:`run`).

    Raises:
        ValueError: bad ``keys``/``fps``/``queue_s``, or a key that is also a hotkey.
        DatasetExistsError: ``out`` exists and neither ``overwrite`` nor ``append`` is set.
    """

    def __init__(
        self,
        capture: ScreenCapture,
        keys: Sequence[str],
        fps: float,
        out: str | Path,
        *,
        action_map: ActionMap | None = None,
        hotkeys: Hotkeys = Hotkeys(),
        game_over: Callable[[np.ndarray, float], bool] | None = None,
        start_paused: bool = False,
        game_id: str | None = None,
        queue_s: float = 2.0,
        compression: str | None = "gzip",
        compression_opts: int | None = 1,
        overwrite: bool = False,
        append: bool = False,
        status: Callable[[RecorderStats], None] | None = None,
    ) -> None:
        self.keys = check_keys(keys)
        hotkeys.check_disjoint(self.keys)
        if not (isinstance(fps, int | float) and 0 < fps <= 1000):
            raise ValueError(f"fps must be a number in (0, 1000], actual value: {fps!r}")
        if not queue_s > 0:
            raise ValueError(f"queue_s must be > 0, actual value: {queue_s!r}")
        self.action_map = action_map if action_map is not None else action_map_for_keys(self.keys)
        missing = [k for k in self.keys if k not in self.action_map.keys]
        if missing or len(self.action_map.keys) != len(self.keys):
            raise ValueError(
                f"action_map keys {list(self.action_map.keys)} must be the recorded keys "
                f"{list(self.keys)}"
            )
        self.keys = tuple(self.action_map.keys)  # held_keys columns follow the map's order
        self.capture = capture
        self.fps = float(fps)
        self.period = 1.0 / self.fps
        self.hotkeys = hotkeys
        self.game_over = game_over
        self.status = status
        self.out = Path(out)
        first = capture.grab_bgra()
        h, w = capture.size if capture.size is not None else first.shape[:2]
        self.out_hw = (int(h), int(w))
        self.obs_shape = (self.out_hw[0], self.out_hw[1], 1 if capture.grayscale else 3)
        frame_bytes = first.nbytes
        self.queue_max = max(4, min(math.ceil(queue_s * self.fps), QUEUE_BYTES // frame_bytes))
        self._queue: queue.Queue[_Grab | _End | None] = queue.Queue(self.queue_max)
        self.clock_origin = time.monotonic()
        self.stats = RecorderStats(queue_max=self.queue_max)
        self._recording = not start_paused
        self._seq = 0
        self._stop = threading.Event()
        self._stopped_at: float | None = None
        self._started_at: float | None = None
        self._deadline: float | None = None
        self._listener: Any = None
        self._threads: list[threading.Thread] = []
        self._error: BaseException | None = None
        self._fps_window: deque[float] = deque()
        self._focus_handle: Any = None
        from bc_gym.datasets import DatasetWriter

        win = capture.window
        self.recording_meta: dict[str, Any] = {
            "clock": "time.monotonic",
            "clock_origin": self.clock_origin,
            "started_unix": time.time(),
            "title": win.title if win is not None else None,
            # What --title matched: finds the window again when its title changes (a score).
            "title_match": getattr(capture, "title", None),
            "grayscale": capture.grayscale,
            "size": list(capture.size) if capture.size is not None else None,
            "hotkeys": {"toggle": hotkeys.toggle, "cut": hotkeys.cut, "stop": hotkeys.stop},
            "cut_on_game_over": game_over is not None,
            "game_over": repr(game_over) if game_over is not None else None,
            "queue_max": self.queue_max,
        }
        self.writer = DatasetWriter(
            self.out,
            action_map=self.action_map,
            fps=self.fps,
            obs_shape=self.obs_shape,
            source="recorder",
            game_id=game_id
            if game_id is not None
            else (getattr(capture, "title", None) or (win.title if win is not None else None)),
            region=capture.current_region(),
            screen_size=capture.screen_size,
            overwrite=overwrite,
            append=append,
            compression=compression,
            compression_opts=compression_opts,
            recording=self.recording_meta,
        )

    # Control
    def start(self, duration_s: float | None = None) -> Recorder:
        """Start listening to the keyboard and the capture and writer threads.

        Args:
            duration_s: stop by itself this many seconds after the start; ``None``: no limit.
        """
        if duration_s is not None and not duration_s > 0:
            raise ValueError(f"duration_s must be > 0 or None, actual value: {duration_s!r}")
        if self._threads:
            raise RuntimeError("this Recorder was already started; create a new one")
        from bc_gym.screen.keys import KeyListener

        self._listener = KeyListener(None).start()  # every key: game keys and hotkeys
        if self.capture.window is not None:
            from bc_gym.screen.windows import WindowHandle

            self._focus_handle = WindowHandle(self.capture.window)
        self._started_at = time.monotonic()
        if duration_s is not None:
            self._deadline = self._started_at + duration_s
        self.stats.state = "recording" if self._recording else "paused"
        for name, target in (("writer", self._write_loop), ("capture", self._capture_loop)):
            t = threading.Thread(target=self._guard(target), name=f"bc-gym-rec-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def pause(self) -> None:
        """Stop recording until :meth:`resume`; ends the current episode."""
        self._recording = False

    def resume(self) -> None:
        """Record again (a new episode starts at the next tick)."""
        self._recording = True

    def cut(self) -> None:
        """End the current episode; the next tick starts a new one."""
        self._seq += 1
        self._put_end(self._seq - 1)

    def request_stop(self) -> None:
        """Ask the recording to stop (safe from a signal handler); :meth:`stop` waits for it."""
        self._stop.set()

    @property
    def running(self) -> bool:
        """True until the capture thread has ended."""
        return bool(self._threads) and self._threads[1].is_alive()

    def stop(self) -> RecorderStats:
        """Stop, write every queued frame, finish the dataset; returns the final stats.

        Raises:
            BcGymError: a thread failed (e.g. the window closed); the dataset is still closed.
        """
        self._stop.set()
        for t in reversed(self._threads):  # capture first: it sends the writer's sentinel
            t.join()
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        if self._focus_handle is not None:
            self._focus_handle.close()
            self._focus_handle = None
        self._update_stats()
        self.stats.state = "stopped"
        if self._error is not None:
            from bc_gym.errors import BcGymError

            raise BcGymError(f"the recording stopped early: {self._error}") from self._error
        return self.stats

    def run(self, duration_s: float | None = None, handle_signals: bool = True) -> RecorderStats:
        """Record until the stop hotkey, SIGINT/SIGTERM or ``duration_s``; return the stats.

        Args:
            duration_s: stop after this many seconds (from the start); ``None`` for no limit.
            handle_signals: in the main thread, turn SIGINT/SIGTERM into a clean stop.
        """
        previous: dict[int, Any] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, lambda *_: self.request_stop())
        try:
            if not self._threads:
                self.start(duration_s)
            elif duration_s is not None and self._started_at is not None:
                self._deadline = self._started_at + duration_s
            while self.running:
                self._stop.wait(0.5)
                self._update_stats()
                if self.status is not None:
                    self.status(self.stats)
            if self.status is not None:
                self.stats.state = "stopping"
                self.status(self.stats)
            return self.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # Capture thread
    def _guard(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:
                self._error = self._error or exc
                self._stop.set()
                if threading.current_thread().name.endswith("capture"):
                    self._send_sentinel()

        return run

    def _send_sentinel(self) -> None:
        """Tell the writer that capture is over (waits for room while the writer lives)."""
        while True:
            try:
                self._queue.put(None, timeout=0.1)
                return
            except queue.Full:
                if not self._threads[0].is_alive():
                    return

    def _put_end(self, seq: int) -> None:
        try:
            self._queue.put_nowait(_End(seq))
        except queue.Full:
            pass  # the next grab carries a new seq, which ends the episode too

    def _capture_loop(self) -> None:
        listener, keys, hk = self._listener, self.keys, self.hotkeys
        n_seen = len(listener.events)
        events: list[tuple[float, str, bool]] = []
        was_recording = False
        # Tick k is due at base + k * period (no drift from repeated additions).
        base, k = self._started_at or time.monotonic(), 0
        next_t = base
        while not self._stop.is_set():
            now = time.monotonic()
            if now < next_t:
                self._stop.wait(next_t - now)
                continue
            if self._deadline is not None and next_t >= self._deadline - 1e-6:
                break
            lag = now - next_t
            skipped = int(lag // self.period) if lag > self.period else 0
            # Hotkeys and game-key events since the last tick.
            new = listener.events[n_seen:]
            n_seen += len(new)
            # A tap shorter than the period (a browser game jumps on the key-down event) may be
            # over before the tick samples the held keys; it labels this tick, as a longer press
            # made at the same time would.
            tapped = {key for _, key, down in new if down and key in keys}
            for t, key, down in new:
                if key in keys:
                    events.append((t - self.clock_origin, key, down))
                elif down and key == hk.toggle:
                    self._recording = not self._recording
                elif down and key == hk.cut:
                    self.cut()
                elif down and key == hk.stop:
                    self._stop.set()
            if self._stop.is_set():
                break
            if not self._recording:
                if was_recording:
                    self._seq += 1
                    self._put_end(self._seq - 1)
                    self.stats.state = "paused"
                was_recording = False
                events.clear()
                k += skipped + 1
                next_t = base + k * self.period
                continue
            if not was_recording:
                self.stats.state = "recording"
                was_recording = True
                if skipped:  # resumed after a pause: the clock restarts now
                    skipped, base, k = 0, now, 0
                    next_t = now
            self.stats.dropped_clock += skipped
            self.stats.ticks += skipped + 1
            k += skipped
            next_t = base + k * self.period
            if now - next_t > self.period / 2:
                self.stats.late += 1
            held_set = listener.held() | tapped
            held = np.array([key in held_set for key in keys], dtype=bool)
            t0 = time.monotonic()
            raw = self.capture.grab_bgra()
            ts = (t0 + time.monotonic()) / 2 - self.clock_origin
            item = _Grab(self._seq, ts, held, raw, events)
            events = []
            try:
                self._queue.put_nowait(item)
                self.stats.captured += 1
                self._fps_window.append(ts)
            except queue.Full:
                self.stats.dropped_queue += 1
                events = item.events  # keep the key log complete
            k += 1
            next_t = base + k * self.period
        self._stopped_at = time.monotonic()
        self._send_sentinel()  # capture is over: the writer drains the queue, then stops

    # Writer thread
    def _write_loop(self) -> None:
        w, amap, det = self.writer, self.action_map, self.game_over
        seq: int | None = None
        first: tuple[np.ndarray, float, np.ndarray] | None = None  # episode's frame 0, unwritten
        step: tuple[int, np.ndarray, float, np.ndarray] | None = None  # last step, unwritten
        label: np.ndarray | None = None  # held keys of the newest frame (its label)
        ev_buf: list[tuple[float, str, bool]] = []
        # Frames of a screen that stopped changing: written when it changes again, dropped
        # when the detector fires on it (they would be copies of the last frame, labelled with
        # whatever keys were held). At most QUEUE_BYTES of them; older ones are written.
        held_back: deque[tuple[np.ndarray, float, np.ndarray, list]] = deque()
        held_bytes = 0
        in_game_over = False
        open_ep = False

        def add(frame: np.ndarray, ts: float, held: np.ndarray, events: list) -> None:
            """Append a frame to the current episode (the first frame starts one)."""
            nonlocal first, step, label, open_ep, ev_buf
            ev_buf.extend(events)
            if first is None:
                first, label = (frame, ts, held), held
                return
            if not open_ep:
                w.begin_episode(first[0], t0=first[1])
                self.stats.frames_written += 1
                open_ep = True
            if step is not None:
                a, obs, t, h = step
                w.step(a, obs, 0.0, False, False, timestamp=t, held_keys=h)
                self.stats.frames_written += 1
            for t, key, down in ev_buf:
                w.key_event(t, key, down)
                self.stats.key_events += 1
            ev_buf = []
            assert label is not None
            step = (amap.from_multibinary(label), frame, ts, label)
            label = held

        def release(drop: bool) -> None:
            """Write the held-back frames (the screen changed), or drop them (game over)."""
            nonlocal held_bytes
            if drop:
                self.stats.skipped_game_over += len(held_back)
            while held_back and not drop:
                add(*held_back.popleft())
            held_back.clear()
            held_bytes = 0

        def end(truncated: bool, terminated: bool = False) -> None:
            nonlocal first, step, label, open_ep, ev_buf
            release(drop=False)
            if step is not None:
                a, obs, ts, held = step
                w.step(a, obs, 0.0, terminated, truncated, timestamp=ts, held_keys=held)
                self.stats.frames_written += 1
            if open_ep:
                self.stats.episodes += 1
                w.metadata["recording"] = {**self.recording_meta, **self._summary()}
                w.end_episode()
            first = step = label = None
            open_ep = False
            ev_buf = []

        try:
            while True:
                item = self._queue.get()
                if item is None:
                    break
                if isinstance(item, _End):
                    if item.seq == seq:
                        end(truncated=True)
                        seq = None
                    continue
                if item.seq != seq:
                    end(truncated=True)
                    seq, in_game_over = item.seq, False
                frame = convert(item.raw, self.out_hw, self.capture.grayscale)
                if det is None:
                    add(frame, item.ts, item.held, item.events)
                    continue
                rgb = frame if frame.shape[2] == 3 else convert(item.raw, self.out_hw)
                if first is None and hasattr(det, "reset") and not in_game_over:
                    det.reset(rgb, item.ts)
                over = bool(det(rgb, item.ts))
                if in_game_over:
                    if over:
                        self.stats.skipped_game_over += 1
                        continue
                    in_game_over = False  # the next game: this frame starts an episode
                    if hasattr(det, "reset"):
                        det.reset(rgb, item.ts)
                since = getattr(det, "pending_since", None)
                still = since is not None and item.ts > since  # a copy of an earlier frame
                if over:
                    # The game ended on this frame, or (a screen that froze) on the first still
                    # frame, which is then the episode's last: the copies after it are dropped.
                    in_game_over = True
                    release(drop=True)
                    if still or first is None:
                        self.stats.skipped_game_over += 1
                    else:
                        add(frame, item.ts, item.held, item.events)
                    end(truncated=False, terminated=True)
                    continue
                if still and first is not None:
                    held_back.append((frame, item.ts, item.held, item.events))
                    held_bytes += frame.nbytes
                    while held_bytes > QUEUE_BYTES:
                        old = held_back.popleft()
                        held_bytes -= old[0].nbytes
                        add(*old)
                    continue
                release(drop=False)
                add(frame, item.ts, item.held, item.events)
        finally:
            try:
                self._update_stats()
                end(truncated=True)
            finally:
                # The final counters, also when the last episode ended earlier (the writer
                # rewrites metadata.json only when an episode ends).
                from bc_gym.datasets import spec

                w.metadata["recording"] = {**self.recording_meta, **self._summary()}
                w.close()
                spec.write_metadata(self.out, w.metadata)

    # Stats
    def _summary(self) -> dict[str, Any]:
        s = self.stats
        d = asdict(s)
        for k in ("state", "queue_len", "fps", "focused", "elapsed_s", "bytes_written"):
            d.pop(k)
        return d

    def _update_stats(self) -> None:
        s, now = self.stats, time.monotonic()
        if self._started_at is not None:
            s.elapsed_s = (self._stopped_at or now) - self._started_at
        s.recording_s = s.ticks * self.period
        s.queue_len = self._queue.qsize()
        cutoff = now - self.clock_origin - 1.0
        win = self._fps_window
        while win and win[0] < cutoff:
            win.popleft()
        running = self.stats.state == "recording" and self._stopped_at is None
        s.fps = (len(win) - 1) / (win[-1] - win[0]) if running and len(win) > 2 else 0.0
        s.bytes_written = _folder_bytes(self.out)
        if self._focus_handle is not None:
            try:
                s.focused = self._focus_handle.has_focus()
            except Exception:  # the window closed: the capture thread reports it
                s.focused = None


def _folder_bytes(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total
