"""Fails: the test runs in a loop of its own, the connection belongs to the module's loop."""

import asyncio

import pytest


@pytest.mark.asyncio
async def test_ping(connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
    reader, writer = connection
    writer.write(b"ping\n")
    assert await reader.readline() == b"ping\n"
