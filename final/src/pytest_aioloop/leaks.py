"""Leaked tasks and background errors, each charged to the test or fixture that caused it.

A task that a test starts and forgets, an exception raised in a task that
nobody awaits, an error in a ``call_soon`` callback: asyncio notices them late
or never (the task is cancelled as the loop closes; "Task exception was never
retrieved" is logged at some later garbage collection, on no test in
particular). Here each is a *finding* of the test or fixture that caused it.

**Owners.** Every step that the plugin runs in a loop belongs to a driver
(:mod:`pytest_aioloop.runner`); a driver made for a test or an async fixture
carries an :class:`Owner`, and a task is owned by the owner of the step
running when it was created (or by its creator task's owner). The bookkeeping
runs inside the loops: :mod:`pytest_aioloop.tracker` (a
:class:`~pytest_aioloop.tracker.Tracker` per loop) finds, when an owner ends,
its *findings*: the tasks it left pending, those that raised an exception that
nobody retrieved, and the errors that reached the loop's exception handler on
its behalf. What happens after an owner ended is charged to it still, as a
*late* finding, which goes to the summary (and is a warning in ``warn`` mode):
a test that has been reported can no longer fail. This module is what pytest's
hooks see (the modes, the owners, the reports), and it imports no asyncio: a
run without async tests pays nothing for it.

**Reporting, in pytest's hooks** (:class:`Reporter`, called by the plugin's
hooks). The mode (:class:`LeakMode`) is the ``leaks=`` of the test's closest
``asyncio`` marker that gives one, else ``--asyncio-leaks``, else the
``asyncio_leaks`` ini option, else ``report``; a fixture's findings follow
the mode of the test it was set up for.

* ``report``: the findings are listed in a terminal summary section at the end
  of the run (none when there are none); no outcome or warning changes;
* ``warn``: each finding is a :class:`LeakWarning`, attributed to the test;
* ``error``: a test's findings fail its teardown (a finalizer that raises,
  added only when there is something to say), a fixture's findings its
  teardown;
* ``ignore``: nothing is recorded for that test. A run whose mode is
  ``ignore`` with no marker asking for more tracks no loop at all.

Cost, in the default mode: a Python-level task factory (the test's own task
is made through it), one :class:`Owner` per test and per async fixture set-up,
and a look at the few tasks it owns when it ends.
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pytest

from pytest_aioloop.config import MarkError

if TYPE_CHECKING:
    import asyncio

    from pytest_aioloop.runner import LoopRunner


class LeakMode(str, enum.Enum):
    """What to do with a test's leaked tasks and background errors."""

    #: list them in a summary at the end of the run; nothing else changes.
    REPORT = "report"
    #: a LeakWarning for each, attributed to the test.
    WARN = "warn"
    #: fail the test's (or the fixture's) teardown with them.
    ERROR = "error"
    #: record nothing.
    IGNORE = "ignore"


_ALLOWED = ", ".join(mode.value for mode in LeakMode)


class LeakWarning(pytest.PytestWarning):
    """A task left pending by a test or fixture, or an error raised in the background."""


class LeakSettings(NamedTuple):
    """The run's mode, read once at configure time."""

    mode: LeakMode
    #: where it was set, for the summary ("--asyncio-leaks=warn"); '' for the default.
    source: str = ""

    @classmethod
    def from_config(cls, config: pytest.Config) -> LeakSettings:
        value = config.getoption("asyncio_leaks")
        if value is not None:
            option, source = "--asyncio-leaks", f"--asyncio-leaks={value}"
        else:
            value = config.getini("asyncio_leaks") or LeakMode.REPORT.value
            option, source = "asyncio_leaks", f"asyncio_leaks = {value}"
        try:
            mode = LeakMode(str(value).strip().lower())
        except ValueError:
            raise pytest.UsageError(
                f"{option}={value!r} is not one of {_ALLOWED}: report (the default) lists "
                "leaked tasks and background errors at the end, warn makes each a warning, "
                "error fails the test, ignore records nothing."
            ) from None
        return cls(mode, source)

    def for_test(self, marks: Iterable[pytest.Mark], nodeid: str) -> LeakMode:
        """The test's mode: its closest marker's ``leaks=``, else the run's.

        Raises :class:`~pytest_aioloop.config.MarkError` for a marker's invalid value.
        """
        for mark in marks:
            if "leaks" in mark.kwargs:
                value = mark.kwargs["leaks"]
                try:
                    return LeakMode(value)
                except ValueError:
                    raise MarkError(
                        f"{nodeid}: @pytest.mark.asyncio(leaks={value!r}) is not one of {_ALLOWED}."
                    ) from None
        return self.mode


class Owner:
    """A test or an async fixture set-up, as the owner of the tasks made while it runs."""

    __slots__ = ("ended", "errors", "location", "mode", "prune_at", "tasks", "what")

    def __init__(self, what: str, mode: LeakMode, location: tuple[str, int] | None = None) -> None:
        #: names it in findings: a test's node id, "fixture 'db' of test_api.py".
        self.what = what
        self.mode = mode
        #: the file and line its warnings are shown at (a fixture's function).
        self.location = location
        #: the tasks it owns, kept (done or not) until it ends.
        self.tasks: list[asyncio.Task[Any]] = []
        #: what reached the loop's exception handler on its behalf.
        self.errors: list[str] = []
        self.ended = False
        self.prune_at = PRUNE_AT


#: An owner that has made this many tasks drops its done ones (a session
#: fixture's server makes one per connection, all session long).
PRUNE_AT = 256

# -- reporting: called from the plugin's hooks ------------------------------------


