"""A virtual clock for one event loop: sleeps, timeouts and schedules in no real time.

With a :class:`VirtualClock` applied, a loop's ``time()`` is virtual: it starts
at 0 when the clock is applied and moves only when the loop has nothing else to
do. Whenever the loop has nothing ready to run and nothing to wait for but its
timers, the clock *jumps* to the next timer (autojump), so ``await
asyncio.sleep(3600)`` returns at once with ``loop.time()`` an hour later. Every
deadline asyncio computes comes from ``loop.time()``: ``call_later``/``call_at``,
``sleep``, ``wait_for``, ``asyncio.timeout()`` and what is built on them
(``Condition``, ``Event`` or queue waits with a timeout) all follow it.

How: asyncio's own loop (``BaseEventLoop._run_once``) asks its selector to wait
for I/O for ``timeout`` seconds, computed from ``loop.time()``: 0 when a
callback is ready to run, the time to the next timer when only timers are
left, ``None`` when nothing is scheduled. That call is the one place where a
loop idles, and this module takes it over for one loop: instead of sleeping
until the next timer, the clock moves the virtual time to it and returns no
events; the loop then runs the timer exactly as it would after a real sleep.
(looptime drives loops the same way; trio's ``MockClock`` is the same idea
built into trio's run loop, where ``autojump_threshold`` is how many real
seconds the loop must have been idle before a jump.) No no-op cycles are
needed before a jump, as looptime has: asyncio asks for a positive timeout
only when its ready queue is empty, so every task that could still schedule
an earlier timer has already run.

**Real I/O holds the clock back.** A jump must never skip past something that
comes from outside the loop. Before every jump the selector is polled, and
what is ready is handled first. Then the clock holds (waits for real, and lets
virtual time pass at the rate of real time, until the next timer or until the
I/O arrives) while any of these is pending:

* an executor job: a future from ``loop.run_in_executor`` (so ``to_thread``,
  ``getaddrinfo`` for a host name, the default executor) that is not done, and
  the default executor's shutdown;
* a subprocess started through the loop (``create_subprocess_exec``/``_shell``)
  that has not exited;
* a connection in progress, and any registered file descriptor that can be
  fed from outside the loop: a pipe or anything else that is not a socket,
  and a connected socket whose peer is not a socket registered in the same
  loop (matched by address; a ``socketpair()``, with no address at either
  end, never matches).

What does not hold the clock: the loop's own self-pipe (registered for the
loop's whole life; it carries ``call_soon_threadsafe`` calls and signals), a
socket without a peer (a listening server, an unconnected datagram socket:
they wait for peers that may never come), and a connection whose two ends are
both in this loop (while the loop is idle neither end can send, and what one
end has sent is already readable at the other, which the poll sees: on
loopback the kernel delivers a send before the call returns). The limit: data
that something outside the loop sends later through one of these, or a thread
that is not an executor job, can arrive after the clock has jumped. trio and
looptime do not look at what is registered: trio jumps when a poll finds
nothing (after ``autojump_threshold`` real seconds, which its docs advise to
raise against "false alarms" with I/O in flight), looptime holds only for
executor jobs. This rule is stricter because a test's timings must not depend
on the speed of the machine.

**By hand:** :meth:`VirtualClock.advance` moves the time forward step by step,
running every callback that falls due, in order and each at its own time;
``autojump = False`` stops the jumps, for tests that move time only by hand.

**Real time is left alone.** Nothing is patched globally: ``time.time()``,
``time.monotonic()`` and every other loop keep real time. A deadline that must
be real even in a virtual loop (a test's timeout) is kept outside the loop, by
a thread that hands its callback over with ``call_soon_threadsafe()``: that
wakes the loop through its self-pipe, which is polled before every jump and
never holds the clock, so the callback runs at the loop's next turn whether
virtual time races ahead (a test that sleeps in a loop) or stands still (one
that spins on ``await asyncio.sleep(0)``, or waits for I/O that never comes).

Only asyncio's selector loops (``asyncio.new_event_loop()`` on Unix,
``SelectorEventLoop`` and its subclasses) can be driven this way; another loop
(uvloop, the Windows proactor loop) is refused with :class:`UnsupportedLoop`
rather than given wrong timings. The selector of a loop is reachable only
through its private ``_selector`` attribute, read once in :meth:`VirtualClock.apply`;
everything else is replaced per loop, as instance attributes of that loop and
of its selector, never on a class.
"""

