"""Async tests: which test items are the plugin's, and how one is run.

An item is classified once, at collection (:func:`classify`); the result is
kept in the item's stash, so that running a test costs one dictionary look-up
before the coroutine is handed to its loop.
"""

from __future__ import annotations

import inspect
import types
import unittest
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_aioloop import contexts, loops
from pytest_aioloop.config import AsyncioMark, Clock, LoopScope
from pytest_aioloop.leaks import LeakMode, Owner
from pytest_aioloop.runner import LoopFactory, LoopRunner
from pytest_aioloop.timeouts import Timeout

#: The name under which a test is parametrized over the loop factories.
FACTORY_ARGNAME = "_aioloop_factory"


@dataclass(frozen=True)
class AsyncTest:
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
    # item.cls, without the walk up the tree for a test in a module (no class above it).
    cls = None if isinstance(item.parent, pytest.Module) else item.cls
    if cls is not None and issubclass(cls, unittest.TestCase):
        return None
    function = getattr(item.obj, "__func__", item.obj)
    if inspect.iscoroutinefunction(function):
        return function  # type: ignore[no-any-return]
    inner = getattr(getattr(function, "hypothesis", None), "inner_test", None)
    if inner is not None and inspect.iscoroutinefunction(inner):
        return function  # type: ignore[no-any-return]
    return None


class Parameters:
    """The parameter names of test functions, from one signature inspection per function.

    A test function's items (its parametrizations, its loop factories) share
    its signature; a method's items are bound to instances of their own, so
    the cache is keyed by the function under the method, and whether it is bound.
    """

    def __init__(self) -> None:
        self._names: dict[tuple[Callable[..., Any], bool], tuple[str, ...]] = {}

    def of(self, function: Callable[..., Any]) -> tuple[str, ...]:
        """The names of ``function``'s parameters, as ``inspect.signature`` gives them."""
        raw = getattr(function, "__func__", function)
        key = (raw, raw is not function)
        names = self._names.get(key)
        if names is None:
            names = _code_parameters(raw, bound=key[1])
            if names is None:
                names = tuple(inspect.signature(function).parameters)
            self._names[key] = names
        return names


def _code_parameters(function: Callable[..., Any], *, bound: bool) -> tuple[str, ...] | None:
    """``inspect.signature(function).parameters``'s names, read from a plain function's code.

    What ``inspect.signature`` itself reads for a plain function, in the order
    it gives them (positional, ``*args``, keyword-only, ``**kwargs``), without
    building the signature. None where the signature is not the code's: a
    wrapper (``__wrapped__``), a ``__signature__``, anything but a function; and
    a bound method whose first parameter is not a positional one.
    """
    if (
        type(function) is not types.FunctionType
        or hasattr(function, "__wrapped__")
        or hasattr(function, "__signature__")
    ):
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


def async_generator_test(item: pytest.Function) -> bool:
    """Whether ``item`` is an ``async def`` test with a ``yield`` (which no plugin runs)."""
    if item.cls is not None and issubclass(item.cls, unittest.TestCase):
        return False
    return inspect.isasyncgenfunction(getattr(item.obj, "__func__", item.obj))


def classify(
    item: pytest.Function,
    mark: AsyncioMark,
    default_scope: LoopScope,
    timeout: Timeout | None = None,
    default_clock: Clock = Clock.REAL,
    parameters: Parameters | None = None,
    leaks: LeakMode = LeakMode.REPORT,
) -> AsyncTest:
    function = item.obj
    callspec = getattr(item, "callspec", None)
    factory = None if callspec is None else callspec.params.get(FACTORY_ARGNAME)
    names = (parameters or Parameters()).of(function)
    fixturenames = item.fixturenames
    return AsyncTest(
        loop_scope=mark.loop_scope or default_scope,
        loop_scope_given=mark.loop_scope is not None,
        factory=factory,
        argnames=tuple(name for name in names if name in fixturenames),
        hypothesis=not inspect.iscoroutinefunction(getattr(function, "__func__", function)),
        timeout=timeout,
        clock=mark.clock or default_clock,
        leaks=leaks,
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
