"""A loop shared by the tests of one class only."""

import asyncio

import pytest


@pytest.mark.asyncio(loop_scope="class")
class TestSession:
    loop: asyncio.AbstractEventLoop | None = None

    async def test_first(self) -> None:
        TestSession.loop = asyncio.get_running_loop()

    async def test_second(self) -> None:
        assert asyncio.get_running_loop() is TestSession.loop


@pytest.mark.asyncio
async def test_outside_the_class_gets_its_own_loop() -> None:
    assert asyncio.get_running_loop() is not TestSession.loop
