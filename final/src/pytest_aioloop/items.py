"""Async tests: which test items are the plugin's, and how one is run.

An item is classified once, at collection (:func:`classify`); the result is
kept in the item's stash, so that running a test costs one dictionary look-up
before the coroutine is handed to its loop.

Collection imports no asyncio: this module imports the runtime modules (its
loops, its tasks) in :func:`run_test` only, so that a run without async tests
never loads them (see :mod:`pytest_aioloop.plugin`, "Start-up").
"""

from __future__ import annotations

import inspect
import sys
import types
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, NamedTuple

import pytest

from pytest_aioloop.config import AsyncioMark, Clock, LoopScope
from pytest_aioloop.leaks import LeakMode

if TYPE_CHECKING:
    from pytest_aioloop.leaks import Owner
    from pytest_aioloop.runner import LoopFactory, LoopRunner
    from pytest_aioloop.timeouts import Timeout

#: The name under which a test is parametrized over the loop factories.
FACTORY_ARGNAME = "_aioloop_factory"


class AsyncTest(NamedTuple):
    """What the plugin needs to know to run one async test item."""

    loop_scope: LoopScope
    #: the loop scope comes from the test's marker (else from the default).
    loop_scope_given: bool
    #: the loop factory the item is parametrized with; None: the default one.
    factory: LoopFactory | None
    #: the fixtures to pass: the names the test function takes.
    argnames: tuple[str, ...]
    #: a ``hypothesis.given`` test, whose examples are the coroutines to run.
    hypothesis: bool
    #: the limit of the test's coroutine (of each example's, for hypothesis); None: none.
    timeout: Timeout | None = None
    #: the time its loop keeps.
    clock: Clock = Clock.REAL
    #: what to do with its leaked tasks and background errors.
    leaks: LeakMode = LeakMode.REPORT


ASYNC_TEST = pytest.StashKey[AsyncTest]()


def is_async_test(item: pytest.Item) -> bool:
    """Whether ``item`` is an async test that this plugin runs."""
    return ASYNC_TEST in item.stash


def async_test_function(item: pytest.Item) -> Callable[..., Any] | None:
    """The test's ``async def`` function, or None if the item is not an async test.

    unittest's ``IsolatedAsyncioTestCase`` runs its own coroutines: those are left alone.
    """
    if not isinstance(item, pytest.Function):
        return None
    obj = item.obj
    function = getattr(obj, "__func__", obj)
    kind = _kind(function)
    if kind is not _ASYNC or _in_test_case(item):
        return None
    return function  # type: ignore[no-any-return]


def async_generator_test(item: pytest.Function) -> bool:
    """Whether ``item`` is an ``async def`` test with a ``yield`` (which no plugin runs)."""
    obj = item.obj
    function = getattr(obj, "__func__", obj)
    return _kind(function) is _ASYNC_GENERATOR and not _in_test_case(item)


class Kinds:
    """Whether each test function is async, worked out once for all its items.

    ``pytest_generate_tests`` asks about a function's definition, and
    ``pytest_collection_modifyitems`` about each item made from it: the
    function's kind is kept by the function until :meth:`clear`, at the end of
    collection. Whether its collector is a unittest class is asked each time
    (a look-up in ``sys.modules`` when unittest is not imported). The cache
    makes no object per function: collection keeps a suite's objects alive, and
    each object more brings its garbage collections forward.
    """

    def __init__(self) -> None:
        self._known: dict[Callable[..., Any], str] = {}

    def of(self, item: pytest.Function) -> str:
        """:data:`SYNC`, :data:`ASYNC` (what :func:`async_test_function` finds) or
        :data:`ASYNC_GENERATOR` (:func:`async_generator_test`)."""
        return self._of(item)[1]

    def _of(self, item: pytest.Function) -> tuple[Callable[..., Any], str]:
        obj = item.obj
        function = getattr(obj, "__func__", obj)
        kind = self._known.get(function)
        if kind is None:
            kind = self._known[function] = _kind(function)
        if kind is not _SYNC and _in_test_case(item):
            return function, _SYNC
        return function, kind

    def async_function(self, item: pytest.Function) -> Callable[..., Any] | None:
        """:func:`async_test_function`, once per function and collector."""
        function, kind = self._of(item)
        return function if kind is _ASYNC else None

    def clear(self) -> None:
        self._known.clear()


#: What :meth:`Kinds.of` tells a test function apart by.
SYNC, ASYNC, ASYNC_GENERATOR = "sync", "async", "async generator"
_SYNC, _ASYNC, _ASYNC_GENERATOR = SYNC, ASYNC, ASYNC_GENERATOR
_FLAGS = inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


