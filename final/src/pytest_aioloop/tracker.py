"""The bookkeeping of leaks: which test or fixture owns each task of a loop.

The other half of :mod:`pytest_aioloop.leaks` (which says what the user asked
for and reports what is found): this module runs inside the loops, so it is
imported with them, when a run's first loop opens, and a run without async
tests never loads it.

**Owners.** Every step that the plugin runs in a loop belongs to a driver
(:mod:`pytest_aioloop.runner`); a driver made for a test or an async fixture
carries an :class:`~pytest_aioloop.leaks.Owner` (``runner.driver(owner=...)``).
A task is owned by the owner of the step running when it was created, and a
task created by a task inherits its owner, whichever step runs at the time: a
fixture's server task, and every connection task it starts while later tests
run, stay the fixture's. The plugin's own driver tasks are never owned
(:func:`~pytest_aioloop.runner.is_driver`).

**The tracker** (:class:`Tracker`, one per loop, attached to its
:class:`~pytest_aioloop.runner.LoopRunner` when the loop opens). It *wraps* the
loop's task factory and exception handler, whichever they are when the loop
opens (a loop factory may set ``asyncio.eager_task_factory``, or a handler of
its own): every task is still made by the factory that was there, every error
still reaches the handler that was there. A factory or handler set later by
the code under test replaces the wrapper; it is wrapped again at the end of the
next owner, so a loop shared by tests stays tracked. The wrapper notes each new
task's owner (a dict and a list append; the owner of an eagerly started task is
known before it runs its first step). When an owner ends (:meth:`Tracker.end`:
a test's call, a fixture's teardown), its findings are:

* its *leaks*: the tasks it owns that are still pending (a task already asked
  to stop, ``task.cancel()`` without an ``await``, is not one on Python 3.11+).
  They are left alone, and cancelled as the loop closes, as before;
* the tasks it owns that raised an exception that nobody retrieved: the
  tracker keeps a reference to each owned task until its owner ends, so such
  a task is still there to look at, and no garbage collection is needed (the
  exception is then marked retrieved: asyncio logs it no more, later);
* every error that reached the loop's exception handler while one of its
  steps ran (a callback's, a protocol's) or that names one of its tasks.

What happens after an owner ended (its leaked task raises during a later test,
or as the loop closes) is charged to it still, as a *late* finding, handed to
the :class:`~pytest_aioloop.leaks.Reporter` (``late``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_aioloop.leaks import PRUNE_AT, Owner
from pytest_aioloop.runner import LoopRunner, is_driver

_UNSET: Any = object()

#: Late findings go here: (owner, finding).
LateSink = Callable[[Owner, str], None]


class Tracker:
    """The ownership of one loop's tasks: the loop's task factory and exception handler, wrapped.

    Attached to its runner (``runner.tracker``); the runner calls :meth:`closed`
    once the loop is closed.
    """

    def __init__(self, runner: LoopRunner, late: LateSink, root: Path | None = None) -> None:
        self._runner = runner
        self._loop = runner.loop
        self._late = late
        self._root = root
        self._owner_of: dict[asyncio.Task[Any], Owner] = {}
        #: the coroutines' names of owned tasks that an eager task factory ran to
        #: their end as they were created (see _driver).
        self._ran_at_once: dict[asyncio.Task[Any], str] = {}
        #: the owner of the task whose creation is running (an eager task's first step).
        self._creating: Owner | None = _UNSET
        self._factory: Any = None
        self._handler: Any = None
        # Bound once: a bound method is a new object at each access, and the
        # wrappers are told from what replaced them by identity.
        self._wrapped_factory: Any = self._create
        self._wrapped_handler: Any = self._handle
        self._wrap()
        runner.tracker = self

    def _wrap(self) -> None:
        loop = self._loop
        factory = loop.get_task_factory()
        if factory is not self._wrapped_factory:
            self._factory = factory
            loop.set_task_factory(self._wrapped_factory)
        handler = loop.get_exception_handler()
        if handler is not self._wrapped_handler:
            self._handler = handler
            loop.set_exception_handler(self._wrapped_handler)

    # -- bookkeeping: in the loop -------------------------------------------------

    def _create(self, loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        owner = self._creating
        if owner is _UNSET:
            parent = asyncio.current_task(loop)
            if parent is None or is_driver(parent):
                owner = self._runner.owner()
            else:
                owner = self._owner_of.get(parent)
        factory = self._factory
        if factory is None:
            task = asyncio.Task(coro, loop=loop, **kwargs)
        else:
            saved, self._creating = self._creating, owner
            try:
                task = factory(loop, coro, **kwargs)
            finally:
                self._creating = saved
        # (An owner that has ended still owns what its leaked tasks create: their
        # errors are its late findings.)
        if owner is not None and not _driver(task):
            if task.done():  # an eager task that ran to its end as it was created
                self._ran_at_once[task] = _coroutine_name(coro)
            self._owner_of[task] = owner
            tasks = owner.tasks
            tasks.append(task)
            if len(tasks) >= owner.prune_at:
                self._prune(owner)
        return task

    def _prune(self, owner: Owner) -> None:
        kept = []
        for task in owner.tasks:
            if task.done() and not _unretrieved(task):
                del self._owner_of[task]
                self._ran_at_once.pop(task, None)
            else:
                kept.append(task)
        owner.tasks = kept
        owner.prune_at = max(PRUNE_AT, 2 * len(kept))

    def _handle(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # the report must never break the loop
            self._record(context)
        handler = self._handler
        if handler is None:
            loop.default_exception_handler(context)
        else:
            handler(loop, context)

    def _record(self, context: dict[str, Any]) -> None:
        task = context.get("task", context.get("future"))
        if isinstance(task, asyncio.Task) and not _driver(task):
            owner = self._owner_of.get(task)
        else:
            owner = self._runner.owner()
        if owner is None:
            return
        finding = self._error(context)
        if owner.ended:
            self._late(owner, finding)
        else:
            owner.errors.append(finding)

    # -- at an owner's end: outside the loop --------------------------------------

    def end(self, owner: Owner) -> list[str]:
        """The owner's findings, now that its step (or its last step) has ended."""
        owner.ended = True
        findings: list[str] = []
        errors: list[str] = []
        pending = []
        for task in owner.tasks:
            if not task.done():
                if not _stopping(task):
                    findings.append(self._leak(task))
                pending.append(task)  # still its owner's, should it raise later
                continue
            del self._owner_of[task]
            if _unretrieved(task):
                errors.append(self._unretrieved(task))
            self._ran_at_once.pop(task, None)
        owner.tasks = pending
        findings.extend(errors)
        findings.extend(owner.errors)
        owner.errors = []
        self._wrap()  # in case the code under test replaced the factory or the handler
        return findings

    def closed(self) -> None:
        """The loop is closed: what the ended owners' tasks raised since is charged to them."""
        for task, owner in self._owner_of.items():
            if task.done() and _unretrieved(task):
                self._late(owner, self._unretrieved(task))
        self._owner_of.clear()
        self._ran_at_once.clear()
        # The loop, its runner and this tracker refer to each other: let go, so that
        # a closed loop is freed at once, not by a later garbage collection.
        loop = self._loop
        if loop.get_task_factory() is self._wrapped_factory:
            loop.set_task_factory(self._factory)
        if loop.get_exception_handler() is self._wrapped_handler:
            loop.set_exception_handler(self._handler)
        self._runner.tracker = None
        # The bound wrappers refer to this tracker, which keeps them.
        self._wrapped_factory = self._wrapped_handler = None

    # -- what a finding says ------------------------------------------------------

    # (:mod:`pytest_aioloop.stacks` is imported with the first finding: a run
    # without one never loads it)

    def _leak(self, task: asyncio.Task[Any]) -> str:
        from pytest_aioloop import stacks

        coroutine = task.get_coro()
        frames, awaiting = stacks.chain(coroutine)
        lines = [f"leaked task {task.get_name()!r} ({_coroutine_name(coroutine)}), still pending"]
        if frames:
            lines.append("  waiting at (innermost last):")
            for frame in frames:
                lines.append(f"    {self._path(frame.filename)}:{frame.lineno}: in {frame.name}")
                if frame.source:
                    lines.append(f"        {frame.source}")
        else:
            lines.append("  (not started yet)")
        if isinstance(awaiting, asyncio.Task):
            lines.append(f"    awaiting task {awaiting.get_name()!r}")
        lines.extend(self._created(task))
        return "\n".join(lines)

    def _created(self, task: asyncio.Task[Any]) -> list[str]:
        source: list[traceback.FrameSummary] | None = getattr(task, "_source_traceback", None)
        if not source:
            return [
                "  created at: not known, asyncio debug mode is off (--asyncio-debug, "
                "or asyncio_debug = true, records where each task is created)"
            ]
        # The user's frames: those above asyncio's create_task() and this factory,
        # up to the first frame of the loop or of pytest below them.
        frames: list[traceback.FrameSummary] = []
        for frame in reversed(source):
            if not _internal(frame.filename):
                frames.insert(0, frame)
            elif frames:
                break
        frames = frames or source[-1:]
        lines = ["  created at (innermost last):"]
        for frame in frames[-_CREATION_FRAMES:]:
            lines.append(f"    {self._path(frame.filename)}:{frame.lineno}: in {frame.name}")
            if frame.line:
                lines.append(f"        {frame.line.strip()}")
        return lines

    def _unretrieved(self, task: asyncio.Task[Any]) -> str:
        error = task.exception()  # retrieved now: asyncio will not log it later
        assert error is not None
        return (
            f"task {task.get_name()!r} ({self._coroutine_of_done(task)}) raised "
            f"{type(error).__name__}, and nothing awaited it or retrieved its exception:\n"
            + _indent(_format_exception(error, self._root))
        )

    def _coroutine_of_done(self, task: asyncio.Task[Any]) -> str:
        name = self._ran_at_once.get(task)
        return name if name is not None else _coroutine_name(task.get_coro())

    def _error(self, context: dict[str, Any]) -> str:
        message = str(context.get("message") or "error in the event loop")
        lines = [f"background error: {message}"]
        for key in ("handle", "task", "future", "protocol", "transport"):
            if key in context:
                lines.append(f"  {key}: {_short(context[key])}")
        error = context.get("exception")
        text = "\n".join(lines)
        if isinstance(error, BaseException):
            text += "\n" + _indent(_format_exception(error, self._root))
        return text

    def _path(self, filename: str) -> str:
        from pytest_aioloop.stacks import display_path

        return display_path(filename, self._root)


