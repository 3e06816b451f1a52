"""The only place that touches pytest's private API, and why.

pytest calls ``pytest_fixture_setup`` to run a fixture and takes the first
non-None result; a plugin that runs a fixture itself (here: an async fixture in
its event loop) must do what pytest's own implementation does around the call:
bind the fixture function to the test class instance, and record the value or
the error as the fixture's cached result so that pytest does not run it again
for every test in its scope. pytest has no public API for either, so both are
borrowed here from ``_pytest.fixtures`` (pytest 8.4 to 9.x), in one place. An
async fixture's cached key also names the loop variant it belongs to
(:class:`VariantKey`), so that pytest sets it up again for another one; and a
fixture whose loop ends before pytest would drop it is finished with that loop
(``FixtureDef.finish``, :func:`finish_with`).

Whether pytest-asyncio is about to be loaded (:mod:`pytest_aioloop.clash`) is
read from the command line as pytest has parsed it so far, before the plugins'
options: ``Config.known_args_namespace`` (its ``-p`` plugins and
``--disable-plugin-autoload``), which pytest does not document.

``--asyncio-show-loops`` writes to the terminal while a test runs, as pytest's
own ``--setup-show`` does: past the output capture, which only pytest's
capture manager (a plugin object, not public API) can suspend.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest
from _pytest.fixtures import resolve_fixture_function


def fixture_function(fixturedef: pytest.FixtureDef[Any], request: Any) -> Callable[..., Any]:
    """The fixture function, bound to the test class instance when it is a method."""
    return resolve_fixture_function(fixturedef, request)


class Variant:
    """Which loop variant a cached async fixture belongs to (see :class:`VariantKey`)."""

    __slots__ = ("current", "value")

    def __init__(self, value: object, current: Callable[[], object]) -> None:
        #: the variant the fixture was set up for (the loop factory of its loop).
        self.value = value
        #: the variant of the test being set up now.
        self.current = current


class VariantKey:
    """A fixture's cache key, which matches only while the test's variant is the same.

    pytest compares ``request's key == cached key`` before it reuses a fixture's
    value, and on a mismatch tears the fixture down and sets it up again: what it
    does for a parametrized fixture. An async fixture of a wider scope, asked for
    by tests of another loop factory (or another ``event_loop_policy``
    parameter), must be set up again in that variant's loop: so its cached key
    also compares the variant it was set up for with the current test's. The
    comparison is reached through Python's reflected ``__eq__``: pytest's own
    keys (None, a parameter) do not know this class.
    """

    __slots__ = ("key", "variant")

    def __init__(self, key: object, variant: Variant) -> None:
        self.key = key
        self.variant = variant

    def __eq__(self, other: object) -> bool:
        if isinstance(other, VariantKey):
            return self.key == other.key and self.variant.value == other.variant.value
        return bool(other == self.key) and self.variant.current() == self.variant.value

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return repr(self.key)


def _key(fixturedef: pytest.FixtureDef[Any], request: Any, variant: Variant | None) -> object:
    key = fixturedef.cache_key(request)
    return key if variant is None else VariantKey(key, variant)


def cache_value(
    fixturedef: pytest.FixtureDef[Any], request: Any, value: object, variant: Variant | None = None
) -> None:
    """Record a fixture's value, as pytest's own ``pytest_fixture_setup`` does."""
    fixturedef.cached_result = (value, _key(fixturedef, request, variant), None)


def cache_error(
    fixturedef: pytest.FixtureDef[Any],
    request: Any,
    error: BaseException,
    variant: Variant | None = None,
) -> None:
    """Record a fixture's error, so that every test in its scope reports it."""
    if isinstance(error, pytest.skip.Exception):
        # pytest's own rule: a skip raised by a fixture is reported at the test.
        error._use_item_location = True
    key = _key(fixturedef, request, variant)
    fixturedef.cached_result = (None, key, (error, error.__traceback__))


def finish_with(node: Any, fixturedef: pytest.FixtureDef[Any], request: Any) -> None:
    """Tear the fixture down (and drop its value) when ``node`` is torn down.

    ``FixtureDef.finish`` is what pytest itself calls, at the end of the
    fixture's scope; calling it earlier is harmless to the later call.
    """
    node.addfinalizer(functools.partial(fixturedef.finish, request))


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


class RequestedPlugins(NamedTuple):
    """What the command line asks pytest to load: ``-p`` names, and whether autoload is on."""

    plugins: tuple[str, ...]
    autoload: bool


def requested_plugins(pluginmanager: pytest.PytestPluginManager) -> RequestedPlugins:
    """The plugins the command line asks for, read while pytest is still loading plugins."""
    config = pluginmanager.get_plugin("pytestconfig")
    namespace = getattr(config, "known_args_namespace", None)
    plugins = tuple(str(name).strip() for name in getattr(namespace, "plugins", None) or ())
    autoload = not (
        os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
        or getattr(namespace, "disable_plugin_autoload", False)
    )
    return RequestedPlugins(plugins, autoload)
