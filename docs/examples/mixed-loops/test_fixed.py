"""The fix the report gives: the module's tests run in the module's loop, with the connection."""

import asyncio

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_ping(connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
    reader, writer = connection
    writer.write(b"ping\n")
    assert await reader.readline() == b"ping\n"


async def test_ping_again(connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
    reader, writer = connection
    writer.write(b"ping again\n")
    assert await reader.readline() == b"ping again\n"
