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
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

# What the driver is handed: a coroutine to run, and the future for its outcome.
# None: the scope has ended, shut the loop down.
_Step = tuple[Coroutine[Any, Any, Any], "asyncio.Future[Any]"] | None


class LoopRunner:
    """An event loop for one scope, and the driver task that runs its coroutines."""

    def __init__(self, factory: LoopFactory, *, debug: bool) -> None:
        self.loop = factory()
        if debug:  # otherwise the loop's own default (PYTHONASYNCIODEBUG, -X dev)
            self.loop.set_debug(True)
        self._driver: asyncio.Task[None] | None = None
        self._inbox: asyncio.Future[_Step] | None = None
        self._step_outcome: asyncio.Future[Any] | None = None

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` to completion in the driver task; return or raise its outcome."""
        __tracebackhide__ = True
        loop = self.loop
        if self._driver is None or self._driver.done():
            self._inbox = loop.create_future()
            self._driver = loop.create_task(self._drive())
        assert self._inbox is not None
        outcome: asyncio.Future[T] = loop.create_future()
        self._step_outcome = outcome
        self._inbox.set_result((coroutine, outcome))
        return loop.run_until_complete(outcome)

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
        """End the loop's life: cancel what is pending, shut down, close."""
        loop = self.loop
        if loop.is_closed():
            return  # the test closed it: nothing can run in it any more
        try:
            if self._driver is None or self._driver.done():
                loop.run_until_complete(self._shut_down())
            else:
                if self._step_outcome is not None and not self._step_outcome.done():
                    # run() was interrupted (Ctrl-C): stop that step before shutting down.
                    self._driver.cancel()
                assert self._inbox is not None
                self._inbox.set_result(None)
                loop.run_until_complete(self._driver)
        finally:
            loop.close()

    async def _shut_down(self) -> None:
        # asyncio.run()'s steps before it closes its loop, in one pass.
        loop = self.loop
        pending = list(asyncio.all_tasks(loop) - {asyncio.current_task(loop)})
        for task in pending:
            task.cancel()
        results = await asyncio.gather(*pending, return_exceptions=True)
        for task, result in zip(pending, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                loop.call_exception_handler(
                    {
                        "message": "unhandled exception in a task cancelled as its loop closed",
                        "exception": result,
                        "task": task,
                    }
                )
        await loop.shutdown_asyncgens()
        await loop.shutdown_default_executor()


def _uncancel_current_task() -> None:
    task = asyncio.current_task()
    if task is not None and sys.version_info >= (3, 11):
        task.uncancel()
