"""Async fixtures: ``pytest_aioloop.fixture``, and how an async fixture is run.

``pytest_aioloop.fixture`` is ``pytest.fixture`` plus one more argument,
``loop_scope``; it records the function as the plugin's to run, so strict mode
knows it from another async plugin's fixture. Each fixture *definition* is
classified once (:func:`classify`); at every set-up of the fixture, the plugin's
``pytest_fixture_setup`` picks its loop scope (:func:`loop_scope_of`, which
refuses a contradiction, naming the fixture and the fix) and runs it in that
loop (:func:`run_fixture`), in the task
that :mod:`pytest_aioloop.contexts` gives it: an async generator fixture's
setup and teardown in one task of their own.

Declaring and classifying fixtures imports no asyncio: :func:`run_fixture`
imports the runtime modules (the loops, the tasks) when it first runs one, so
that a run without async fixtures never loads them (see
:mod:`pytest_aioloop.plugin`, "Start-up").
"""

from __future__ import annotations

import contextvars
import inspect
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, NoReturn, TypeVar, cast, overload

import pytest

from pytest_aioloop import _pytest_compat
from pytest_aioloop.config import InvalidScope, LoopScope

if TYPE_CHECKING:
    from pytest_aioloop.items import AsyncTest
    from pytest_aioloop.leaks import Owner
    from pytest_aioloop.runner import LoopRunner
    from pytest_aioloop.timeouts import Timeout

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

ScopeName = Literal["session", "package", "module", "class", "function"]
Ids = Sequence[object | None] | Callable[[Any], object | None] | None

# The functions made with pytest_aioloop.fixture, with their loop_scope (None: the
# default). Weak keys: a test module's functions come and go with the module.
_DECLARED: weakref.WeakKeyDictionary[Callable[..., Any], LoopScope | None] = (
    weakref.WeakKeyDictionary()
)


@overload
def fixture(
    fixture_function: F,
    *,
    scope: ScopeName | Callable[[str, pytest.Config], ScopeName] = ...,
    loop_scope: ScopeName | None = ...,
    params: Iterable[object] | None = ...,
    autouse: bool = ...,
    ids: Ids = ...,
    name: str | None = ...,
) -> F: ...


@overload
def fixture(
    fixture_function: None = ...,
    *,
    scope: ScopeName | Callable[[str, pytest.Config], ScopeName] = ...,
    loop_scope: ScopeName | None = ...,
    params: Iterable[object] | None = ...,
    autouse: bool = ...,
    ids: Ids = ...,
    name: str | None = ...,
) -> Callable[[F], F]: ...


def fixture(
    fixture_function: F | None = None,
    *,
    scope: ScopeName | Callable[[str, pytest.Config], ScopeName] = "function",
    loop_scope: ScopeName | None = None,
    params: Iterable[object] | None = None,
    autouse: bool = False,
    ids: Ids = None,
    name: str | None = None,
) -> F | Callable[[F], F]:
    """``pytest.fixture`` for async (and sync) fixtures that this plugin runs.

    ``loop_scope`` picks the event loop the fixture runs in (``"function"``,
    ``"class"``, ``"module"``, ``"package"`` or ``"session"``) independently of
    ``scope``, which says how long its value is cached; it defaults to the
    ``asyncio_default_fixture_loop_scope`` option, else to ``scope``. Works bare
    (``@pytest_aioloop.fixture``) or called, on functions and on methods.
    """

    def decorate(function: F) -> F:
        raw = getattr(function, "__func__", function)
        where = f"fixture {name or raw.__name__!r}"
        try:
            parsed = (
                None if loop_scope is None else LoopScope.parse(loop_scope, "loop_scope", where)
            )
        except InvalidScope as error:
            # Raised while the test module is imported: pytest reports the message
            # as that module's collection error, without a traceback (and without
            # the InvalidScope it replaces).
            raise pytest.fail.Exception(str(error), pytrace=False) from None
        _DECLARED[raw] = parsed
        made = pytest.fixture(
            function, scope=scope, params=params, autouse=autouse, ids=ids, name=name
        )
        # Typed as the function it decorates, as pytest-asyncio types its fixture().
        return cast(F, made)

    if fixture_function is not None:
        return decorate(fixture_function)
    return decorate


