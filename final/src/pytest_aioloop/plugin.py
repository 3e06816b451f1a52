"""pytest-aioloop's hooks: thin glue between pytest and the plugin's parts.

pytest loads this module through the ``pytest11`` entry point ``aioloop``. The
hooks below appear in the order pytest calls them in a run, and each hands its
work to the module that owns it:

* options and the run's settings: :mod:`pytest_aioloop.config`; what each test's
  ``asyncio`` markers ask for: :mod:`pytest_aioloop.markers`;
* the loops, one per collector scope: :mod:`pytest_aioloop.loops`, each run by
  a :class:`~pytest_aioloop.runner.LoopRunner`, and what they share (the
  watchdog, the log of which loop each fixture ran in, asyncio's current loop):
  :mod:`pytest_aioloop.runtime`;
* async tests: :mod:`pytest_aioloop.items`; async fixtures:
  :mod:`pytest_aioloop.fixtures`; the task and context each of them runs in:
  :mod:`pytest_aioloop.contexts`; free ports: :mod:`pytest_aioloop.ports`;
* timeouts: :mod:`pytest_aioloop.timeouts`, cut by the runner at the alarms of
  a :class:`~pytest_aioloop.watchdog.Watchdog`;
* the virtual clock (``clock="virtual"``, the ``aioloop_clock`` fixture):
  :mod:`pytest_aioloop.clock`;
* which loop each ran in, when that matters (a mixed-loop failure, a split
  loop, ``--asyncio-show-loops``): :mod:`pytest_aioloop.diagnostics`;
* leaked tasks and background errors, charged to their test or fixture:
  :mod:`pytest_aioloop.leaks` (its :mod:`~pytest_aioloop.tracker` wraps each
  loop's task factory and exception handler as the loop opens).
* asyncio's current loop for an async test's sync code:
  :mod:`pytest_aioloop.current`; pytest-asyncio in the same run:
  :mod:`pytest_aioloop.clash`.
* the loop factories hook's result, checked: :mod:`pytest_aioloop.factories`;
  an overridden ``event_loop_policy`` and its deprecation:
  :mod:`pytest_aioloop.policy`.

**Start-up.** A run that meets no async test or fixture imports no asyncio (a
tenth of pytest's own start-up, with ssl and concurrent.futures). This module,
and what it imports, reads the options and markers and tells async tests and
fixtures apart without it; the modules that run loops all import asyncio, and
only :class:`State`'s ``start()`` imports them (through
:mod:`pytest_aioloop.runtime`): at the set-up of the first async test or
fixture, or at configure time for ``--asyncio-show-loops``. ``--collect-only``
opens no loop, and imports no asyncio either.

Everything about a test or a fixture definition is worked out once (at
collection, or at a fixture's first set-up). What runs for every test of a
suite is ``pytest_runtest_setup`` (one assignment, one stash look-up),
``pytest_pyfunc_call`` (one stash look-up for a sync test),
``pytest_runtest_teardown`` (a wrapper: one stash look-up for a sync test) and,
for every fixture set-up, ``pytest_fixture_setup`` (two attribute checks and one
dictionary look-up for a sync fixture), and
``pytest_runtest_makereport`` (one check per phase; a failure's error is looked
at). A test's timeout is resolved at collection too: without one, running it
costs nothing more; with one, an alarm is armed and disarmed around each step. A
test with the real clock pays nothing for the virtual one. An async test (and
an async fixture set-up) in the default leaks mode, ``report``, has an owner
for its tasks, made and looked at once; in ``ignore`` mode, none.

Collection itself does per test only what may differ between tests: one walk
of the test's own markers (and auto mode's marker). What several tests share is
worked out once: each collector's markers, each marker's parse and each set of
markers' reading (:mod:`pytest_aioloop.markers`), each test function's kind
(:class:`~pytest_aioloop.items.Kinds`) and parameter names
(:class:`~pytest_aioloop.items.Parameters`), the ``event_loop_policy`` look-up
of each collector; and none of it makes an object per test, which collection
would keep alive (each brings the next garbage collection forward).
``final/benchmarks/overhead.py`` measures what is left.
"""

from __future__ import annotations

import functools
import warnings
from typing import TYPE_CHECKING, Any

import pytest

