"""The elastic real-time clock of ``ScreenEnv`` (design.md, section 3; after rtgym)."""

from __future__ import annotations

import time
import warnings
from collections import deque


class LateStepWarning(UserWarning):
    """A control step ended more than one period late; the clock restarted."""


class ElasticClock:
    """A nominal period whose overruns are absorbed by shorter next steps.

    Tick ``i`` is due at ``start + i * period``. :meth:`wait` sleeps until the next due tick;
    when a step ends late, the next tick keeps its due time (so the next step is shorter and
    the rate holds). A step more than one whole period late warns (:class:`LateStepWarning`)
    and restarts the clock from now, instead of firing a burst of catch-up ticks.

    Example:
        >>> clock = ElasticClock(0.01)
        >>> clock.start()
        >>> tick, overrun = clock.wait()
        >>> overrun < 0.01
        True

    Args:
        period: nominal seconds per step (> 0).
        warn: emit :class:`LateStepWarning` when the clock restarts.
        window: number of recent ticks used for :attr:`rate`.
    """

    def __init__(self, period: float, *, warn: bool = True, window: int = 30) -> None:
        if not period > 0:
            raise ValueError(f"period must be > 0 seconds, actual value: {period!r}")
        self.period = float(period)
        self.warn = bool(warn)
        self.late_steps = 0
        self._next = 0.0
        self._ticks: deque[float] = deque(maxlen=max(2, int(window)))

    def start(self) -> None:
        """Start (or restart) the clock: the first tick is due one period from now."""
        now = time.monotonic()
        self._next = now + self.period
        self._ticks.clear()
        self._ticks.append(now)

    def wait(self) -> tuple[float, float]:
        """Sleep until the next tick.

        Returns:
            ``(tick_time, overrun)``: when the tick happened (``time.monotonic()``) and how late
            it was against its due time, seconds (0 when the step ended in time).
        """
        now = time.monotonic()
        if now < self._next:
            time.sleep(self._next - now)
            now = time.monotonic()
        overrun = max(0.0, now - self._next)
        if overrun > self.period:
            self.late_steps += 1
            if self.warn:
                warnings.warn(
                    f"control step ended {overrun * 1000:.0f} ms late, more than one period "
                    f"({self.period * 1000:.0f} ms): the clock restarts. The policy (or the "
                    "machine) is too slow for this rate; lower fps or speed up inference.",
                    LateStepWarning,
                    stacklevel=3,
                )
            self._next = now + self.period
        else:
            self._next += self.period
        self._ticks.append(now)
        return now, overrun

    @property
    def rate(self) -> float:
        """Achieved ticks per second over the recent window (0.0 before two ticks)."""
        if len(self._ticks) < 2 or self._ticks[-1] <= self._ticks[0]:
            return 0.0
        return (len(self._ticks) - 1) / (self._ticks[-1] - self._ticks[0])
