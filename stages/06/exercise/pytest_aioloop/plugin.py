# Workshop exercise 06: generated from stages/06/pytest_aioloop/plugin.py
# by tests/workshop/exercises.py (`python tests/workshop/exercises.py reset 06`).
# The parts that stage 06 adds are cut out: write each TODO, then check
# your work with `pytest --exercise 06`. Stuck? Add --hint: it gives the
# next hint on the failing scenario, one per run.
"""Stage 06: a loop per scope.

Until stage 05 a test's loop was the test's own, and a fixture's was that of
the node it is cached on. A module-scoped fixture thus lived in the module's
loop while the tests that used it ran in loops of their own: a future, a lock
or a connection made by the fixture failed in the test with "attached to a
different loop". Now every collector (function, class, module, package,
session) can own a loop, and both sides say which one they run in:

* a test: ``@pytest.mark.asyncio(loop_scope="module")``, also through
  ``pytestmark``; by default ``asyncio_default_test_loop_scope`` (function);
* a fixture: ``@pytest_aioloop.fixture(loop_scope="module")``, independent of
  its caching ``scope``; by default ``asyncio_default_fixture_loop_scope`` or,
  when that is unset, the fixture's own scope.

A loop is still kept in its node's stash and closed by that node's finalizer,
but first the tasks still pending in it are cancelled and its async generators
are shut down, as ``asyncio.run`` does. The ``event_loop`` fixture of stage 02
is gone, as in pytest-asyncio 1.x: loops belong to scopes, not to a fixture.
"""

from __future__ import annotations

import asyncio
import inspect
import warnings
from collections.abc import AsyncGenerator, Callable
from typing import Any, TypeVar

import pytest

MODES = ("strict", "auto")
SCOPES = ("function", "class", "module", "package", "session")  # narrow to wide
_MODE = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    # Called once, before the command line is parsed: the one place to declare
    # options and ini keys. Both are listed by `pytest --help`.
    parser.addini(
        "asyncio_mode",
        "strict: run only marked tests and pytest_aioloop fixtures; auto: every async one",
        default="strict",
    )
    parser.addoption(
        "--asyncio-mode",
        dest="asyncio_mode",
        default=None,  # None: not given, so the ini option decides
        metavar="MODE",
        help=f"asyncio mode, one of {', '.join(MODES)}; overrides the asyncio_mode ini option",
    )
    # TODO(exercise 06): declare two more ini options: `asyncio_default_test_loop_scope`
    # (function by default) and `asyncio_default_fixture_loop_scope` (unset by default:
    # then the fixture's own scope decides).


def pytest_configure(config: pytest.Config) -> None:
    # A registered marker is listed by `pytest --markers` and accepted by
    # `--strict-markers`; an unregistered one is an error there, a warning elsewhere.
    config.addinivalue_line(
        "markers",
        "asyncio(loop_scope='function'): run this async def test in the event loop of "
        f"that scope, one of {', '.join(SCOPES)}",
    )
    mode = config.getoption("asyncio_mode") or config.getini("asyncio_mode")
    if mode not in MODES:
        # A UsageError stops pytest before collection with this one line.
        raise pytest.UsageError(
            f"asyncio_mode {mode!r} is not a valid mode; use one of {', '.join(MODES)}."
        )
    config.stash[_MODE] = mode
    # TODO(exercise 06): stop the run with a usage error when either default loop scope
    # is not one of SCOPES, naming the option, its value and the allowed scopes.


_OURS = "_pytest_aioloop_fixture"  # set on the functions our decorator has seen
_LOOP_SCOPE = "_pytest_aioloop_loop_scope"  # and the loop scope it was given
F = TypeVar("F", bound=Callable[..., Any])


# TODO(exercise 06): accept a keyword-only `loop_scope`: the loop the fixture runs in,
# whatever its caching scope. Refuse (ValueError naming the fixture) a scope not in
# SCOPES, and keep it where pytest_fixture_setup can find it.
def fixture(fixture_function: F | None = None, **kwargs: Any) -> Any:
    """``pytest.fixture`` that marks an async fixture as one for this plugin.

    Takes the same arguments as ``pytest.fixture`` (scope, params, autouse,
    ids, name) and, like it, works bare (``@fixture``) or called
    (``@fixture(scope="module")``). This is the opt-in of strict mode.
    """

    def decorate(function: F) -> Any:
        setattr(function, _OURS, True)
        return pytest.fixture(function, **kwargs)

    return decorate if fixture_function is None else decorate(fixture_function)


# pytest_collection_modifyitems runs once every test is collected and may change
# the items in place. tryfirst puts ours ahead of pytest's own implementation,
# which deselects by `-m` and `-k`: `-m asyncio` then sees the marks we add.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In auto mode, mark every ``async def`` test ``asyncio``."""
    if config.stash[_MODE] != "auto":
        return
    for item in items:
        if (
            isinstance(item, pytest.Function)
            and inspect.iscoroutinefunction(item.obj)
            and item.get_closest_marker("asyncio") is None
        ):
            item.add_marker(pytest.mark.asyncio)


