"""How many reads the scan keeps in flight: :class:`AdaptiveLimit`, a limit that grows only while
growing it measurably raises the throughput, so a larger ``max_workers`` is never slower.

Why more workers can be slower. The scan's threads share one interpreter lock: every call spends
client CPU (botocore builds, signs and parses it) besides its wait on the server. Against AWS the
wait dominates (tens of ms per call) and more reads in flight go faster until throttling; against a
local server the server's CPU and the client's are the limit (a moto server is one Python process:
one lock for all its threads; it also closes the connection after every answer, so each call opens a
new connection and the server a new thread), and reads in flight beyond what the CPUs can serve
only add lock hand-offs, threads and connections. Which case holds depends on the endpoint and the
machine, so the limit is measured, not fixed.

Contract of :class:`AdaptiveLimit` (``ceiling`` = ``max_workers``):
- At most :attr:`~AdaptiveLimit.limit` holders at once (:meth:`~AdaptiveLimit.acquire` blocks
  above it); the limit never exceeds ``ceiling``.
- It starts at ``min(ceiling, START)``. Each window of ``max(WINDOW_MIN, WINDOW_PER_SLOT * limit)``
  units of work (API calls when they are counted, else units done), but at most an eighth of
  ``total`` (the scan's units, when given) and never below ``WINDOW_MIN``, measures the throughput
  (work per second): a probe that loses costs a bounded share of a small scan. A window at least ``1 + GAIN`` times the best so far keeps the limit and doubles it (up
  to ``ceiling``); any other window puts the limit back to the best one's and the limit stays there
  for the rest of the scan (``settled``). At the ceiling after a gain, it settles too.
- Windows are measured only once ``ready()`` is true (the scan: once every client it needs
  exists, so no window pays for making one while the next does not); until then each release
  starts the window afresh.
- So, whatever ``ceiling``, the scan runs above the best measured limit for at most one window, and
  ``ceiling`` <= ``START`` behaves as a fixed pool of ``ceiling``.
- Waiting holders sleep until a slot frees (one is woken per freed slot, as many as the limit
  grows), not polling; :meth:`~AdaptiveLimit.close` wakes them all and makes every later
  :meth:`~AdaptiveLimit.acquire` fail.
- Thread safe; ``clock``, ``ready`` and the work counter are injected (tests script them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

START = 4
"""Reads in flight at first (or ``max_workers`` when smaller)."""
GAIN = 0.05
"""Throughput gain a doubled limit must show over the best so far to be kept."""
WINDOW_MIN = 24
"""Fewest units of work per measuring window."""
WINDOW_PER_SLOT = 6
"""Units of work per window per read in flight (a window sees each slot several times)."""


class AdaptiveLimit:
    """The scan's in-flight limit (see the module contract)."""

    def __init__(self, ceiling: int, work: Callable[[], int] | None = None,
                 clock: Callable[[], float] = time.monotonic, ready: Callable[[], bool] = lambda: True,
                 total: int | None = None) -> None:
        if ceiling < 1:
            raise ValueError("ceiling must be at least 1")
        self.ceiling = ceiling
        self.limit = min(ceiling, START)
        self.settled = self.limit >= ceiling
        self.history: list[tuple[int, float]] = []
        """(limit, throughput) of each measured window, in order."""
        self._work = work
        self._clock = clock
        self._ready = ready
        self._total = total
        self._closed = False
        self._done = 0
        self._in_flight = 0
        self._best: tuple[float, int] | None = None  # (throughput, limit)
        self._cond = threading.Condition()
        self._window_start = clock()
        self._window_work = self._measure()

    def _measure(self) -> int:
        counted = self._work() if self._work is not None else 0
        return counted if counted else self._done

    def window(self) -> int:
        """Units of work in the current measuring window (see the module contract)."""
        size = WINDOW_PER_SLOT * self.limit
        if self._total is not None:
            size = min(size, self._total // 8)
        return max(WINDOW_MIN, size)

    def acquire(self, give_up: Callable[[], bool] = lambda: False) -> bool:
        """Wait for a slot; ``False`` (no slot taken) once closed or ``give_up()`` turns true."""
        with self._cond:
            while self._in_flight >= self.limit:
                if self._closed or give_up():
                    return False
                self._cond.wait(1.0)  # woken by release() or close(); the timeout only re-checks give_up
            if self._closed:
                return False
            self._in_flight += 1
            return True

    def release(self) -> None:
        """A unit of work is done: free its slot, and measure when a window is full."""
        with self._cond:
            self._in_flight -= 1
            self._done += 1
            before = self.limit
            if not self.settled:
                self._maybe_decide()
            self._cond.notify(1 + max(0, self.limit - before))

    def close(self) -> None:
        """Wake every waiting holder; no slot is given any more."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _maybe_decide(self) -> None:
        if not self._ready():
            self._window_start, self._window_work = self._clock(), self._measure()
            return
        work = self._measure() - self._window_work
        if work < self.window():
            return
        now = self._clock()
        rate = work / max(now - self._window_start, 1e-9)
        self.history.append((self.limit, rate))
        if self._best is None or rate >= self._best[0] * (1 + GAIN):
            self._best = (rate, self.limit)
            if self.limit >= self.ceiling:
                self.settled = True
            else:
                self.limit = min(self.ceiling, self.limit * 2)
        else:
            self.limit = self._best[1]
            self.settled = True
        self._window_start, self._window_work = now, self._measure()
