"""These tests run once per loop factory that conftest.py names."""

import asyncio

import pytest


async def test_sleep() -> None:
    await asyncio.sleep(0)


async def test_runs_in_a_loop() -> None:
    assert asyncio.get_running_loop().is_running()


@pytest.mark.asyncio(loop_factories=["asyncio"])
async def test_only_on_the_standard_loop() -> None:
    # loop_factories= picks a subset of the factories, by name.
    assert not asyncio.get_running_loop().get_debug()
