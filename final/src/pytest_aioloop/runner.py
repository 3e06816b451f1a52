"""One event loop's whole life, and the one task that runs every coroutine in it.

A :class:`LoopRunner` owns one event loop, from its creation by a loop factory to
its close, with the discipline of :func:`asyncio.run` and :class:`asyncio.Runner`:
when the loop's scope ends, the tasks still pending in it are cancelled, async
generators are shut down, then the default executor, and the loop is closed.
The driver task (below) does those steps as its last one, in a single run of
the loop rather than asyncio.Runner's three: a function-scoped loop is opened
and closed for every async test, so this is on the per-test path. No event
loop policy is consulted and no loop is installed as "the current loop": a
loop factory makes the loop, and asyncio code finds it with
``get_running_loop()``.

Every coroutine that the plugin runs in one loop -- an async fixture's setup,
the test, the fixture's teardown -- runs inside **one long-lived task** of that
loop, the *driver*, fed one coroutine at a time: :meth:`LoopRunner.run` hands a
coroutine to the driver and runs the loop until the driver has finished it.
This is the design of anyio's pytest plugin, and what it buys:

* context variables that a fixture sets are seen by the test and by the
  fixture's teardown, because they all run in the driver's context;
* what belongs to a task (a ``TaskGroup``, ``asyncio.timeout()``) can be
  entered in a fixture's setup and left in its teardown.

**No step is waited on that can no longer finish.** ``run()`` runs the loop
until the step's outcome is set, whatever that outcome is (``run_until_complete``
would not stop for a step that raised ``KeyboardInterrupt`` or ``SystemExit``:
asyncio expects those to have left ``run_forever()`` already). When the wait is
cut off from outside -- a signal handler raising in the loop's ``select()``
(Ctrl-C, pytest-timeout's signal method), a ``BaseException`` out of another
task, or ``loop.stop()`` called by the code under test -- the step is cancelled
in its loop and given a short grace period (:data:`GRACE`, real seconds) to
finish, then the exception goes on to pytest. A step that still has not
finished (it swallows ``CancelledError``) *loses* the loop: nothing more runs in
it, every later ``run()`` raises :class:`LoopLost` with the reason, and
``close()`` discards its tasks without running them. The same bound holds when
the loop closes: a task that ignores its cancellation is reported and
discarded, never waited on forever.

**A step can have a timeout** (``run(coroutine, what, timeout)``; the policy, the
report and the error come from :mod:`pytest_aioloop.timeouts`): at the
deadline, in real time, an alarm of the run's
:class:`~pytest_aioloop.watchdog.Watchdog` captures in the loop where every
task waits and stops the loop; the step is then cut exactly as an interrupted
one is (cancelled, the grace period, ``lost`` if it never finishes), and
``run()`` raises the timeout's error. The grace period is measured with the
same watchdog, in real time, so that a loop whose clock is virtual or stopped
cannot stretch or skip it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from pytest_aioloop.watchdog import Alarm, Watchdog

if TYPE_CHECKING:  # timeouts imports this module (its error is a StepError)
    from pytest_aioloop.timeouts import Timeout

T = TypeVar("T")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

#: Real seconds that a cancelled step, or a task cancelled as its loop closes,
#: gets to finish before the loop gives up on it.
GRACE = 2.0

# What the driver is handed: a coroutine to run, and the future for its outcome.
# None: the scope has ended, shut the loop down.
_Step = tuple[Coroutine[Any, Any, Any], "asyncio.Future[Any]"] | None


class StepError(RuntimeError):
    """A step that could not run to its end because of what the code under test did.

    The plugin reports these as a misuse, with the message alone (no traceback).
    """


class LoopLost(StepError):
    """The loop cannot run anything any more: a step of it never finished."""


class LoopStopped(StepError):
    """The code under test stopped the loop (``loop.stop()``) while a step was running."""


class _Deadline:
    """A step's timeout while it runs: its alarm, and the report once the time ran out."""

    __slots__ = ("alarm", "report")

    def __init__(self) -> None:
        self.alarm: Alarm
        self.report: str | None = None


