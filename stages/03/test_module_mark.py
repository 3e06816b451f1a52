"""``pytestmark`` marks every test of a module at once."""

import asyncio

import pytest

pytestmark = pytest.mark.asyncio


async def test_marked_by_the_module() -> None:
    await asyncio.sleep(0)


def test_sync_tests_in_the_module_still_run() -> None:
    assert True
