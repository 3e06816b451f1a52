"""Which loop a test or fixture runs in: one :class:`LoopRunner` per collector and factory.

Loops belong to pytest's collectors, the same tree that gives fixtures their
scopes: a function-scoped loop to the test item, a module-scoped loop to the
``Module``, and so on up to the ``Session``. A runner is opened the first time a
test or fixture needs it, and closed by a finalizer on its collector, which
pytest calls when that collector's last test has been torn down
(``Node.addfinalizer``). Finalizers run last-in, first-out: the runner's is
registered before the fixtures that run in it register theirs (pytest adds a
fixture's finalizer after ``pytest_fixture_setup`` returns), so every async
teardown has run by the time its loop is closed.

A loop's clock (:mod:`pytest_aioloop.clock`) is chosen when it is opened, by
the test it is opened for, and applied right after the factory makes it.

Each loop has a short name that says whose it is (:func:`loop_name`): the
"module loop of test_api.py", the "function loop of test_api.py::test_login".
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol, TypeVar

import pytest

from pytest_aioloop import clock as clocks
from pytest_aioloop import runner as runner_module
from pytest_aioloop.config import Clock, LoopScope
from pytest_aioloop.runner import Driver, LoopFactory, LoopRunner, StepError
from pytest_aioloop.timeouts import Timeout
from pytest_aioloop.watchdog import Watchdog

T = TypeVar("T")

#: pytest's collection tree is made of these (pytest does not export their base class).
Node = pytest.Item | pytest.Collector


def scope_node(node: Node, scope: LoopScope) -> Node:
    """The collector that a loop of ``scope`` belongs to, seen from ``node``.

    Where the scope has no collector (a test outside any class, a module outside
    any package) pytest's own fallback for fixture scopes applies: the test
    itself for ``class``, the session for ``package``.
    """
    if scope is LoopScope.FUNCTION:
        return node
    if scope is LoopScope.CLASS:
        return node.getparent(pytest.Class) or node
    if scope is LoopScope.MODULE:
        return node.getparent(pytest.Module) or node
    if scope is LoopScope.PACKAGE:
        return node.getparent(pytest.Package) or node.session
    return node.session


def fixture_loop_node(cached_in: Node, item: pytest.Item | None, scope: LoopScope) -> Node:
    """The collector whose loop an async fixture of loop scope ``scope`` runs in.

    ``cached_in`` is that collector as seen from the fixture's own node, where
    pytest caches it. Package loops are the exception: pytest caches a
    package-scoped fixture in the package of the conftest that defines it, or in
    the session when no package does (a root ``conftest.py``), while a test's
    package loop is its own package's. The fixture runs in the loop of the test's
    package, then, and the caller has it dropped when that loop ends.
    """
    if scope is LoopScope.PACKAGE and item is not None:
        return scope_node(item, scope)
    return cached_in


def loop_name(node: Node, factory_name: str | None = None) -> str:
    """The short name of ``node``'s loop: "module loop of test_api.py", "session loop".

    ``factory_name`` (a name that ``pytest_asyncio_loop_factories`` gave the
    loop factory) is added in parentheses.
    """
    if isinstance(node, pytest.Session):
        name = "session loop"
    else:
        kind = (
            "function"
            if isinstance(node, pytest.Item)
            else "class"
            if isinstance(node, pytest.Class)
            else "module"
            if isinstance(node, pytest.Module)
            else "package"
        )
        name = f"{kind} loop of {node.nodeid or node.name}"
    return f"{name} ({factory_name})" if factory_name else name


class LoopObserver(Protocol):
    """What is told when a loop opens and closes (``--asyncio-show-loops``)."""

    def opened(self, runner: LoopRunner, node: Node) -> None: ...

    def closed(self, runner: LoopRunner, node: Node) -> None: ...


class Loops:
    """The open runners, by (collector, loop factory)."""

    def __init__(
        self, *, debug: bool, watchdog: Watchdog, factory_names: Mapping[LoopFactory, str]
    ) -> None:
        self._debug = debug
        #: the run's real-time alarms, shared by every loop (one thread for all).
        self._watchdog = watchdog
        #: the names of the loop factories, for the loops' names.
        self._factory_names = factory_names
        self._open: dict[tuple[Node, LoopFactory], LoopRunner] = {}
        self.observer: LoopObserver | None = None
        #: called with each runner as its loop opens (pytest_aioloop.tracker tracks its tasks).
        self.track: Callable[[LoopRunner], None] | None = None

    def runner(self, node: Node, factory: LoopFactory, clock: Clock = Clock.REAL) -> LoopRunner:
        """The runner of ``node``'s loop, opened now with ``clock`` if it is not open yet."""
        key = (node, factory)
        runner = self._open.get(key)
        if runner is None:
            name = loop_name(node, self._factory_names.get(factory))
            runner = LoopRunner(factory, debug=self._debug, watchdog=self._watchdog, name=name)
            try:
                clocks.apply(runner.loop, clock)
                if self.track is not None:
                    self.track(runner)
            except BaseException:
                runner.close()
                raise
            self._open[key] = runner
            # Only a node in the current chain of set-up nodes takes finalizers; the
            # callers ask for a loop while setting up or calling a test below it.
            node.addfinalizer(functools.partial(self._close, key))
            if self.observer is not None:
                self.observer.opened(runner, node)
        return runner

    def find(self, node: Node, factory: LoopFactory) -> LoopRunner | None:
        """The runner of ``node``'s loop if it is open; None if it is not (never opens one)."""
        return self._open.get((node, factory))

    def _close(self, key: tuple[Node, LoopFactory]) -> None:
        runner = self._open.pop(key)
        if runner.loop.is_closed():
            warnings.warn(
                RuntimeWarning(
                    f"the {runner.name} was closed before its scope ended (by the code under "
                    "test, a sync fixture's teardown for one), so the tasks and async "
                    "generators left in it were not cleaned up: leave closing the loop to "
                    "the plugin."
                ),
                stacklevel=1,
            )
        try:
            runner.close()
        finally:
            if self.observer is not None:
                self.observer.closed(runner, key[0])

    def close_all(self) -> None:
        """Close what is still open at the end of the session (after an interrupt)."""
        while self._open:
            key = next(reversed(self._open))
            self._close(key)


def refuse_while_stepping(what: str) -> None:
    """Fail ``what`` (a fixture about to be set up) if a step runs now, with the reason alone."""
    __tracebackhide__ = True
    try:
        runner_module.refuse_while_stepping(what)
    except StepError as error:
        raise pytest.fail.Exception(str(error), pytrace=False) from None


def run(
    runner: LoopRunner,
    coroutine: Coroutine[Any, Any, T],
    what: str,
    timeout: Timeout | None = None,
    *,
    driver: Driver | None = None,
    last: bool = False,
) -> T:
    """``runner.run()``, with what the code under test did wrong reported as a misuse.

    A :class:`~pytest_aioloop.runner.StepError` (a stopped or lost loop, a
    timeout with its report) fails the test or fixture with its message alone:
    no traceback of the plugin's.
    """
    __tracebackhide__ = True
    try:
        return runner.run(coroutine, what, timeout, driver=driver, last=last)
    except StepError as error:
        raise pytest.fail.Exception(str(error), pytrace=False) from None
