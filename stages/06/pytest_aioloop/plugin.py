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


# --8<-- [start:ex05-addoption]
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
    # --8<-- [end:ex05-addoption]
    # --8<-- [start:ex06-ini-defaults]
    parser.addini(
        "asyncio_default_test_loop_scope",
        f"loop scope of tests without loop_scope: one of {', '.join(SCOPES)}",
        default="function",
    )
    parser.addini(
        "asyncio_default_fixture_loop_scope",
        "loop scope of async fixtures without loop_scope; unset: the fixture's own scope",
        default="",
    )
    # --8<-- [end:ex06-ini-defaults]


# --8<-- [start:ex03-marker]
def pytest_configure(config: pytest.Config) -> None:
    # A registered marker is listed by `pytest --markers` and accepted by
    # `--strict-markers`; an unregistered one is an error there, a warning elsewhere.
    config.addinivalue_line(
        "markers",
        "asyncio(loop_scope='function'): run this async def test in the event loop of "
        f"that scope, one of {', '.join(SCOPES)}",
    )
    # --8<-- [end:ex03-marker]
    # --8<-- [start:ex05-mode]
    mode = config.getoption("asyncio_mode") or config.getini("asyncio_mode")
    if mode not in MODES:
        # A UsageError stops pytest before collection with this one line.
        raise pytest.UsageError(
            f"asyncio_mode {mode!r} is not a valid mode; use one of {', '.join(MODES)}."
        )
    config.stash[_MODE] = mode
    # --8<-- [end:ex05-mode]
    # --8<-- [start:ex06-check-defaults]
    for name in ("asyncio_default_test_loop_scope", "asyncio_default_fixture_loop_scope"):
        scope = config.getini(name)
        if scope and scope not in SCOPES:
            raise pytest.UsageError(
                f"{name} = {scope} is not a valid loop scope; use one of {', '.join(SCOPES)}."
            )
    # --8<-- [end:ex06-check-defaults]


_OURS = "_pytest_aioloop_fixture"  # set on the functions our decorator has seen
_LOOP_SCOPE = "_pytest_aioloop_loop_scope"  # and the loop scope it was given
F = TypeVar("F", bound=Callable[..., Any])


# --8<-- [start:ex05-fixture]
# --8<-- [start:ex06-fixture-loop-scope]
def fixture(
    fixture_function: F | None = None, *, loop_scope: str | None = None, **kwargs: Any
) -> Any:
    """``pytest.fixture`` that marks an async fixture as one for this plugin.

    Takes the same arguments as ``pytest.fixture`` (scope, params, autouse,
    ids, name) and, like it, works bare (``@fixture``) or called
    (``@fixture(scope="module")``). This is the opt-in of strict mode.
    ``loop_scope`` names the loop the fixture runs in; ``scope`` still says how
    long its value is cached.
    """

    def decorate(function: F) -> Any:
        if loop_scope is not None and loop_scope not in SCOPES:
            raise ValueError(
                f"fixture {function.__name__!r}: loop_scope={loop_scope!r} is not one of "
                f"{', '.join(SCOPES)}."
            )
        setattr(function, _OURS, True)
        setattr(function, _LOOP_SCOPE, loop_scope)
        return pytest.fixture(function, **kwargs)

    return decorate if fixture_function is None else decorate(fixture_function)
    # --8<-- [end:ex06-fixture-loop-scope]
    # --8<-- [end:ex05-fixture]


# --8<-- [start:ex05-auto-marks]
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
    # --8<-- [end:ex05-auto-marks]


_TEST = pytest.StashKey[pytest.Item]()


# --8<-- [start:ex06-runtest-setup]
# pytest_runtest_setup is called for each test before its fixtures are set up.
# A fixture's request shows the node the fixture is cached on, not the test
# that needs it; the loop-scope checks below need that test.
@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.config.stash[_TEST] = item
    # --8<-- [end:ex06-runtest-setup]


# --8<-- [start:ex06-test-loop-scope]
def _test_loop_scope(item: pytest.Function) -> str:
    """The loop scope of a marked test, from its marker or the ini default."""
    marker = item.get_closest_marker("asyncio")
    assert marker is not None
    if marker.args or set(marker.kwargs) - {"loop_scope"}:
        given = [repr(arg) for arg in marker.args]
        given += [f"{key}={value!r}" for key, value in marker.kwargs.items()]
        pytest.fail(
            f"{item.nodeid}: @pytest.mark.asyncio({', '.join(given)}): the marker takes "
            'one keyword argument, loop_scope, as in @pytest.mark.asyncio(loop_scope="module").',
            pytrace=False,
        )
    scope = marker.kwargs.get("loop_scope") or item.config.getini("asyncio_default_test_loop_scope")
    if scope not in SCOPES:
        pytest.fail(
            f"{item.nodeid}: loop_scope={scope!r} is not one of {', '.join(SCOPES)}.",
            pytrace=False,
        )
    return str(scope)
    # --8<-- [end:ex06-test-loop-scope]


# --8<-- [start:ex06-node-for]
def _node_for(node: pytest.Item | pytest.Collector, scope: str) -> pytest.Item | pytest.Collector:
    """The node that owns the loop of ``scope``, seen from ``node`` (a test or a collector)."""
    if scope == "function":
        return node
    if scope == "class":
        # As for pytest's class-scoped fixtures: outside a class, the test itself.
        return node.getparent(pytest.Class) or node
    if scope == "module":
        return node.getparent(pytest.Module) or node.session
    if scope == "package":
        # As for pytest's package-scoped fixtures: outside a package, the session.
        return node.getparent(pytest.Package) or node.session
    return node.session
    # --8<-- [end:ex06-node-for]


