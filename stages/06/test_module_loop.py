"""Stage 06: every test of this module runs in the module's loop.

Run with ``pytest stages/06``. At stages 04 and 05 the module-scoped fixture
below lived in one loop and each test in another: the queue's waiters and the
server's connections belonged to the wrong loop.
"""

import asyncio
from collections.abc import AsyncIterator

import pytest

import pytest_aioloop

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_aioloop.fixture(scope="module", loop_scope="module")
async def queue() -> "asyncio.Queue[int]":
    return asyncio.Queue()


@pytest_aioloop.fixture(scope="module", loop_scope="module")
async def server() -> AsyncIterator[int]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


loops: list[asyncio.AbstractEventLoop] = []


async def test_producer(queue: "asyncio.Queue[int]") -> None:
    loops.append(asyncio.get_running_loop())
    asyncio.get_running_loop().call_later(0.01, queue.put_nowait, 42)


async def test_consumer(queue: "asyncio.Queue[int]") -> None:
    loops.append(asyncio.get_running_loop())
    assert await queue.get() == 42  # put by a callback the previous test scheduled


async def test_one_server_for_the_module(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(b"ping\n")
    assert await reader.readline() == b"ping\n"
    writer.close()
    await writer.wait_closed()
    assert loops == [asyncio.get_running_loop()] * 2


@pytest_aioloop.fixture(loop_scope="module")
async def per_test_value() -> object:
    """Cached for one test, but run in the module's loop: loop_scope is not scope."""
    return asyncio.get_running_loop()


async def test_function_fixture_in_the_module_loop(per_test_value: object) -> None:
    assert per_test_value is asyncio.get_running_loop()
