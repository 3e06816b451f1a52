"""final/ under faults: each broken test gets its own clear outcome, and the session carries on.

Every scenario writes a test module with one fault, followed (in a module of
its own, run after it) by a plain async test and a sync test that calls
``asyncio.run()``: both must still pass, whatever the fault did. Every run
records the loops the plugin made and checks that each was closed, and that
nothing printed the plugin's noise (the patterns of
``test_final_reliability.NOISE``). Most run in this process (pytester's
in-process run is cheap); what ends the process (pytest-timeout's thread
method) runs in a subprocess with a time limit.

The faults that stop a run or hang it without the plugin's help
(KeyboardInterrupt, Ctrl-C, SystemExit, pytest-timeout's signal method, a
stopped loop) are in ``test_final_reliability.py``; bad option values and
garbled messages in ``test_final_bad_input.py``.
"""

from __future__ import annotations

import sys

import pytest
from test_final_reliability import RECORD_LOOPS, assert_every_loop_closed, assert_quiet

HEAD = """
import asyncio
import socket
import sys

import pytest

import pytest_aioloop
"""

# Run after every fault, in a module of their own: the session must still work.
AFTER = """
import asyncio

import pytest


@pytest.mark.asyncio
async def test_plain_async_after():
    await asyncio.sleep(0)


@pytest.mark.asyncio(loop_scope="module")
async def test_module_loop_after():
    await asyncio.sleep(0)


def test_sync_asyncio_run_after():
    asyncio.run(asyncio.sleep(0))
"""


def write(aio, source: str, *, loop_scope: str = "function", conftest: str = "") -> None:
    """The faulty module (its tests at ``loop_scope`` by default), then the module after it."""
    aio.pytester.makeconftest(RECORD_LOOPS + conftest)
    aio.pytester.makeini(f"[pytest]\nasyncio_default_test_loop_scope = {loop_scope}\n")
    aio.pytester.makepyfile(test_a_fault=HEAD + source, test_z_after=AFTER)


def assert_after_passed(result: pytest.RunResult) -> None:
    result.stdout.fnmatch_lines_random(
        [
            "*test_z_after.py::test_plain_async_after PASSED*",
            "*test_z_after.py::test_module_loop_after PASSED*",
            "*test_z_after.py::test_sync_asyncio_run_after PASSED*",
        ]
    )


def run(aio, *args: str) -> pytest.RunResult:
    result = aio.run("-v", "-p", "no:randomly", *args)
    assert_after_passed(result)
    assert_quiet(result)
    assert_every_loop_closed(aio)
    return result


# (the fault, the outcomes of its module's tests, lines its report must show)
LOOP_FAULTS = {
    "closes its running loop": (
        """
@pytest.mark.asyncio
async def test_fault():
    asyncio.get_running_loop().close()

@pytest.mark.asyncio
async def test_same_module():
    await asyncio.sleep(0)
""",
        {"failed": 1, "passed": 1},
        ["E*RuntimeError: Cannot close a running event loop"],
    ),
    "calls asyncio.run() inside": (
        """
@pytest.mark.asyncio
async def test_fault():
    async def inner():
        pass
    coroutine = inner()
    try:
        asyncio.run(coroutine)
    finally:
        coroutine.close()

@pytest.mark.asyncio
async def test_same_module():
    await asyncio.sleep(0)
""",
        {"failed": 1, "passed": 1},
        ["E*RuntimeError: asyncio.run() cannot be called from a running event loop"],
    ),
    "calls loop.run_until_complete() inside": (
        """
@pytest.mark.asyncio
async def test_fault():
    future = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().run_until_complete(future)

@pytest.mark.asyncio
async def test_same_module():
    await asyncio.sleep(0)
""",
        {"failed": 1, "passed": 1},
        ["E*RuntimeError: This event loop is already running"],
    ),
    "unsets the current loop": (
        """
@pytest.mark.asyncio
async def test_fault():
    asyncio.set_event_loop(None)

@pytest.mark.asyncio
async def test_same_module():
    await asyncio.sleep(0)
""",
        {"passed": 2},
        [],
    ),
    "sets its running loop as the current loop": (
        """
@pytest.mark.asyncio
async def test_fault():
    asyncio.set_event_loop(asyncio.get_running_loop())

@pytest.mark.asyncio
async def test_same_module():
    await asyncio.sleep(0)
""",
        {"passed": 2},
        [],
    ),
    "sets another loop as the current loop": (
        """
@pytest.fixture
def other_loop():
    loop = asyncio.new_event_loop()
    yield loop
    asyncio.set_event_loop(None)
    loop.close()

@pytest.mark.asyncio
async def test_fault(other_loop):
    asyncio.set_event_loop(other_loop)
    assert asyncio.get_running_loop() is not other_loop

@pytest.mark.asyncio
async def test_same_module():
    await asyncio.sleep(0)
""",
        {"passed": 2},
        [],
    ),
}


