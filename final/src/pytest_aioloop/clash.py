"""pytest-asyncio in the same run: one usage error that names both plugins and the fix.

Both plugins would run every async test, and both declare the
``pytest_asyncio_loop_factories`` hook. pluggy refuses a hook declared twice:
the second plugin's ``pytest_addoption`` dies with a ``ValueError`` traceback,
before anything else could look. So the check runs first thing in this
plugin's ``pytest_addoption``, before it declares the hook
(:func:`refuse_pytest_asyncio`), and covers the two orders pytest may load the
plugins in:

* **pytest-asyncio came first** (``-p asyncio``, or before this plugin in the
  order pytest walks the installed distributions): its plugin is registered;
* **it comes next**: pytest is loading the ``pytest11`` entry points one after
  the other (autoload is on) and the ``pytest-asyncio`` distribution has one
  that is not blocked (``-p no:asyncio``); or the command line names it with
  ``-p``.

A ``pytest_asyncio`` plugin loaded some other way (a conftest's
``pytest_plugins``) is caught once every plugin is in, at ``pytest_configure``
(:func:`check_configured`). In a run without pytest-asyncio installed, the
check costs one ``importlib.util.find_spec()``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util

import pytest

from pytest_aioloop import _pytest_compat

MESSAGE = (
    "pytest-aioloop and pytest-asyncio are both active in this run, and both would "
    "run your async tests: uninstall one of them (pip uninstall pytest-asyncio), "
    "or turn pytest-asyncio off for this run with -p no:asyncio."
)

#: The names pytest-asyncio's plugin is known by: its entry point, its modules.
NAMES = ("asyncio", "pytest_asyncio.plugin", "pytest_asyncio")


def refuse_pytest_asyncio(pluginmanager: pytest.PytestPluginManager) -> None:
    """Raise the usage error if pytest-asyncio is loaded, or about to be, in this run."""
    if any(pluginmanager.has_plugin(name) for name in NAMES) or _coming(pluginmanager):
        raise pytest.UsageError(MESSAGE)


def check_configured(config: pytest.Config) -> None:
    """The same check once every plugin is in (for one loaded by other means)."""
    if any(config.pluginmanager.has_plugin(name) for name in NAMES):
        raise pytest.UsageError(MESSAGE)


def _coming(pluginmanager: pytest.PytestPluginManager) -> bool:
    if pluginmanager.is_blocked("asyncio"):
        return False
    requested = _pytest_compat.requested_plugins(pluginmanager)
    if any(name in NAMES for name in requested.plugins):
        return True
    if not requested.autoload or importlib.util.find_spec("pytest_asyncio") is None:
        return False
    try:
        distribution = importlib.metadata.distribution("pytest-asyncio")
    except importlib.metadata.PackageNotFoundError:
        return False  # a pytest_asyncio module that is not an installed plugin
    return any(
        entry.group == "pytest11" and entry.name == "asyncio" for entry in distribution.entry_points
    )
