"""Property-based: random suites of async and sync tests and fixtures, checked against a model.

hypothesis generates a small suite (two modules, tests at module level and in a
class; async and sync tests; async and sync fixtures at every caching scope
and loop scope, depending on each other; failures placed at random in a
fixture's setup or teardown, and in tests that fail, raise, cancel themselves,
stop their loop or leave a task behind), runs it with final/ in this process
(pytester), and checks what the run recorded against what the suite says:

* every fixture set up is torn down exactly once, a fixture before the ones it
  depends on, and a test's fixtures are all alive while it runs;
* a fixture is set up at most once per unit of its caching scope;
* each async test and fixture runs in the loop its ``loop_scope`` asks for:
  the same loop for one scope unit, a different loop for another;
* every loop made is closed exactly once, after everything that ran in it and
  before the tests after its scope start, with no task left pending;
* each test's outcome is the one placed; each fixture's error is reported on
  the right tests: a setup error on the tests that asked for the fixture, a
  teardown error once, on the test whose teardown ended the fixture's scope;
* the session carries on: every test is reported, the closing plain async test
  and sync test calling ``asyncio.run()`` pass.

CI runs a bounded number of examples with a fixed seed (derandomized). A longer
run, with random seeds, is one command::

    PROPERTY_EXAMPLES=500 pytest tests/test_final_properties.py -p no:xdist

The generated suite's loops are recorded by wrapping ``asyncio.new_event_loop``
in the run's conftest (the factory the plugin uses when no
``pytest_asyncio_loop_factories`` hook is given; the hook would parametrize the
tests, and pytest would then reorder them by loop).
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from dataclasses import dataclass, field

import pytest

hypothesis = pytest.importorskip("hypothesis")
from conftest import TARGETS, AioRun  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SCOPES = ["function", "class", "module", "session"]
WIDTH = {scope: i for i, scope in enumerate(SCOPES)}
FIXTURE_SCOPES = ["function", "module", "session"]
ASYNC_OUTCOMES = ["pass", "fail", "raise", "cancel", "stop", "leak"]
SYNC_OUTCOMES = ["pass", "fail", "raise"]
PASSING = {"pass", "leak"}

# Two hypothesis profiles of this module's own (the run's default profile is
# left alone): CI's, a bounded number of examples with a fixed seed, and the
# long run's, PROPERTY_EXAMPLES examples (default 500) from random seeds.
settings.register_profile(
    "aioloop-properties-ci", max_examples=25, derandomize=True, database=None, deadline=None
)
settings.register_profile(
    "aioloop-properties-long",
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES") or 500),
    derandomize=False,
    database=None,
    deadline=None,
)
PROFILE = settings.get_profile(
    "aioloop-properties-long" if os.environ.get("PROPERTY_EXAMPLES") else "aioloop-properties-ci"
)
#: PROPERTY_NO_SHRINK=1: report the first failing suite as it was generated (faster).
NO_SHRINK = bool(os.environ.get("PROPERTY_NO_SHRINK"))


@dataclass
class Fixture:
    name: str
    scope: str
    loop_scope: str  # for an async fixture; ignored for a sync one
    is_async: bool
    deps: list[str]
    fault: str  # none, setup, teardown
    #: auto mode: a plain @pytest.fixture (its loop scope is then its scope).
    plain: bool = False


@dataclass
class Case:
    name: str
    module: int
    in_class: bool
    is_async: bool
    loop_scope: str
    fixtures: list[str]
    outcome: str
    #: the test function: the item's name without its parameter (several items, one function).
    function: str = ""
    #: how many items the function is parametrized into (1: not parametrized).
    params: int = 1
    #: auto mode: no asyncio marker (its loop scope is then the default, function).
    unmarked: bool = False


@dataclass
class Suite:
    fixtures: list[Fixture]
    tests: list[Case] = field(default_factory=list)  # one per item
    mode: str = "strict"

    def by_name(self) -> dict[str, Fixture]:
        return {f.name: f for f in self.fixtures}

    def closure(self, names: list[str]) -> set[str]:
        fixtures, seen, todo = self.by_name(), set(), list(names)
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(fixtures[name].deps)
        return seen


@st.composite
def suites(draw: st.DrawFn) -> Suite:
    fixtures: list[Fixture] = []
    for i in range(draw(st.integers(0, 5))):
        scope = draw(st.sampled_from(FIXTURE_SCOPES))
        is_async = draw(st.booleans())
        # A loop no narrower than the cache (else a misuse, refused).
        loop_scope = draw(st.sampled_from([s for s in SCOPES if WIDTH[s] >= WIDTH[scope]]))
        # pytest: a fixture may ask only for fixtures of its scope or wider.
        candidates = [
            f.name for f in fixtures if FIXTURE_SCOPES.index(f.scope) >= FIXTURE_SCOPES.index(scope)
        ]
        deps = (
            draw(st.lists(st.sampled_from(candidates), unique=True, max_size=2))
            if candidates
            else []
        )
        fault = draw(st.sampled_from(["none", "none", "setup", "teardown"]))
        fixtures.append(Fixture(f"f{i}", scope, loop_scope, is_async, deps, fault))
    mode = draw(st.sampled_from(["strict", "auto"]))
    for f in fixtures:
        # Auto mode: each async fixture that can be a plain @pytest.fixture is one
        # (strict mode covers the decorated ones).
        f.plain = mode == "auto" and f.is_async and f.loop_scope == f.scope
    suite = Suite(fixtures, mode=mode)
    names = [f.name for f in fixtures]
    for i in range(draw(st.integers(1, 7))):
        used = draw(st.lists(st.sampled_from(names), unique=True, max_size=3)) if names else []
        is_async = draw(st.booleans())
        # A test's loop no wider than any async fixture's it uses (else refused).
        widest = min(
            [
                WIDTH[suite.by_name()[n].loop_scope]
                for n in suite.closure(used)
                if suite.by_name()[n].is_async
            ],
            default=WIDTH["session"],
        )
        loop_scope = draw(st.sampled_from([s for s in SCOPES if WIDTH[s] <= widest]))
        outcome = draw(st.sampled_from(ASYNC_OUTCOMES if is_async else SYNC_OUTCOMES))
        module, in_class = draw(st.integers(0, 1)), draw(st.booleans())
        params = draw(st.sampled_from([1, 1, 2]))
        unmarked = mode == "auto" and is_async and loop_scope == "function"
        function = f"test_t{i}"
        for p in range(params):
            name = function if params == 1 else f"{function}[{p}]"
            suite.tests.append(
                Case(
                    name,
                    module,
                    in_class,
                    is_async,
                    loop_scope,
                    used,
                    outcome,
                    function,
                    params,
                    unmarked,
                )
            )
    return suite


CONFTEST = """
import asyncio
import json