def _kind(function: Callable[..., Any], *, hypothesis: bool = True) -> str:
    """Whether ``function`` is a coroutine function (or Hypothesis's wrapper of one).

    With ``hypothesis=False``, Hypothesis's (sync) wrapper of one is not async.
    """
    plain = type(function) is types.FunctionType
    if plain and function.__code__.co_flags & _FLAGS:
        # A plain ``async def``: its code says so (what inspect's checks come to).
        return _ASYNC if function.__code__.co_flags & inspect.CO_COROUTINE else _ASYNC_GENERATOR
    if plain and not function.__dict__:
        # A plain ``def`` with no attributes: not marked a coroutine function
        # (inspect.markcoroutinefunction), not Hypothesis's wrapper (pytest has
        # made a test function's __dict__ already: reading it costs nothing).
        return _SYNC
    if inspect.iscoroutinefunction(function):  # a partial, a marked function, ...
        return _ASYNC
    inner = getattr(getattr(function, "hypothesis", None), "inner_test", None)
    if hypothesis and inner is not None and inspect.iscoroutinefunction(inner):
        return _ASYNC
    # (a plain function's code has said it is no async generator)
    if not plain and inspect.isasyncgenfunction(function):
        return _ASYNC_GENERATOR
    return _SYNC


def _in_test_case(item: pytest.Function) -> bool:
    # As pytest's own unittest support does: if unittest is not imported, no
    # class is a TestCase (and the plugin does not import it for every run).
    unittest = sys.modules.get("unittest")
    if unittest is None:
        return False
    # item.cls, without the walk up the tree for a test in a module (no class above it).
    cls = None if isinstance(item.parent, pytest.Module) else item.cls
    return cls is not None and issubclass(cls, unittest.TestCase)


class Parameters:
    """The parameter names of test functions, from one signature inspection per function.

    A test function's items (its parametrizations, its loop factories) share
    its signature; a method's items are bound to instances of their own, so
    the cache is keyed by the function under the method, and whether it is bound.
    """

    def __init__(self) -> None:
        # One dictionary for functions, one for methods: no key object per function.
        self._names: dict[Callable[..., Any], tuple[str, ...]] = {}
        self._bound_names: dict[Callable[..., Any], tuple[str, ...]] = {}

    def of(self, function: Callable[..., Any]) -> tuple[str, ...]:
        """The names of ``function``'s parameters, as ``inspect.signature`` gives them."""
        raw = getattr(function, "__func__", function)
        bound = raw is not function
        known = self._bound_names if bound else self._names
        names = known.get(raw)
        if names is None:
            names = _code_parameters(raw, bound=bound)
            if names is None:
                names = tuple(inspect.signature(function).parameters)
            known[raw] = names
        return names


def _code_parameters(function: Callable[..., Any], *, bound: bool) -> tuple[str, ...] | None:
    """``inspect.signature(function).parameters``'s names, read from a plain function's code.

    What ``inspect.signature`` itself reads for a plain function, in the order
    it gives them (positional, ``*args``, keyword-only, ``**kwargs``), without
    building the signature. None where the signature is not the code's: a
    wrapper (``__wrapped__``), a ``__signature__``, anything but a function; and
    a bound method whose first parameter is not a positional one.
    """
    # (a plain function's attributes are all in its __dict__)
    if type(function) is not types.FunctionType:
        return None
    attributes = function.__dict__
    if "__wrapped__" in attributes or "__signature__" in attributes:
        return None
    code = function.__code__
    count, keyword_only = code.co_argcount, code.co_kwonlyargcount
    names = code.co_varnames
    result = list(names[:count])
    index = count + keyword_only
    if code.co_flags & inspect.CO_VARARGS:
        result.append(names[index])
        index += 1
    result += names[count : count + keyword_only]
    if code.co_flags & inspect.CO_VARKEYWORDS:
        result.append(names[index])
    if bound:
        if count == 0:
            return None  # inspect's own rules for binding *args or keyword-only parameters
        del result[0]
    return tuple(result)


