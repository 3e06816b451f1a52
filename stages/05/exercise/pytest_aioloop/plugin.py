# Workshop exercise 05: generated from stages/05/pytest_aioloop/plugin.py
# by tests/workshop/exercises.py (`python tests/workshop/exercises.py reset 05`).
# The parts that stage 05 adds are cut out: write each TODO, then check
# your work with `pytest --exercise 05`. Stuck? Add --hint: it gives the
# next hint on the failing scenario, one per run.
"""Stage 05: strict and auto modes.

Stage 04 took over every async fixture it met. That is rude to other async
libraries: a trio or anyio fixture is an ``async def`` too, and their plugins
expect to run it themselves. So, like pytest-asyncio, this stage has two modes:

* ``strict`` (the default): only tests marked ``asyncio`` and fixtures
  decorated with ``pytest_aioloop.fixture`` are ours; every other coroutine is
  left to whichever plugin claims it, so several async plugins can coexist;
* ``auto``: asyncio is the only async library in the project, so every
  ``async def`` test is marked ``asyncio`` and every async fixture is ours,
  whatever its decorator.

The mode comes from the ``asyncio_mode`` ini option or the ``--asyncio-mode``
command-line option, which wins. The machinery of stage 04 is unchanged: the
mode only decides what reaches it.
"""

from __future__ import annotations

import asyncio
import inspect
import warnings
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any, TypeVar

import pytest

MODES = ("strict", "auto")
_MODE = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    # TODO(exercise 05): declare the `asyncio_mode` ini option (strict by default) and
    # the `--asyncio-mode` command-line option, which overrides it when given.
    pass


def pytest_configure(config: pytest.Config) -> None:
    # A registered marker is listed by `pytest --markers` and accepted by
    # `--strict-markers`; an unregistered one is an error there, a warning elsewhere.
    config.addinivalue_line(
        "markers", "asyncio: run this async def test to completion in an event loop"
    )
    # TODO(exercise 05): settle the mode (the command line wins over the ini file), stop
    # the run with a usage error that names the allowed MODES when it is not one of
    # them, and keep it for the other hooks.


@pytest.fixture
def event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh event loop for one test, closed when the test ends."""
    loop = asyncio.new_event_loop()
    yield loop
    # pytest resumes a generator fixture after its test, passed or failed: the
    # exception of a failing test is never thrown into the fixture, so this line
    # always runs and no loop is leaked.
    loop.close()


_OURS = "_pytest_aioloop_fixture"  # set on the functions our decorator has seen
F = TypeVar("F", bound=Callable[..., Any])


def fixture(fixture_function: F | None = None, **kwargs: Any) -> Any:
    """``pytest.fixture`` that marks an async fixture as one for this plugin.

    Takes the same arguments as ``pytest.fixture`` (scope, params, autouse,
    ids, name) and, like it, works bare (``@fixture``) or called
    (``@fixture(scope="module")``). This is the opt-in of strict mode.
    """
    # TODO(exercise 05): pytest.fixture, with the same arguments, bare (@fixture) or
    # called (@fixture(scope='module')), that also marks the function as one this plugin
    # runs in strict mode.
    raise NotImplementedError("exercise 05: fixture")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In auto mode, mark every ``async def`` test ``asyncio``."""
    # TODO(exercise 05): in auto mode only, mark `asyncio` every collected `async def`
    # test that has no such marker, early enough for `-m asyncio` to see the marks.
    pass


_LOOP = pytest.StashKey[asyncio.AbstractEventLoop]()


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
    # TODO(exercise 05): in strict mode, leave to pytest (and to other plugins) every
    # async fixture that our decorator did not mark; when a test marked `asyncio`
    # requests one, warn, naming the test, the fixture and the fix.
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
    try:
        loop.run_until_complete(anext(generator))
    except StopAsyncIteration:
        return
    pytest.fail(f"async fixture {name!r} has more than one 'yield'", pytrace=False)


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
    # The same loop as the test's function-scoped async fixtures; it stays open
    # for their teardown and is closed when the test is torn down, pass or fail.
    _loop_of(pyfuncitem).run_until_complete(coroutine)
    return True  # we called the test: pytest must not call it again


def _own_arguments(item: pytest.Function) -> dict[str, object]:
    # item.funcargs holds the value of every fixture the test uses, including
    # autouse fixtures it does not name; the function takes only its own.
    parameters = inspect.signature(item.obj).parameters
    return {name: item.funcargs[name] for name in parameters if name in item.funcargs}
