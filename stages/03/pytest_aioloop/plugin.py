"""Stage 03: hooks that collect and run ``async def`` tests.

Stage 02 gave every test a loop, but a test still could not ``await``: pytest
calls a test function and, when the result is a coroutine, fails the test with
"async def functions are not natively supported". Two hooks change that:

* ``pytest_configure`` registers the ``asyncio`` marker, the opt-in that says
  "this coroutine is a test for me to run";
* ``pytest_pyfunc_call`` runs a marked coroutine to completion in a fresh event
  loop, instead of letting pytest call it and fail.

Collection needs no hook of ours: pytest (8.4 and later) already collects an
``async def test_*`` as an ordinary test function, with its parametrize, skip,
xfail and class handling; it only refuses to *call* it.
"""

from __future__ import annotations

import asyncio
import inspect
import warnings
from collections.abc import Iterator

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


# --8<-- [start:ex03-pyfunc-call]
# pytest_pyfunc_call is a "firstresult" hook: pytest calls its implementations
# one by one until one returns something other than None, and that one has
# called the test. tryfirst puts ours ahead of pytest's own, which would fail
# an async def test.
@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a marked ``async def`` test in a fresh loop; leave the rest to pytest."""
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
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(coroutine)
    finally:
        # The same promise as the fixture's: the loop is closed, pass or fail.
        loop.close()
    return True  # we called the test: pytest must not call it again
    # --8<-- [end:ex03-pyfunc-call]


# --8<-- [start:ex03-own-arguments]
def _own_arguments(item: pytest.Function) -> dict[str, object]:
    # item.funcargs holds the value of every fixture the test uses, including
    # autouse fixtures it does not name; the function takes only its own.
    parameters = inspect.signature(item.obj).parameters
    return {name: item.funcargs[name] for name in parameters if name in item.funcargs}
    # --8<-- [end:ex03-own-arguments]
