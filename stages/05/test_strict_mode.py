"""Stage 05: strict mode, the default, with ``pytest_aioloop.fixture``.

Run with ``pytest stages/05`` (strict), or ``pytest stages/05 --asyncio-mode=auto``
to see the two strict xfails below turn into failures: auto mode runs them.
"""

import asyncio
from collections.abc import AsyncIterator

import pytest

import pytest_aioloop


@pytest_aioloop.fixture
async def answer() -> int:
    await asyncio.sleep(0)
    return 42


@pytest.mark.asyncio
async def test_decorated_fixture(answer: int) -> None:
    assert answer == 42


events: list[str] = []


@pytest_aioloop.fixture(scope="module", name="connection")
async def open_connection() -> AsyncIterator[str]:
    """The decorator takes pytest.fixture's arguments: here a scope and a name."""
    events.append("open")
    yield "connection"
    events.append("close")


@pytest.mark.asyncio
async def test_named_module_fixture(connection: str) -> None:
    assert connection == "connection"


@pytest.mark.asyncio
async def test_set_up_once_per_module(connection: str) -> None:
    assert events == ["open"]


@pytest_aioloop.fixture(params=[1, 2], ids=["one", "two"])
async def number(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.mark.asyncio
async def test_parametrized(number: int) -> None:
    assert number in (1, 2)


def test_sync_test_with_a_decorated_fixture(answer: int) -> None:
    assert answer == 42


@pytest.fixture
async def undecorated() -> int:
    return 1


@pytest.mark.xfail(
    reason="strict mode runs only fixtures decorated with pytest_aioloop.fixture", strict=True
)
@pytest.mark.asyncio
async def test_undecorated_fixture(undecorated: int) -> None:
    assert undecorated == 1


@pytest.mark.xfail(
    reason="strict mode runs only marked tests; auto mode would mark this one", strict=True
)
async def test_unmarked() -> None:
    await asyncio.sleep(0)
