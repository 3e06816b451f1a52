"""pytest-aioloop: run asyncio tests and fixtures with pytest.

A drop-in alternative to pytest-asyncio 1.5: the ``asyncio`` marker, the
``asyncio_mode`` and loop-scope options, and this module's :func:`fixture` and
:func:`is_async_test` work the same way. The plugin itself is
:mod:`pytest_aioloop.plugin`, which pytest loads through the ``pytest11``
entry point ``aioloop``.

:class:`VirtualClock` and :class:`SplitLoopWarning` live in modules that import
asyncio: they are imported at their first use (``pytest_aioloop.VirtualClock``),
so that loading the plugin in a run without async tests imports no asyncio.
"""

from typing import TYPE_CHECKING, Any

from pytest_aioloop.config import LoopScope
from pytest_aioloop.fixtures import fixture
from pytest_aioloop.items import is_async_test
from pytest_aioloop.leaks import LeakWarning

if TYPE_CHECKING:
    from pytest_aioloop.clock import VirtualClock
    from pytest_aioloop.diagnostics import SplitLoopWarning

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

#: The names imported at their first use, and their modules.
_LATER = {"VirtualClock": "pytest_aioloop.clock", "SplitLoopWarning": "pytest_aioloop.diagnostics"}


def __getattr__(name: str) -> Any:
    module = _LATER.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_aioloop' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: the next look-up finds it here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LATER})
