"""What the user asked for: the mode, the loop scopes, the clock, the ``asyncio`` marker.

The options are declared here too (:func:`declare_options`, at the end). Everything
here is read once (the ini options and command line at configure
time, a marker once per test at collection) and validated where it is read, so
that a typo is reported once, naming the test or the option and the values
that are allowed.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import NamedTuple

import pytest


class Mode(str, enum.Enum):
    """Which coroutines the plugin takes over."""

    #: only tests marked ``asyncio`` and fixtures made with ``pytest_aioloop.fixture``:
    #: other async plugins (anyio, trio) keep theirs.
    STRICT = "strict"
    #: every ``async def`` test and every async fixture.
    AUTO = "auto"


class LoopScope(str, enum.Enum):
    """Which collector an event loop belongs to; it is closed when that collector ends."""

    FUNCTION = "function"
    CLASS = "class"
    MODULE = "module"
    PACKAGE = "package"
    SESSION = "session"

    @property
    def width(self) -> int:
        """Order of the scopes: a wider scope outlives a narrower one."""
        return _WIDTH[self]

    @classmethod
    def parse(cls, value: object, what: str, where: str = "") -> LoopScope:
        """The scope named ``value``; InvalidScope says which ``what`` (of ``where``) is wrong."""
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(scope.value for scope in cls)
            prefix = f"{where}: " if where else ""
            raise InvalidScope(f"{prefix}{what}={value!r} is not one of {allowed}.") from None


class Clock(str, enum.Enum):
    """Which time a test's event loop keeps (see :mod:`pytest_aioloop.clock`)."""

    #: the loop's own clock: ``time.monotonic()``.
    REAL = "real"
    #: virtual time, from 0, that jumps to the next timer whenever the loop is idle.
    VIRTUAL = "virtual"

    @classmethod
    def parse(cls, value: object, what: str, where: str = "") -> Clock:
        """The clock named ``value``; InvalidClock says which ``what`` (of ``where``) is wrong."""
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(clock.value for clock in cls)
            prefix = f"{where}: " if where else ""
            raise InvalidClock(f"{prefix}{what}={value!r} is not one of {allowed}.") from None


class InvalidClock(ValueError):
    """A clock that is not one of Clock's values."""


_WIDTH = {scope: width for width, scope in enumerate(LoopScope)}

#: ``asyncio_default_fixture_loop_scope = fixture-scope``: a fixture's loop lives as long
#: as the fixture's own cached value.
FIXTURE_SCOPE = "fixture-scope"


class InvalidScope(ValueError):
    """A loop scope that is not one of LoopScope's values."""


class Settings(NamedTuple):
    """The run's configuration, read once at ``pytest_configure``."""

    mode: Mode
    debug: bool
    #: None: each fixture's loop scope defaults to its caching scope.
    default_fixture_loop_scope: LoopScope | None
    default_test_loop_scope: LoopScope
    #: the clock of a test whose marker does not choose one.
    clock: Clock = Clock.REAL

    @classmethod
    def from_config(cls, config: pytest.Config) -> Settings:
        mode_value = config.getoption("asyncio_mode") or config.getini("asyncio_mode")
        try:
            mode = Mode(mode_value)
        except ValueError:
            allowed = ", ".join(m.value for m in Mode)
            raise pytest.UsageError(
                f"asyncio_mode={mode_value!r} is not a valid mode; use one of: {allowed}."
            ) from None
        # Plugins built on pytest-asyncio read the mode from here.
        config.option.asyncio_mode = mode.value

        # pytest parses a "bool" ini option itself, and says "invalid truth value
        # 'maybe'" without naming the option (a ValueError on 8.4, a UsageError on 9).
        try:
            debug = config.getoption("asyncio_debug") or config.getini("asyncio_debug")
        except (ValueError, pytest.UsageError) as error:
            raise pytest.UsageError(
                f"asyncio_debug: {error}; use true or false (also yes/no, on/off, 1/0)."
            ) from None

        # Unset means "the fixture's own scope", as pytest-asyncio does today; unlike
        # pytest-asyncio, that default is not worth a warning on every run.
        fixture_value = config.getini("asyncio_default_fixture_loop_scope")
        fixture_scope = None
        if fixture_value and fixture_value != FIXTURE_SCOPE:
            try:
                fixture_scope = LoopScope(fixture_value)
            except ValueError:
                allowed = ", ".join([*(s.value for s in LoopScope), FIXTURE_SCOPE])
                raise pytest.UsageError(
                    f"asyncio_default_fixture_loop_scope={fixture_value!r} is not one of {allowed}."
                ) from None
        test_value = config.getini("asyncio_default_test_loop_scope") or "function"
        try:
            test_scope = LoopScope.parse(test_value, "asyncio_default_test_loop_scope")
        except InvalidScope as error:
            raise pytest.UsageError(str(error)) from None
        try:
            clock = Clock.parse(config.getini("asyncio_clock") or "real", "asyncio_clock")
        except InvalidClock as error:
            raise pytest.UsageError(str(error)) from None
        return cls(mode, bool(debug), fixture_scope, test_scope, clock)


