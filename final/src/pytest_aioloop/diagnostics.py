"""Which loop everything ran in: told when it matters, shown when asked.

"attached to a different loop" says that two event loops met, not which two,
nor why. Every loop has a short name (:func:`~pytest_aioloop.loops.loop_name`:
the "module loop of test_api.py"), and :class:`LoopLog` notes, at each async
fixture's setup, the loop it ran in and why that one (its ``loop_scope``, given
or defaulted). That costs one small record per async fixture setup and nothing
per test; everything else here runs only when it has something to say:

* :meth:`LoopLog.explain`: when a test fails, or a fixture errors, with one of
  the errors that mean mixed loops (:data:`MIXED_LOOPS`, anywhere in the
  exception's chain), the report gets an "event loops" section: the loop the
  test ran in, each of its async fixtures with the loop it ran in, which of
  them differ, and the one change that makes them agree. Other failures get
  no section (the plugin calls it from ``pytest_runtest_makereport`` only when
  a phase raised).
* :meth:`LoopLog.split_loop`: a test with a wide ``loop_scope`` that uses an
  async fixture whose loop scope *defaults* to a narrower one runs the two in
  different loops, silently: a :class:`SplitLoopWarning`, once per fixture and
  test function, names both and the fix. (A narrower loop scope *given* to the
  fixture is an error already.)
* :class:`ShowLoops`: ``--asyncio-show-loops`` prints, in the manner of pytest's
  ``--setup-show``, where each loop opens and closes and which loop each async
  fixture and test runs in. A plugin object of its own, registered only with
  the option: without it, it costs nothing at all.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any, NamedTuple

import pytest

from pytest_aioloop import _pytest_compat
from pytest_aioloop.config import LoopScope
from pytest_aioloop.items import ASYNC_TEST, AsyncTest
from pytest_aioloop.loops import Node, loop_name, scope_node
from pytest_aioloop.runner import LoopFactory, LoopRunner

#: What asyncio (and the libraries built on it) say when objects of two loops meet.
MIXED_LOOPS = (
    "attached to a different loop",
    "is bound to a different event loop",
    "belongs to a different loop",
    "Event loop is closed",
    "no running event loop",
)


class SplitLoopWarning(pytest.PytestWarning):
    """A test and one of its async fixtures run in two loops because of a default loop scope."""


class FixtureLoop(NamedTuple):
    """Where one set-up of an async fixture ran, and why there."""

    #: the loop's short name.
    loop: str
    loop_scope: LoopScope
    #: why that loop scope: "given", "its scope", "asyncio_default_fixture_loop_scope".
    source: str


class LoopLog:
    """The loop each async fixture last ran in, and what is said about it."""

    def __init__(self, factory_names: Mapping[LoopFactory, str]) -> None:
        self._factory_names = factory_names
        self.fixtures: dict[pytest.FixtureDef[Any], FixtureLoop] = {}
        #: (fixture definition, test function) pairs warned about already.
        self._warned: set[tuple[pytest.FixtureDef[Any], str]] = set()

    def fixture_ran(
        self,
        fixturedef: pytest.FixtureDef[Any],
        runner: LoopRunner,
        loop_scope: LoopScope,
        source: str,
    ) -> None:
        self.fixtures[fixturedef] = FixtureLoop(runner.name, loop_scope, source)

    def test_loop(self, item: pytest.Item, test: AsyncTest, factory: LoopFactory) -> str:
        """The short name of the loop that ``item`` runs in."""
        node = scope_node(item, test.loop_scope)
        return loop_name(node, self._factory_names.get(factory))

    def used_by(self, item: pytest.Item) -> Iterator[tuple[str, FixtureLoop]]:
        """The async fixtures that ``item`` uses, with where each ran, in setup order."""
        names = item.fixturenames if isinstance(item, pytest.Function) else []
        for name in names:
            fixturedef = _pytest_compat.closest_fixturedef(item, name)
            ran = None if fixturedef is None else self.fixtures.get(fixturedef)
            if ran is not None:
                yield name, ran

    # -- the split-loop warning ------------------------------------------------

    def split_loop(
        self,
        item: pytest.Item,
        test: AsyncTest,
        fixturedef: pytest.FixtureDef[Any],
        runner: LoopRunner,
        factory: LoopFactory,
    ) -> None:
        """Warn that ``item``'s fixture runs in another, narrower loop (once per pair)."""
        function = _test_function_id(item)
        if (fixturedef, function) in self._warned:
            return
        self._warned.add((fixturedef, function))
        ran = self.fixtures[fixturedef]
        name = fixturedef.argname
        wide = test.loop_scope.value
        if ran.source == "its scope":
            why = f"its loop_scope defaults to its scope, {ran.loop_scope.value!r}"
            also = ""
        else:
            why = f"asyncio_default_fixture_loop_scope = {ran.loop_scope.value} gives it that"
            also = f" (or set asyncio_default_fixture_loop_scope = {wide})"
        message = (
            f"{function} runs in the {self.test_loop(item, test, factory)}, but its async "
            f"fixture {name!r} runs in another loop, the {runner.name}: {why}. What {name!r} "
            "makes belongs to its loop, and awaiting it in the test fails with 'attached to a "
            f'different loop\'. Give {name!r} loop_scope="{wide}"{also}.'
        )
        function_object = getattr(fixturedef.func, "__func__", fixturedef.func)
        code = getattr(function_object, "__code__", None)
        filename = inspect.getsourcefile(function_object) if code is not None else None
        # At the fixture's own line, which is what to change.
        warnings.warn_explicit(
            SplitLoopWarning(message),
            SplitLoopWarning,
            filename or "<unknown>",
            code.co_firstlineno if code is not None else 0,
        )

    # -- the mixed-loop section of a failure report ----------------------------

    def explain(self, item: pytest.Item, error: BaseException, factory: LoopFactory) -> str | None:
        """The "event loops" section of ``item``'s failure; None if it is not a mixed-loop one."""
        if not _mixed_loops(error):
            return None
        test = item.stash.get(ASYNC_TEST, None)
        fixtures = list(self.used_by(item))
        if test is None and not fixtures:
            return None  # not a test of ours, and none of our fixtures: not ours to explain
        lines: list[str] = []
        if test is None:
            lines.append(f"{item.nodeid} is a sync test: it ran in no event loop.")
            loop = None
        else:
            loop = self.test_loop(item, test, factory)
            given = "from its asyncio marker" if test.loop_scope_given else "the default"
            lines += [
                f"{item.nodeid} ran in the {loop}",
                f"    (loop_scope={test.loop_scope.value!r}, {given}; loop factory: "
                f"{self.describe_factory(factory)}).",
            ]
        if fixtures:
            lines.append("Its async fixtures, in the order they were set up:")
            for name, ran in fixtures:
                where = "the test's loop" if ran.loop == loop else f"the {ran.loop}"
                mark = "" if ran.loop == loop else "   <- not the test's loop"
                lines.append(
                    f"    {name}: loop_scope={ran.loop_scope.value!r} ({ran.source}), "
                    f"ran in {where}{mark}"
                )
        else:
            lines.append("It uses no async fixture.")
        lines += _advice(test, loop, fixtures)
        return "\n".join(lines)

    def describe_factory(self, factory: LoopFactory) -> str:
        name = self._factory_names.get(factory)
        if name is not None:
            return f"{name!r} (from pytest_asyncio_loop_factories)"
        module = getattr(factory, "__module__", "") or ""
        qualname = getattr(factory, "__qualname__", repr(factory))
        if module.startswith("asyncio."):
            module = "asyncio"
        return f"{module}.{qualname}" if module else qualname