@pytest.mark.since("final")
@pytest.mark.parametrize("loop_scope", ["function", "module"])
@pytest.mark.parametrize("fault", list(LOOP_FAULTS))
def test_a_test_that_misuses_its_loop(aio, fault, loop_scope):
    source, outcomes, lines = LOOP_FAULTS[fault]
    write(aio, source, loop_scope=loop_scope)
    result = run(aio)
    result.assert_outcomes(**{**outcomes, "passed": outcomes.get("passed", 0) + 3})
    result.stdout.fnmatch_lines(lines)
    result.stdout.fnmatch_lines(["*test_a_fault.py::test_same_module PASSED*"])


def several_fixtures(scope: str, loop_scope: str) -> str:
    """Four async fixtures of one scope and loop scope: two fail at teardown, one at setup."""
    fixture = f'@pytest_aioloop.fixture(scope="{scope}", loop_scope="{loop_scope}")'
    return f"""
{fixture}
async def first():
    print("set up:", "first")
    yield
    print("torn down:", "first")

{fixture}
async def breaks_teardown(first):
    yield
    print("torn down:", "breaks_teardown")
    raise RuntimeError("teardown-error-one")

{fixture}
async def middle():
    yield
    await asyncio.sleep(0)
    print("torn down:", "middle")

{fixture}
async def breaks_teardown_too(middle):
    yield
    raise ValueError("teardown-error-two")

{fixture}
async def breaks_setup(first):
    print("set up:", "breaks_setup")
    raise LookupError("setup-error")
    yield


class TestFixtures:
    @pytest.mark.asyncio(loop_scope="{loop_scope}")
    async def test_teardowns_fail(self, first, breaks_teardown, middle, breaks_teardown_too):
        await asyncio.sleep(0)

    @pytest.mark.asyncio(loop_scope="{loop_scope}")
    async def test_setup_fails(self, first, breaks_setup):
        pass

    @pytest.mark.asyncio(loop_scope="{loop_scope}")
    async def test_setup_fails_again(self, breaks_setup):
        pass

    @pytest.mark.asyncio(loop_scope="{loop_scope}")
    async def test_last(self):
        pass
"""


@pytest.mark.since("final")
@pytest.mark.parametrize("loop_scope", ["function", "class", "module", "session"])
def test_fixture_errors_at_every_loop_scope(aio, loop_scope):
    """Setup and teardown errors of several fixtures: every other teardown runs, each error once.

    The fixtures are cached as long as their loop lives (scope = loop scope).
    Both teardown errors come in one report (pytest groups the errors of one
    teardown in an ExceptionGroup). A teardown error is reported
    on the test whose teardown ran it: the test itself for function scope, the
    class's last test for class scope, the module's last test for module scope
    (the last test of test_a_fault.py), the session's last test for session scope.
    """
    write(aio, several_fixtures(loop_scope, loop_scope))
    result = run(aio, "-s")
    out = result.stdout.str()
    # Each teardown ran once, the failing ones' errors notwithstanding.
    for line in ("torn down: first", "torn down: breaks_teardown", "torn down: middle"):
        # A function-scoped 'first' is set up for each of the three tests that need it.
        expected = 3 if (line == "torn down: first" and loop_scope == "function") else 1
        assert out.count(line) == expected, (line, out)
    # The setup error: raised once per cache, reported on each test that asks for it.
    assert out.count("set up: breaks_setup") == (2 if loop_scope == "function" else 1), out
    result.stdout.fnmatch_lines_random(
        [
            "*ERROR at setup of TestFixtures.test_setup_fails *",
            "*ERROR at setup of TestFixtures.test_setup_fails_again *",
        ]
    )
    # Each teardown error reported once, on the test whose teardown ended the fixture.
    on = {
        "function": "TestFixtures.test_teardowns_fail",
        "class": "TestFixtures.test_last",
        "module": "TestFixtures.test_last",
        "session": "test_sync_asyncio_run_after",
    }[loop_scope]
    result.stdout.fnmatch_lines([f"*ERROR at teardown of {on} *"])
    for error in ("RuntimeError: teardown-error-one", "ValueError: teardown-error-two"):
        assert out.count(error) == 1, (error, out)
    outcomes = result.parseoutcomes()
    assert outcomes["errors"] == 3, outcomes  # two setups, one teardown (both errors in it)
    assert outcomes["passed"] == 3 + 2, (
        outcomes
    )  # the after tests, test_teardowns_fail and test_last


