"""Alarms in real time for event loops: one thread that wakes a loop when its time is up.

A test timeout, and the grace period that a cancelled step gets, are measured in
**real** time, whatever the loop's own clock says. ``loop.call_later()`` would
not do: it runs on ``loop.time()``, which a virtual-clock loop moves ahead
whenever it is idle (a 60-second timeout would expire at once) and which a
loop whose clock is stopped never reaches. So an alarm is kept by a
:class:`Watchdog` thread instead, with ``threading``'s real-time waits; when an
alarm is due, the thread hands its callback to the loop with
:meth:`~asyncio.AbstractEventLoop.call_soon_threadsafe`, the one method of a
loop that is meant to be called from another thread. That call also wakes a
loop that is blocked in its selector (through the loop's self-pipe), so it
works for any loop: the standard ones, uvloop, a virtual-clock loop, as long as
that loop runs the callbacks it is handed as soon as it can.

The callback runs **in the loop's thread**, where it may cancel tasks or stop
the loop; :meth:`Alarm.disarm` is called in that thread too, so an alarm that
is disarmed before its callback runs never runs it (the thread may already
have handed it over: the callback checks). An alarm's callback can run only
while its loop runs: code that blocks the loop (a ``time.sleep()`` in async
code) delays it, and :attr:`Alarm.late` says by how much.

What it costs: one daemon thread, started at the first alarm of a run and
stopped by :meth:`Watchdog.close`. Arming is a lock, a ``time.monotonic()`` and
a heap push (about a microsecond); disarming sets a flag and does not wake the
thread, whose heap drops disarmed alarms when they come due (or in bulk, when
they pile up). A disarmed alarm lets go of its loop and its callback at once:
up to a thousand of them wait in the heap, and each test with a timeout arms
one on a loop that closes right after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable

# Disarmed alarms that wait in the heap for their deadline are dropped in bulk
# once the heap holds this many, or twice as many as after the last clean-up.
_COMPACT_AT = 1024


class Alarm:
    """One armed alarm: ``callback()`` in ``loop``'s thread at the deadline, unless disarmed."""

    __slots__ = ("_callback", "_loop", "deadline", "disarmed", "late")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, callback: Callable[[], object], deadline: float
    ) -> None:
        self._loop: asyncio.AbstractEventLoop | None = loop
        self._callback = callback
        #: ``time.monotonic()`` at which the alarm is due.
        self.deadline = deadline
        self.disarmed = False
        #: real seconds between the deadline and the callback's run in the loop.
        self.late = 0.0

    def disarm(self) -> None:
        """Make sure the callback does not run (call it in the loop's thread)."""
        self.disarmed = True
        # A disarmed alarm waits in the heap until its deadline: it must not keep
        # its loop (and what the callback holds: the step, the runner) alive so long.
        self._callback = _nothing
        self._loop = None

    def _hand_over(self) -> None:
        # In the watchdog thread, while disarm() may run in the loop's: the loop is
        # read once (None once disarmed).
        loop = self._loop
        if self.disarmed or loop is None:
            return
        with contextlib.suppress(RuntimeError):  # a closed loop: nothing left to wake
            loop.call_soon_threadsafe(self._run)

    def _run(self) -> None:
        # In the loop's thread.
        if self.disarmed:
            return
        self.disarmed = True
        self.late = max(0.0, time.monotonic() - self.deadline)
        self._callback()


def _nothing() -> None:
    pass


class Watchdog:
    """The thread that keeps the alarms of every loop of one run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._heap: list[tuple[float, int, Alarm]] = []
        self._order = itertools.count()  # ties: first armed, first served
        self._compact_at = _COMPACT_AT
        self._thread: threading.Thread | None = None
        self._closed = False

    def arm(
        self, seconds: float, loop: asyncio.AbstractEventLoop, callback: Callable[[], object]
    ) -> Alarm:
        """Run ``callback()`` in ``loop`` after ``seconds`` real seconds, unless disarmed."""
        alarm = Alarm(loop, callback, time.monotonic() + seconds)
        with self._lock:
            if self._closed:
                raise RuntimeError("the watchdog was closed; it arms no more alarms")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._keep, name="pytest-aioloop watchdog", daemon=True
                )
                self._thread.start()
            if len(self._heap) >= self._compact_at:
                self._heap = [entry for entry in self._heap if not entry[2].disarmed]
                heapq.heapify(self._heap)
                self._compact_at = max(_COMPACT_AT, 2 * len(self._heap))
            heapq.heappush(self._heap, (alarm.deadline, next(self._order), alarm))
            if self._heap[0][2] is alarm:  # sooner than what the thread waits for
                self._changed.notify()
        return alarm

    def close(self) -> None:
        """Stop the thread; alarms still armed never go off."""
        with self._lock:
            self._closed = True
            self._heap.clear()
            self._changed.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _keep(self) -> None:
        due: list[Alarm] = []
        while True:
            with self._lock:
                while not self._closed:
                    now = time.monotonic()
                    while self._heap and self._heap[0][0] <= now:
                        due.append(heapq.heappop(self._heap)[2])
                    if due:
                        break
                    # Condition.wait() measures its timeout in real time.
                    self._changed.wait(self._heap[0][0] - now if self._heap else None)
                else:
                    return
            # Outside the lock: handing over takes the loop's own locks.
            for alarm in due:
                alarm._hand_over()
            due.clear()