from __future__ import annotations

import asyncio
import math
import os
import selectors
import socket
import stat
import time
import weakref
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

from pytest_aioloop.config import Clock

_Events = list[tuple[selectors.SelectorKey, int]]

#: What asyncio's loops take as their clock's resolution (BaseEventLoop._clock_resolution).
_RESOLUTION = time.get_clock_info("monotonic").resolution

# Each loop's clock; weak keys, so that a closed loop and its clock go together.
_CLOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, VirtualClock] = (
    weakref.WeakKeyDictionary()
)


class UnsupportedLoop(TypeError):
    """A loop that a virtual clock cannot drive: it is not an asyncio selector loop."""


def apply(loop: asyncio.AbstractEventLoop, clock: Clock) -> None:
    """Give a newly made ``loop`` the ``clock`` chosen for it (nothing to do for real time)."""
    if clock is Clock.VIRTUAL:
        VirtualClock.apply(loop)


def clock_of(loop: asyncio.AbstractEventLoop) -> Clock:
    """Which clock ``loop`` keeps."""
    return Clock.VIRTUAL if loop in _CLOCKS else Clock.REAL


class VirtualClock:
    """The virtual time of one event loop, with autojump; what the ``aioloop_clock`` fixture gives.

    ``time()`` is the loop's time (the same as ``loop.time()``), 0 when the clock
    was applied. While ``autojump`` is true (the default) the clock jumps to the
    next timer whenever the loop is idle and no real I/O is pending;
    ``await advance(seconds)`` moves it forward by hand.
    """

    def __init__(self, loop: asyncio.BaseEventLoop, selector: selectors.BaseSelector) -> None:
        # Use VirtualClock.apply(loop): it checks the loop and wires the clock in.
        self._loop = loop
        self._selector = selector
        self._select = selector.select
        self._now = 0.0
        self._autojump = True
        # advance(): the time it moves to, and the future it awaits.
        self._horizon: float | None = None
        self._advanced: asyncio.Future[None] | None = None
        # What holds the clock back (see the module's docstring).
        self._own_fds = frozenset(key.fd for key in selector.get_map().values())
        self._jobs: list[asyncio.Future[Any]] = []
        self._processes: weakref.WeakSet[asyncio.SubprocessTransport] = weakref.WeakSet()
        self._shutdowns = 0

    @classmethod
    def apply(cls, loop: asyncio.AbstractEventLoop) -> VirtualClock:
        """Give ``loop`` (new, not yet running) a virtual clock, and return the clock.

        Raises :class:`UnsupportedLoop` for a loop that is not an asyncio
        selector loop: uvloop and the proactor loop keep their time and wait for
        I/O in code that a clock cannot reach.
        """
        # The selector is the private attribute that BaseEventLoop._run_once()
        # calls; no public API reaches it.
        selector = getattr(loop, "_selector", None)
        if not isinstance(loop, asyncio.BaseEventLoop) or not isinstance(
            selector, selectors.BaseSelector
        ):
            kind = type(loop)
            raise UnsupportedLoop(
                f"a {kind.__module__}.{kind.__qualname__} is not an asyncio selector event "
                "loop, whose time and selector a virtual clock drives"
            )
        if loop.is_running() or loop.is_closed() or loop in _CLOCKS:
            raise RuntimeError("a virtual clock is applied to a new loop, before it runs")
        clock = cls(loop, selector)
        _CLOCKS[loop] = clock
        # Instance attributes of this one loop and its selector, in front of the
        # class's methods: every other loop is untouched.
        selector.select = clock._select_virtually  # type: ignore[method-assign]
        replaced: dict[str, Callable[..., Any]] = {
            "time": clock.time,
            "run_in_executor": clock._wrap_run_in_executor(loop.run_in_executor),
            "subprocess_exec": clock._wrap_subprocess(loop.subprocess_exec),
            "subprocess_shell": clock._wrap_subprocess(loop.subprocess_shell),
            "shutdown_default_executor": clock._wrap_shutdown(loop.shutdown_default_executor),
        }
        for name, method in replaced.items():
            setattr(loop, name, method)
        return clock

    @staticmethod
    def of(loop: asyncio.AbstractEventLoop) -> VirtualClock | None:
        """The virtual clock of ``loop``; None if it keeps real time."""
        return _CLOCKS.get(loop)

    def __repr__(self) -> str:
        return f"<VirtualClock time={self._now!r} autojump={self._autojump}>"

    def time(self) -> float:
        """The loop's virtual time, in seconds: 0 when the clock was applied."""
        return self._now

    @property
    def autojump(self) -> bool:
        """Whether the clock jumps to the next timer when the loop is idle (default: True).

        Set it to False for a test that moves time only with :meth:`advance`:
        then a task that sleeps stays asleep until the test advances the clock.
        """
        return self._autojump

    @autojump.setter
    def autojump(self, value: bool) -> None:
        self._autojump = bool(value)

    async def advance(self, seconds: float) -> None:
        """Move the time forward by ``seconds``, running every callback that falls due.

        The timers due by then run in order, each at its own time (a task that
        sleeps one second in a loop wakes up at 1, 2, 3...), with whatever they
        schedule in turn; ``advance()`` returns when the time is ``seconds``
        later and nothing due is left. ``advance(0)`` lets every task that can
        run do so. It moves time whatever I/O is pending: that is what it is for.
        """
        if not seconds >= 0 or math.isinf(seconds):
            raise ValueError(f"advance({seconds!r}): give a finite number of seconds >= 0")
        if asyncio.get_running_loop() is not self._loop:
            raise RuntimeError(
                "advance() is awaited in the loop whose clock it is: the test's loop"
            )
        if self._advanced is not None:
            raise RuntimeError("advance() is already in progress in another task of this loop")
        self._advanced = self._loop.create_future()
        self._horizon = self._now + seconds
        try:
            await self._advanced
        finally:
            self._advanced = self._horizon = None

    # -- the loop's idle moment --------------------------------------------------

    def _select_virtually(self, timeout: float | None = None) -> _Events:
        """The selector's ``select()``, as the loop calls it, with virtual time."""
        if timeout is not None and timeout <= 0:  # something is ready to run: a poll
            return self._select(0)
        events = self._select(0)  # what has arrived already comes before any jump
        if events:
            return events
        if self._horizon is not None:  # advance() in progress: jump, whatever holds
            if timeout is not None and self._now + timeout <= self._horizon:
                self._reach(timeout)
            else:
                self._now = max(self._now, self._horizon)
                assert self._advanced is not None
                if not self._advanced.done():
                    self._advanced.set_result(None)
            return []
        if not self._autojump:  # time moves by hand only: wait for I/O alone
            return self._select(None)
        if timeout is not None and not self._held():
            self._reach(timeout)  # the jump
            return []
        # Held back (or nothing scheduled): wait for real, and let virtual time
        # pass as real time does, up to the next timer.
        started = time.monotonic()
        events = self._select(timeout)
        if timeout is not None and not events:
            self._reach(timeout)
        else:
            elapsed = time.monotonic() - started
            self._now += elapsed if timeout is None else min(elapsed, timeout)
        return events

    def _reach(self, timeout: float) -> None:
        """Move the time to the timer that is ``timeout`` seconds away, so that it is due."""
        target = self._now + timeout
        # asyncio runs a timer once `when < loop.time() + clock resolution` (1 ns).
        # From 2**23 s (97 days) on, floats are further apart than that: a timer
        # reached exactly would never be due, and the loop would spin. `target`
        # is within a float of `when`: step two floats past it (a few
        # nanoseconds after 97 days, a microsecond after a century).
        if math.ulp(target) * 2 > _RESOLUTION:
            target += 2 * math.ulp(target)
        self._now = target

    def _held(self) -> bool:
        """Whether real I/O is pending that a jump could skip past (see the module's docstring)."""
        if self._shutdowns:
            return True
        if self._jobs:
            self._jobs = [job for job in self._jobs if not job.done()]
            if self._jobs:
                return True
        if any(process.get_returncode() is None for process in self._processes):
            return True
        sockets: list[tuple[object, object | None]] = []
        for key in self._selector.get_map().values():
            if key.fd in self._own_fds:
                continue
            endpoints = _endpoints(key.fd)
            if endpoints is None:  # not a socket: a pipe, a file, a pidfd
                return True
            if endpoints[1] is None and key.events & selectors.EVENT_WRITE:
                return True  # a connection in progress
            sockets.append(endpoints)
        return _fed_from_outside(sockets)

    # -- what holds the clock: executor jobs, subprocesses, executor shutdown ---

    def _wrap_run_in_executor(
        self, run_in_executor: Callable[..., asyncio.Future[Any]]
    ) -> Callable[..., asyncio.Future[Any]]:
        def tracked(executor: Any, func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
            future = run_in_executor(executor, func, *args)
            self._jobs.append(future)
            return future

        return tracked

    def _wrap_subprocess(
        self, start: Callable[..., Coroutine[Any, Any, tuple[Any, Any]]]
    ) -> Callable[..., Coroutine[Any, Any, tuple[Any, Any]]]:
        async def tracked(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
            transport, protocol = await start(*args, **kwargs)
            self._processes.add(transport)
            return transport, protocol

        return tracked

    def _wrap_shutdown(
        self, shutdown: Callable[..., Coroutine[Any, Any, None]]
    ) -> Callable[..., Coroutine[Any, Any, None]]:
        # The loop waits for the default executor's threads in a thread of its
        # own; leftover timers must not be jumped to (and run) meanwhile.
        async def tracked(*args: Any, **kwargs: Any) -> None:
            self._shutdowns += 1
            try:
                await shutdown(*args, **kwargs)
            finally:
                self._shutdowns -= 1

        return tracked


def _endpoints(fd: int) -> tuple[object, object | None] | None:
    """A registered socket's own address and its peer's (None: no peer); None if not a socket."""
    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            return None
        # A socket object around the loop's descriptor, to ask for its names;
        # detach() gives the descriptor back without closing it.
        sock = socket.socket(fileno=fd)
    except OSError:
        return None
    try:
        local = _address(sock.getsockname())
        try:
            peer = _address(sock.getpeername())
        except OSError:  # not connected: a listening server, an unconnected datagram socket
            peer = None
        return local, peer
    except OSError:
        return None
    finally:
        sock.detach()


def _address(address: object) -> object:
    # IPv6 addresses come with flow and scope ids, which two ends need not share;
    # an IPv4 client of a dual-stack server is seen there as ::ffff:a.b.c.d.
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        if isinstance(host, str) and host.startswith("::ffff:") and "." in host:
            host = host.removeprefix("::ffff:")
        return (host, port)
    return address


_UNNAMED = ("", b"")  # a Unix socket without a name: a client's end, a socketpair


def _fed_from_outside(sockets: list[tuple[object, object | None]]) -> bool:
    """Whether a connected socket among these (own address, peer's) has a peer elsewhere.

    A peer is here if its address is that of one of these sockets: the two ends
    of a TCP connection name each other. A Unix socket's client end has no
    name, so the server ends of the connections to one address are matched by
    count against the clients here that are connected to it; a socketpair,
    with no name at either end, never matches.
    """
    names = {local for local, _ in sockets}
    server_ends: Counter[object] = Counter()
    clients: Counter[object] = Counter()
    for local, peer in sockets:
        if peer is None:  # a listening server, an unconnected datagram socket
            continue
        if peer in _UNNAMED:
            server_ends[local] += 1
        elif peer in names:
            clients[peer] += 1
        else:
            return True
    return any(count > clients[path] for path, count in server_ends.items())