@pytest.mark.since("final")
@pytest.mark.parametrize("where", ["test", "fixture setup", "fixture teardown"])
@pytest.mark.parametrize("loop_scope", ["function", "module"])
def test_pytest_exit_ends_the_session_cleanly(aio, where, loop_scope):
    """``pytest.exit()`` in an async test or fixture: the session ends with its code, loops closed.

    In the fixture's teardown too: pytest stops there, after its summary.
    """
    fixture = {
        "test": "yield",
        "fixture setup": 'pytest.exit("leaving now", returncode=7)\n    yield',
        "fixture teardown": 'yield\n    pytest.exit("leaving now", returncode=7)',
    }[where]
    call = 'pytest.exit("leaving now", returncode=7)' if where == "test" else "pass"
    aio.pytester.makeconftest(RECORD_LOOPS)
    aio.pytester.makepyfile(
        HEAD
        + f"""
@pytest_aioloop.fixture(loop_scope="{loop_scope}")
async def resource():
    await asyncio.sleep(0)
    {fixture}

@pytest.mark.asyncio(loop_scope="{loop_scope}")
async def test_exits(resource):
    await asyncio.sleep(0)
    {call}

@pytest.mark.asyncio(loop_scope="{loop_scope}")
async def test_never_reached():
    pass
"""
    )
    result = aio.run("-v")
    assert result.ret == 7, result.stdout.str()
    result.stdout.fnmatch_lines(["*Exit: leaving now*"])
    result.stdout.no_fnmatch_line("*test_never_reached*")
    assert_quiet(result)
    assert_every_loop_closed(aio)


FIXTURE_AND_TEST_FAULTS = {
    "an async fixture that yields twice": (
        """
@pytest_aioloop.fixture(scope="module", loop_scope="module")
async def twice():
    yield 1
    print("twice's teardown started")
    yield 2
    print("never printed")

@pytest.mark.asyncio(loop_scope="module")
async def test_fault(twice):
    pass

@pytest.mark.asyncio(loop_scope="module")
async def test_same_module(twice):
    pass
""",
        {"passed": 2, "errors": 1},
        [
            "*ERROR at teardown of test_same_module*",
            "async fixture 'twice' yielded more than once: yield only once.",
        ],
    ),
    "a function-scoped async fixture that yields twice": (
        """
@pytest_aioloop.fixture
async def twice():
    yield 1
    yield 2

@pytest.mark.asyncio
async def test_fault(twice):
    pass

@pytest.mark.asyncio
async def test_same_module(twice):
    pass
""",
        {"passed": 2, "errors": 2},
        ["*ERROR at teardown of test_fault*", "async fixture 'twice' yielded more than once*"],
    ),
    "an async fixture that stops its loop in its teardown": (
        """
@pytest_aioloop.fixture(scope="module", loop_scope="module")
async def stops():
    yield
    asyncio.get_running_loop().stop()
    await asyncio.sleep(60)

@pytest.mark.asyncio(loop_scope="module")
async def test_fault(stops):
    pass

@pytest.mark.asyncio(loop_scope="module")
async def test_same_module(stops):
    pass
""",
        {"passed": 2, "errors": 1},
        [
            "*ERROR at teardown of test_same_module*",
            "the event loop was stopped (loop.stop() was called) before the teardown of fixture "
            "'stops' finished, so its remaining work was cancelled; code under test must not "
            "stop the loop it runs in.",
        ],
    ),
    "an async generator test function": (
        # Its message is issue 14's (an error at its set-up); here: the session carries on.
        """
@pytest.mark.asyncio
async def test_fault():
    yield

@pytest.mark.asyncio
async def test_same_module():
    await asyncio.sleep(0)
""",
        {"errors": 1, "passed": 1},
        ["*test_fault: async generator tests (an async def test with a yield) are not supported*"],
    ),
    "a sync test marked asyncio": (
        """
@pytest.mark.asyncio
def test_fault():
    pass

@pytest.mark.asyncio
async def test_same_module():
    await asyncio.sleep(0)
""",
        {"passed": 2, "warnings": 1},
        [
            "*test_a_fault.py::test_fault is marked asyncio but is not an async def function; "
            "the marker does nothing here*"
        ],
    ),
    "an undecorated async fixture in strict mode": (
        """
@pytest.fixture
async def undecorated():
    return 1

@pytest.mark.asyncio
async def test_fault(undecorated):
    pass

@pytest.mark.asyncio
async def test_same_module():
    await asyncio.sleep(0)
""",
        {"passed": 1, "errors": 1},
        [
            "*test_a_fault.py::test_fault: the async fixture 'undecorated' is a plain "
            "@pytest.fixture, which strict mode leaves to other async plugins: decorate it with "
            "@pytest_aioloop.fixture, or set asyncio_mode = auto."
        ],
    ),
    "a module-scoped loop-bound object used from a function-loop test": (
        """
@pytest_aioloop.fixture(scope="module", loop_scope="module")
async def event():
    return asyncio.get_running_loop().create_future()

@pytest.mark.asyncio
async def test_fault(event):
    await event

@pytest.mark.asyncio(loop_scope="module")
async def test_same_module(event):
    event.set_result(None)
    await event
""",
        {"failed": 1, "passed": 1},
        ["E*RuntimeError: *attached to a different loop", "*- event loops -*"],
    ),
}


