"""An HTTP client held open in ``async with`` for the test, closed after it.

The client talks to a tiny HTTP server that the ``server`` fixture starts in
the same loop, on 127.0.0.1: nothing leaves the machine.
"""

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType

import pytest


class HttpClient:
    """Just enough HTTP/1.0 to show a client that must be closed."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.closed = False

    async def __aenter__(self) -> "HttpClient":
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.closed = True

    async def get(self, path: str) -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.write(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        await writer.drain()
        response = await reader.read()
        writer.close()
        await writer.wait_closed()
        head, _, body = response.partition(b"\r\n\r\n")
        return int(head.split()[1]), body


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request_line = await reader.readline()
    await reader.readuntil(b"\r\n")  # the blank line that ends the headers
    path = request_line.split()[1].decode()
    if path == "/hello":
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nhello")
    else:
        writer.write(b"HTTP/1.0 404 Not Found\r\n\r\n")
    await writer.drain()
    writer.close()
    await writer.wait_closed()


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, int]]:
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    yield host, port
    server.close()
    await server.wait_closed()


clients: list[HttpClient] = []


@pytest.fixture
async def client(server: tuple[str, int]) -> AsyncIterator[HttpClient]:
    async with HttpClient(*server) as client:
        clients.append(client)
        yield client


@pytest.mark.asyncio
async def test_hello(client: HttpClient) -> None:
    assert await client.get("/hello") == (200, b"hello")


@pytest.mark.asyncio
async def test_not_found(client: HttpClient) -> None:
    status, _ = await client.get("/missing")
    assert status == 404


def test_every_client_was_closed() -> None:
    assert len(clients) == 2
    assert all(client.closed for client in clients)
