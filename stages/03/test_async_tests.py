"""Stage 03: ``async def`` tests, marked ``asyncio``, run by the plugin's hooks.

Run with ``pytest stages/03``.
"""

import asyncio

import pytest


async def add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


@pytest.mark.asyncio
async def test_add() -> None:
    assert await add(1, 2) == 3


@pytest.mark.asyncio
async def test_tasks_run_concurrently() -> None:
    results = await asyncio.gather(add(1, 1), add(2, 2), add(3, 3))
    assert results == [2, 4, 6]


@pytest.mark.asyncio
@pytest.mark.parametrize(("a", "b", "total"), [(1, 2, 3), (-1, 1, 0)])
async def test_parametrized(a: int, b: int, total: int) -> None:
    assert await add(a, b) == total


@pytest.mark.asyncio
class TestMarkedClass:
    """A marker on the class marks every test method in it."""

    async def test_method(self) -> None:
        assert await add(2, 3) == 5

    def test_sync_method_is_left_alone(self) -> None:
        assert 2 + 3 == 5


@pytest.mark.asyncio
@pytest.mark.skip(reason="skip works on async tests as on any other")
async def test_skipped() -> None:
    raise AssertionError("never runs")


@pytest.mark.asyncio
@pytest.mark.xfail(reason="an async test may fail as expected too", strict=True)
async def test_expected_failure() -> None:
    assert await add(1, 1) == 3


@pytest.mark.xfail(
    raises=pytest.fail.Exception,
    reason="no marker, so the plugin leaves it to pytest, which refuses it",
    strict=True,
)
async def test_forgot_the_marker() -> None:
    assert await add(1, 2) == 3


@pytest.mark.filterwarnings("error::pytest.PytestWarning")
@pytest.mark.xfail(raises=pytest.PytestWarning, reason="marker on a sync test", strict=True)
@pytest.mark.asyncio
def test_marker_on_a_sync_test() -> None:
    assert True