@pytest.mark.since("final")
@pytest.mark.parametrize("fault", list(FIXTURE_AND_TEST_FAULTS))
def test_a_broken_fixture_or_test(aio, fault):
    source, outcomes, lines = FIXTURE_AND_TEST_FAULTS[fault]
    write(aio, source)
    result = run(aio, "-s")
    result.assert_outcomes(**{**outcomes, "passed": outcomes.get("passed", 0) + 3})
    result.stdout.fnmatch_lines(lines)
    result.stdout.no_fnmatch_line("*During handling of the above exception*")
    result.stdout.no_fnmatch_line("*All traceback entries are hidden*")


LEFT_OPEN = {
    "a server": """
    server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    assert server.is_serving()
""",
    "a connection": """
    server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
""",
    "a subprocess transport": """
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(0.1)", stdout=asyncio.subprocess.PIPE
    )
""",
    "a socket": """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
""",
}


COLLECT_AT_THE_END = """

@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    import gc
    import threading

    # A child process's transport is held by asyncio's watcher thread
    # (ThreadedChildWatcher's, "waitpid-N" or "asyncio-waitpid-N") until it ends.
    for thread in threading.enumerate():
        if "waitpid" in thread.name:
            thread.join(10)
    gc.collect()
"""


@pytest.mark.since("final")
@pytest.mark.parametrize("loop_scope", ["function", "module"])
@pytest.mark.parametrize("what", list(LEFT_OPEN))
def test_a_test_that_leaves_something_open(aio, what, loop_scope):
    """The test passes, its loop still closes, and the tests after it pass.

    What it left open is the test's own leak (Python's ResourceWarning says so
    when it is collected; issue 12 reports leaked tasks): the plugin must not
    turn it into another test's failure or keep the loop from closing.
    """
    write(
        aio,
        "\n@pytest.mark.asyncio\nasync def test_fault():\n"
        + LEFT_OPEN[what]
        + "\n@pytest.mark.asyncio\nasync def test_same_module():\n    await asyncio.sleep(0)\n",
        loop_scope=loop_scope,
        # What the test left is collected within its own run (not in a later
        # scenario's, where CPython 3.11.7 can fail to compile with "AST
        # constructor recursion depth mismatch" when the collection runs their
        # __del__ in the middle of it: gh-106905).
        conftest=COLLECT_AT_THE_END,
    )
    result = run(
        aio,
        "-W",
        "ignore::ResourceWarning",
        "-W",
        "ignore::pytest.PytestUnraisableExceptionWarning",
    )
    result.assert_outcomes(passed=5)


