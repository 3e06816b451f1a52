"""One event loop's whole life, and the driver tasks that run every coroutine in it.

A :class:`LoopRunner` owns one event loop, from its creation by a loop factory to
its close, with the discipline of :func:`asyncio.run` and :class:`asyncio.Runner`:
when the loop's scope ends, the tasks still pending in it are cancelled, async
generators are shut down, then the default executor, and the loop is closed.
Those steps run as one step of their own, in a single run of the loop rather
than asyncio.Runner's three: a function-scoped loop is opened and closed for
every async test, so this is on the per-test path. No event loop policy is
consulted and the runner installs no loop as "the current loop": a loop factory
makes the loop, and asyncio code finds it with ``get_running_loop()`` (the
plugin makes a test's loop current for the test's sync code:
:mod:`pytest_aioloop.current`).

**Steps and drivers.** Every coroutine that the plugin runs in a loop -- an
async fixture's setup, the test, the fixture's teardown -- is a *step*: one
:meth:`LoopRunner.run` call, which hands the coroutine to a :class:`Driver`
and runs the loop until the step's outcome is set. A driver is one task of the
loop that runs the steps handed to it one at a time, in that task and so in its
one context. What belongs to a task (a ``TaskGroup``, ``asyncio.timeout()``)
can therefore be entered in one step and left in a later step of the same
driver: a fixture's setup and teardown. Which driver runs what, and with which
context, is decided by the caller (:mod:`pytest_aioloop.contexts`); without a
driver, every step runs in the loop's own default driver, one task for all
(the design of anyio's pytest plugin).

**A driver cancelled between its steps.** A driver waiting for its next step can
still be cancelled: by a ``TaskGroup`` entered in its last step whose child
crashed, by an ``asyncio.timeout()`` entered there that expired. The code that
holds them is suspended (a fixture at its ``yield``), so the driver hands the
``CancelledError`` to its ``unwind`` callback, in its own task (the fixture
throws it in at its ``yield``, where the ``TaskGroup`` or ``timeout`` turns it
into the real error), and *charges* the error that comes out to the step
running in the loop at the time: that step is cancelled and fails with it.
With no step to charge, the next step of that driver fails with it instead.

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
import contextvars
import sys
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from pytest_aioloop.watchdog import Alarm, Watchdog

if TYPE_CHECKING:  # these import this module
    from pytest_aioloop.leaks import Owner
    from pytest_aioloop.timeouts import Timeout
    from pytest_aioloop.tracker import Tracker

T = TypeVar("T")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

#: What a driver does when it is cancelled between two of its steps: called with
#: the CancelledError and the name of the step running in the loop (None: none),
#: in the driver's task; returns the error to charge that step with.
Unwind = Callable[[asyncio.CancelledError, "str | None"], Awaitable[BaseException]]

#: Real seconds that a cancelled step, or a task cancelled as its loop closes,
#: gets to finish before the loop gives up on it.
GRACE = 2.0


class StepError(RuntimeError):
    """A step that could not run to its end because of what the code under test did.

    The plugin reports these as a misuse, with the message alone (no traceback).
    """


class LoopLost(StepError):
    """The loop cannot run anything any more: a step of it never finished."""


class LoopStopped(StepError):
    """The code under test stopped the loop (``loop.stop()``) while a step was running."""


class TimedOut(StepError):
    """A step ran past its timeout and was cut: its message holds the report.

    Made by :meth:`pytest_aioloop.timeouts.Timeout.error`.
    """


class _Deadline:
    """A step's timeout while it runs: its alarm, and the report once the time ran out."""

    __slots__ = ("alarm", "report")

    def __init__(self) -> None:
        self.alarm: Alarm
        self.report: str | None = None


class _Step:
    """One coroutine handed to a driver, and the future for its outcome."""

    __slots__ = (
        "charge",
        "charged_by",
        "coroutine",
        "driver",
        "finished",
        "last",
        "outcome",
        "what",
    )

    def __init__(
        self,
        coroutine: Coroutine[Any, Any, Any],
        outcome: asyncio.Future[Any],
        what: str,
        driver: Driver,
        last: bool,
    ) -> None:
        self.coroutine = coroutine
        self.outcome = outcome
        self.driver = driver
        #: the driver's task ends after this step.
        self.last = last
        #: the step's coroutine has run to its end (its outcome may wait for a charge).
        self.finished = False
        #: the driver whose cancellation is charged to this step, and the error
        #: (None while that driver is still unwinding).
        self.charged_by: Driver | None = None
        self.charge: BaseException | None = None
        #: names the step in messages ("the test", "fixture 'db'").
        self.what = what