class LoopRunner:
    """An event loop for one scope, and the driver task that runs its coroutines."""

    def __init__(
        self,
        factory: LoopFactory,
        *,
        debug: bool,
        grace: float = GRACE,
        watchdog: Watchdog | None = None,
    ) -> None:
        self.loop = factory()
        if debug:  # otherwise the loop's own default (PYTHONASYNCIODEBUG, -X dev)
            self.loop.set_debug(True)
        self.grace = grace
        #: keeps the real-time alarms (timeouts, grace periods); the run's, or our own.
        self.watchdog = watchdog or Watchdog()
        self._own_watchdog = watchdog is None
        #: Why the loop was given up on (see LoopLost); None while it works.
        self.lost: str | None = None
        self._driver: asyncio.Task[None] | None = None
        self._inbox: asyncio.Future[_Step] | None = None
        #: the outcome of the step the driver is running now, if any.
        self._running: asyncio.Future[Any] | None = None
        #: the future whose completion stops the loop (see _wait).
        self._awaited: asyncio.Future[Any] | None = None
        #: tasks that ignored their cancellation at shutdown: discarded at close.
        self._stuck: set[asyncio.Task[Any]] = set()

    def run(
        self,
        coroutine: Coroutine[Any, Any, T],
        what: str = "the test",
        timeout: Timeout | None = None,
    ) -> T:
        """Run ``coroutine`` to completion in the driver task; return or raise its outcome.

        ``what`` names the step in messages ("the test", "fixture 'db'"). With a
        ``timeout``, the step is cut when it runs out, and its error is raised.
        """
        __tracebackhide__ = True
        loop = self.loop
        if self.lost is not None:
            coroutine.close()  # it will never run: no "never awaited" warning
            raise LoopLost(
                f"its event loop was given up on, so nothing more runs in it: {self.lost}"
            )
        if loop.is_closed():
            coroutine.close()
            raise LoopLost("its event loop was closed before it could run")
        if self._driver is None or self._driver.done():
            self._inbox = loop.create_future()
            self._driver = loop.create_task(self._drive())
        assert self._inbox is not None
        outcome: asyncio.Future[T] = loop.create_future()
        self._inbox.set_result((coroutine, outcome))
        if timeout is None or timeout.suspended():
            self._wait(outcome, what)
        else:
            self._wait_timed(outcome, what, timeout)
        return outcome.result()

    async def _drive(self) -> None:
        __tracebackhide__ = True
        loop = self.loop
        while True:
            assert self._inbox is not None
            step = await self._inbox
            if step is None:
                return await self._shut_down()
            coroutine, outcome = step
            # The next inbox must exist before run() can return and be called again.
            self._inbox = loop.create_future()
            if outcome.done():  # abandoned before it started (see _abandon)
                coroutine.close()
                continue
            self._running = outcome
            try:
                result = await coroutine
            except GeneratorExit:
                raise  # the loop was lost, and its tasks are being discarded
            except BaseException as error:  # the caller gets every outcome, as asyncio.run() does
                if isinstance(error, asyncio.CancelledError):
                    # The step was cancelled (say, by a TaskGroup whose child failed,
                    # or by _abandon): report it, and take the next step as usual.
                    _uncancel_current_task()
                if not outcome.done():
                    outcome.set_exception(error)
            else:
                if not outcome.done():
                    outcome.set_result(result)
            finally:
                self._running = None

    def _wait(
        self, future: asyncio.Future[Any], what: str, deadline: _Deadline | None = None
    ) -> None:
        """Run the loop until ``future`` is done, and never longer than it can take.

        ``run_until_complete()`` would keep the loop running after a step that
        raised KeyboardInterrupt or SystemExit; here any outcome stops it. With
        a ``deadline``, its alarm is off once the loop stops, and a loop that
        its alarm stopped is left for the caller to cut.
        """
        __tracebackhide__ = True
        self._awaited = future
        future.add_done_callback(self._stop_when_done)
        try:
            self.loop.run_forever()
        except BaseException:
            # Cut off from outside the step (a signal handler's exception, a
            # BaseException out of another task): stop the step, then let go.
            if deadline is not None:
                deadline.alarm.disarm()  # the grace period is not the step's time
            self._abandon(future, what)
            raise
        finally:
            self._awaited = None
            future.remove_done_callback(self._stop_when_done)
        if deadline is not None:
            deadline.alarm.disarm()
            if deadline.report is not None and not future.done():
                return
        if not future.done():
            self._abandon(future, what)
            raise LoopStopped(
                f"the event loop was stopped (loop.stop() was called) before {what} finished, "
                "so its remaining work was cancelled; code under test must not stop the "
                "loop it runs in."
            )

    def _wait_timed(self, outcome: asyncio.Future[Any], what: str, timeout: Timeout) -> None:
        """``_wait()``, with the step cut when its ``timeout`` runs out."""
        __tracebackhide__ = True
        deadline = _Deadline()

        def time_out() -> None:
            # In the loop, at the deadline, while every task is still where it
            # waits: the report first, then the loop stops and _wait() returns.
            if outcome.done() or timeout.suspended():
                return
            deadline.report = timeout.snapshot(self.loop, self._driver, what)
            self.loop.stop()

        deadline.alarm = self.watchdog.arm(timeout.seconds, self.loop, time_out)
        self._wait(outcome, what, deadline)
        if deadline.report is None or outcome.done():
            return  # in time (or done in the very iteration the time ran out)
        # Cut as an interrupted step is: cancelled in its loop, given the grace period.
        self._abandon(outcome, f"{what} timed out after {timeout.seconds:g} s and")
        ended = None
        if outcome.done() and not outcome.cancelled():
            ended = outcome.exception()
        raise timeout.error(
            what,
            deadline.report,
            late=deadline.alarm.late,
            abandoned_after=None if outcome.done() else self.grace,
            ended=ended,
        )

    def _stop_when_done(self, future: asyncio.Future[Any]) -> None:
        # A done-callback runs in a later iteration: by then run_forever() may be
        # waiting for another future, which this one must not cut short.
        if future is self._awaited:
            self.loop.stop()

    def _abandon(self, future: asyncio.Future[Any], what: str) -> None:
        """Cancel the step ``future`` waits for, and give it GRACE seconds to finish."""
        if not future.done():
            if future is self._running or future is self._driver:
                assert self._driver is not None
                self._driver.cancel()  # into the step's innermost await
            else:
                future.cancel()  # not started yet: the driver drops it
            loop = self.loop
            self._awaited = future
            future.add_done_callback(self._stop_when_done)
            # Real time, whatever the loop's clock says (see the watchdog module).
            give_up = self.watchdog.arm(self.grace, loop, loop.stop)
            try:
                loop.run_forever()
            except BaseException:
                self.lost = f"{what} was interrupted again while it was being cancelled"
                raise
            finally:
                give_up.disarm()
                self._awaited = None
                future.remove_done_callback(self._stop_when_done)
        if not future.done():
            self.lost = (
                f"{what} did not finish within {self.grace:g} s of being cancelled "
                "(does it catch CancelledError and carry on?)"
            )
        elif not future.cancelled():
            future.exception()  # retrieved: no "exception was never retrieved" later

    def close(self) -> None:
        """End the loop's life: cancel what is pending, shut down, close."""
        loop = self.loop
        if loop.is_closed():
            return  # closed already (by the code under test, or a second close)
        try:
            if self.lost is None:
                if self._driver is None or self._driver.done():
                    self._driver = loop.create_task(self._shut_down())
                else:
                    assert self._inbox is not None
                    self._inbox.set_result(None)
                self._wait(self._driver, "the loop's shutdown")
                self._driver.result()
        finally:
            # Only now that the loop no longer runs: a discarded task must not be
            # woken up again.
            _discard(asyncio.all_tasks(loop) if self.lost is not None else self._stuck)
            loop.close()
            if self._own_watchdog:
                self.watchdog.close()

    async def _shut_down(self) -> None:
        # asyncio.run()'s steps before it closes its loop, in one pass, except that
        # a task that ignores its cancellation is not waited on for ever.
        loop = self.loop
        pending = asyncio.all_tasks(loop) - {asyncio.current_task(loop)}
        for task in pending:
            task.cancel()
        if pending:
            done, stuck = await asyncio.wait(pending, timeout=self.grace)
            for task in done:
                if task.cancelled():
                    continue
                error = task.exception()
                if error is not None:
                    loop.call_exception_handler(
                        {
                            "message": "unhandled exception in a task cancelled as its loop closed",
                            "exception": error,
                            "task": task,
                        }
                    )
            if stuck:
                loop.call_exception_handler(
                    {
                        "message": f"{len(stuck)} task(s) did not finish within {self.grace:g} s "
                        "of being cancelled as their loop closed (do they catch CancelledError "
                        "and carry on?); they were discarded",
                        "task": next(iter(stuck)),
                    }
                )
                self._stuck = stuck
        await loop.shutdown_asyncgens()
        await loop.shutdown_default_executor()


def _discard(tasks: set[asyncio.Task[Any]]) -> None:
    """Close the coroutines of tasks that will never run again, quietly."""
    for task in tasks:
        if task.done():
            continue
        # asyncio's own flag (run_until_complete sets it too): no "Task was
        # destroyed but it is pending!" when the task is garbage-collected.
        task._log_destroy_pending = False  # type: ignore[attr-defined]
        # "coroutine ignored GeneratorExit": reported already, as stuck or lost.
        with contextlib.suppress(RuntimeError):
            task.get_coro().close()


def _uncancel_current_task() -> None:
    task = asyncio.current_task()
    if task is not None and sys.version_info >= (3, 11):
        task.uncancel()
