"""Stage 01: every test drives its coroutine by hand.

Run with ``pytest stages/01``. The two xfail tests are the lesson: they show
what goes wrong without a plugin, and they must keep going wrong.
"""

import asyncio
import gc

import pytest


async def add(a: int, b: int) -> int:
    """The code under test: a coroutine, as in any asyncio application."""
    await asyncio.sleep(0)
    return a + b


def test_add_by_hand() -> None:
    # Three lines of ceremony around the one line that matters.
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(add(1, 2)) == 3
    finally:
        loop.close()


def test_add_with_asyncio_run() -> None:
    # asyncio.run() hides the ceremony, but every call builds and closes a new
    # loop, and a fixture can never share that loop with the test.
    assert asyncio.run(add(2, 2)) == 4


leaked: list[asyncio.AbstractEventLoop] = []


@pytest.mark.xfail(reason="fails before its own loop.close(): the loop leaks", strict=True)
def test_forgets_to_close_when_it_fails() -> None:
    loop = asyncio.new_event_loop()
    leaked.append(loop)
    assert loop.run_until_complete(add(1, 1)) == 3  # fails here...
    loop.close()  # ...so this line never runs


def test_the_loop_above_was_leaked() -> None:
    assert leaked
    assert not leaked[0].is_closed()
    leaked.pop().close()  # tidy up by hand: nobody else will
    gc.collect()


@pytest.mark.xfail(
    raises=pytest.fail.Exception,
    reason="pytest refuses to call an async def test without a plugin",
    strict=True,
)
async def test_await_directly() -> None:
    assert await add(1, 2) == 3
