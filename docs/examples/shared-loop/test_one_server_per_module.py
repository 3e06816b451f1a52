"""One server for the whole module, and every test of the module in its loop."""

import asyncio
from collections.abc import AsyncIterator

import pytest

import pytest_aioloop

# Every test of this module runs in the module's loop...
pytestmark = pytest.mark.asyncio(loop_scope="module")


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(await reader.readline())
    await writer.drain()
    writer.close()


# ...and so does this fixture: its server belongs to that same loop.
@pytest_aioloop.fixture(scope="module", loop_scope="module")
async def server() -> AsyncIterator[int]:
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def ask(port: int, line: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(line)
    answer = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return answer


async def test_first_client(server: int) -> None:
    assert await ask(server, b"hello\n") == b"hello\n"


async def test_second_client_same_server(server: int) -> None:
    assert await ask(server, b"again\n") == b"again\n"


loops: list[asyncio.AbstractEventLoop] = []


async def test_records_the_loop() -> None:
    loops.append(asyncio.get_running_loop())


async def test_same_loop_as_the_previous_test() -> None:
    assert asyncio.get_running_loop() is loops[0]
