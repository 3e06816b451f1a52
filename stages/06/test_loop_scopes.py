"""Stage 06: class loops, pending tasks at loop close, and what is refused."""

import asyncio
from typing import ClassVar

import pytest

import pytest_aioloop


@pytest.mark.asyncio(loop_scope="class")
class TestOneLoopForTheClass:
    loops: ClassVar[list[asyncio.AbstractEventLoop]] = []

    async def test_first(self) -> None:
        self.loops.append(asyncio.get_running_loop())

    async def test_second(self) -> None:
        assert self.loops == [asyncio.get_running_loop()]


forever: list["asyncio.Task[None]"] = []


@pytest.mark.asyncio
async def test_leaves_a_task_pending() -> None:
    forever.append(asyncio.create_task(asyncio.sleep(3600)))


def test_the_task_was_cancelled_when_its_loop_closed() -> None:
    assert forever[0].cancelled()


@pytest_aioloop.fixture(scope="module", loop_scope="module")
async def module_future() -> "asyncio.Future[int]":
    return asyncio.get_running_loop().create_future()


@pytest.mark.xfail(
    raises=RuntimeError,
    reason="a test in its own loop cannot await a future of the module's loop",
    strict=True,
)
@pytest.mark.asyncio
async def test_function_loop_with_a_module_loop_future(
    module_future: "asyncio.Future[int]",
) -> None:
    asyncio.get_running_loop().call_soon(module_future.set_result, 1)
    assert await module_future == 1


@pytest_aioloop.fixture(loop_scope="function")
async def function_loop_value() -> int:
    return 1


@pytest.mark.xfail(
    raises=pytest.fail.Exception,
    reason="refused: the fixture's loop is narrower than the test's",
    strict=True,
)
@pytest.mark.asyncio(loop_scope="module")
async def test_narrower_fixture_loop(function_loop_value: int) -> None:
    assert function_loop_value == 1
