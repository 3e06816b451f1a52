"""An echo server and one connection to it, set up once for each test module."""

import asyncio
from collections.abc import AsyncIterator

import pytest_aioloop


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while line := await reader.readline():
        writer.write(line)
        await writer.drain()
    writer.close()


# scope="module": one connection for all the tests of a module, so it is made
# in the module's loop (its loop_scope defaults to its scope).
@pytest_aioloop.fixture(scope="module")
async def connection() -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    yield reader, writer
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