_LOOP = pytest.StashKey[asyncio.AbstractEventLoop]()


# --8<-- [start:ex04-loop-of]
def _loop_of(node: pytest.Item | pytest.Collector) -> asyncio.AbstractEventLoop:
    """The event loop of ``node``: made at its first use, closed when the node is torn down."""
    loop = node.stash.get(_LOOP, None)
    if loop is None:
        loop = node.stash[_LOOP] = asyncio.new_event_loop()

        def close() -> None:
            del node.stash[_LOOP]  # a node set up again later gets a new loop
            # --8<-- [start:ex06-close]
            try:
                _cancel_pending_tasks(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()
            # --8<-- [end:ex06-close]

        # A node's finalizers run last in, first out. Every fixture that uses
        # this loop registers its own teardown after this line has run, so all
        # of them are finished while the loop is still open.
        node.addfinalizer(close)
    return loop
    # --8<-- [end:ex04-loop-of]


# --8<-- [start:ex06-cancel-pending]
def _cancel_pending_tasks(loop: asyncio.AbstractEventLoop) -> None:
    # What asyncio.run() does before it closes its loop: a task left pending by
    # a test is cancelled and awaited, so its `finally` blocks run now, in
    # their own loop, rather than never ("Task was destroyed but it is pending").
    tasks = asyncio.all_tasks(loop)
    if not tasks:
        return  # gather() of nothing would make a future in some other loop
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler(
                {
                    "message": "unhandled exception in a task cancelled at loop close",
                    "exception": task.exception(),
                    "task": task,
                }
            )
    # --8<-- [end:ex06-cancel-pending]


# --8<-- [start:ex04-fixture-setup]
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
    # --8<-- [start:ex05-strict-fixtures]
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
        # --8<-- [end:ex05-strict-fixtures]
    # --8<-- [start:ex06-fixture-loop-scope-choice]
    loop_scope = (
        getattr(function, _LOOP_SCOPE, None)
        or request.config.getini("asyncio_default_fixture_loop_scope")
        or fixturedef.scope
    )
    # --8<-- [end:ex06-fixture-loop-scope-choice]
    # The fixture's own arguments are fixtures too, sync or async: pytest has
    # set them up already (FixtureDef.execute does that before calling this hook).
    kwargs = {name: request.getfixturevalue(name) for name in fixturedef.argnames}
    try:
        # --8<-- [start:ex06-fixture-loop]
        _check_loop_scope(fixturedef, loop_scope, request.config.stash.get(_TEST, None))
        # request.node is the node the fixture is cached on: the test for a
        # function-scoped fixture, the module for a module-scoped one. The loop
        # scope is as wide or wider (checked above), so its node is that one or
        # an ancestor, and outlives the fixture's value.
        loop = _loop_of(_node_for(request.node, loop_scope))
        # --8<-- [end:ex06-fixture-loop]
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


# --8<-- [start:ex06-check-loop-scope]
def _check_loop_scope(
    fixturedef: pytest.FixtureDef[Any], loop_scope: str, test: pytest.Item | None
) -> None:
    name = fixturedef.argname
    if SCOPES.index(loop_scope) < SCOPES.index(fixturedef.scope):
        pytest.fail(
            f"fixture {name!r} has scope={fixturedef.scope!r} but loop_scope={loop_scope!r}: "
            f"its value would outlive its loop. Give it loop_scope={fixturedef.scope!r} "
            "or wider.",
            pytrace=False,
        )
    if (
        isinstance(test, pytest.Function)
        and test.get_closest_marker("asyncio") is not None
        and inspect.iscoroutinefunction(test.obj)
    ):
        test_scope = _test_loop_scope(test)
        if SCOPES.index(loop_scope) < SCOPES.index(test_scope):
            pytest.fail(
                f"{test.nodeid} runs in the {test_scope} loop, but its fixture {name!r} "
                f"runs in a narrower {loop_scope} loop, so its values belong to another "
                f"loop. Give the fixture loop_scope={test_scope!r} (or set "
                "asyncio_default_fixture_loop_scope), or the test a narrower loop_scope.",
                pytrace=False,
            )
    # --8<-- [end:ex06-check-loop-scope]


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
    # --8<-- [start:ex06-scope-loop]
    loop = _loop_of(_node_for(pyfuncitem, _test_loop_scope(pyfuncitem)))
    coroutine = test_function(**_own_arguments(pyfuncitem))
    # --8<-- [start:ex04-test-loop]
    # The loop of the test's scope; it stays open for the teardown of the
    # fixtures that use it and is closed when its node is torn down.
    loop.run_until_complete(coroutine)
    # --8<-- [end:ex04-test-loop]
    # --8<-- [end:ex06-scope-loop]
    return True  # we called the test: pytest must not call it again
    # --8<-- [end:ex03-pyfunc-call]


# --8<-- [start:ex03-own-arguments]
def _own_arguments(item: pytest.Function) -> dict[str, object]:
    # item.funcargs holds the value of every fixture the test uses, including
    # autouse fixtures it does not name; the function takes only its own.
    parameters = inspect.signature(item.obj).parameters
    return {name: item.funcargs[name] for name in parameters if name in item.funcargs}
    # --8<-- [end:ex03-own-arguments]