def _advice(
    test: AsyncTest | None, loop: str | None, fixtures: list[tuple[str, FixtureLoop]]
) -> list[str]:
    """What went wrong, and the one change that makes the loops agree."""
    if test is None:
        scopes = sorted({ran.loop_scope for _, ran in fixtures}, key=lambda s: s.width)
        return [
            "An object of an event loop can only be used while that loop runs, and a sync "
            "test runs none.",
            "Fix: make the test async def and mark it "
            f'@pytest.mark.asyncio(loop_scope="{scopes[-1].value}"), so that it runs in '
            "the loop of its fixtures.",
        ]
    others = [(name, ran) for name, ran in fixtures if ran.loop != loop]
    if not others:
        return [
            "Every async fixture of the test ran in its loop: the object that belongs to another "
            "loop was made elsewhere (at import time, in a sync fixture, or in an earlier test's "
            "loop, closed since).",
            "Fix: make it in the test, or in an async fixture that runs in the test's loop.",
        ]
    names = _names([name for name, _ in others])
    lines = [
        "An object of an event loop (a future, a task, a lock, a connection) works only in "
        f"that loop, and {names} ran in another loop than the test.",
    ]
    wider = [ran.loop_scope for _, ran in others if ran.loop_scope.width > test.loop_scope.width]
    if wider:
        widest = max(wider, key=lambda s: s.width)
        behind = [name for name, ran in fixtures if ran.loop_scope.width < widest.width]
        if behind:
            also = f', and give {_names(behind)} loop_scope="{widest.value}"'
            outcome = "they all run in one loop"
        else:
            also, outcome = "", f"it runs in the loop of {names}"
        lines.append(
            f'Fix: mark the test @pytest.mark.asyncio(loop_scope="{widest.value}"){also}, so '
            f"that {outcome}."
        )
    elif any(ran.loop_scope.width < test.loop_scope.width for _, ran in others):
        lines.append(
            f'Fix: give {names} loop_scope="{test.loop_scope.value}" '
            "(@pytest_aioloop.fixture(loop_scope=...)), so that the test's loop runs "
            f"{'them' if len(others) > 1 else 'it'} too."
        )
    else:
        lines.append(
            f"Fix: {names} ran in a loop of the test's scope but another loop factory or "
            "collector: a fixture cached across loop factories keeps the loop it was set up "
            "in; give it the test's scope, or make it depend on the test's loop factory."
        )
    return lines


