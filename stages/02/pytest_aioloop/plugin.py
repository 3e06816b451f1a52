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
