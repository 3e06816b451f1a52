# Workshop exercise 03: generated from stages/03/pytest_aioloop/plugin.py
# by tests/workshop/exercises.py (`python tests/workshop/exercises.py reset 03`).
# The parts that stage 03 adds are cut out: write each TODO, then check
# your work with `pytest --exercise 03`. Stuck? Add --hint: it gives the
# next hint on the failing scenario, one per run.
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


def pytest_configure(config: pytest.Config) -> None:
    # TODO(exercise 03): register the `asyncio` marker, so that --strict-markers accepts
    # it and `pytest --markers` says what it does.
    pass


@pytest.fixture
def event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh event loop for one test, closed when the test ends."""
    loop = asyncio.new_event_loop()
    yield loop
    # pytest resumes a generator fixture after its test, passed or failed: the
    # exception of a failing test is never thrown into the fixture, so this line
    # always runs and no loop is leaked.
    loop.close()


def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a marked ``async def`` test in a fresh loop; leave the rest to pytest."""
    # TODO(exercise 03): pytest calls each test function through this hook. Take over
    # the `async def` tests marked `asyncio`: run each to its end in a new event loop,
    # closed whatever happens, and tell pytest that the test has been called. Leave
    # every other test to pytest, and warn about a sync test that carries the marker
    # itself.
    return None


def _own_arguments(item: pytest.Function) -> dict[str, object]:
    # TODO(exercise 03): the arguments to call the test function with: the values of the
    # fixtures it takes, by name (the test may have more fixtures than the function
    # takes).
    raise NotImplementedError("exercise 03: _own_arguments")
