"""Stage 02: the ``event_loop`` fixture owns the loop.

Run with ``pytest stages/02``. The ceremony of stage 01 has moved into the
fixture; a failing test no longer leaks its loop.
"""

import asyncio

import pytest


async def add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


def test_add(event_loop: asyncio.AbstractEventLoop) -> None:
    assert event_loop.run_until_complete(add(1, 2)) == 3


seen: list[asyncio.AbstractEventLoop] = []


@pytest.mark.xfail(reason="fails on purpose: the fixture must still close its loop", strict=True)
def test_fails(event_loop: asyncio.AbstractEventLoop) -> None:
    seen.append(event_loop)
    assert event_loop.run_until_complete(add(1, 1)) == 3


def test_the_failing_test_did_not_leak(event_loop: asyncio.AbstractEventLoop) -> None:
    assert seen[0].is_closed()  # closed by the fixture, not by the test
    assert event_loop is not seen[0]  # and every test gets a fresh loop


@pytest.mark.xfail(
    raises=pytest.fail.Exception,
    reason="a fixture gives us a loop, but pytest still will not await the test",
    strict=True,
)
async def test_await_directly() -> None:
    assert await add(1, 2) == 3
