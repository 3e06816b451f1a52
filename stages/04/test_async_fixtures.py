"""Stage 04: ``async def`` fixtures and async generator fixtures.

Run with ``pytest stages/04``. At stage 03 every test here that uses an async
fixture failed: pytest refuses an async fixture that no plugin handles.
"""

import asyncio
from collections.abc import AsyncIterator

import pytest

events: list[str] = []


@pytest.fixture
async def answer() -> int:
    await asyncio.sleep(0)
    return 42


@pytest.fixture
async def resource() -> AsyncIterator[str]:
    events.append("open")
    await asyncio.sleep(0)
    yield "resource"
    # The teardown half runs after the test, in the same loop, pass or fail.
    await asyncio.sleep(0)
    events.append("close")


@pytest.mark.asyncio
async def test_async_fixture(answer: int) -> None:
    assert answer == 42


@pytest.mark.asyncio
async def test_async_generator_fixture(resource: str) -> None:
    assert resource == "resource"
    assert events[-1] == "open"


def test_teardown_ran_after_the_test() -> None:
    assert events[-2:] == ["open", "close"]


@pytest.fixture
async def fixture_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


@pytest.mark.asyncio
async def test_fixture_and_test_share_a_loop(fixture_loop: asyncio.AbstractEventLoop) -> None:
    assert asyncio.get_running_loop() is fixture_loop


@pytest.fixture
def base() -> int:
    return 10


@pytest.fixture
async def total(base: int, answer: int) -> int:
    """An async fixture may request sync and async fixtures alike."""
    await asyncio.sleep(0)
    return base + answer


@pytest.mark.asyncio
async def test_fixture_of_fixtures(total: int) -> None:
    assert total == 52


@pytest.fixture(params=[1, 2, 3])
async def number(request: pytest.FixtureRequest) -> int:
    await asyncio.sleep(0)
    return int(request.param)


@pytest.mark.asyncio
async def test_parametrized_fixture(number: int) -> None:
    assert number in (1, 2, 3)


def test_sync_test_gets_the_value(answer: int) -> None:
    # The fixture ran in a loop of this test's own; the test just gets the value.
    assert answer == 42


@pytest.mark.xfail(reason="fails on purpose: the fixture's teardown must still run", strict=True)
@pytest.mark.asyncio
async def test_fails_with_a_resource(resource: str) -> None:
    raise AssertionError(resource)


def test_teardown_ran_after_the_failure() -> None:
    assert events[-2:] == ["open", "close"]


@pytest.fixture(scope="module")
async def module_future() -> "asyncio.Future[int]":
    # Cached for the module, so it runs in the module's loop, not in a test's.
    return asyncio.get_running_loop().create_future()


@pytest.mark.xfail(
    raises=RuntimeError,
    reason="the module's fixture and the test run in different loops; stage 06 shares one",
    strict=True,
)
@pytest.mark.asyncio
async def test_module_fixture_in_another_loop(module_future: "asyncio.Future[int]") -> None:
    asyncio.get_running_loop().call_soon(module_future.set_result, 1)
    assert await module_future == 1  # "got Future attached to a different loop"