class Descriptions:
    """Each distinct :class:`AsyncTest` made once, and shared by the tests it describes.

    The tests of a suite come in a handful of kinds (the same loop scope,
    factory, fixtures, timeout, clock and leaks mode): each test's stash keeps
    a reference to its kind's one description, so that a run's memory does not
    grow by a description per test.
    """

    def __init__(self) -> None:
        self.parameters = Parameters()
        self._made: dict[tuple[Any, ...], AsyncTest] = {}

    def get(
        self,
        loop_scope: LoopScope,
        loop_scope_given: bool,
        factory: LoopFactory | None,
        argnames: tuple[str, ...],
        hypothesis: bool,
        timeout: Timeout | None,
        clock: Clock,
        leaks: LeakMode,
    ) -> AsyncTest:
        # By identity where equality is not the point (or not defined): the
        # description made first holds the factory and the timeout, so that
        # their identities are not reused while it is kept.
        # (the enums' members by identity too: an enum's hash is a Python call)
        key: tuple[Any, ...] = (id(loop_scope), loop_scope_given, id(factory), argnames)
        key += (hypothesis, id(timeout), id(clock), id(leaks))
        test = self._made.get(key)
        if test is None:
            test = self._made[key] = AsyncTest(
                loop_scope, loop_scope_given, factory, argnames, hypothesis, timeout, clock, leaks
            )
        return test


def classify(
    item: pytest.Function,
    mark: AsyncioMark,
    default_scope: LoopScope,
    timeout: Timeout | None = None,
    default_clock: Clock = Clock.REAL,
    descriptions: Descriptions | None = None,
    leaks: LeakMode = LeakMode.REPORT,
) -> AsyncTest:
    """The description of the async test ``item``, which ``mark`` (its closest marker) runs."""
    descriptions = descriptions or Descriptions()
    function = item.obj
    callspec = getattr(item, "callspec", None)
    factory = None if callspec is None else callspec.params.get(FACTORY_ARGNAME)
    names = descriptions.parameters.of(function)
    if names:
        fixturenames = item.fixturenames
        names = tuple(name for name in names if name in fixturenames)
    return descriptions.get(
        mark.loop_scope or default_scope,
        mark.loop_scope is not None,
        factory,
        names,
        _kind(getattr(function, "__func__", function), hypothesis=False) is not _ASYNC,
        timeout,
        mark.clock or default_clock,
        leaks,
    )


def run_test(
    item: pytest.Function, test: AsyncTest, runner: LoopRunner, owner: Owner | None = None
) -> None:
    """Call the test function and run the coroutine it returns in ``runner``'s loop.

    In a task of its own, from the sync context as it is now: what the test
    sets is dropped with that task (see :mod:`pytest_aioloop.contexts`).
    ``owner`` owns the tasks the test creates (see :mod:`pytest_aioloop.leaks`).
    """
    __tracebackhide__ = True
    from pytest_aioloop import contexts, loops  # (the runtime: see the module's docstring)

    funcargs = item.funcargs
    kwargs = {name: funcargs[name] for name in test.argnames}
    if not test.hypothesis:
        function = item.obj
        if _traced(item, function):
            coroutine = _under_pdb(function.__wrapped__(**kwargs))
        else:
            coroutine = function(**kwargs)
        task = contexts.step_task(runner, item.nodeid, owner)
        loops.run(runner, coroutine, "the test", test.timeout, driver=task, last=True)
        return
    # hypothesis.given wraps the async function in a sync one that calls
    # `.hypothesis.inner_test` once per example; Hypothesis documents replacing
    # that attribute as the way to run each example in an event loop.
    handle = item.obj.hypothesis
    inner = handle.inner_test

    def run_example(*args: Any, **kwargs: Any) -> None:
        __tracebackhide__ = True
        task = contexts.step_task(runner, item.nodeid, owner)
        loops.run(runner, inner(*args, **kwargs), "the test", test.timeout, driver=task, last=True)

    handle.inner_test = run_example
    try:
        item.obj(**kwargs)
    finally:
        handle.inner_test = inner


def _traced(item: pytest.Function, function: Callable[..., Any]) -> bool:
    """Whether pytest's ``--trace`` wrapped the test function (see :func:`_under_pdb`)."""
    return (
        bool(item.config.getoption("trace", False))
        and not inspect.iscoroutinefunction(function)
        and inspect.iscoroutinefunction(getattr(function, "__wrapped__", None))
    )


async def _under_pdb(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """The test's coroutine, with pdb stopped at its first statement: pytest's ``--trace``.

    pytest's ``--trace`` replaces the test function by a sync wrapper that calls
    it under ``pdb.runcall()``; for an ``async def`` that only makes the
    coroutine, so no statement of the test would run under pdb. The wrapped
    function is called instead, and pdb is started here, in the loop, told to
    skip this plugin's frames: its first stop is the test's first statement.
    """
    __tracebackhide__ = True
    pytest.set_trace(skip=["pytest_aioloop.*"])
    return await coroutine
