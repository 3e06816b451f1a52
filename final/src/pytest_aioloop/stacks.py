"""Where each task of an event loop is waiting: its whole chain of awaits, outermost first.

A task's stack as :meth:`asyncio.Task.get_stack` gives it stops at the task's
own coroutine: for a test that awaits a helper that awaits a queue, it shows
the test's line and nothing of where the wait really is. The chain is all
there, though, in the objects: a suspended coroutine's ``cr_await`` is what it
awaits, often another coroutine, whose ``cr_await`` is the next, down to the
innermost await, which is a future (or a task). Python 3.14's
``asyncio.capture_call_graph()`` walks the same links; this module walks them
by hand, the same way on every Python from 3.10, and adds what a report needs:
each frame's file, line and source, what the innermost await waits for (a task
is named), and every pending task of the loop, the one of interest first.

Some links are not attributes: ``await agen.__anext__()`` (an async fixture's
set-up) awaits an ``async_generator_asend`` object, ``await future`` a future's
iterator. Both hold what they stand for, and :func:`gc.get_referents` (which
lists the objects an object refers to) finds it: the async generator, whose
``ag_await`` goes on, or the future.

Frames whose locals or globals set ``__tracebackhide__`` (pytest's convention,
which the plugin's own driver follows) are left out. Everything here reads
objects only, and runs only when a report is made: it costs nothing otherwise.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import linecache
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from types import FrameType
from typing import Any, NamedTuple

#: A longer chain than this is cut (a chain has no cycles; this is a safety net).
MAX_DEPTH = 200
#: Tasks shown beside the task of interest and the tasks it awaits; the rest are counted.
MAX_OTHER_TASKS = 20


class Frame(NamedTuple):
    """One await of a chain: where it is."""

    filename: str
    lineno: int
    #: the function's qualified name.
    name: str
    #: the line's source, stripped ('' when the source cannot be read).
    source: str


class TaskStack(NamedTuple):
    """One task's chain of awaits, outermost first."""

    task: asyncio.Task[Any]
    frames: tuple[Frame, ...]
    #: the innermost awaited object when it is not a plain future (a task, or
    #: an awaitable this module cannot look into); None otherwise.
    awaiting: object | None
    #: the task's coroutine has not run yet.
    not_started: bool = False


def chain(coroutine: object) -> tuple[list[Frame], object | None]:
    """The frames from ``coroutine`` down to its innermost await, and what that awaits."""
    frames: list[Frame] = []
    current: Any = coroutine
    for _ in range(MAX_DEPTH):
        if isinstance(current, asyncio.Future):
            return frames, current
        if hasattr(current, "cr_await"):  # a coroutine
            frame, current = current.cr_frame, current.cr_await
        elif hasattr(current, "ag_await"):  # an async generator
            frame, current = current.ag_frame, current.ag_await
        elif hasattr(current, "gi_yieldfrom"):  # a generator-based coroutine
            frame, current = current.gi_frame, current.gi_yieldfrom
        else:
            inner = _stands_for(current)
            if inner is None:
                return frames, current
            current = inner
            continue
        if frame is None:  # finished, or closed
            return frames, None
        if not _hidden(frame):
            frames.append(_frame(frame))
        if current is None:
            return frames, None
    return frames, None


def _stands_for(awaitable: object) -> object | None:
    """The async generator or future that an awaitable's iterator drives, if any."""
    for referent in gc.get_referents(awaitable):
        if isinstance(referent, asyncio.Future) or hasattr(referent, "ag_await"):
            found: object = referent
            return found
    return None


def _hidden(frame: FrameType) -> bool:
    for namespace in (frame.f_locals, frame.f_globals):
        value = namespace.get("__tracebackhide__", False)
        if value and not callable(value):
            return True
    return False


def _frame(frame: FrameType) -> Frame:
    code = frame.f_code
    name = getattr(code, "co_qualname", code.co_name)  # co_qualname: 3.11+
    lineno = frame.f_lineno or code.co_firstlineno
    source = linecache.getline(code.co_filename, lineno, frame.f_globals).strip()
    return Frame(code.co_filename, lineno, name, source)


