"""The hook this plugin adds to pytest, under the name pytest-asyncio gave it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_aioloop.runner import LoopFactory


@pytest.hookspec(firstresult=True)
def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, LoopFactory] | None:
    """Name the event loop factories that the async test ``item`` runs with.

    Return a non-empty mapping of names to callables that make a new event loop
    (``{"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}``):
    the test is parametrized over them, with the names as test ids, and
    ``@pytest.mark.asyncio(loop_factories=[...])`` picks a subset. The first
    implementation that returns something other than None wins. Without any
    implementation, every loop comes from :func:`asyncio.new_event_loop`.
    """
