"""Async tests: which test items are the plugin's, and how one is run.

An item is classified once, at collection (:func:`classify`); the result is
kept in the item's stash, so that running a test costs one dictionary look-up
before the coroutine is handed to its loop.
"""

from __future__ import annotations

import inspect
import unittest
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_aioloop import loops
from pytest_aioloop.config import AsyncioMark, LoopScope
from pytest_aioloop.runner import LoopFactory, LoopRunner
from pytest_aioloop.timeouts import Timeout

#: The name under which a test is parametrized over the loop factories.
FACTORY_ARGNAME = "_aioloop_factory"


@dataclass(frozen=True)
class AsyncTest:
    """What the plugin needs to know to run one async test item."""

    loop_scope: LoopScope
    #: the loop factory the item is parametrized with; None: the default one.
    factory: LoopFactory | None
    #: the fixtures to pass: the names the test function takes.
    argnames: tuple[str, ...]
    #: a ``hypothesis.given`` test, whose examples are the coroutines to run.
    hypothesis: bool
    #: the limit of the test's coroutine (of each example's, for hypothesis); None: none.
    timeout: Timeout | None = None


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
    if item.cls is not None and issubclass(item.cls, unittest.TestCase):
        return None
    function = getattr(item.obj, "__func__", item.obj)
    if inspect.iscoroutinefunction(function):
        return function  # type: ignore[no-any-return]
    inner = getattr(getattr(function, "hypothesis", None), "inner_test", None)
    if inner is not None and inspect.iscoroutinefunction(inner):
        return function  # type: ignore[no-any-return]
    return None


def classify(
    item: pytest.Function,
    mark: AsyncioMark,
    default_scope: LoopScope,
    timeout: Timeout | None = None,
) -> AsyncTest:
    function = item.obj
    callspec = getattr(item, "callspec", None)
    factory = None if callspec is None else callspec.params.get(FACTORY_ARGNAME)
    names = inspect.signature(function).parameters
    return AsyncTest(
        loop_scope=mark.loop_scope or default_scope,
        factory=factory,
        argnames=tuple(name for name in names if name in item.fixturenames),
        hypothesis=not inspect.iscoroutinefunction(getattr(function, "__func__", function)),
        timeout=timeout,
    )


def run_test(item: pytest.Function, test: AsyncTest, runner: LoopRunner) -> None:
    """Call the test function and run the coroutine it returns in ``runner``'s loop."""
    __tracebackhide__ = True
    funcargs = item.funcargs
    kwargs = {name: funcargs[name] for name in test.argnames}
    if not test.hypothesis:
        loops.run(runner, item.obj(**kwargs), "the test", test.timeout)
        return
    # hypothesis.given wraps the async function in a sync one that calls
    # `.hypothesis.inner_test` once per example; Hypothesis documents replacing
    # that attribute as the way to run each example in an event loop.
    handle = item.obj.hypothesis
    inner = handle.inner_test

    def run_example(*args: Any, **kwargs: Any) -> None:
        __tracebackhide__ = True
        loops.run(runner, inner(*args, **kwargs), "the test", test.timeout)

    handle.inner_test = run_example
    try:
        item.obj(**kwargs)
    finally:
        handle.inner_test = inner