MARKER_FAULTS = {
    "an unknown keyword": (
        '@pytest.mark.asyncio(loop_scop="module")',
        "test_a_fault.py::test_fault: @pytest.mark.asyncio got loop_scop=; it accepts only the "
        "keyword arguments loop_scope=..., loop_factories=*, timeout=...*",
    ),
    "a positional argument": (
        '@pytest.mark.asyncio("module")',
        "test_a_fault.py::test_fault: @pytest.mark.asyncio got 'module'; it accepts only the "
        "keyword arguments*",
    ),
    "a bad loop_scope": (
        '@pytest.mark.asyncio(loop_scope="modul")',
        "test_a_fault.py::test_fault: loop_scope='modul' is not one of function, class, module, "
        "package, session.",
    ),
    "loop_factories as a string": (
        '@pytest.mark.asyncio(loop_factories="recorded")',
        "test_a_fault.py::test_fault: @pytest.mark.asyncio(loop_factories='recorded'): give a "
        "non-empty list of factory names, e.g. loop_factories=['uvloop'].",
    ),
    "loop_factories of a wrong type": (
        "@pytest.mark.asyncio(loop_factories=3)",
        "test_a_fault.py::test_fault: @pytest.mark.asyncio(loop_factories=3): give a "
        "non-empty list of factory names*",
    ),
    "loop_factories with a non-string name": (
        "@pytest.mark.asyncio(loop_factories=[asyncio.new_event_loop])",
        "test_a_fault.py::test_fault: @pytest.mark.asyncio("
        "loop_factories=*<function new_event_loop*>*): give a non-empty list of factory names*",
    ),
}


@pytest.mark.since("final")
@pytest.mark.parametrize("fault", list(MARKER_FAULTS))
def test_a_bad_marker_is_an_error_naming_the_test(aio, fault):
    """A marker mistake fails its module's collection with one message; other modules run."""
    marker, message = MARKER_FAULTS[fault]
    write(aio, f"\n{marker}\nasync def test_fault():\n    pass\n")
    result = run(aio, "--continue-on-collection-errors")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines([message])
    assert sum(line.startswith("test_a_fault.py::test_fault") for line in result.stdout.lines) == 1
    result.stdout.no_fnmatch_line("*pytest_aioloop/*.py*")
    result.stdout.no_fnmatch_line("*During handling*")


@pytest.mark.since("final")
@pytest.mark.parametrize(
    "returned", ["[asyncio.new_event_loop]", "{}", "{'': asyncio.new_event_loop}", "{'x': 3}"]
)
def test_a_loop_factories_hook_of_the_wrong_type_is_an_error_naming_it(aio, returned):
    """The hook's result is checked once per test function: a usage error once collection is
    over (issue 14; pytest-asyncio raises a UsageError too, but inside collection).

    The message alone, naming the test, the hook, what it returned and what it
    must return; no traceback of the plugin's (a UsageError raised inside
    collection would be shown with the plugin's and pluggy's frames).
    """
    aio.pytester.makeconftest(
        f"import asyncio\n\ndef pytest_asyncio_loop_factories(config, item):\n"
        f"    return {returned}\n"
    )
    aio.pytester.makepyfile(
        test_a="import pytest\n\n@pytest.mark.asyncio\nasync def test_one():\n    pass\n"
    )
    result = aio.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    result.stderr.fnmatch_lines(
        [
            "ERROR: test_a.py::test_one: pytest_asyncio_loop_factories returned *; it must return "
            "a non-empty mapping of names to loop factories, "
            "e.g. {'asyncio': asyncio.new_event_loop}.",
        ]
    )
    result.stdout.no_fnmatch_line("*pytest_aioloop/*.py*")
    result.stdout.no_fnmatch_line("*pluggy/*")
    result.stderr.no_fnmatch_line("*pluggy/*")


@pytest.mark.since("final")
@pytest.mark.skipif(
    sys.platform == "win32", reason="pytest-timeout's thread method ends the process"
)
@pytest.mark.parametrize("loop_scope", ["function", "module"])
def test_pytest_timeout_thread_method_ends_a_hanging_run(aio, loop_scope):
    """pytest-timeout's thread method: the stacks are dumped and the process ends; no hang.

    That method ends the whole process (``os._exit(1)``) by design: the session
    cannot survive it, so the run must only end, at once, with pytest-timeout's report.
    """
    pytest.importorskip("pytest_timeout")
    aio.pytester.makeconftest(RECORD_LOOPS)
    aio.pytester.makepyfile(
        f"""
        import asyncio
        import pytest

        @pytest.mark.asyncio(loop_scope="{loop_scope}")
        async def test_hangs():
            await asyncio.sleep(60)
        """
    )
    result = aio.run_subprocess("--timeout=1", "--timeout-method=thread", timeout=60)
    assert result.ret == 1, result.stdout.str()
    result.stdout.fnmatch_lines(["*+++ Timeout +++*", "*Stack of MainThread*"])
    assert_quiet(result)