class AsyncFixture(NamedTuple):
    """What the plugin needs to know of one async fixture definition."""

    #: an ``async def`` with a ``yield`` (setup, then teardown) rather than a ``return``.
    generator: bool
    #: made with ``pytest_aioloop.fixture`` (strict mode runs only these).
    declared: bool
    #: the ``loop_scope`` it was declared with; None: the configured default.
    loop_scope: LoopScope | None


def classify(function: Callable[..., Any]) -> AsyncFixture | None:
    """An async fixture's description; None for a sync fixture (pytest runs those)."""
    raw = getattr(function, "__func__", function)
    generator = inspect.isasyncgenfunction(raw)
    if not generator and not inspect.iscoroutinefunction(raw):
        return None
    return AsyncFixture(generator, raw in _DECLARED, _DECLARED.get(raw))


def run_fixture(
    kind: AsyncFixture,
    fixturedef: pytest.FixtureDef[Any],
    request: pytest.FixtureRequest,
    runner: LoopRunner,
    timeout: Timeout | None = None,
    owner: Owner | None = None,
    variant: _pytest_compat.Variant | None = None,
) -> object:
    """Set up one async fixture in ``runner``'s loop; schedule its teardown there too.

    What pytest's own ``pytest_fixture_setup`` does for a sync fixture, with the
    calls into the fixture function made in the loop: an async generator's
    setup and teardown in one task of its own, a coroutine in a task for that
    one step. What the fixture set in its context is then published to the
    sync context, until its teardown (see :mod:`pytest_aioloop.contexts`).
    ``timeout`` bounds the set-up, and the teardown separately. ``owner`` owns
    the tasks that its set-up and teardown create (see :mod:`pytest_aioloop.leaks`).
    ``variant`` (the loop factory of ``runner``'s loop) is kept with the cached
    value: a test of another variant gets the fixture set up again, in its own loop.
    """
    __tracebackhide__ = True
    from pytest_aioloop import contexts, loops  # (the runtime: see the module's docstring)

    name = fixturedef.argname
    what = f"fixture {name!r}"
    teardown = f"the teardown of fixture {name!r}"
    kwargs = {argname: request.getfixturevalue(argname) for argname in fixturedef.argnames}
    function = _pytest_compat.fixture_function(fixturedef, request)
    try:
        loops.refuse_while_stepping(what)
        if kind.generator:
            generator: AsyncGenerator[Any, None] = function(**kwargs)
            task = contexts.fixture_task(runner, generator, name, owner)
            started = _Started()
            try:
                value, context = loops.run(
                    runner, _first_step(generator, name, started), what, timeout, driver=task
                )
            except BaseException:
                if started.yielded:
                    # It yielded, and then the step failed anyway (charged with the
                    # error of another fixture's task): it is set up, so tear it down.
                    loops.run(
                        runner,
                        _last_step(generator, name),
                        teardown,
                        timeout,
                        driver=task,
                        last=True,
                    )
                else:
                    task.end()
                raise
        else:
            task = contexts.step_task(runner, what, owner)
            value, context = loops.run(
                runner, _with_context(function(**kwargs)), what, timeout, driver=task, last=True
            )
        # Finalizers run last-in, first-out: the reset after the teardown below.
        reset = contexts.publish(context)
        if reset is not None:
            request.addfinalizer(reset)
        if kind.generator:

            def tear_down() -> None:
                __tracebackhide__ = _hidden_unless_message_only
                loops.run(
                    runner,
                    _last_step(generator, name),
                    teardown,
                    timeout,
                    driver=task,
                    last=True,
                )

            request.addfinalizer(tear_down)
    except (Exception, pytest.fail.Exception, pytest.skip.Exception) as error:
        _pytest_compat.cache_error(fixturedef, request, error, variant)
        raise
    _pytest_compat.cache_value(fixturedef, request, value, variant)
    return value