class Driver:
    """One task of a loop, which runs the steps handed to it one at a time, in its context.

    Made by :meth:`LoopRunner.driver`; its task starts with its first step and
    ends after a step run with ``last=True`` (or at :meth:`end`).
    """

    __slots__ = (
        "_context",
        "_ended",
        "_error",
        "_inbox",
        "_runner",
        "_unwind",
        "owner",
        "task",
        "what",
    )

    def __init__(
        self,
        runner: LoopRunner,
        context: contextvars.Context | None,
        what: str,
        unwind: Unwind | None,
        owner: Owner | None = None,
    ) -> None:
        self._runner = runner
        self._context = context
        #: names the driver in messages ("fixture 'db'").
        self.what = what
        #: who owns the tasks its steps create (see pytest_aioloop.leaks); None: nobody.
        self.owner = owner
        self._unwind = unwind
        self.task: asyncio.Task[None] | None = None
        self._inbox: asyncio.Future[_Step | None] | None = None
        self._ended = False
        #: an unwind's error that no running step could be charged with.
        self._error: BaseException | None = None

    @property
    def ended(self) -> bool:
        return self._ended or (self.task is not None and self.task.done())

    def end(self) -> None:
        """No more steps: the task returns the next time the loop runs (or as it closes)."""
        self._ended = True
        if self._inbox is not None and not self._inbox.done():
            self._inbox.set_result(None)

    def _hand(self, step: _Step) -> None:
        if self.task is None:
            loop = self._runner.loop
            # The task's context is fixed here, once: a copy of the one given. Its
            # name shows in asyncio's messages ("Task <Task pending name=...> got
            # Future ... attached to a different loop").
            if self._context is None:
                self.task = loop.create_task(self._drive(step), name=self.what)
            else:
                self.task = self._context.run(loop.create_task, self._drive(step), name=self.what)
            # A loop keeps only weak references to its tasks: a driver waiting
            # between its steps, that nothing else holds (a fixture whose teardown
            # will never come, in an interrupted session), must still be there to
            # unwind when its loop closes, not be garbage-collected as it waits.
            self._runner._live.add(self)
            return
        assert self._inbox is not None
        assert not self._inbox.done(), "a step is pending already"
        self._inbox.set_result(step)

    async def _drive(self, step: _Step | None) -> None:
        __tracebackhide__ = True
        runner = self._runner
        loop = runner.loop
        try:
            while step is not None:
                if not step.last:
                    # The next inbox must exist before run() can return and be called again.
                    self._inbox = loop.create_future()
                outcome = step.outcome
                if outcome.done():  # abandoned before it started (see _abandon)
                    step.coroutine.close()
                elif self._error is not None:
                    step.coroutine.close()
                    error, self._error = self._error, None
                    runner._finished(step, error)
                else:
                    runner._running = step
                    try:
                        result = await step.coroutine
                    except GeneratorExit:
                        raise  # the loop was lost, and its tasks are being discarded
                    # The caller gets every outcome, as asyncio.run() does.
                    except BaseException as error:
                        if isinstance(error, asyncio.CancelledError) or step.charged_by is not None:
                            # The step was cancelled (by a TaskGroup whose child failed, by
                            # _abandon, by a charge): report it, and take the next step as usual.
                            _uncancel_current_task()
                        runner._finished(step, error)
                    else:
                        if step.charged_by is not None:
                            _uncancel_current_task()  # it swallowed the charge's cancellation
                        runner._finished(step, None, result)
                if step.last:
                    # The inbox that handed over this step holds it, and the step its
                    # driver: let go, so that they (and a fixture's async generator)
                    # are freed now, not by a later garbage collection.
                    self._inbox = None
                    return
                step = await self._next()
        finally:
            runner._live.discard(self)

    async def _next(self) -> _Step | None:
        __tracebackhide__ = True
        while True:
            assert self._inbox is not None
            try:
                return await self._inbox
            except asyncio.CancelledError as cancelled:
                if self._unwind is None or self._ended:
                    raise
                if self._inbox.cancelled():  # cancelled through the inbox it waited for
                    self._inbox = self._runner.loop.create_future()
                error = await self._unwound(cancelled)
                if self._runner._closing:
                    raise error from None  # reported by _shut_down, as a task's error

    async def _unwound(self, cancelled: asyncio.CancelledError) -> BaseException:
        """Cancelled between steps: unwind, and charge the error to the running step."""
        __tracebackhide__ = True
        runner = self._runner
        step = runner._running
        if runner._closing or step is None or step.charged_by is not None:
            step = None
        else:
            step.charged_by = self
            assert step.driver.task is not None
            step.driver.task.cancel()  # into the running step's innermost await
        try:
            assert self._unwind is not None
            error = await self._unwind(cancelled, None if step is None else step.what)
        except BaseException as unexpected:  # an unwind must not kill the driver
            error = unexpected
        _clear_cancellation()  # what the unwinding did not uncancel itself
        if step is None:
            self._error = error  # for the next step of this driver
        else:
            runner._charged(step, error)
        return error