import pytest

import aiorec

_new_event_loop = asyncio.new_event_loop


def recorded_loop():
    loop = _new_event_loop()
    index = len(aiorec.LOOPS)
    aiorec.LOOPS.append(loop)
    loop._rec_index = index
    close = loop.close

    def recorded_close():
        pending = sum(not task.done() for task in asyncio.all_tasks(loop))
        aiorec.event("loop_closed", index, pending)
        close()

    loop.close = recorded_close
    aiorec.event("loop_made", index)
    return loop


def pytest_configure(config):
    asyncio.new_event_loop = recorded_loop


def pytest_runtest_setup(item):
    aiorec.CURRENT = item.name
    aiorec.event("start", item.name)


def pytest_runtest_logreport(report):
    text = "" if report.longrepr is None else str(report.longrepr)
    aiorec.event("report", report.nodeid.rpartition("::")[2], report.when, report.outcome, text)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    asyncio.new_event_loop = _new_event_loop
    aiorec.event("open_at_end", sum(not loop.is_closed() for loop in aiorec.LOOPS))
    with open("events.json", "w") as out:
        json.dump(aiorec.EVENTS, out)
"""

AIOREC = """
import asyncio

EVENTS = []
LOOPS = []
CURRENT = None


def event(*what):
    EVENTS.append(list(what))


def loop_index():
    try:
        return asyncio.get_running_loop()._rec_index
    except (RuntimeError, AttributeError):
        return None
