# Workshop exercise 04: generated from stages/04/pytest_aioloop/plugin.py
# by tests/workshop/exercises.py (`python tests/workshop/exercises.py reset 04`).
# The parts that stage 04 adds are cut out: write each TODO, then check
# your work with `pytest --exercise 04`. Stuck? Add --hint: it gives the
# next hint on the failing scenario, one per run.
"""Stage 04: async fixtures, in the same loop as the test.

Stage 03 ran a marked ``async def`` test in a loop that lived only as long as
the call. An async fixture needs more: pytest sets fixtures up *before* the
test and tears them down *after* it, and a fixture's value (a connection, a
client, a task) belongs to the loop that made it. So the loop now outlives the
call:

* a node's loop is kept in the node's ``stash``, created when something first
  needs it and closed by a finalizer of that node, which pytest runs when it
  tears the node down;
* ``pytest_fixture_setup`` runs an ``async def`` fixture (or the setup half of
  an async generator fixture) in the loop of the node the fixture is cached on;
  the teardown half becomes a finalizer of the fixture;
* ``pytest_pyfunc_call`` runs the test in the test's loop, the one its
  function-scoped fixtures used.

A sync test may request an async fixture too: the fixture runs in a loop of
that test's own.
"""

from __future__ import annotations

import asyncio
import inspect
import warnings
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # A registered marker is listed by `pytest --markers` and accepted by
    # `--strict-markers`; an unregistered one is an error there, a warning elsewhere.
    config.addinivalue_line(
        "markers", "asyncio: run this async def test to completion in an event loop"
    )


@pytest.fixture
def event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh event loop for one test, closed when the test ends."""
    loop = asyncio.new_event_loop()
    yield loop
    # pytest resumes a generator fixture after its test, passed or failed: the
    # exception of a failing test is never thrown into the fixture, so this line
    # always runs and no loop is leaked.
    loop.close()


_LOOP = pytest.StashKey[asyncio.AbstractEventLoop]()


def _loop_of(node: pytest.Item | pytest.Collector) -> asyncio.AbstractEventLoop:
    """The event loop of ``node``: made at its first use, closed when the node is torn down."""
    # TODO(exercise 04): the event loop of this node (a test, a module...): made when
    # something first needs it, and closed when pytest tears the node down, so that it
    # lives exactly as long as the node.
    raise NotImplementedError("exercise 04: _loop_of")


def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
    """Set up an async fixture in the loop of the node it is cached on."""
    # TODO(exercise 04): pytest sets each fixture up through this hook, and refuses
    # async ones itself. Take over the async fixtures (coroutine and async generator
    # functions): run each in the loop of the node it is cached on, with its own
    # arguments, record its value or its error where pytest looks for it, and for an
    # async generator, leave the part after its `yield` for the fixture's teardown.
    # Leave sync fixtures to pytest.
    return None


def _bound_to_the_test_instance(
    function: Callable[..., Any], request: pytest.FixtureRequest
) -> Callable[..., Any]:
    # A fixture written in a test class is a method; like pytest, call it on the
    # instance the test runs on, so that `self` is the test's `self`.
    instance = request.instance
    if (
        instance is not None
        and inspect.ismethod(function)
        and isinstance(instance, type(function.__self__))
    ):
        return function.__func__.__get__(instance)  # type: ignore[no-any-return]
    return function


def _tear_down(loop: asyncio.AbstractEventLoop, generator: AsyncGenerator[Any], name: str) -> None:
    """Run an async generator fixture from its ``yield`` to its end."""
    # TODO(exercise 04): run the async generator fixture from its `yield` to its end in
    # `loop`; a fixture that yields a second time is an error that names it.
    raise NotImplementedError("exercise 04: _tear_down")


def _cache(
    fixturedef: pytest.FixtureDef[Any],
    request: pytest.FixtureRequest,
    value: Any,
    error: BaseException | None,
) -> None:
    # No public API records a fixture's value: pytest's own pytest_fixture_setup
    # writes it to FixtureDef.cached_result, where request.getfixturevalue() and
    # the cache of a wider-scoped fixture read it, and where FixtureDef.finish()
    # looks before it runs the fixture's finalizers. This is the one line in the
    # plugin that touches pytest's internals; it mirrors what pytest does.
    key = fixturedef.cache_key(request)  # type: ignore[arg-type]
    if error is None:
        fixturedef.cached_result = (value, key, None)
    else:
        fixturedef.cached_result = (None, key, (error, error.__traceback__))


# pytest_pyfunc_call is a "firstresult" hook: pytest calls its implementations
# one by one until one returns something other than None, and that one has
# called the test. tryfirst puts ours ahead of pytest's own, which would fail
# an async def test.
@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a marked ``async def`` test in the test's loop; leave the rest to pytest."""
    if pyfuncitem.get_closest_marker("asyncio") is None:
        return None  # not ours: pytest itself fails an unmarked async def test
    test_function = pyfuncitem.obj
    if not inspect.iscoroutinefunction(test_function):
        # A module's or class's `pytestmark` marks its sync tests too, and those
        # are fine. A marker on the function itself is a mistake worth a warning.
        if any(mark.name == "asyncio" for mark in pyfuncitem.own_markers):
            warnings.warn(
                pytest.PytestWarning(
                    f"{pyfuncitem.nodeid} is marked asyncio but is not an async def "
                    "function; the marker does nothing here: remove it, or make "
                    "the test async def."
                ),
                stacklevel=1,
            )
        return None  # pytest calls the sync test as usual
    coroutine = test_function(**_own_arguments(pyfuncitem))
    # TODO(exercise 04): run the test in its own node's loop, the one its
    # function-scoped async fixtures use, instead of a loop of its own: that loop stays
    # open for their teardown.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(coroutine)
    finally:
        # The same promise as the fixture's: the loop is closed, pass or fail.
        loop.close()
    return True  # we called the test: pytest must not call it again


def _own_arguments(item: pytest.Function) -> dict[str, object]:
    # item.funcargs holds the value of every fixture the test uses, including
    # autouse fixtures it does not name; the function takes only its own.
    parameters = inspect.signature(item.obj).parameters
    return {name: item.funcargs[name] for name in parameters if name in item.funcargs}
