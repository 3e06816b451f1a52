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


# --8<-- [start:ex03-marker]
def pytest_configure(config: pytest.Config) -> None:
    # A registered marker is listed by `pytest --markers` and accepted by
    # `--strict-markers`; an unregistered one is an error there, a warning elsewhere.
    config.addinivalue_line(
        "markers", "asyncio: run this async def test to completion in an event loop"
    )
    # --8<-- [end:ex03-marker]


# --8<-- [start:ex02-event-loop]
@pytest.fixture
def event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh event loop for one test, closed when the test ends."""
    loop = asyncio.new_event_loop()
    yield loop
    # pytest resumes a generator fixture after its test, passed or failed: the
    # exception of a failing test is never thrown into the fixture, so this line
    # always runs and no loop is leaked.
    loop.close()
    # --8<-- [end:ex02-event-loop]


_LOOP = pytest.StashKey[asyncio.AbstractEventLoop]()


# --8<-- [start:ex04-loop-of]
def _loop_of(node: pytest.Item | pytest.Collector) -> asyncio.AbstractEventLoop:
    """The event loop of ``node``: made at its first use, closed when the node is torn down."""
    loop = node.stash.get(_LOOP, None)
    if loop is None:
        loop = node.stash[_LOOP] = asyncio.new_event_loop()

        def close() -> None:
            del node.stash[_LOOP]  # a node set up again later gets a new loop
            loop.close()

        # A node's finalizers run last in, first out. Every fixture that uses
        # this loop registers its own teardown after this line has run, so all
        # of them are finished while the loop is still open.
        node.addfinalizer(close)
    return loop
    # --8<-- [end:ex04-loop-of]


# --8<-- [start:ex04-fixture-setup]
# pytest_fixture_setup is a "firstresult" hook: pytest calls its implementations
# until one returns something other than None. pytest's own implementation
# refuses async fixtures ("requested an async fixture ... with no plugin or hook
# that handled it"); tryfirst puts ours ahead of it.
@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
    """Set up an async fixture in the loop of the node it is cached on."""
    function = _bound_to_the_test_instance(fixturedef.func, request)
    if not (inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)):
        return None  # a sync fixture: pytest's own implementation runs it
    # The node whose lifetime is the fixture's: the test for a function-scoped
    # fixture, the module for a module-scoped one, and so on.
    loop = _loop_of(request.node)
    # The fixture's own arguments are fixtures too, sync or async: pytest has
    # set them up already (FixtureDef.execute does that before calling this hook).
    kwargs = {name: request.getfixturevalue(name) for name in fixturedef.argnames}
    try:
        if inspect.isasyncgenfunction(function):
            generator = function(**kwargs)
            value = loop.run_until_complete(anext(generator))
            # A fixture's finalizers run when pytest finishes the fixture, after
            # the last test that uses it, whether that test passed or failed.
            request.addfinalizer(lambda: _tear_down(loop, generator, fixturedef.argname))
        else:
            value = loop.run_until_complete(function(**kwargs))
    except (Exception, pytest.skip.Exception, pytest.fail.Exception) as error:
        _cache(fixturedef, request, None, error)
        raise
    _cache(fixturedef, request, value, None)
    # A None here would hand the fixture on to pytest's own implementation,
    # which refuses it; pytest takes the value from the cache, so any
    # non-None answer will do when the fixture's value is None.
    return value if value is not None else True
    # --8<-- [end:ex04-fixture-setup]


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


# --8<-- [start:ex04-tear-down]
def _tear_down(loop: asyncio.AbstractEventLoop, generator: AsyncGenerator[Any], name: str) -> None:
    """Run an async generator fixture from its ``yield`` to its end."""
    try:
        loop.run_until_complete(anext(generator))
    except StopAsyncIteration:
        return
    pytest.fail(f"async fixture {name!r} has more than one 'yield'", pytrace=False)
    # --8<-- [end:ex04-tear-down]


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


# --8<-- [start:ex03-pyfunc-call]
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
    # --8<-- [start:ex04-test-loop]
    # The same loop as the test's function-scoped async fixtures; it stays open
    # for their teardown and is closed when the test is torn down, pass or fail.
    _loop_of(pyfuncitem).run_until_complete(coroutine)
    # --8<-- [end:ex04-test-loop]
    return True  # we called the test: pytest must not call it again
    # --8<-- [end:ex03-pyfunc-call]


# --8<-- [start:ex03-own-arguments]
def _own_arguments(item: pytest.Function) -> dict[str, object]:
    # item.funcargs holds the value of every fixture the test uses, including
    # autouse fixtures it does not name; the function takes only its own.
    parameters = inspect.signature(item.obj).parameters
    return {name: item.funcargs[name] for name in parameters if name in item.funcargs}
    # --8<-- [end:ex03-own-arguments]