"""


def fixture_source(f: Fixture) -> str:
    args = ", ".join(f.deps)
    if f.is_async:
        decorator = (
            f'@pytest.fixture(scope="{f.scope}")'
            if f.plain
            else f'@pytest_aioloop.fixture(scope="{f.scope}", loop_scope="{f.loop_scope}")'
        )
        head = f"async def {f.name}({args}):"
    else:
        decorator = f'@pytest.fixture(scope="{f.scope}")'
        head = f"def {f.name}({args}):"
    body = [
        f'aiorec.event("setup", "{f.name}", aiorec.CURRENT, aiorec.loop_index())',
    ]
    if f.fault == "setup":
        body.append(f'raise RuntimeError("FAULT-{f.name}-setup")')
    body += [
        f'aiorec.event("setup_done", "{f.name}", aiorec.CURRENT)',
        f'yield "{f.name}"',
        f'aiorec.event("teardown", "{f.name}", aiorec.CURRENT, aiorec.loop_index())',
    ]
    if f.fault == "teardown":
        body.append(f'raise RuntimeError("FAULT-{f.name}-teardown")')
    return "\n".join([decorator, head, *("    " + line for line in body)]) + "\n"


def case_source(t: Case) -> str:
    """The test function of ``t`` (and of the other items of its function)."""
    names = [*t.fixtures, *(["p"] if t.params > 1 else [])]
    args = ", ".join(["self", *names] if t.in_class else names)
    body = ['aiorec.event("test", aiorec.CURRENT, aiorec.loop_index())']
    markers = [f'@pytest.mark.parametrize("p", range({t.params}))'] if t.params > 1 else []
    if t.is_async:
        if not t.unmarked:
            markers.append(f'@pytest.mark.asyncio(loop_scope="{t.loop_scope}")')
        head = f"async def {t.function}({args}):"
        body.append("await asyncio.sleep(0)")
    else:
        head = f"def {t.function}({args}):"
    body += {
        "pass": [],
        "fail": [f'assert False, "FAULT-{t.function}-call"'],
        "raise": [f'raise ValueError("FAULT-{t.function}-call")'],
        "cancel": ["asyncio.current_task().cancel()", "await asyncio.sleep(0)"],
        "stop": ["asyncio.get_running_loop().stop()", "await asyncio.sleep(3600)"],
        "leak": ["asyncio.create_task(asyncio.sleep(3600))"],
    }[t.outcome]
    return "\n".join([*markers, head, *("    " + line for line in body)]) + "\n"


HEAD = "import asyncio\n\nimport pytest\n\nimport aiorec\nimport pytest_aioloop\n\n"

TRAILER = """
@pytest.mark.asyncio
async def test_plain_after():
    await asyncio.sleep(0)


def test_sync_after():
    asyncio.run(asyncio.sleep(0))