class Reporter:
    """The run's findings, and what each mode does with them."""

    def __init__(self, settings: LeakSettings, root: Path | None) -> None:
        self.settings = settings
        self.root = root
        #: whether any loop is tracked: off when every test's mode is ignore.
        self.on = settings.mode is not LeakMode.IGNORE
        #: findings for the summary: (owner's name, findings), in the order found.
        self.summary: list[tuple[str, list[str]]] = []

    def owner(
        self,
        runner: LoopRunner,
        what: str,
        mode: LeakMode,
        function: Callable[..., Any] | None = None,
    ) -> Owner | None:
        """The owner for a test or fixture of ``runner``'s loop; None: nothing to record.

        A fixture's ``function`` is where its warnings are shown.
        """
        if runner.tracker is None or mode is LeakMode.IGNORE:
            return None
        code = getattr(getattr(function, "__func__", function), "__code__", None)
        return Owner(what, mode, None if code is None else (code.co_filename, code.co_firstlineno))

    def test_ended(self, item: pytest.Item, runner: LoopRunner, owner: Owner) -> None:
        """The test's call has ended: its findings, as its mode says."""
        message = self._ended(runner, owner)
        if message is None:
            return
        if owner.mode is LeakMode.WARN:
            item.warn(LeakWarning(message))
        elif owner.mode is LeakMode.ERROR:

            def fail() -> None:
                raise pytest.fail.Exception(message, pytrace=False)

            item.addfinalizer(fail)  # the first of its teardown, reported as a teardown error

    def fixture_ended(self, runner: LoopRunner, owner: Owner) -> None:
        """The fixture has been torn down: its findings, as its mode says."""
        message = self._ended(runner, owner)
        if message is None:
            return
        if owner.mode is LeakMode.WARN:
            _warn(owner, message, self.root)
        elif owner.mode is LeakMode.ERROR:
            raise pytest.fail.Exception(message, pytrace=False)

    def _ended(self, runner: LoopRunner, owner: Owner) -> str | None:
        """The owner's findings as one message, for a warning or an error; None: nothing more.

        In ``report`` mode they go to the summary here, and there is nothing more to do.
        """
        tracker = runner.tracker
        if tracker is None:
            return None
        findings = tracker.end(owner)
        if not findings:
            return None
        if owner.mode is LeakMode.REPORT:
            self.summary.append((owner.what, findings))
            return None
        return _message(owner.what, findings)

    def late(self, owner: Owner, finding: str) -> None:
        """A finding of an owner that has ended: to the summary, or a warning."""
        if owner.mode is LeakMode.WARN:
            _warn(owner, _message(f"{owner.what} (after it ended)", [finding]), self.root)
            return
        what = f"{owner.what} (after it ended)"
        if self.summary and self.summary[-1][0] == what:
            self.summary[-1][1].append(finding)
        else:
            self.summary.append((what, [finding]))

    def share(self, config: pytest.Config) -> None:
        """Under pytest-xdist, a worker hands its summary to the controller.

        ``config.workeroutput`` is pytest-xdist's documented channel, sent when the
        worker's session finishes; the controller reads it in ``pytest_testnodedown``.
        """
        output = getattr(config, "workeroutput", None)
        if isinstance(output, dict):
            output[WORKER_OUTPUT] = self.summary  # filled in as the worker runs

    def worker_done(self, node: Any) -> None:
        """A pytest-xdist worker has finished: its summary joins the controller's."""
        output = getattr(node, "workeroutput", None) or {}
        for what, findings in output.get(WORKER_OUTPUT, ()):
            self.summary.append((str(what), [str(finding) for finding in findings]))

    def header(self) -> str:
        """The report header's part ('' for the default mode)."""
        mode = self.settings.mode
        return "" if mode is LeakMode.REPORT else f", leaks={mode.value}"

    def terminal_summary(self, terminalreporter: Any) -> None:
        if not self.summary:
            return
        write = terminalreporter.write_line
        terminalreporter.section("asyncio: leaked tasks and background errors")
        for what, findings in self.summary:
            write(f"{what}: {_counts(findings)}")
            for finding in findings:
                for line in finding.splitlines():
                    write(f"  {line}")
        owners = len({what for what, _ in self.summary})
        write(
            f"{owners} test(s) or fixture(s) left tasks pending or errors unretrieved. "
            "To see each as a warning on its test, set asyncio_leaks = warn "
            "(or --asyncio-leaks=warn); to fail the test, asyncio_leaks = error; "
            "to silence one test, @pytest.mark.asyncio(leaks='ignore')."
        )


#: The key of a pytest-xdist worker's summary in its ``workeroutput``.
WORKER_OUTPUT = "aioloop_leaks"


def _warn(owner: Owner, message: str, root: Path | None) -> None:
    if owner.location is None:
        warnings.warn(LeakWarning(message), stacklevel=3)
    else:
        from pytest_aioloop.stacks import display_path

        filename, lineno = owner.location
        where = display_path(filename, root)
        warnings.warn_explicit(LeakWarning(message), LeakWarning, where, lineno)


def _message(what: str, findings: list[str]) -> str:
    return f"{what}: {_counts(findings)}\n" + "\n".join(findings)


def _counts(findings: list[str]) -> str:
    """ "1 leaked task and 2 background errors"."""
    leaked = sum(finding.startswith("leaked task") for finding in findings)
    counts = []
    if leaked:
        counts.append(f"{leaked} leaked task" + ("s" if leaked > 1 else ""))
    if len(findings) > leaked:
        errors = len(findings) - leaked
        counts.append(f"{errors} background error" + ("s" if errors > 1 else ""))
    return " and ".join(counts)