class LoopRunner:
    """An event loop for one scope, and the driver tasks that run its coroutines."""

    def __init__(
        self,
        factory: LoopFactory,
        *,
        debug: bool,
        grace: float = GRACE,
        watchdog: Watchdog | None = None,
        name: str = "the loop",
    ) -> None:
        self.loop = factory()
        if debug:  # otherwise the loop's own default (PYTHONASYNCIODEBUG, -X dev)
            self.loop.set_debug(True)
        self.grace = grace
        #: keeps the real-time alarms (timeouts, grace periods); the run's, or our own.
        self.watchdog = watchdog or Watchdog()
        self._own_watchdog = watchdog is None
        #: names the loop in messages and reports ("module loop of test_api.py").
        self.name = name
        #: Why the loop was given up on (see LoopLost); None while it works.
        self.lost: str | None = None
        #: the loop's own driver, for the steps run without one.
        self._driver: Driver | None = None
        #: the step handed over by the run() in progress, if any.
        self._step: _Step | None = None
        #: the step whose coroutine is running now, if any.
        self._running: _Step | None = None
        #: the future whose completion stops the loop (see _wait).
        self._awaited: asyncio.Future[Any] | None = None
        #: set by close(): cancelled drivers unwind, but charge no step.
        self._closing = False
        #: tasks that ignored their cancellation at shutdown: discarded at close.
        self._stuck: set[asyncio.Task[Any]] = set()
        #: who owns which task of the loop (pytest_aioloop.tracker); None: not tracked.
        self.tracker: Tracker | None = None
        #: the drivers whose tasks have started and not ended (see Driver._hand).
        self._live: set[Driver] = set()

    def driver(
        self,
        context: contextvars.Context | None = None,
        *,
        what: str = "a driver",
        unwind: Unwind | None = None,
        owner: Owner | None = None,
    ) -> Driver:
        """A new driver for this loop; its task starts with a copy of ``context``.

        Without ``context``, the task copies the context of the code that hands it
        its first step. ``what`` names the driver and its task. ``unwind`` is what
        the driver does when it is cancelled between its steps (see the module's
        docstring); without one, such a cancellation ends it. ``owner`` owns the
        tasks that its steps create (see :mod:`pytest_aioloop.leaks`).
        """
        return Driver(self, context, what, unwind, owner)

    def owner(self) -> Owner | None:
        """The owner of the step running now (its driver's), or None."""
        step = self._running or self._step
        return None if step is None else step.driver.owner

    def run(
        self,
        coroutine: Coroutine[Any, Any, T],
        what: str = "the test",
        timeout: Timeout | None = None,
        *,
        driver: Driver | None = None,
        last: bool = False,
    ) -> T:
        """Run ``coroutine`` to completion as one step of a driver; return or raise its outcome.

        ``what`` names the step in messages ("the test", "fixture 'db'"). With a
        ``timeout``, the step is cut when it runs out, and its error is raised.
        The step runs in ``driver`` (by default the loop's own driver, for every
        step run without one); ``last=True`` ends the driver after this step.
        """
        __tracebackhide__ = True
        global _stepping
        loop = self.loop
        if _stepping is not None:
            coroutine.close()
            refuse_while_stepping(what)
        if self.lost is not None:
            coroutine.close()  # it will never run: no "never awaited" warning
            raise LoopLost(
                f"its event loop was given up on, so nothing more runs in it: {self.lost}"
            )
        if loop.is_closed():
            coroutine.close()
            raise LoopLost("its event loop was closed before it could run")
        if driver is None:
            driver = self._driver
            if driver is None or driver.ended:
                driver = self._driver = Driver(self, None, "the loop's driver", None)
        elif driver.ended:
            coroutine.close()
            raise StepError(f"{what} cannot run: the task of {driver.what} has ended")
        outcome: asyncio.Future[T] = loop.create_future()
        step = self._step = _stepping = _Step(coroutine, outcome, what, driver, last)
        driver._hand(step)
        try:
            if timeout is None or timeout.suspended():
                self._wait(outcome, what)
            else:
                self._wait_timed(outcome, what, timeout)
        finally:
            self._step = _stepping = None
        return outcome.result()

    def _finished(self, step: _Step, error: BaseException | None, result: Any = None) -> None:
        """The step's coroutine has ended: set its outcome, unless a charge is pending."""
        if self._running is step:
            self._running = None
        step.finished = True
        outcome = step.outcome
        if outcome.done():
            return
        if step.charged_by is not None:
            if step.charge is not None:
                outcome.set_exception(step.charge)
            # else: the charging driver sets the outcome when it has unwound
        elif error is not None:
            outcome.set_exception(error)
        else:
            outcome.set_result(result)

    def _charged(self, step: _Step, error: BaseException) -> None:
        step.charge = error
        if step.finished and not step.outcome.done():
            step.outcome.set_exception(error)

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
            step = self._step
            task = None if step is None else step.driver.task
            deadline.report = timeout.snapshot(self.loop, task, what)
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
            step = self._step
            if step is not None and step.outcome is future:
                if self._running is step:
                    assert step.driver.task is not None
                    step.driver.task.cancel()  # into the step's innermost await
                elif not step.finished:
                    future.cancel()  # not started yet: the driver drops it
                charger = step.charged_by
                if charger is not None and step.charge is None and charger.task is not None:
                    charger.task.cancel()  # still unwinding: cut that short too
            else:
                future.cancel()
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
        self._closing = True
        try:
            if self.lost is None and not _nothing_to_shut_down(loop):
                self.run(self._shut_down(), "the loop's shutdown", last=True)
        finally:
            # Only now that the loop no longer runs: a discarded task must not be
            # woken up again.
            _discard(asyncio.all_tasks(loop) if self.lost is not None else self._stuck)
            loop.close()
            if self._own_watchdog:
                self.watchdog.close()
            if self.tracker is not None:
                self.tracker.closed()
            # The runner and its driver refer to each other: let go, so that the
            # closed loop is freed now, not by a later garbage collection.
            self._driver = None
            self._live.clear()  # the drivers of a lost loop, discarded above

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
        # A loop whose shutdown fails (a loop factory's own loop class) is still
        # closed: a warning says what was not cleaned up, the run carries on.
        for step in (loop.shutdown_asyncgens, loop.shutdown_default_executor):
            try:
                await step()
            except Exception as error:
                warnings.warn(
                    RuntimeWarning(
                        f"the {self.name}: loop.{step.__name__}() failed as the loop closed, so "
                        "what it was to clean up may be left behind: "
                        f"{type(error).__name__}: {error}"
                    ),
                    stacklevel=1,
                )