class AsyncioMark(NamedTuple):
    """What one test's ``asyncio`` marker asks for."""

    #: None: the ``asyncio_default_test_loop_scope`` default.
    loop_scope: LoopScope | None
    #: None: every factory that ``pytest_asyncio_loop_factories`` returns.
    loop_factories: tuple[str, ...] | None
    #: None: the ``asyncio_clock`` default.
    clock: Clock | None = None

    @classmethod
    def parse(cls, mark: pytest.Mark, nodeid: str) -> AsyncioMark:
        """Validate ``@pytest.mark.asyncio(...)``; raise MarkError naming the test."""
        # timeout= is validated by pytest_aioloop.timeouts, which resolves it.
        # timeout= and leaks= are validated by pytest_aioloop.timeouts and .leaks.
        unknown = set(mark.kwargs) - {
            "loop_scope",
            "scope",
            "loop_factories",
            "timeout",
            "clock",
            "leaks",
        }
        if mark.args or unknown:
            given = [repr(arg) for arg in mark.args] + sorted(f"{k}=" for k in unknown)
            raise MarkError(
                f"{nodeid}: @pytest.mark.asyncio got {', '.join(given)}; it accepts only "
                "the keyword arguments loop_scope=..., loop_factories=[...], timeout=..., "
                "clock=... (real or virtual) and leaks=... (report, warn, error or ignore)."
            )
        if "scope" in mark.kwargs and "loop_scope" in mark.kwargs:
            raise MarkError(
                f"{nodeid}: @pytest.mark.asyncio got both scope= and loop_scope=; "
                "keep loop_scope= only (scope= is its deprecated old name)."
            )
        scope_value = mark.kwargs.get("loop_scope", mark.kwargs.get("scope"))
        try:
            loop_scope = (
                None if scope_value is None else LoopScope.parse(scope_value, "loop_scope", nodeid)
            )
        except InvalidScope as error:
            raise MarkError(str(error)) from None
        factories = mark.kwargs.get("loop_factories")
        if factories is not None and (
            isinstance(factories, str)
            or not isinstance(factories, Sequence)
            or not factories
            or not all(isinstance(name, str) and name for name in factories)
        ):
            raise MarkError(
                f"{nodeid}: @pytest.mark.asyncio(loop_factories={factories!r}): give a "
                "non-empty list of factory names, e.g. loop_factories=['uvloop']."
            )
        clock_value = mark.kwargs.get("clock")
        try:
            clock = None if clock_value is None else Clock.parse(clock_value, "clock", nodeid)
        except InvalidClock as error:
            raise MarkError(str(error)) from None
        return cls(loop_scope, None if factories is None else tuple(factories), clock)


class MarkError(ValueError):
    """An ``asyncio`` marker with arguments the plugin cannot honour."""


def declare_options(parser: pytest.Parser) -> None:
    """The command-line and ini options the settings above are read from."""
    group = parser.getgroup("asyncio", "asyncio (pytest-aioloop)")
    group.addoption(
        "--asyncio-mode",
        dest="asyncio_mode",
        default=None,
        metavar="MODE",
        help="'strict': run only tests marked asyncio and fixtures made with "
        "pytest_aioloop.fixture; 'auto': run every async test and fixture. "
        "Overrides the asyncio_mode ini option.",
    )
    group.addoption(
        "--asyncio-show-loops",
        dest="asyncio_show_loops",
        action="store_true",
        default=False,
        help="show, in the manner of --setup-show, where each event loop is opened and "
        "closed, and which loop each async test and fixture runs in",
    )
    group.addoption(
        "--asyncio-debug",
        dest="asyncio_debug",
        action="store_true",
        default=None,
        help="run every event loop in asyncio's debug mode",
    )
    group.addoption(
        "--asyncio-timeout",
        dest="asyncio_timeout",
        default=None,
        metavar="SECONDS",
        help="cancel an async test, inside its event loop, once it has run this many "
        "seconds, and report where each task was waiting; 0 or none: no timeout. "
        "Overrides the asyncio_timeout ini option; a marker's timeout= overrides both.",
    )
    group.addoption(
        "--asyncio-leaks",
        dest="asyncio_leaks",
        default=None,
        metavar="MODE",
        help="what to do with the tasks an async test or fixture leaves pending and the "
        "errors raised in tasks nobody awaits or in loop callbacks: report (list them at "
        "the end), warn, error (fail the test's teardown) or ignore. Overrides the "
        "asyncio_leaks ini option; a marker's leaks= overrides both.",
    )
    group.addoption(
        "--asyncio-fixture-timeout",
        dest="asyncio_fixture_timeout",
        default=None,
        metavar="SECONDS",
        help="the same limit for each async fixture's set-up and each teardown, "
        "separately; 0 or none: no timeout. Overrides the asyncio_fixture_timeout ini option.",
    )
    parser.addini("asyncio_mode", "strict (the default) or auto", default="strict")
    parser.addini("asyncio_debug", "run every event loop in debug mode", type="bool", default=False)
    parser.addini(
        "asyncio_default_fixture_loop_scope",
        "the default loop scope of async fixtures: function, class, module, package, "
        f"session or {FIXTURE_SCOPE} (the default: the fixture's own scope)",
        default=None,
    )
    parser.addini(
        "asyncio_default_test_loop_scope",
        "the default loop scope of async tests (default: function)",
        default="function",
    )
    parser.addini(
        "asyncio_timeout",
        "seconds an async test may run before it is cancelled and reported "
        "(default: none, no timeout)",
        default=None,
    )
    parser.addini(
        "asyncio_fixture_timeout",
        "seconds each async fixture set-up and teardown may run (default: asyncio_timeout)",
        default=None,
    )
    parser.addini(
        "asyncio_leaks",
        "what to do with leaked tasks and background errors: report (the default: a "
        "summary at the end of the run), warn, error or ignore",
        default="report",
    )
    parser.addini(
        "asyncio_clock",
        "the clock of async tests' loops: real (the default) or virtual, a time that "
        "jumps to the next timer whenever the loop is idle",
        default="real",
    )