_TEST = pytest.StashKey[pytest.Item]()


def pytest_runtest_setup(item: pytest.Item) -> None:
    # TODO(exercise 06): remember the test being set up: a fixture's request shows the
    # node the fixture is cached on, not the test that needs it, and the loop-scope
    # checks need the test.
    pass


def _test_loop_scope(item: pytest.Function) -> str:
    """The loop scope of a marked test, from its marker or the ini default."""
    # TODO(exercise 06): the test's loop scope: the `loop_scope` of its asyncio marker,
    # else the asyncio_default_test_loop_scope ini option. Fail the test, naming it,
    # when the marker has other arguments or the scope is not one of SCOPES.
    raise NotImplementedError("exercise 06: _test_loop_scope")


def _node_for(node: pytest.Item | pytest.Collector, scope: str) -> pytest.Item | pytest.Collector:
    """The node that owns the loop of ``scope``, seen from ``node`` (a test or a collector)."""
    # TODO(exercise 06): the node that owns the loop of `scope`, seen from `node`: the
    # test, its class, module or package, or the session, with the fallbacks of pytest's
    # own fixtures where there is no such node.
    raise NotImplementedError("exercise 06: _node_for")


_LOOP = pytest.StashKey[asyncio.AbstractEventLoop]()


def _loop_of(node: pytest.Item | pytest.Collector) -> asyncio.AbstractEventLoop:
    """The event loop of ``node``: made at its first use, closed when the node is torn down."""
    loop = node.stash.get(_LOOP, None)
    if loop is None:
        loop = node.stash[_LOOP] = asyncio.new_event_loop()

        def close() -> None:
            del node.stash[_LOOP]  # a node set up again later gets a new loop
            # TODO(exercise 06): before closing the loop, do what asyncio.run() does
            # with what is left in it: pending tasks, async generators, the default
            # executor; close the loop even if that fails.
            loop.close()

        # A node's finalizers run last in, first out. Every fixture that uses
        # this loop registers its own teardown after this line has run, so all
        # of them are finished while the loop is still open.
        node.addfinalizer(close)
    return loop


def _cancel_pending_tasks(loop: asyncio.AbstractEventLoop) -> None:
    # TODO(exercise 06): cancel the tasks still pending in `loop`, let them finish
    # (their `finally` blocks run), and report any exception other than the cancellation
    # to the loop's exception handler.
    raise NotImplementedError("exercise 06: _cancel_pending_tasks")


# pytest_fixture_setup is a "firstresult" hook: pytest calls its implementations
# until one returns something other than None. pytest's own implementation
# refuses async fixtures ("requested an async fixture ... with no plugin or hook
# that handled it"); tryfirst puts ours ahead of it.
@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
    """Set up an async fixture in the loop of its loop scope."""
    function = _bound_to_the_test_instance(fixturedef.func, request)
    if not (inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)):
        return None  # a sync fixture: pytest's own implementation runs it
    if request.config.stash[_MODE] == "strict" and not getattr(function, _OURS, False):
        # Not ours in strict mode: another plugin may run it, and if none does,
        # pytest fails the test. An asyncio test that requests it most likely
        # forgot the decorator, and pytest's error would not say how to fix it.
        if request.node.get_closest_marker("asyncio") is not None:
            warnings.warn(
                pytest.PytestWarning(
                    f"{request.node.nodeid} requested the async fixture "
                    f"{fixturedef.argname!r}, which strict mode does not run: decorate it "
                    "with @pytest_aioloop.fixture instead of @pytest.fixture, or set "
                    "asyncio_mode = auto."
                ),
                stacklevel=1,
            )
        return None
    # TODO(exercise 06): choose the fixture's loop scope instead: the one its decorator
    # kept, else the asyncio_default_fixture_loop_scope ini option, else the fixture's
    # own scope.
    # The node whose lifetime is the fixture's: the test for a function-scoped
    # fixture, the module for a module-scoped one, and so on.
    loop = _loop_of(request.node)
    # The fixture's own arguments are fixtures too, sync or async: pytest has
    # set them up already (FixtureDef.execute does that before calling this hook).
    kwargs = {name: request.getfixturevalue(name) for name in fixturedef.argnames}
    try:
        # TODO(exercise 06): check that the fixture's loop scope fits
        # (_check_loop_scope, with the test being set up), then run it in the loop of
        # that scope.
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


def _check_loop_scope(
    fixturedef: pytest.FixtureDef[Any], loop_scope: str, test: pytest.Item | None
) -> None:
    # TODO(exercise 06): fail when the fixture's loop scope is narrower than its caching
    # scope (its value would outlive its loop), or than the loop scope of the marked
    # async test that needs it; each message names the fixture, the test where there is
    # one, both scopes, and the fix.
    raise NotImplementedError("exercise 06: _check_loop_scope")


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
    """Run a marked ``async def`` test in the loop of its scope; leave the rest to pytest."""
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
    # TODO(exercise 06): run the test in the loop of its loop scope instead of the
    # test's own; get that loop before the coroutine is created, so that a bad
    # loop_scope fails the test without leaving a coroutine never awaited.
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