def _nothing_to_shut_down(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether closing ``loop`` needs no shutdown step: there is nothing for one to do.

    Nothing pending (no task, no callback, no timer), no async generator to
    finalize, no default executor to wait for: the common case of a
    function-scoped loop, opened and closed for each test, which then costs one
    run of the loop instead of two. asyncio's loops have no public way to tell
    the last three, so their own attributes are read (the same in every
    BaseEventLoop from Python 3.4 to 3.14); a loop without them (uvloop's), or
    whose class has shutdown steps of its own, always gets the shutdown step.
    """
    cls = type(loop)
    if (
        cls.shutdown_asyncgens is not _BASE_SHUTDOWN_ASYNCGENS
        or cls.shutdown_default_executor is not _BASE_SHUTDOWN_EXECUTOR
    ):
        return False
    ready = getattr(loop, "_ready", None)
    scheduled = getattr(loop, "_scheduled", None)
    asyncgens = getattr(loop, "_asyncgens", None)
    if ready is None or scheduled is None or asyncgens is None:
        return False
    if ready or scheduled or asyncgens or getattr(loop, "_default_executor", True) is not None:
        return False
    return not asyncio.all_tasks(loop)


#: The step that some runner of this process is running now, if any: steps never
#: nest (a loop cannot run inside a running loop), so a second one is refused.
_stepping: _Step | None = None


def refuse_while_stepping(what: str) -> None:
    """Raise :class:`StepError` if a step runs now: ``what`` cannot run inside it.

    Sync code inside a running step that asks for another (an async fixture, by
    ``request.getfixturevalue()``) would need its loop to run while it runs
    already, or while another loop runs.
    """
    __tracebackhide__ = True
    if _stepping is not None:
        raise StepError(
            f"{what} cannot be set up while {_stepping.what} runs in an event loop: "
            "request.getfixturevalue() of an async fixture is not possible in async "
            "code; ask for it as an argument instead."
        )


def is_driver(task: asyncio.Task[Any]) -> bool:
    """Whether ``task`` is a driver's (the plugin's own task, not one the code under test made).

    A fixture's driver waits between its setup and its teardown: what looks for
    tasks left behind by a step must not count it. Told by the task's coroutine,
    so that drivers need no bookkeeping.
    """
    return getattr(task.get_coro(), "cr_code", None) is _DRIVE_CODE


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


def _clear_cancellation() -> None:
    """Withdraw every cancellation request of the current task (Python 3.11+ counts them)."""
    task = asyncio.current_task()
    if task is not None and sys.version_info >= (3, 11):
        while task.uncancel():
            pass


_DRIVE_CODE = Driver._drive.__code__
_BASE_SHUTDOWN_ASYNCGENS = asyncio.BaseEventLoop.shutdown_asyncgens
_BASE_SHUTDOWN_EXECUTOR = asyncio.BaseEventLoop.shutdown_default_executor