"""


def one_per_function(tests: list[Case]) -> list[Case]:
    """The first item of each test function."""
    return [t for t in tests if t.params == 1 or t.name.endswith("[0]")]


def write_suite(pytester: pytest.Pytester, suite: Suite) -> list[str]:
    """Write the suite; return the test names in the order pytest runs them."""
    conftest = (
        CONFTEST
        + "\n"
        + HEAD.replace("import aiorec\n", "")
        + "\n\n".join(fixture_source(f) for f in suite.fixtures)
    )
    # The helper's import comes first: the conftest's fixtures use it.
    pytester.makeconftest(
        conftest.replace("import pytest_aioloop\n", "import pytest_aioloop\nimport aiorec\n", 1)
    )
    pytester.makepyfile(aiorec=AIOREC)
    pytester.makeini(f"[pytest]\nasyncio_mode = {suite.mode}\n")
    order: list[str] = []
    for module in (0, 1):
        tests = [t for t in suite.tests if t.module == module]
        plain = [t for t in tests if not t.in_class]
        in_class = [t for t in tests if t.in_class]
        source = HEAD + "\n\n".join(case_source(t) for t in one_per_function(plain))
        if in_class:
            source += "\n\nclass TestC:\n" + textwrap.indent(
                "\n".join(case_source(t) for t in one_per_function(in_class)), "    "
            )
        if module == 1:
            source += TRAILER
        (pytester.path / f"test_m{module}.py").write_text(source)
        order += [t.name for t in plain] + [t.name for t in in_class]
    return [*order, "test_plain_after", "test_sync_after"]


def unit(test: Case, scope: str) -> str:
    """The collector a loop (or cache) of ``scope`` belongs to, seen from ``test``.

    As pytest (and the plugin) see it: a class scope outside a class is the test's own.
    """
    if scope == "function" or (scope == "class" and not test.in_class):
        return f"test {test.name}"
    if scope == "class":
        return f"class m{test.module}.TestC"
    if scope == "module":
        return f"module m{test.module}"
    return "session"


def check(suite: Suite, order: list[str], events: list[list[object]]) -> None:
    tests = {t.name: t for t in suite.tests}
    fixtures = suite.by_name()
    where = {}  # test name -> its position in the run
    reports: dict[str, dict[str, tuple[str, str]]] = {}
    for e in events:
        if e[0] == "start":
            where.setdefault(e[1], len(where))
        if e[0] == "report":
            reports.setdefault(e[1], {})[e[2]] = (e[3], e[4])

    # The session carried on: every test ran, in the order written, and the last two passed.
    assert list(where) == order, (list(where), order)
    for name in ("test_plain_after", "test_sync_after"):
        assert reports[name]["call"][0] == "passed", reports[name]
    assert events[-1] == ["open_at_end", 0], events[-1]

    # Fixture instances: each set-up is torn down exactly once, dependents first.
    alive: dict[str, int] = {}  # fixture -> event index of its live set-up
    instances = []  # (fixture, setup index, teardown index, test at setup, test at teardown)
    attempts: dict[tuple[str, str], int] = {}
    for i, e in enumerate(events):
        if e[0] == "setup":
            name, current = e[1], e[2]
            f = fixtures[name]
            key = (name, unit(tests[current], f.scope) if current in tests else current)
            attempts[key] = attempts.get(key, 0) + 1
            assert attempts[key] == 1, f"{name} set up twice in one {f.scope} scope: {key}"
            for dep in f.deps:
                assert dep in alive, f"{name} set up while its dependency {dep} is not"
        elif e[0] == "setup_done":
            assert e[1] not in alive, f"{e[1]} set up again before its teardown"
            alive[e[1]] = i
            instances.append([e[1], i, None, e[2], None])
        elif e[0] == "teardown":
            name = e[1]
            assert name in alive, f"{name} torn down without a set-up (or twice)"
            for other, at in alive.items():
                if name in fixtures[other].deps and at > alive[name]:
                    raise AssertionError(f"{name} torn down before {other}, which depends on it")
            del alive[name]
            instance = next(x for x in instances if x[0] == name and x[2] is None)
            instance[2], instance[4] = i, e[2]
    assert not alive, f"never torn down: {sorted(alive)}"

    # Each test: its outcome, its fixtures alive while it ran, its errors on the right test.
    test_events = {e[1]: i for i, e in enumerate(events) if e[0] == "test"}
    for t in suite.tests:
        closure = suite.closure(t.fixtures)
        failing_setup = {n for n in closure if fixtures[n].fault == "setup"}
        setup_outcome, setup_text = reports[t.name]["setup"]
        if failing_setup:
            assert setup_outcome == "failed", (t, reports[t.name])
            assert any(f"FAULT-{n}-setup" in setup_text for n in failing_setup), setup_text
            assert t.name not in test_events, f"{t.name} ran although its fixture failed"
            assert "call" not in reports[t.name]
        else:
            assert setup_outcome == "passed", (t, setup_text)
            at = test_events[t.name]
            for name in closure:
                assert any(x[0] == name and x[1] < at < x[2] for x in instances), (
                    f"{t.name} ran without {name} set up"
                )
            call_outcome, call_text = reports[t.name]["call"]
            expected = "passed" if t.outcome in PASSING else "failed"
            assert call_outcome == expected, (t, call_text)
            if t.outcome in ("fail", "raise"):
                assert f"FAULT-{t.function}-call" in call_text
            if t.outcome == "stop":
                assert "the event loop was stopped" in call_text, call_text
            if t.outcome == "cancel":
                assert "CancelledError" in call_text, call_text
        for n in fixtures:
            for when, (_, text) in reports[t.name].items():
                if f"FAULT-{n}-setup" in text:
                    assert when == "setup", (t.name, when, n)
                    assert n in closure, (t.name, when, n)

    # A teardown error: once per torn-down instance, on the test whose teardown ran it.
    for n, f in fixtures.items():
        if f.fault != "teardown":
            continue
        token = f"FAULT-{n}-teardown"
        on = [
            name
            for name, phases in reports.items()
            for when, (_, text) in phases.items()
            if token in text
        ]
        torn = [x[4] for x in instances if x[0] == n]
        assert sorted(on) == sorted(torn), (n, on, torn)
        for name in on:
            assert reports[name]["teardown"][0] == "failed"
        for x in instances:
            if x[0] != n:
                continue
            setup_test = x[3]
            if f.scope == "function":
                assert x[4] == setup_test
            else:
                # the last test of the scope's unit: the one after which the unit ends
                members = [
                    name
                    for name in order
                    if scope_unit(tests, name, f.scope) == scope_unit(tests, setup_test, f.scope)
                ]
                assert x[4] == members[-1], (n, x, members)

    # Loops: the same for one scope unit, another for another; closed once, when the unit ends.
    loop_of: dict[str, int] = {}
    users: dict[int, list[int]] = {}  # loop -> event indices that ran in it
    for i, e in enumerate(events):
        if e[0] == "test" and e[1] in tests and tests[e[1]].is_async:
            t = tests[e[1]]
            key = unit(t, t.loop_scope)
            loop = e[2]
        elif e[0] in ("setup", "teardown") and fixtures[e[1]].is_async:
            f = fixtures[e[1]]
            if e[0] == "teardown" and f.scope != "function":
                continue  # its loop checked at set-up; its close below
            t = tests[e[2]]
            key = unit(t, f.loop_scope)
            loop = e[3]
        else:
            continue
        assert loop is not None, e
        users.setdefault(loop, []).append(i)
        assert loop_of.setdefault(key, loop) == loop, (
            f"{key} ran in loops {loop_of[key]} and {loop}"
        )
    assert len(set(loop_of.values())) == len(loop_of), f"two scopes shared a loop: {loop_of}"
    closed = [e for e in events if e[0] == "loop_closed"]
    made = [e[1] for e in events if e[0] == "loop_made"]
    assert sorted(e[1] for e in closed) == sorted(made), "a loop closed twice, or never"
    for e in closed:
        assert e[2] == 0, f"loop {e[1]} closed with {e[2]} task(s) pending"
    close_at = {e[1]: i for i, e in enumerate(events) if e[0] == "loop_closed"}
    for key, loop in loop_of.items():
        assert all(i < close_at[loop] for i in users[loop]), f"{key}: used after its close"
        members = [name for name in order if any(scope_unit(tests, name, s) == key for s in SCOPES)]
        later = order[order.index(members[-1]) + 1 :] if members else []
        starts = [i for i, e in enumerate(events) if e[0] == "start" and e[1] in later]
        if starts:
            assert close_at[loop] < starts[0], f"{key}: its loop outlived its scope"


def scope_unit(tests: dict[str, Case], name: str, scope: str) -> str:
    """``unit()`` for any test of the run, the trailer's included (module 1, no class)."""
    if name in tests:
        return unit(tests[name], scope)
    return unit(Case(name, 1, False, True, "function", [], "pass"), scope)


def test_random_suites_keep_every_invariant(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """final/ only: the invariants are the finished plugin's (not a stage's scenario)."""
    aio = AioRun(pytester, monkeypatch, next(t for t in TARGETS if t.name == "final"))
    pytester.syspathinsert()

    @settings(
        PROFILE,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.generate] if NO_SHRINK else list(hypothesis.Phase),
        print_blob=True,
    )
    @given(suites())
    def one_suite(suite: Suite) -> None:
        for old in pytester.path.glob("*.py"):
            old.unlink()
        # The byte code of the last example's modules, too: a module rewritten in
        # the same second with the same size would otherwise be loaded from it.
        shutil.rmtree(pytester.path / "__pycache__", ignore_errors=True)
        (pytester.path / "events.json").unlink(missing_ok=True)
        order = write_suite(pytester, suite)
        result = aio.run("-q", "-p", "no:randomly", "-p", "no:cacheprovider")
        assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED), result.stdout.str()
        result.stdout.no_fnmatch_line("*INTERNALERROR*")
        events = json.loads((pytester.path / "events.json").read_text())
        check(suite, order, events)

    one_suite()
