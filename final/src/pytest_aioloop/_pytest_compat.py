"""The only place that touches pytest's private API, and why.

pytest calls ``pytest_fixture_setup`` to run a fixture and takes the first
non-None result; a plugin that runs a fixture itself (here: an async fixture in
its event loop) must do what pytest's own implementation does around the call:
bind the fixture function to the test class instance, and record the value or
the error as the fixture's cached result so that pytest does not run it again
for every test in its scope. pytest has no public API for either, so both are
borrowed here from ``_pytest.fixtures`` (pytest 8.4 to 9.x), in one place.

``--asyncio-show-loops`` writes to the terminal while a test runs, as pytest's
own ``--setup-show`` does: past the output capture, which only pytest's
capture manager (a plugin object, not public API) can suspend.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _pytest.fixtures import resolve_fixture_function


def fixture_function(fixturedef: pytest.FixtureDef[Any], request: Any) -> Callable[..., Any]:
    """The fixture function, bound to the test class instance when it is a method."""
    return resolve_fixture_function(fixturedef, request)


def cache_value(fixturedef: pytest.FixtureDef[Any], request: Any, value: object) -> None:
    """Record a fixture's value, as pytest's own ``pytest_fixture_setup`` does."""
    fixturedef.cached_result = (value, fixturedef.cache_key(request), None)


def cache_error(fixturedef: pytest.FixtureDef[Any], request: Any, error: BaseException) -> None:
    """Record a fixture's error, so that every test in its scope reports it."""
    if isinstance(error, pytest.skip.Exception):
        # pytest's own rule: a skip raised by a fixture is reported at the test.
        error._use_item_location = True
    fixturedef.cached_result = (None, fixturedef.cache_key(request), (error, error.__traceback__))


def setup_result(value: object) -> object:
    """What ``pytest_fixture_setup`` returns for a fixture the plugin has run.

    The hook is "firstresult": a None result makes pytest call the next
    implementation, its own, which would run the fixture again. pytest reads the
    fixture's value from its cached result, never from this return value, so a
    fixture whose value is None is answered with a stand-in that is not None.
    """
    return _HANDLED if value is None else value


_HANDLED = object()


def closest_fixturedef(item: pytest.Item, name: str) -> pytest.FixtureDef[Any] | None:
    """The definition of fixture ``name`` that ``item`` would get if it asked for it."""
    manager = item.session._fixturemanager
    definitions = manager.getfixturedefs(name, item)
    return definitions[-1] if definitions else None


@contextlib.contextmanager
def capture_suspended(config: pytest.Config) -> Iterator[None]:
    """Write to the terminal past pytest's output capture, as ``--setup-show`` does."""
    capman = config.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        capman.suspend_global_capture()
    try:
        yield
    finally:
        if capman is not None:
            capman.resume_global_capture()
