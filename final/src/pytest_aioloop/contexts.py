"""Which task, and which context, each coroutine runs in: each test's context is its own.

Tasks and context variables pull two ways. What belongs to a task (a
``TaskGroup``, an ``asyncio.timeout()``) must be entered and left in one task,
so a fixture that holds one across its ``yield`` needs its setup and its
teardown to run in one task. But a task's context is fixed when the task is
created, and everything that runs in the task shares it: a test run in a task
that outlives it (one task per loop, as in anyio's plugin) leaves what it set
to the next test of that loop, and so does a function fixture.

So each *life* gets a task of its own, made from the sync context as it is
when that life begins:

* an async generator fixture: one task (a :class:`~pytest_aioloop.runner.Driver`
  with two steps) from its setup to its teardown;
* a test, an async fixture without teardown, each Hypothesis example: one task
  for that one step, dropped after it.

The **sync context** -- the one that pytest's own code runs in, and with it every
sync fixture and sync test -- is where the layers meet. What a sync fixture sets
is there already; what an async fixture's setup changed is copied there as the
setup ends (:func:`publish`) and reset right after its teardown, in the reverse
order of setup (pytest's finalizers run last-in, first-out). Every new task
starts from a copy of it, so a test sees every fixture set up before it, of any
scope, sync or async, and nothing of a test that has ended or of a fixture
that has been torn down::

    sync context: session fixtures' values, then the module's, then the test's
    |                        (each async fixture's published at its setup,
    |                         reset after its teardown)
    +-- task of fixture db:  a copy at db's setup   ... db's teardown
    +-- task of test_one:    a copy at its start    (dropped after it)
    +-- task of test_two:    a copy at its start    (dropped after it)

A fixture's teardown sees what its own setup set (its task's context), not
what the test set. The price of a test's context of its own is one task per
test, about what handing the test to a long-lived task cost before: one pass
of the loop either way (``final/benchmarks/overhead.py --micro`` times a step
both ways; its whole runs include 2000 tests in module loops).

**A fixture's task cancelled while the test runs.** A ``TaskGroup`` held across
``yield`` whose child crashes, or an ``asyncio.timeout()`` held there that
expires, cancels the fixture's task while it waits for its teardown. That
task throws the ``CancelledError`` into the fixture at its ``yield``
(:func:`_unwind`), where the ``TaskGroup`` or the timeout turns it into the
real error, exactly as if the test had run inside the fixture's ``async
with``; the runner then cancels the step running at the time (normally the
test) and fails it with that error, which names the fixture. The fixture's
code after the ``yield`` has run by then, and its teardown later does nothing.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING, Any

from pytest_aioloop.runner import Driver, LoopRunner, StepError

if TYPE_CHECKING:
    from pytest_aioloop.leaks import Owner


def step_task(runner: LoopRunner, what: str, owner: Owner | None = None) -> Driver:
    """A task for one step (a test, a fixture without teardown), from the sync context now.

    Run the step with ``last=True``. The driver's task is created at that
    step, as a copy of the caller's context: the sync context at that moment.
    ``what`` names the task (a test's node id, "fixture 'db'"); ``owner`` owns
    the tasks it creates (see :mod:`pytest_aioloop.leaks`).
    """
    return runner.driver(what=what, owner=owner)


def fixture_task(
    runner: LoopRunner,
    generator: AsyncGenerator[Any, None],
    name: str,
    owner: Owner | None = None,
) -> Driver:
    """The task of an async generator fixture: its setup, then (``last=True``) its teardown."""

    async def unwind(cancelled: asyncio.CancelledError, running: str | None) -> BaseException:
        __tracebackhide__ = True
        return await _unwind(generator, name, cancelled, running)

    return runner.driver(what=f"fixture {name!r}", unwind=unwind, owner=owner)


def publish(context: contextvars.Context) -> Callable[[], None] | None:
    """Copy into the caller's (sync) context what differs in ``context``, a fixture's own.

    Returns what undoes it (to run right after the fixture's teardown), or None
    when the fixture changed nothing: the common case, which then costs no
    finalizer.
    """
    changed: list[tuple[contextvars.ContextVar[Any], contextvars.Token[Any]]] = []
    for var, value in context.items():
        if var.get(_MISSING) is not value:
            changed.append((var, var.set(value)))
    if not changed:
        return None

    def reset() -> None:
        while changed:
            var, token = changed.pop()
            var.reset(token)

    return reset


_MISSING = object()


async def _unwind(
    generator: AsyncGenerator[Any, None],
    name: str,
    cancelled: asyncio.CancelledError,
    running: str | None,
) -> BaseException:
    """Throw the fixture task's cancellation in at its ``yield``; the error it turns into."""
    __tracebackhide__ = True  # the plugin's frame: left out of a timeout's report
    what = f"fixture {name!r}"
    during = f" while {running} ran" if running else ""
    try:
        await generator.athrow(cancelled)
    except StopAsyncIteration:
        return StepError(
            f"the task of {what} was cancelled{during} (by a TaskGroup or a timeout it holds "
            "across its yield), so that was cancelled too; the fixture ended without an error."
        )
    except asyncio.CancelledError:
        return StepError(
            f"the task of {what} was cancelled{during}, so that was cancelled too; nothing in "
            "the fixture turned the cancellation into an error: something cancelled its task "
            "from outside."
        )
    except BaseException as error:  # whatever it is, it fails the running step
        if error.__context__ is cancelled:
            # The CancelledError thrown in here is the plugin's doing, not a cause
            # worth a traceback of its own.
            error.__cause__ = None
            error.__suppress_context__ = True
        if isinstance(error, (TimeoutError, asyncio.TimeoutError)) and not error.args:
            error.args = (f"{what}: the timeout it holds across its yield expired{during}",)
        else:
            _add_note(
                error,
                f"raised in {what}, whose task was cancelled{during} "
                "(by a TaskGroup or a timeout it holds across its yield)",
            )
        return error
    await generator.aclose()
    return StepError(f"async fixture {name!r} yielded more than once: yield only once.")


def _add_note(error: BaseException, note: str) -> None:
    if sys.version_info >= (3, 11):
        error.add_note(note)
    else:  # what add_note() does; pytest shows __notes__ on 3.10 too
        notes = getattr(error, "__notes__", None)
        if not isinstance(notes, list):
            notes = []
            error.__notes__ = notes  # type: ignore[attr-defined]  # typeshed: 3.11+ only
        notes.append(note)
