"""Run every async test once per event loop factory."""

import asyncio
from collections.abc import Callable, Mapping

import pytest


def debug_loop() -> asyncio.AbstractEventLoop:
    """A standard loop in asyncio's debug mode: slow callbacks and leaks get reported."""
    loop = asyncio.new_event_loop()
    loop.set_debug(True)
    return loop


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    # The names become the test ids: test_sleep[asyncio], test_sleep[debug], ...
    factories: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
        "asyncio": asyncio.new_event_loop,
        "debug": debug_loop,
    }
    try:
        import uvloop  # only where it is installed: pip install uvloop
    except ImportError:
        pass
    else:
        factories["uvloop"] = uvloop.new_event_loop
    return factories
