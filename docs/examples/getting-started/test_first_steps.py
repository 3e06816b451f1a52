"""A first async test suite, in auto mode (see pyproject.toml beside this file)."""

import asyncio

import pytest


async def fetch(key: str) -> str:
    """The code under test: any coroutine of your application."""
    await asyncio.sleep(0)
    return key.upper()


@pytest.fixture
async def cache() -> dict[str, str]:
    # In auto mode an async fixture needs no special decorator.
    return {"a": await fetch("a")}


async def test_fetch() -> None:
    assert await fetch("x") == "X"


async def test_with_a_fixture(cache: dict[str, str]) -> None:
    assert cache == {"a": "A"}


async def test_concurrently() -> None:
    assert await asyncio.gather(fetch("a"), fetch("b")) == ["A", "B"]