def _names(names: list[str]) -> str:
    quoted = [repr(name) for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _mixed_loops(error: BaseException) -> bool:
    """Whether ``error``, its causes or the errors of a group mean mixed loops."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        # RuntimeError mostly; ValueError from asyncio.ensure_future() and wait_for().
        if isinstance(current, (RuntimeError, ValueError)):
            message = str(current)
            if any(phrase in message for phrase in MIXED_LOOPS):
                return True
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
        todo += getattr(current, "exceptions", ())
    return False


def _test_function_id(item: pytest.Item) -> str:
    """The test function's id, without its parameters: "test_api.py::test_query"."""
    name = item.originalname if isinstance(item, pytest.Function) else item.name
    return f"{item.nodeid.rpartition('::')[0]}::{name}" if "::" in item.nodeid else item.nodeid


# -- --asyncio-show-loops -----------------------------------------------------

#: Indents of pytest's --setup-show, by scope: session 0 ... function 8.
_INDENT = {
    LoopScope.SESSION: 0,
    LoopScope.PACKAGE: 2,
    LoopScope.MODULE: 4,
    LoopScope.CLASS: 6,
    LoopScope.FUNCTION: 8,
}


def _node_scope(node: Node) -> LoopScope:
    if isinstance(node, pytest.Session):
        return LoopScope.SESSION
    if isinstance(node, pytest.Item):
        return LoopScope.FUNCTION
    if isinstance(node, pytest.Class):
        return LoopScope.CLASS
    if isinstance(node, pytest.Module):
        return LoopScope.MODULE
    return LoopScope.PACKAGE


class ShowLoops:
    """``--asyncio-show-loops``: a line for each loop opened or closed, and what ran in which.

    Registered as a plugin, and as the loops' observer, only with the option.
    """

    def __init__(
        self,
        config: pytest.Config,
        log: LoopLog,
        runner_of: Callable[[pytest.Function, AsyncTest], LoopRunner],
    ) -> None:
        self._config = config
        self._log = log
        #: the runner of a test's loop, opened if it is not open yet.
        self._runner_of = runner_of

    # The loops' observer (see Loops).
    def opened(self, runner: LoopRunner, node: Node) -> None:
        self._line(_INDENT[_node_scope(node)], f"OPEN     {runner.name}")

    def closed(self, runner: LoopRunner, node: Node) -> None:
        self._line(_INDENT[_node_scope(node)], f"CLOSE    {runner.name}")

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, object, object]:
        try:
            return (yield)
        finally:
            ran = self._log.fixtures.get(fixturedef)
            if ran is not None:
                self._fixture("SETUP   ", fixturedef, ran)

    def pytest_fixture_post_finalizer(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> None:
        ran = self._log.fixtures.get(fixturedef)
        if ran is not None and fixturedef.cached_result is not None:
            self._fixture("TEARDOWN", fixturedef, ran)

    @pytest.hookimpl(wrapper=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> Generator[None, object, object]:
        test = pyfuncitem.stash.get(ASYNC_TEST, None)
        if test is not None:
            # Opened now (it would be in a moment): its OPEN line comes before the RUN line.
            runner = self._runner_of(pyfuncitem, test)
            others = [
                f"{name} in the {'same loop' if ran.loop == runner.name else ran.loop}"
                for name, ran in self._log.used_by(pyfuncitem)
            ]
            uses = f" (async fixtures: {', '.join(others)})" if others else ""
            # A space before the test's progress mark, as --setup-show leaves one.
            self._line(8, f"RUN      {pyfuncitem.nodeid} in the {runner.name}{uses} ")
        return (yield)

    def _fixture(self, action: str, fixturedef: pytest.FixtureDef[Any], ran: FixtureLoop) -> None:
        scope = LoopScope(fixturedef.scope)
        letter = fixturedef.scope[0].upper()
        self._line(_INDENT[scope], f"{action} {letter} {fixturedef.argname} in the {ran.loop}")

    def _line(self, indent: int, text: str) -> None:
        with _pytest_compat.capture_suspended(self._config):
            writer = self._config.get_terminal_writer()
            writer.line()
            writer.write(" " * indent + text)
            writer.flush()