def loop_scope_of(
    kind: AsyncFixture,
    fixturedef: pytest.FixtureDef[Any],
    request: pytest.FixtureRequest,
    default: LoopScope | None,
    item: pytest.Item | None,
    test: AsyncTest | None,
) -> tuple[LoopScope, str]:
    """The loop scope an async fixture runs in, and where it came from (for the diagnostics).

    Its own ``loop_scope``, else ``default`` (``asyncio_default_fixture_loop_scope``),
    else its caching scope. Refused (:func:`refuse`, naming the fixture and the
    fix): a loop that closes before the fixture's cached value is dropped, and a
    ``loop_scope`` asked for explicitly that is narrower than the loop of ``test``
    (the async test it is set up for, ``item``), whose objects would not work there.
    """
    __tracebackhide__ = True
    cache_scope = LoopScope(fixturedef.scope)
    if kind.loop_scope is not None:
        loop_scope, source = kind.loop_scope, "given"
    elif default is not None:
        loop_scope = default
        source = "asyncio_default_fixture_loop_scope"
    else:
        loop_scope, source = cache_scope, "its scope"
    if loop_scope.width < cache_scope.width:
        refuse(
            fixturedef,
            request,
            f"fixture {fixturedef.argname!r} is cached with scope={cache_scope.value!r} but runs "
            f"in a loop_scope={loop_scope.value!r} loop, which closes before its value is dropped: "
            f"give it loop_scope={cache_scope.value!r} or wider.",
        )
    if (
        test is not None
        and kind.loop_scope is not None
        and loop_scope.width < test.loop_scope.width
    ):
        # Asked for explicitly, a loop narrower than the test's is a contradiction:
        # the fixture's objects would belong to another loop than the test's. (A
        # default loop scope keeps pytest-asyncio's behaviour: a loop of its own.)
        assert item is not None
        refuse(
            fixturedef,
            request,
            f"{item.nodeid} runs in a loop_scope={test.loop_scope.value!r} loop, but its fixture "
            f"{fixturedef.argname!r} asks for a narrower loop_scope={loop_scope.value!r} loop, "
            "whose objects would not work in the test's loop: give the fixture "
            f"loop_scope={test.loop_scope.value!r}, or the test a narrower loop_scope.",
        )
    return loop_scope, source


def refuse(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest, message: str
) -> NoReturn:
    """Fail a fixture's set-up for a misuse, as pytest's own set-up fails: on the record.

    pytest tears a fixture down, and forgets the finalizers of its set-up, only
    once the set-up has left a result. A set-up that raises without one leaves
    the next test that asks for the fixture with pytest's internal ``assert not
    self._finalizers`` instead of this message: so the error is recorded as the
    fixture's result, and every test in its scope reports it.
    """
    __tracebackhide__ = True
    try:
        pytest.fail(message, pytrace=False)
    except pytest.fail.Exception as error:
        _pytest_compat.cache_error(fixturedef, request, error)
        raise


def _hidden_unless_message_only(excinfo: pytest.ExceptionInfo[BaseException]) -> bool:
    """``__tracebackhide__`` of a teardown: hidden, unless the error is a message alone.

    pytest shows a ``pytest.fail(..., pytrace=False)`` as its message only, but
    when every frame of its traceback is hidden it adds "All traceback entries
    are hidden. Pass `--full-trace` ..." below it. A misuse found in a teardown
    (a fixture that yields twice, a loop stopped in it, a timeout) is raised in
    the plugin's frames alone: this frame stays, so the message comes alone. A
    user's own teardown error keeps its traceback, without this frame.
    (pytest calls a callable ``__tracebackhide__`` with the exception's info.)
    """
    error = excinfo.value
    return not (isinstance(error, pytest.fail.Exception) and not error.pytrace)


class _Started:
    """Whether an async generator fixture has reached its ``yield``."""

    __slots__ = ("yielded",)

    def __init__(self) -> None:
        self.yielded = False


# __tracebackhide__: these frames are the plugin's, left out of a timeout's report.


async def _with_context(awaitable: Awaitable[T]) -> tuple[T, contextvars.Context]:
    __tracebackhide__ = True
    value = await awaitable
    return value, contextvars.copy_context()


async def _first_step(
    generator: AsyncGenerator[T, None], name: str, started: _Started
) -> tuple[T, contextvars.Context]:
    __tracebackhide__ = True
    try:
        value = await generator.__anext__()
    except StopAsyncIteration:
        pass
    else:
        started.yielded = True
        return value, contextvars.copy_context()
    # Failed outside the except: no "During handling of ..." chain.
    pytest.fail(
        f"async fixture {name!r} returned without yielding a value: an async generator "
        "fixture must yield exactly once (its value), then run its teardown.",
        pytrace=False,
    )


async def _last_step(generator: AsyncGenerator[Any, None], name: str) -> None:
    __tracebackhide__ = True
    try:
        await generator.__anext__()
    except StopAsyncIteration:
        return
    await generator.aclose()
    pytest.fail(f"async fixture {name!r} yielded more than once: yield only once.", pytrace=False)
