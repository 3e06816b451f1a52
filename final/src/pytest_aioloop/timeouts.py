"""Test and fixture timeouts: what the user asked for, when they are off, and the report.

A timeout here is a limit on one *step* of a loop (a test's coroutine, an async
fixture's set-up, one teardown), measured in real time. When it runs out, the
step is cut **inside its loop**, the way an interrupt is
(:class:`~pytest_aioloop.runner.LoopRunner` does the cutting, at the seam
``run(coroutine, what, timeout)``):

1. a :class:`~pytest_aioloop.watchdog.Watchdog` alarm wakes the loop at the
   deadline, whatever the loop's own clock says (a virtual clock, uvloop);
2. in the loop, before anything is cancelled, every pending task's chain of
   awaits is captured (:mod:`pytest_aioloop.stacks`): that is the report;
3. the step is cancelled at its innermost await, as ``asyncio.timeout()``
   would; it gets the runner's grace period to finish, and a step that swallows
   its cancellation loses its loop instead of hanging the run;
4. a :class:`~pytest_aioloop.runner.TimedOut` error carries the message and
   the report, and the plugin fails the test (or errors its set-up or
   teardown) with them, as a misuse: the message alone, without a traceback
   of the plugin's.

No thread is killed and no signal is sent: the loop, the session and the
following tests carry on. The price is the one ``asyncio.timeout()`` pays: a
step is cut at an ``await``, so code that blocks the loop (``time.sleep()``, a
busy loop) is cut only when it gives the loop control again (the report says
how late that was). pytest-timeout remains the backstop for that.

Which limit applies (:meth:`TimeoutSettings.for_test`,
:attr:`TimeoutSettings.fixtures`): for a test, the ``timeout=`` of its closest
``asyncio`` marker that gives one, else ``--asyncio-timeout``, else the
``asyncio_timeout`` ini option; for each async fixture set-up and teardown,
``--asyncio-fixture-timeout``, else ``asyncio_fixture_timeout``, else the
run's test timeout (so one option bounds everything async). ``0`` or ``none``
turns a limit off. Everything is read once: the options at configure time,
each test's markers at collection.

Timeouts are off while a debugger is active (:class:`Debugging`): for the whole
run under ``--pdb`` or ``--trace``, from the moment pytest enters pdb
(``breakpoint()``, ``pdb.set_trace()``) to the end of the run, and whenever a
known debugger's trace function (pdb, pydevd for PyCharm and VS Code) or a
``sys.monitoring`` debugger (3.12+) is set when a step starts or when its time
runs out. Stopping at a breakpoint must never fail the test.
"""

from __future__ import annotations

import inspect
import math
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pytest

from pytest_aioloop.config import MarkError

if TYPE_CHECKING:
    import asyncio

    from pytest_aioloop.runner import TimedOut

#: Modules whose trace function means "a debugger": bdb is pdb's (and ipdb's,
#: pudb's) base; pydevd is the debugger of PyCharm and of VS Code (debugpy).
#: The list pytest-timeout uses; coverage.py's tracer is not on it.
DEBUGGER_MODULES = ("bdb", "pydevd", "pydevd_frame_evaluator")


class Debugging:
    """Whether a debugger is active, so that no timeout may fire."""

    def __init__(self, off_because: str | None = None) -> None:
        #: why timeouts are off for the whole run (``--pdb``), or None.
        self.off_because = off_because

    def entered_pdb(self) -> None:
        """pytest entered pdb (``pytest_enter_pdb``): no timeout fires from now on."""
        self.off_because = self.off_because or "pytest entered pdb"

    def active(self) -> bool:
        return self.off_because is not None or debugger_attached()


