"""Async fixtures that clean up after the test, whatever its outcome."""

import asyncio
from collections.abc import AsyncIterator

import pytest

import pytest_aioloop

log: list[str] = []


class Connection:
    def __init__(self) -> None:
        self.open = True

    async def close(self) -> None:
        await asyncio.sleep(0)
        self.open = False


@pytest_aioloop.fixture
async def connection() -> AsyncIterator[Connection]:
    connection = Connection()  # setup: everything before the yield
    log.append("opened")
    yield connection  # the test runs here
    await connection.close()  # teardown: after the test, in the same loop
    log.append("closed")


@pytest_aioloop.fixture
async def worker() -> AsyncIterator[asyncio.Task[None]]:
    # A background task started by a fixture: cancel it in the teardown, and
    # wait for it, so that it is really gone before the loop closes.
    task = asyncio.create_task(asyncio.sleep(3600))
    yield task
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.asyncio
async def test_uses_the_connection(connection: Connection) -> None:
    assert connection.open


@pytest.mark.asyncio
@pytest.mark.xfail(reason="fails on purpose: the teardown still runs", strict=True)
async def test_fails(connection: Connection) -> None:
    raise AssertionError("boom")


def test_every_connection_was_closed() -> None:
    assert log == ["opened", "closed", "opened", "closed"]


@pytest.mark.asyncio
async def test_background_task(worker: asyncio.Task[None]) -> None:
    assert not worker.done()
