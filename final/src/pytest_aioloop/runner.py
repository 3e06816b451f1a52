"""One event loop's whole life, and the one task that runs every coroutine in it.

A :class:`LoopRunner` owns one event loop, from its creation by a loop factory to
its close, with the discipline of :class:`asyncio.Runner` (the runner itself on
Python 3.11 and later, the same steps written out on 3.10): when the loop's
scope ends, the tasks still pending in it are cancelled, async generators are
shut down, then the default executor, and the loop is closed. No event loop
policy is consulted and no loop is installed as "the current loop": a loop
factory makes the loop, and asyncio code finds it with ``get_running_loop()``.

Every coroutine that the plugin runs in one loop -- an async fixture's setup,
the test, the fixture's teardown -- runs inside **one long-lived task** of that
loop, the *driver*, fed one coroutine at a time: :meth:`LoopRunner.run` hands a
coroutine to the driver and runs the loop until the driver has finished it.
This is the design of anyio's pytest plugin, and what it buys:

* context variables that a fixture sets are seen by the test and by the
  fixture's teardown, because they all run in the driver's context;
* what belongs to a task (a ``TaskGroup``, ``asyncio.timeout()``) can be
  entered in a fixture's setup and left in its teardown.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

# What the driver is handed: a coroutine to run, and the future for its outcome.
_Step = tuple[Coroutine[Any, Any, Any], "asyncio.Future[Any]"]


if sys.version_info >= (3, 11):
    from asyncio import Runner
else:  # pragma: no cover - exercised on Python 3.10 only

    class Runner:
        """The part of Python 3.11's :class:`asyncio.Runner` that this plugin uses."""

        def __init__(self, *, debug: bool | None, loop_factory: LoopFactory) -> None:
            self._loop = loop_factory()
            if debug is not None:
                self._loop.set_debug(debug)

        def get_loop(self) -> asyncio.AbstractEventLoop:
            return self._loop

        def close(self) -> None:
            loop = self._loop
            try:
                _cancel_all_tasks(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()

    def _cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
        # The same steps as asyncio.run() takes on Python 3.10 before closing its loop.
        to_cancel = asyncio.all_tasks(loop)
        for task in to_cancel:
            task.cancel()
        if not to_cancel:
            return
        loop.run_until_complete(asyncio.gather(*to_cancel, return_exceptions=True))
        for task in to_cancel:
            if not task.cancelled() and task.exception() is not None:
                loop.call_exception_handler(
                    {
                        "message": "unhandled exception during event loop shutdown",
                        "exception": task.exception(),
                        "task": task,
                    }
                )


class LoopRunner:
    """An event loop for one scope, and the driver task that runs its coroutines."""

    def __init__(self, factory: LoopFactory, *, debug: bool) -> None:
        # debug=None leaves the loop's own default (PYTHONASYNCIODEBUG, -X dev).
        self._runner = Runner(debug=True if debug else None, loop_factory=factory)
        self.loop = self._runner.get_loop()
        self._driver: asyncio.Task[None] | None = None
        self._inbox: asyncio.Future[_Step] | None = None

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` to completion in the driver task; return or raise its outcome."""
        __tracebackhide__ = True
        loop = self.loop
        if self._driver is None or self._driver.done():
            self._inbox = loop.create_future()
            self._driver = loop.create_task(self._drive())
        assert self._inbox is not None
        outcome: asyncio.Future[T] = loop.create_future()
        self._inbox.set_result((coroutine, outcome))
        return loop.run_until_complete(outcome)

    async def _drive(self) -> None:
        __tracebackhide__ = True
        loop = self.loop
        while True:
            assert self._inbox is not None
            coroutine, outcome = await self._inbox
            # The next inbox must exist before run() can return and be called again.
            self._inbox = loop.create_future()
            try:
                result = await coroutine
            except BaseException as error:  # the caller gets every outcome, as asyncio.run() does
                if isinstance(error, asyncio.CancelledError):
                    # The step was cancelled (say, by a TaskGroup whose child failed):
                    # report it, and let the driver take the next step as usual.
                    _uncancel_current_task()
                outcome.set_exception(error)
            else:
                outcome.set_result(result)

    def close(self) -> None:
        """End the loop's life: cancel what is pending, shut down, close (idempotent)."""
        if self.loop.is_closed():
            return  # the test closed it: nothing can run in it any more
        self._runner.close()


def _uncancel_current_task() -> None:
    task = asyncio.current_task()
    if task is not None and sys.version_info >= (3, 11):
        task.uncancel()
