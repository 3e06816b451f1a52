# Workshop exercise 02: generated from stages/02/pytest_aioloop/plugin.py
# by tests/workshop/exercises.py (`python tests/workshop/exercises.py reset 02`).
# The parts that stage 02 adds are cut out: write each TODO, then check
# your work with `pytest --exercise 02`. Stuck? Add --hint: it gives the
# next hint on the failing scenario, one per run.
"""Stage 02: a loop fixture.

Stage 01 repeated the same three lines in every test (create a loop, run the
coroutine, close the loop) and leaked the loop whenever the test failed before
its own ``loop.close()``. A fixture does both jobs once: pytest sets it up
before the test that names it and finishes it afterwards, whatever the test's
outcome. Tests still drive their coroutines with ``run_until_complete``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest


def event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh event loop for one test, closed when the test ends."""
    # TODO(exercise 02): make this a fixture that gives each test that asks for it a new
    # event loop of its own, and closes that loop once the test is over, whether it
    # passed or failed.
    raise NotImplementedError("exercise 02: event_loop")