def debugger_attached() -> bool:
    """Whether a debugger traces this thread: a known trace function, or sys.monitoring's.

    Cheap (a few attribute reads): it runs when a step with a timeout starts,
    and again when its time runs out.
    """
    trace = sys.gettrace()
    if trace is not None:
        module = inspect.getmodule(trace) or inspect.getmodule(type(trace))
        if module is not None and any(
            part.startswith(DEBUGGER_MODULES) for part in module.__name__.split(".")
        ):
            return True
    return _MONITORING is not None and _MONITORING.get_tool(_MONITORING.DEBUGGER_ID) is not None


# sys.monitoring (3.12+), looked up once: a failed getattr() costs an exception each time.
_MONITORING: Any = getattr(sys, "monitoring", None)


class Timeout(NamedTuple):
    """The limit of one kind of step, and where it was set (for the message)."""

    seconds: float
    #: how the user set it: ``--asyncio-timeout=5``, ``@pytest.mark.asyncio(timeout=5)``.
    source: str
    debugging: Debugging
    #: paths in the report are shown relative to this directory.
    root: Path | None = None

    def suspended(self) -> bool:
        """No timeout now: a debugger is active."""
        return self.debugging.active()

    def snapshot(
        self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any] | None, what: str
    ) -> str:
        """Where every pending task of ``loop`` waits now, ``task`` (running ``what``) first."""
        # (imported when a timeout runs out: they import asyncio, which the
        # settings above do not, so that a run without async tests never loads it)
        from pytest_aioloop import stacks
        from pytest_aioloop.runner import is_driver

        try:
            found = stacks.capture(loop, task)
            labels = {} if task is None else {task: what}
            # A fixture's driver waits, with no frame of its own, for its teardown.
            idle = {
                stack.task: "the fixture's own task, between its setup and its teardown"
                for stack in found
                if not stack.frames and is_driver(stack.task)
            }
            return stacks.format_stacks(found, labels=labels, idle=idle, root=self.root)
        except Exception as error:  # a report must never break the cut itself
            return f"(the tasks' stacks could not be captured: {error!r})"

    def error(
        self,
        what: str,
        report: str,
        *,
        late: float,
        abandoned_after: float | None,
        ended: BaseException | None,
    ) -> TimedOut:
        """The error for ``what``, cut at this timeout, with ``report`` (see :meth:`snapshot`).

        ``late``: real seconds between the deadline and the cut (the loop was
        blocked meanwhile); ``abandoned_after``: the grace period, if the step
        did not finish in it after its cancellation (its loop is lost);
        ``ended``: the error the step ended with once cancelled, if any.
        """
        from asyncio import CancelledError

        from pytest_aioloop.runner import TimedOut

        paragraphs = [
            f"{what} timed out after {self.seconds:g} s ({self.source}) "
            "and was cancelled in its event loop."
        ]
        if late >= LATE:
            paragraphs.append(
                f"Its event loop could act only {late:.1f} s after the deadline: something "
                "blocked it (a blocking call, such as time.sleep(), in async code?)."
            )
        if abandoned_after is not None:
            paragraphs.append(
                f"It did not finish within {abandoned_after:g} s of being cancelled (does it "
                "catch CancelledError and carry on?), so its event loop was given up on: "
                "the tests and fixtures that share that loop cannot run."
            )
        elif ended is not None and not isinstance(ended, CancelledError):
            paragraphs.append(f"Once cancelled, it raised {type(ended).__name__}: {ended}")
        paragraphs.append(
            "Where each task of its event loop was waiting when the time ran out "
            f"(innermost await last):\n\n{report}"
        )
        return TimedOut("\n\n".join(paragraphs))


#: Real seconds past the deadline from which the report says the loop was blocked.
LATE = 0.25


def parse_seconds(value: object) -> float | None:
    """A timeout's value: seconds, or None for no timeout (``0``, ``none``, None).

    Raises ValueError for anything else: a negative number, a non-number, ``inf``.
    """
    if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "")):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(value)
    seconds = float(value)  # ValueError for "abc"
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(value)
    return seconds or None


def _usage(option: str, value: object) -> pytest.UsageError:
    return pytest.UsageError(
        f"{option}={value!r} is not a timeout: give a number of seconds (such as 30 or 2.5), "
        "or 0 or none for no timeout."
    )