from pytest_aioloop import _pytest_compat, clash, hooks, ports
from pytest_aioloop import policy as policies
from pytest_aioloop.config import (
    Clock,
    LoopScope,
    MarkError,
    Mode,
    Settings,
    declare_options,
)
from pytest_aioloop.factories import HookResultError, factory_params, loop_factories
from pytest_aioloop.fixtures import AsyncFixture, classify, loop_scope_of, refuse, run_fixture
from pytest_aioloop.items import (
    ASYNC,
    ASYNC_GENERATOR,
    ASYNC_TEST,
    FACTORY_ARGNAME,
    AsyncTest,
    Descriptions,
    Kinds,
    run_test,
)
from pytest_aioloop.items import classify as classify_test
from pytest_aioloop.leaks import LeakMode, LeakSettings, Reporter
from pytest_aioloop.markers import Reader
from pytest_aioloop.policy import POLICY_FIXTURE
from pytest_aioloop.timeouts import TimeoutSettings

if TYPE_CHECKING:
    import asyncio

    from pytest_aioloop.clock import VirtualClock
    from pytest_aioloop.runner import LoopFactory
    from pytest_aioloop.runtime import Runtime

#: The port fixtures are a plugin of their own, registered with this one. Not
#: with ``pytest_plugins``: pytest looks each name given there up among the
#: entry points of every installed distribution first, a cost of each run that
#: grows with the venv.
PORTS_PLUGIN = "pytest_aioloop.ports"


class State:
    """What the plugin keeps for one run."""

    def __init__(self, settings: Settings, timeouts: TimeoutSettings, leaks: Reporter) -> None:
        self.settings = settings
        self.timeouts = timeouts
        self.leaks = leaks
        #: the names pytest_asyncio_loop_factories gave the loop factories.
        self.factory_names: dict[LoopFactory, str] = {}
        #: each fixture definition's description, computed at its first set-up.
        self.fixtures: dict[pytest.FixtureDef[Any], AsyncFixture | None] = {}
        #: the test being set up, run or torn down.
        self.item: pytest.Item | None = None
        #: what collection works out once: each set of markers' reading, whether each
        #: function is async, each function's signature, each kind of test's description.
        self.markers = Reader(settings.mode is Mode.AUTO, timeouts, leaks.settings)
        self.kinds = Kinds()
        self.descriptions = Descriptions()
        #: misuse found while collecting, reported once collection is over.
        self.usage_errors: list[str] = []
        #: the loops and what watches them: None until the run's first async test or
        #: async fixture (or --asyncio-show-loops) needs them.
        self.runtime: Runtime | None = None

    def start(self) -> Runtime:
        """The run's :class:`~pytest_aioloop.runtime.Runtime`, made at the first call."""
        runtime = self.runtime
        if runtime is None:
            # Imports asyncio, and the modules that run loops: see "Start-up" above.
            from pytest_aioloop.runtime import Runtime

            runtime = self.runtime = Runtime(self.settings, self.leaks, self.factory_names)
        return runtime

    def current_factory(self) -> LoopFactory:
        """The loop factory of the test being set up, run or torn down now."""
        return self.start().factory(self.item)

    def leaks_mode(self, test: AsyncTest | None) -> LeakMode:
        """The leaks mode of a fixture set up for ``test`` (None: not an async test)."""
        return self.leaks.settings.mode if test is None else test.leaks


STATE = pytest.StashKey[State]()
GENERATOR_TEST_FIXTURE = "_aioloop_generator_test"


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    # Before the hook is declared: pytest-asyncio declares it too (see clash).
    clash.refuse_pytest_asyncio(pluginmanager)
    pluginmanager.add_hookspecs(hooks)
    if not pluginmanager.is_blocked(PORTS_PLUGIN) and not pluginmanager.has_plugin(PORTS_PLUGIN):
        pluginmanager.register(ports, PORTS_PLUGIN)
    declare_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    clash.check_configured(config)
    config.addinivalue_line(
        "markers",
        "asyncio(loop_scope=None, loop_factories=None, timeout=None, clock=None, "
        "leaks=None): run this async test in an event loop; loop_scope is function, class, "
        "module, package or session; timeout (seconds) overrides --asyncio-timeout for this "
        "test, 0 or None for no timeout; clock is real or virtual; leaks (report, warn, error "
        "or ignore) overrides --asyncio-leaks for this test.",
    )
    state = config.stash[STATE] = State(
        Settings.from_config(config),
        TimeoutSettings.from_config(config),
        Reporter(LeakSettings.from_config(config), config.invocation_params.dir),
    )
    state.leaks.share(config)
    if config.getoption("asyncio_show_loops"):
        from pytest_aioloop.diagnostics import ShowLoops  # (with the loops it shows)

        runtime = state.start()
        show = ShowLoops(config, runtime.log, runtime.test_runner)
        runtime.loops.observer = show
        config.pluginmanager.register(show, "aioloop-show-loops")


