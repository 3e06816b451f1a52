"""pytest-aioloop: run asyncio tests and fixtures with pytest.

A drop-in alternative to pytest-asyncio 1.5: the ``asyncio`` marker, the
``asyncio_mode`` and loop-scope options, and this module's :func:`fixture` and
:func:`is_async_test` work the same way. The plugin itself is
:mod:`pytest_aioloop.plugin`, which pytest loads through the ``pytest11``
entry point ``aioloop``.
"""

from pytest_aioloop.clock import VirtualClock
from pytest_aioloop.config import LoopScope
from pytest_aioloop.diagnostics import SplitLoopWarning
from pytest_aioloop.fixtures import fixture
from pytest_aioloop.items import is_async_test
from pytest_aioloop.leaks import LeakWarning

__version__ = "1.0.0"

__all__ = [
    "LeakWarning",
    "LoopScope",
    "SplitLoopWarning",
    "VirtualClock",
    "__version__",
    "fixture",
    "is_async_test",
]