class TimeoutSettings(NamedTuple):
    """The run's timeouts, read once at configure time."""

    #: every async test's, unless its marker says otherwise; None: no timeout.
    tests: Timeout | None
    #: every async fixture set-up's and teardown's; None: no timeout.
    fixtures: Timeout | None
    debugging: Debugging
    #: paths in reports are shown relative to this directory (pytest's invocation directory).
    root: Path | None = None

    @classmethod
    def from_config(cls, config: pytest.Config) -> TimeoutSettings:
        # --pdb and --trace come from pytest's debugging plugin (-p no:debugging
        # removes them: hence the defaults).
        off_because = next(
            (
                option
                for option, dest in (("--pdb", "usepdb"), ("--trace", "trace"))
                if config.getoption(dest, False)
            ),
            None,
        )
        debugging = Debugging(off_because)
        root = config.invocation_params.dir
        tests = _configured(config, "asyncio_timeout", "--asyncio-timeout", debugging, root)
        fixtures = _configured(
            config, "asyncio_fixture_timeout", "--asyncio-fixture-timeout", debugging, root
        )
        if fixtures is None and not _given(config, "asyncio_fixture_timeout") and tests:
            fixtures = Timeout(
                tests.seconds,
                f"{tests.source}, which bounds async fixtures too unless "
                "asyncio_fixture_timeout is set",
                debugging,
                root,
            )
        return cls(tests, fixtures, debugging, root)

    def for_test(self, marks: Iterable[pytest.Mark], nodeid: str) -> Timeout | None:
        """The test's timeout: its closest marker's ``timeout=``, else the run's.

        Raises :class:`~pytest_aioloop.config.MarkError` for a marker's invalid value.
        """
        for mark in marks:
            if "timeout" in mark.kwargs:
                seconds = marker_seconds(mark.kwargs["timeout"], nodeid)
                if seconds is None:
                    return None
                source = f"@pytest.mark.asyncio(timeout={mark.kwargs['timeout']!r})"
                return Timeout(seconds, source, self.debugging, self.root)
        return self.tests

    def header(self) -> str:
        """The report header's part about timeouts ('' when there are none)."""
        if self.tests is None and self.fixtures is None:
            return ""
        if self.debugging.off_because:
            return f", timeouts=off ({self.debugging.off_because})"
        tests = "none" if self.tests is None else f"{self.tests.seconds:g}s"
        fixtures = "none" if self.fixtures is None else f"{self.fixtures.seconds:g}s"
        return f", timeout={tests}, fixture_timeout={fixtures}"


def marker_seconds(value: object, nodeid: str) -> float | None:
    """A marker's ``timeout=`` value in seconds (None: no timeout); MarkError if invalid."""
    try:
        if isinstance(value, str):
            raise ValueError(value)  # a marker takes a number (or None), not text
        return parse_seconds(value)
    except ValueError:
        raise MarkError(
            f"{nodeid}: @pytest.mark.asyncio(timeout={value!r}): give a number of seconds "
            "(such as 30 or 2.5), or 0 or None for no timeout."
        ) from None


def _given(config: pytest.Config, name: str) -> bool:
    return config.getoption(name) is not None or bool(config.getini(name))


def _configured(
    config: pytest.Config, name: str, option: str, debugging: Debugging, root: Path
) -> Timeout | None:
    # The command line over the ini file; each value validated where it was given.
    value = config.getoption(name)
    if value is not None:
        where = f"{option}={value}"
        try:
            seconds = parse_seconds(value)
        except ValueError:
            raise _usage(option, value) from None
    else:
        value = config.getini(name)
        where = f"{name} = {value}"
        if config.inipath is not None:
            where += f" in {config.inipath.name}"
        try:
            seconds = parse_seconds(value)
        except ValueError:
            raise _usage(name, value) from None
    return None if seconds is None else Timeout(seconds, where, debugging, root)