def pytest_report_header(config: pytest.Config) -> str:
    state = config.stash[STATE]
    settings = state.settings
    clock = "" if settings.clock is Clock.REAL else f", clock={settings.clock.value}"
    return (
        f"asyncio: mode={settings.mode.value}, debug={settings.debug}, "
        f"default_fixture_loop_scope="
        f"{settings.default_fixture_loop_scope and settings.default_fixture_loop_scope.value}, "
        f"default_test_loop_scope={settings.default_test_loop_scope.value}"
        f"{state.timeouts.header()}{clock}{state.leaks.header()}"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Check each async test's marker once, and parametrize it over the loop factories."""
    definition = metafunc.definition
    state = metafunc.config.stash[STATE]
    if state.kinds.async_function(definition) is None:
        return
    marks = state.markers.of(definition, add=False)
    if not marks:
        return
    mark = marks[0]
    try:
        # Every asyncio marker of the test (its own, its class's, its module's) may
        # give timeout= and leaks=: each value is checked here.
        asyncio_mark = state.markers.read(marks, definition).mark
    except MarkError as error:
        # pytest.fail(..., pytrace=False), without the MarkError chained to it.
        raise pytest.fail.Exception(str(error), pytrace=False) from None
    if "scope" in mark.kwargs:
        warnings.warn(
            pytest.PytestDeprecationWarning(
                f"{definition.nodeid}: @pytest.mark.asyncio(scope=...) is deprecated: "
                f"write loop_scope={mark.kwargs['scope']!r} instead."
            ),
            stacklevel=1,
        )
    try:
        factories = loop_factories(metafunc.config, definition)
    except HookResultError as error:
        # A usage error, raised once collection is over (raised here, pytest would
        # report it as the module's collection error, with a traceback).
        state.usage_errors.append(str(error))
        return
    if factories is None:
        if asyncio_mark.loop_factories is not None:
            pytest.fail(
                f"{definition.nodeid}: @pytest.mark.asyncio(loop_factories=...) needs a "
                "pytest_asyncio_loop_factories hook (in a conftest.py) that names the factories.",
                pytrace=False,
            )
        return
    state.factory_names.update((factory, name) for name, factory in factories.items())
    params = factory_params(factories, asyncio_mark.loop_factories or tuple(factories))
    metafunc.fixturenames.append(FACTORY_ARGNAME)
    scope = asyncio_mark.loop_scope or state.settings.default_test_loop_scope
    # scope= makes pytest group the tests of one loop by factory, so that a loop
    # shared by a module is opened once per factory, not once per test.
    metafunc.parametrize(FACTORY_ARGNAME, params, scope=scope.value)


# tryfirst: other plugins' and conftests' modifyitems hooks can then call is_async_test().
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Classify every collected test once: is it an async test of ours, in which loop."""
    state = config.stash[STATE]
    # Whether a collector sees an event_loop_policy fixture other than this plugin's:
    # fixtures are defined by collectors (and conftests), so its tests all see the same.
    policy_overridden: dict[int, bool] = {}
    if state.usage_errors:
        raise pytest.UsageError(state.usage_errors[0])
    state.markers.forget_collectors()  # walked anew for the items
    kinds = state.kinds
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        kind = kinds.of(item)
        if kind is not ASYNC:
            if kind is ASYNC_GENERATOR and state.markers.of(item):
                # Refused at its set-up, by a fixture set up first: the other tests
                # of its module run (a collection error would stop them all).
                item.fixturenames.insert(0, GENERATOR_TEST_FIXTURE)
            elif any(mark.name == "asyncio" for mark in item.own_markers):
                # A module's or class's pytestmark reaches its sync tests too, and
                # that is fine; a marker on the sync test itself is a mistake.
                item.warn(
                    pytest.PytestWarning(
                        f"{item.nodeid} is marked asyncio but is not an async def function; "
                        "the marker does nothing here: remove it, or make the test async def."
                    )
                )
            continue
        marks = state.markers.of(item)
        if not marks:
            continue  # strict mode, unmarked: pytest itself reports it
        try:
            asyncio_mark, timeout, leaks = state.markers.read(marks, item)
        except MarkError:
            continue  # reported by pytest_generate_tests for this function
        if leaks is not LeakMode.IGNORE and not state.leaks.on:
            state.leaks.on = True  # a marker asks for it, in a run that ignores leaks
            if state.runtime is not None:  # made already, for --asyncio-show-loops
                state.runtime.track_leaks(state.leaks)
        item.stash[ASYNC_TEST] = classify_test(
            item,
            asyncio_mark,
            state.settings.default_test_loop_scope,
            timeout,
            state.settings.clock,
            state.descriptions,
            leaks,
        )
        parent = item.parent  # (kept by the items: its identity is not reused here)
        overridden = policy_overridden.get(id(parent))
        if overridden is None:
            overridden = policies.overridden(
                _pytest_compat.closest_fixturedef(item, POLICY_FIXTURE)
            )
            policy_overridden[id(parent)] = overridden
        if overridden:
            # Set up the user's policy first, so that every loop of this test can use it.
            item.fixturenames.insert(0, POLICY_FIXTURE)
    # The items are classified: their functions' kinds and their collectors' markers
    # are not needed any more.
    kinds.clear()
    state.markers.forget_collectors()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # The test on whose behalf fixtures are set up from now on: it picks the loop
    # factory of the fixtures' loops.
    state = item.config.stash[STATE]
    state.item = item
    if ASYNC_TEST in item.stash:
        state.start().current.enter()  # its loop becomes current with its first fixture


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> Any:
    """An async test's sync teardowns see its loop as current; then the previous one is back."""
    test = item.stash.get(ASYNC_TEST, None)
    if test is None:
        return (yield)
    runtime = item.config.stash[STATE].start()
    runtime.current_for_teardown(item, test)
    try:
        return (yield)
    finally:
        runtime.current.leave()


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> object:
    """Run an async fixture in its loop; leave every other fixture to pytest."""
    state = request.config.stash[STATE]
    runtime = state.runtime  # (made by the set-up of an async test: see pytest_runtest_setup)
    if runtime is not None and runtime.current.pending and fixturedef.argname != POLICY_FIXTURE:
        # (the policy, when overridden, is set up first: it makes the test's loop)
        runtime.make_test_loop_current(state.item)
    if fixturedef not in state.fixtures:  # its first set-up
        state.fixtures[fixturedef] = classify(fixturedef.func)
        if fixturedef.argname == POLICY_FIXTURE and policies.overridden(fixturedef):
            policies.deprecate_override(fixturedef, request)
    kind = state.fixtures[fixturedef]
    if kind is None:
        return None
    settings = state.settings
    item = state.item
    if not kind.declared and settings.mode is Mode.STRICT:
        if item is not None and ASYNC_TEST in item.stash:
            refuse(
                fixturedef,
                request,
                f"{item.nodeid}: the async fixture {fixturedef.argname!r} is a plain "
                "@pytest.fixture, which strict mode leaves to other async plugins: decorate it "
                "with @pytest_aioloop.fixture, or set asyncio_mode = auto.",
            )
        return None  # another plugin's fixture, or pytest's own error
    test = None if item is None else item.stash.get(ASYNC_TEST, None)
    loop_scope, source = loop_scope_of(
        kind, fixturedef, request, settings.default_fixture_loop_scope, item, test
    )
    runtime = state.start()
    runner, ends_first = runtime.fixture_runner(request, item, loop_scope)
    if ends_first is not None:
        # Its loop ends before pytest would drop it: it is torn down first.
        _pytest_compat.finish_with(ends_first, fixturedef, request)
    runtime.log.fixture_ran(fixturedef, runner, loop_scope, source)
    owner = state.leaks.owner(
        runner,
        f"fixture {fixturedef.argname!r} of {request.node.nodeid}",
        state.leaks_mode(test),
        fixturedef.func,
    )
    if owner is not None:
        # Before run_fixture adds its teardown: finalizers run last-in, first-out.
        request.addfinalizer(functools.partial(state.leaks.fixture_ended, runner, owner))
    if test is not None and loop_scope.width < test.loop_scope.width:
        # A defaulted loop scope narrower than the test's: pytest-asyncio's
        # behaviour (a loop of its own), which is a trap worth a warning.
        assert item is not None
        runtime.log.split_loop(item, test, fixturedef, runner, runtime.factory(item))
    # The fixture belongs to its loop's variant (factory, or policy): a test of
    # another variant gets it set up again, in that variant's loop.
    variant = _pytest_compat.Variant(runtime.factory(item), state.current_factory)
    return _pytest_compat.setup_result(
        run_fixture(kind, fixturedef, request, runner, state.timeouts.fixtures, owner, variant)
    )


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an async test of ours in its loop; leave every other test to pytest."""
    test: AsyncTest | None = pyfuncitem.stash.get(ASYNC_TEST, None)
    if test is None:
        return None
    state = pyfuncitem.config.stash[STATE]
    runtime = state.start()
    runner = runtime.test_runner(pyfuncitem, test)
    if test.loop_scope is not LoopScope.FUNCTION:  # a loop of its own has the test's clock
        runtime.check_shared_clock(pyfuncitem, test, runner)
    owner = state.leaks.owner(runner, pyfuncitem.nodeid, test.leaks, pyfuncitem.obj)
    if owner is None:
        run_test(pyfuncitem, test, runner)
        return True  # called: pytest must not call the test function again
    try:
        run_test(pyfuncitem, test, runner, owner)
    finally:
        state.leaks.test_ended(pyfuncitem, runner, owner)
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> pytest.TestReport | None:
    """A test or fixture failing with an error that means mixed loops: say which loops met.

    The report is pytest's own (``TestReport.from_item_and_call``, what pytest's
    implementation of this hook returns), with an "event loops" section, which
    pytest prints with the failure (and pytest-xdist carries to the controller).
    Every other report is left to pytest: that costs one check per phase.
    """
    if call.excinfo is None:
        return None
    runtime = item.config.stash[STATE].runtime
    if runtime is None:
        return None  # no loop has opened: none can have met another
    section = runtime.log.explain(item, call.excinfo.value, runtime.factory(item))
    if section is None:
        return None
    report = pytest.TestReport.from_item_and_call(item, call)
    report.sections.append(("event loops", section))
    return report


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    # pytest-xdist's hook, on the controller: a worker's leaks summary joins ours.
    state = node.config.stash.get(STATE, None)
    if state is not None:
        state.leaks.worker_done(node)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is not None:
        state.leaks.terminal_summary(terminalreporter)


def pytest_enter_pdb(config: pytest.Config) -> None:
    # pytest's pdb is in charge (breakpoint(), pdb.set_trace(), --pdb's post-mortem):
    # from now on no timeout may fail a test that sits at a prompt.
    state = config.stash.get(STATE, None)
    if state is not None:
        state.timeouts.debugging.entered_pdb()


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is not None and state.runtime is not None:
        state.runtime.close()  # the loops that an interrupt (Ctrl-C, -x) left open


@pytest.fixture(scope="session")
def event_loop_policy() -> asyncio.AbstractEventLoopPolicy:
    """The event loop policy whose loops async tests run in, if you override this fixture.

    Deprecated, as in pytest-asyncio: implement ``pytest_asyncio_loop_factories``
    instead. Loops are made with :func:`asyncio.new_event_loop` unless a test's
    ``event_loop_policy`` is overridden.
    """
    import asyncio  # (in a run that asks for it: see "Start-up" above)

    with warnings.catch_warnings():
        # Deprecated on Python 3.14, with the whole policy system.
        warnings.simplefilter("ignore", DeprecationWarning)
        return asyncio.get_event_loop_policy()


@pytest.fixture(name=GENERATOR_TEST_FIXTURE)
def _generator_test(request: pytest.FixtureRequest) -> None:
    """Set up first for an async generator test: refuses it, naming it."""
    pytest.fail(
        f"{request.node.nodeid}: async generator tests (an async def test with a yield) are "
        "not supported, as in pytest-asyncio: remove the yield, or move the set-up and "
        "teardown around it into an async generator fixture.",
        pytrace=False,
    )


@pytest.fixture
def aioloop_clock(request: pytest.FixtureRequest) -> VirtualClock:
    """The virtual clock of the test's event loop: time(), await advance(seconds), autojump.

    For async tests with clock="virtual" (in the asyncio marker, or the asyncio_clock
    ini option); a loop shared by several tests shares its clock.
    """
    item = request.node
    test = item.stash.get(ASYNC_TEST, None)
    if test is None:
        pytest.fail(
            f"{item.nodeid} uses the aioloop_clock fixture, the clock of an async test's "
            "event loop, but it is not an async test that pytest-aioloop runs: make it an "
            "async def test with @pytest.mark.asyncio(clock='virtual').",
            pytrace=False,
        )
    if test.clock is not Clock.VIRTUAL:
        pytest.fail(
            f"{item.nodeid} uses the aioloop_clock fixture but runs with the real clock: "
            "mark it @pytest.mark.asyncio(clock='virtual'), or set asyncio_clock = virtual.",
            pytrace=False,
        )
    return request.config.stash[STATE].start().virtual_clock(item, test)