def capture(loop: asyncio.AbstractEventLoop, first: asyncio.Task[Any] | None) -> list[TaskStack]:
    """Every pending task of ``loop`` and its chain: ``first``, the tasks it awaits, the rest.

    Call it from a callback of the loop (no task is running then), or when the
    loop is not running.
    """
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    by_task: dict[asyncio.Task[Any], TaskStack] = {}
    for task in pending:
        coroutine = task.get_coro()
        frames, awaiting = chain(coroutine)
        not_started = (
            inspect.iscoroutine(coroutine)
            and inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED
        )
        if isinstance(awaiting, asyncio.Future) and not isinstance(awaiting, asyncio.Task):
            awaiting = None  # a plain future: the innermost frame says what it is for
        by_task[task] = TaskStack(task, tuple(frames), awaiting, not_started)
    ordered: list[TaskStack] = []
    # The task of interest, then the tasks it awaits, transitively, then the rest.
    current = first
    while current is not None and current in by_task:
        stack = by_task.pop(current)
        ordered.append(stack)
        current = stack.awaiting if isinstance(stack.awaiting, asyncio.Task) else None
    ordered.extend(sorted(by_task.values(), key=lambda s: _natural(s.task.get_name())))
    return ordered


def _natural(name: str) -> list[Any]:
    # Task-2 before Task-10.
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def format_stacks(
    stacks: list[TaskStack],
    *,
    labels: dict[asyncio.Task[Any], str] | None = None,
    idle: dict[asyncio.Task[Any], str] | None = None,
    root: Path | None = None,
) -> str:
    """The stacks as text: per task a heading, then each await as ``file:line: in name``.

    ``labels`` names tasks by what they run ("the test"); ``idle`` says what a
    task with no frames to show waits for (the plugin's own task of a fixture,
    between its setup and its teardown); ``root`` is the directory that paths
    are shown relative to (files elsewhere are shown relative to the
    ``sys.path`` entry they are found under).
    """
    labels = labels or {}
    idle = idle or {}
    lines: list[str] = []
    shown = stacks
    if len(stacks) > MAX_OTHER_TASKS + 1:
        shown = stacks[: MAX_OTHER_TASKS + 1]
    for stack in shown:
        if lines:
            lines.append("")
        name = f"task {stack.task.get_name()!r}"
        label = labels.get(stack.task)
        lines.append(f"{label}, in {name}:" if label else f"{name}:")
        if stack.not_started:
            lines.append("  (not started yet)")
        for frame in stack.frames:
            lines.append(f"  {display_path(frame.filename, root)}:{frame.lineno}: in {frame.name}")
            if frame.source:
                lines.append(f"      {frame.source}")
        if isinstance(stack.awaiting, asyncio.Task):
            lines.append(f"  awaiting task {stack.awaiting.get_name()!r}")
        elif stack.awaiting is not None:
            lines.append(f"  awaiting {_describe(stack.awaiting)}")
        elif not stack.frames and not stack.not_started:
            lines.append(f"  ({idle.get(stack.task, 'no frames to show')})")
    if len(shown) < len(stacks):
        lines.append(f"... and {len(stacks) - len(shown)} more pending task(s)")
    return "\n".join(lines)


def _describe(awaitable: object) -> str:
    text = repr(awaitable)
    return text if len(text) <= 120 else text[:117] + "..."


def display_path(filename: str, root: Path | None) -> str:
    """``filename`` as a report shows it: relative to ``root``, else to its ``sys.path`` entry."""
    if not os.path.isabs(filename):
        return filename  # <string>, <frozen ...>
    if root is not None and _inside(filename, str(root)):
        return os.path.relpath(filename, root)
    bases = [entry for entry in _search_path() if _inside(filename, entry)]
    if bases:
        return os.path.relpath(filename, max(bases, key=len))
    return filename


def _inside(filename: str, directory: str) -> bool:
    return filename.startswith(directory.rstrip(os.sep) + os.sep)


def _search_path() -> Iterable[str]:
    # The directories imports come from: stdlib and site-packages, mostly.
    return (os.path.abspath(entry) for entry in sys.path if entry)