#: Frames shown of where a task was created.
_CREATION_FRAMES = 6

_ASYNCIO_DIR = os.path.dirname(asyncio.__file__) + os.sep
_OWN_DIR = os.path.dirname(__file__) + os.sep
#: pytest's and pluggy's frames, below a test's or fixture's in a creation traceback.
_RUNNERS = tuple(os.sep + name + os.sep for name in ("_pytest", "pytest", "pluggy"))


def _internal(filename: str) -> bool:
    return filename.startswith((_ASYNCIO_DIR, _OWN_DIR)) or any(
        part in filename for part in _RUNNERS
    )


def _unretrieved(task: asyncio.Task[Any]) -> bool:
    # asyncio's own flag: an exception that nobody retrieved (what it logs at
    # garbage collection); there is no public way to ask.
    return not task.cancelled() and bool(getattr(task, "_log_traceback", False))


def _stopping(task: asyncio.Task[Any]) -> bool:
    """Asked to stop already (``task.cancel()``), and about to: its owner did stop it."""
    return sys.version_info >= (3, 11) and task.cancelling() > 0


def _driver(task: asyncio.Task[Any]) -> bool:
    """:func:`~pytest_aioloop.runner.is_driver`, for a task that may have ended already.

    A driver that has ended owns nothing. And a task that an eager task factory
    ran to its end as it was created has no coroutine left: ``get_coro()``
    crashes the interpreter on Python 3.12 (3.13 returns None), so a done task
    is never asked (the tracker keeps such a task's coroutine name itself).
    """
    return not task.done() and is_driver(task)


def _coroutine_name(coroutine: object) -> str:
    name = getattr(coroutine, "__qualname__", None) or type(coroutine).__name__
    return f"coroutine {name}()"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _format_exception(error: BaseException, root: Path | None) -> str:
    """The error's traceback, its paths shown as a report shows them (relative to ``root``)."""
    from pytest_aioloop.stacks import display_path

    described = traceback.TracebackException(type(error), error, error.__traceback__)
    seen: set[int] = set()
    todo = [described]
    while todo:  # the error, its cause or context, a group's errors
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for frame in current.stack:  # the source lines are read already
            frame.filename = display_path(frame.filename, root)
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        todo.extend(getattr(current, "exceptions", None) or [])
    return "".join(described.format()).rstrip()


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else line for line in text.splitlines())
