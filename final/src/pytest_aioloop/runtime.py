"""The run's event loops and what watches them, made when the first async test needs them.

:mod:`pytest_aioloop.plugin` keeps what a run needs whatever it runs (the
settings, the markers' readings, each test's and fixture's kind); what runs
async code is here, in one :class:`Runtime` per run: the loops
(:class:`~pytest_aioloop.loops.Loops`), the watchdog that wakes them at a
timeout, the log of which loop each fixture ran in (made at its first use),
and asyncio's current loop.
Every module it imports imports asyncio, so the plugin imports this one only
at the set-up of the run's first async test or async fixture, or at configure
time when ``--asyncio-show-loops`` asks for the loops from the start: a run of
sync tests with the plugin loaded, and ``--collect-only``, import no asyncio
(see "Start-up" in :mod:`pytest_aioloop.plugin`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

from pytest_aioloop import clock as clocks
from pytest_aioloop.clock import UnsupportedLoop, VirtualClock
from pytest_aioloop.config import Clock, LoopScope, Settings
from pytest_aioloop.current import CurrentLoop
from pytest_aioloop.items import ASYNC_TEST, AsyncTest
from pytest_aioloop.leaks import Reporter
from pytest_aioloop.loops import Loops, Node, fixture_loop_node, scope_node
from pytest_aioloop.policy import POLICY_FIXTURE
from pytest_aioloop.runner import LoopFactory, LoopRunner
from pytest_aioloop.tracker import Tracker
from pytest_aioloop.watchdog import Watchdog

if TYPE_CHECKING:
    from pytest_aioloop.diagnostics import LoopLog


class Runtime:
    """The loops of one run, by collector and loop factory, and what they share."""

    def __init__(
        self, settings: Settings, leaks: Reporter, factory_names: Mapping[LoopFactory, str]
    ) -> None:
        self.settings = settings
        self.watchdog = Watchdog()  # its thread starts with the first alarm, if any
        self.loops = Loops(
            debug=settings.debug, watchdog=self.watchdog, factory_names=factory_names
        )
        self.track_leaks(leaks)
        self._factory_names = factory_names
        #: asyncio's current loop around each async test.
        self.current = CurrentLoop()

    @functools.cached_property
    def log(self) -> LoopLog:
        """Which loop each async fixture ran in, for the diagnostics.

        Made (and :mod:`pytest_aioloop.diagnostics` imported) at the first async
        fixture's set-up, or the first failure that it explains.
        """
        from pytest_aioloop.diagnostics import LoopLog

        return LoopLog(self._factory_names)

    def track_leaks(self, leaks: Reporter) -> None:
        """Every loop opened from now on gets a leak tracker, if the run records leaks."""
        self._leaks = leaks
        self.loops.track = self._track if leaks.on else None

    def _track(self, runner: LoopRunner) -> None:
        Tracker(runner, self._leaks.late, self._leaks.root)

    def factory(self, item: pytest.Item | None) -> LoopFactory:
        """The loop factory that ``item``'s loops are made with."""
        test = None if item is None else item.stash.get(ASYNC_TEST, None)
        if test is not None and test.factory is not None:
            return test.factory
        if isinstance(item, pytest.Function) and POLICY_FIXTURE in item.fixturenames:
            # Only when the user overrides event_loop_policy (deprecated).
            policy: Any = item.funcargs.get(POLICY_FIXTURE)
            if policy is not None:
                factory: LoopFactory = policy.new_event_loop
                return factory
        return asyncio.new_event_loop

    def runner(self, node: Node, item: pytest.Item | None) -> LoopRunner:
        """The runner of ``node``'s loop, opened with ``item``'s loop factory and clock."""
        test = None if item is None else item.stash.get(ASYNC_TEST, None)
        clock = self.settings.clock if test is None else test.clock
        try:
            return self.loops.runner(node, self.factory(item), clock)
        except UnsupportedLoop as error:
            where = "" if item is None else f"{item.nodeid}: "
            raise pytest.fail.Exception(
                f"{where}clock='virtual' cannot run in the loop that the loop factory made: "
                f"{error}. Run this test only with loop factories that make asyncio's own "
                "loops (@pytest.mark.asyncio(clock='virtual', loop_factories=[...])), "
                "or give it clock='real'.",
                pytrace=False,
            ) from None

    def test_runner(self, item: pytest.Function, test: AsyncTest) -> LoopRunner:
        """The runner of the loop that the async test ``item`` runs in."""
        return self.runner(scope_node(item, test.loop_scope), item)

    def fixture_runner(
        self, request: pytest.FixtureRequest, item: pytest.Item | None, loop_scope: LoopScope
    ) -> tuple[LoopRunner, Node | None]:
        """The runner of the loop that a fixture of ``loop_scope``, set up for ``item``, runs in.

        And the collector of that loop if the loop ends before pytest would drop
        the fixture's value (the caller then tears the fixture down with the loop).
        """
        cached_in = scope_node(request.node, loop_scope)
        loop_node = fixture_loop_node(cached_in, item, loop_scope)
        return self.runner(loop_node, item), None if loop_node is cached_in else loop_node

    def make_test_loop_current(self, item: pytest.Item | None) -> None:
        """The first fixture of an async test is being set up: its loop becomes current."""
        test = None if item is None else item.stash.get(ASYNC_TEST, None)
        if test is None or not isinstance(item, pytest.Function):
            self.current.pending = False
            return
        try:
            runner = self.test_runner(item, test)
        except pytest.fail.Exception:
            self.current.pending = False  # the test itself reports why its loop cannot open
            return
        self.current.due(runner.loop)

    def current_for_teardown(self, item: pytest.Item, test: AsyncTest) -> None:
        """The async test's sync teardowns see its loop (if still open) as current."""
        runner = self.loops.find(scope_node(item, test.loop_scope), self.factory(item))
        if runner is not None and not runner.loop.is_closed():
            self.current.make_current(runner.loop)

    def check_shared_clock(self, item: pytest.Item, test: AsyncTest, runner: LoopRunner) -> None:
        """Fail ``item`` if the shared loop it runs in keeps another clock than it asks for."""
        opened_with = clocks.clock_of(runner.loop)
        if opened_with is not test.clock:
            pytest.fail(
                f"{item.nodeid} asks for clock={test.clock.value!r}, but its "
                f"loop_scope={test.loop_scope.value!r} loop, shared with other tests, was opened "
                f"with clock={opened_with.value!r}: the tests (and fixtures) that share a loop "
                "share its clock. Give them the same clock (in one asyncio marker on their "
                "module or class, or with the asyncio_clock ini option), or give this test a "
                "loop of its own (loop_scope='function').",
                pytrace=False,
            )

    def virtual_clock(self, item: pytest.Function, test: AsyncTest) -> VirtualClock:
        """The virtual clock of the loop that ``item`` (with ``clock="virtual"``) runs in."""
        assert test.clock is Clock.VIRTUAL
        runner = self.test_runner(item, test)
        self.check_shared_clock(item, test, runner)
        clock = VirtualClock.of(runner.loop)
        assert clock is not None
        return clock

    def close(self) -> None:
        """At the end of the run: close every loop still open, then the watchdog.

        Normally every loop is closed with its collector; after an interrupt
        (Ctrl-C, -x) some collectors are never torn down.
        """
        self.current.leave()  # after an interrupted test
        try:
            self.loops.close_all()
        finally:
            self.watchdog.close()  # after the loops: closing one may need a grace period
