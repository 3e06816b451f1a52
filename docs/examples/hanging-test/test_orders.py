"""An order queue whose first test hangs: its producer waits for a signal nobody sends."""

import asyncio

import pytest


async def produce(orders: asyncio.Queue[str], opened: asyncio.Event) -> None:
    await opened.wait()  # the bug: nothing ever opens the shop
    await orders.put("order-1")


async def next_order(orders: asyncio.Queue[str]) -> str:
    return await orders.get()


async def test_the_first_order_arrives() -> None:
    orders: asyncio.Queue[str] = asyncio.Queue()
    opened = asyncio.Event()
    producer = asyncio.create_task(produce(orders, opened), name="producer")
    assert await next_order(orders) == "order-1"
    await producer


@pytest.mark.asyncio(timeout=5)
async def test_a_slow_test_gets_a_longer_limit() -> None:
    await asyncio.sleep(0.7)  # over asyncio_timeout, well within its own timeout=5


async def test_the_next_test_runs_as_usual() -> None:
    await asyncio.sleep(0)
