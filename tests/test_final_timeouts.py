"""final/'s timeouts: a hanging async test or fixture is cancelled in its loop and reported.

The timeouts here are short (a fraction of a second), so each scenario takes
well under a second of real time, except those that wait out the two-second
grace period that a test which swallows its cancellation gets. Runs that could
hang if the feature broke run in a fresh interpreter with a time limit
(``aio.run_subprocess(..., timeout=...)``), so that a hang fails the scenario
instead of the suite.
"""

from __future__ import annotations

import sys

import pytest

# A test and a helper task that hang, each at a line the report must name.
HANGING = """
import asyncio
import pytest


async def produce(ready):
    await ready.wait()  # line 6: where the helper task hangs


async def fetch(producer):
    await producer  # line 10: where the test's helper coroutine waits


@pytest.mark.asyncio
async def test_hangs():
    producer = asyncio.create_task(produce(asyncio.Event()), name="producer")
    await fetch(producer)  # line 16: where the test waits


@pytest.mark.asyncio
async def test_next():
    await asyncio.sleep(0)
"""


@pytest.mark.since("final")
def test_a_hanging_test_times_out_and_the_next_one_passes(aio):
    """--asyncio-timeout cancels a hanging test in its loop, reports it, and the run carries on."""
    aio.pytester.makepyfile(test_hangs=HANGING)
    result = aio.run("--asyncio-timeout=0.2", "-rf")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_hangs _*",
            "the test timed out after 0.2 s (--asyncio-timeout=0.2) "
            "and was cancelled in its event loop.",
            "Where each task of its event loop was waiting when the time ran out "
            "(innermost await last):",
        ]
    )
    # A misuse, reported as such: the message and the report, no traceback of the plugin's.
    result.stdout.no_fnmatch_line("*pytest_aioloop*")
    result.stdout.no_fnmatch_line("*CancelledError*")


@pytest.mark.since("final")
def test_the_report_names_where_the_test_and_its_helper_task_wait(aio):
    """The report shows every await of the test, down to the innermost, and each pending task."""
    aio.pytester.makepyfile(test_hangs=HANGING)
    result = aio.run("--asyncio-timeout=0.2", "-k", "test_hangs")
    result.stdout.fnmatch_lines(
        [
            "the test, in task '*':",
            "  test_hangs.py:16: in test_hangs",
            "      await fetch(producer)  # line 16: where the test waits",
            "  test_hangs.py:10: in fetch",
            "      await producer  # line 10: where the test's helper coroutine waits",
            "  awaiting task 'producer'",
            "",
            "task 'producer':",
            "  test_hangs.py:6: in produce",
            "      await ready.wait()  # line 6: where the helper task hangs",
            "  asyncio/locks.py:*: in Event.wait" if sys.version_info >= (3, 11) else "*in wait",
        ]
    )
    # The plugin's own driver frames are left out.
    result.stdout.no_fnmatch_line("*runner.py*")


MARKED = """
import asyncio
import pytest


@pytest.mark.asyncio
async def test_unmarked():
    await asyncio.sleep(0.45)


@pytest.mark.asyncio(timeout=0.2)
async def test_short():
    await asyncio.sleep(0.45)


@pytest.mark.asyncio(timeout=5)
async def test_long():
    await asyncio.sleep(0.45)


@pytest.mark.asyncio(timeout=5)
class TestClass:
    async def test_from_the_class(self):
        await asyncio.sleep(0.45)

    @pytest.mark.asyncio(loop_scope="class")
    async def test_own_marker_without_timeout(self):
        await asyncio.sleep(0.45)
"""


@pytest.mark.since("final")
@pytest.mark.parametrize(
    ("ini", "args", "unmarked"),
    [
        pytest.param("asyncio_timeout = 0.2", [], "failed", id="ini"),
        pytest.param("asyncio_timeout = 0.2", ["--asyncio-timeout=5"], "passed", id="cli-over-ini"),
        pytest.param("asyncio_timeout = 5", ["--asyncio-timeout=0.2"], "failed", id="cli-short"),
    ],
)
def test_the_marker_overrides_the_cli_and_the_cli_the_ini(aio, ini, args, unmarked):
    """timeout= of the closest asyncio marker that gives one, else --asyncio-timeout, else ini."""
    aio.pytester.makeini(f"[pytest]\n{ini}\n")
    aio.pytester.makepyfile(test_marked=MARKED)
    result = aio.run("-v", *args)
    result.stdout.fnmatch_lines_random(
        [
            f"*::test_unmarked {unmarked.upper()}*",
            "*::test_short FAILED*",
            "*::test_long PASSED*",
            "*::TestClass::test_from_the_class PASSED*",
            "*::TestClass::test_own_marker_without_timeout PASSED*",
        ]
    )
    result.stdout.fnmatch_lines(["*timed out after 0.2 s (@pytest.mark.asyncio(timeout=0.2))*"])
    if unmarked == "failed" and not args:  # the message says where the limit was set
        result.stdout.fnmatch_lines(["*timed out after 0.2 s (asyncio_timeout = 0.2 in tox.ini)*"])


@pytest.mark.since("final")
@pytest.mark.parametrize(
    ("ini", "args", "marker"),
    [
        pytest.param("asyncio_timeout = 0.2", ["--asyncio-timeout=0"], "", id="cli-0"),
        pytest.param("asyncio_timeout = 0.2", ["--asyncio-timeout=none"], "", id="cli-none"),
        # (with a fixture timeout, so that the header shows the test timeout is read as off)
        pytest.param("asyncio_timeout = 0\nasyncio_fixture_timeout = 5", [], "", id="ini-0"),
        pytest.param("", ["--asyncio-timeout=0.2"], "(timeout=0)", id="marker-0"),
        pytest.param("", ["--asyncio-timeout=0.2"], "(timeout=None)", id="marker-none"),
    ],
)
def test_zero_or_none_turns_the_timeout_off(aio, ini, args, marker):
    """0 or none, on the command line, in the ini file or as the marker's timeout=, is no limit."""
    aio.pytester.makeini(f"[pytest]\n{ini}\n")
    aio.pytester.makepyfile(
        f"""
        import asyncio
        import pytest

        @pytest.mark.asyncio{marker}
        async def test_slow():
            await asyncio.sleep(0.4)
        """
    )
    result = aio.run(*args)
    result.assert_outcomes(passed=1)
    if "fixture" in ini:
        result.stdout.fnmatch_lines(["asyncio: *, timeout=none, fixture_timeout=5s"])


SWALLOWS = """
import asyncio
import pytest


@pytest.mark.asyncio(loop_scope="{scope}")
async def test_swallows():
    while True:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            pass  # and carries on


@pytest.mark.asyncio(loop_scope="{scope}")
async def test_same_loop():
    pass
"""


@pytest.mark.since("final")
@pytest.mark.parametrize("loop_scope", ["function", "module"])
def test_a_test_that_swallows_its_cancellation_still_fails_and_the_run_ends(aio, loop_scope):
    """Timed out, then stubborn for the grace period: it fails, its loop is given up on, no hang."""
    aio.pytester.makepyfile(
        test_swallows=SWALLOWS.format(scope=loop_scope),
        test_other_module="""
            import asyncio
            import pytest

            @pytest.mark.asyncio(loop_scope="module")
            async def test_fresh_loop():
                await asyncio.sleep(0)
        """,
    )
    result = aio.run_subprocess("--asyncio-timeout=0.2", "-rfE", timeout=120)
    result.stdout.fnmatch_lines(
        [
            "*_ test_swallows _*",
            "the test timed out after 0.2 s (--asyncio-timeout=0.2) and was cancelled*",
            "It did not finish within 2 s of being cancelled (does it catch CancelledError "
            "and carry on?), so its event loop was given up on*",
            "*in test_swallows",
            "      await asyncio.sleep(60)",
        ]
    )
    if loop_scope == "function":
        result.assert_outcomes(failed=1, passed=2)
    else:
        # The module's next test shares the lost loop: a clear error; other modules are fine.
        result.assert_outcomes(failed=2, passed=1)
        result.stdout.fnmatch_lines(
            [
                "*_ test_same_loop _*",
                "its event loop was given up on, so nothing more runs in it: the test timed out "
                "after 0.2 s and did not finish within 2 s of being cancelled*",
            ]
        )
    result.stdout.no_fnmatch_line("*Task was destroyed but it is pending*")
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


@pytest.mark.since("final")
def test_a_test_that_returns_after_its_cancellation_still_fails(aio):
    """Catching the cancellation and returning is still a timeout, and the loop keeps working."""
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest

        @pytest.mark.asyncio(loop_scope="module")
        async def test_returns():
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                return

        @pytest.mark.asyncio(loop_scope="module")
        async def test_next():
            await asyncio.sleep(0)
        """
    )
    result = aio.run("--asyncio-timeout=0.2")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["the test timed out after 0.2 s*"])


FIXTURES = """
import asyncio
import pytest
import pytest_aioloop


@pytest_aioloop.fixture
async def server():
    await asyncio.Event().wait()  # line 8: the set-up hangs
    yield


@pytest_aioloop.fixture
async def client():
    yield
    await asyncio.Event().wait()  # line 15: the teardown hangs


@pytest.mark.asyncio
async def test_server(server):
    pass


@pytest.mark.asyncio
async def test_client(client):
    pass


@pytest.mark.asyncio
async def test_slow():
    await asyncio.sleep(0.5)
"""


@pytest.mark.since("final")
def test_a_hanging_fixture_fails_with_the_fixture_timeout(aio):
    """--asyncio-fixture-timeout bounds each set-up and each teardown: reported on the fixture."""
    aio.pytester.makepyfile(test_fixtures=FIXTURES)
    result = aio.run("--asyncio-fixture-timeout=0.2", "-rfE")
    # test_slow has no limit: the fixture timeout is for fixtures only.
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_server _*",
            "fixture 'server' timed out after 0.2 s (--asyncio-fixture-timeout=0.2) and was "
            "cancelled in its event loop.",
            "fixture 'server', in task \"fixture 'server'\":",
            "  test_fixtures.py:8: in server",
            "*_ ERROR at teardown of test_client _*",
            "the teardown of fixture 'client' timed out after 0.2 s*",
            "  test_fixtures.py:15: in client",
        ]
    )
    result.stdout.no_fnmatch_line("*fixtures.py*in _first_step*")


@pytest.mark.since("final")
def test_the_test_timeout_bounds_fixtures_unless_they_have_their_own(aio):
    """Without asyncio_fixture_timeout, --asyncio-timeout bounds async fixtures too; 0 unbinds."""
    aio.pytester.makepyfile(test_fixtures=FIXTURES)
    result = aio.run("--asyncio-timeout=0.2", "-k", "test_server")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "fixture 'server' timed out after 0.2 s (--asyncio-timeout=0.2, which bounds async "
            "fixtures too unless asyncio_fixture_timeout is set)*"
        ]
    )
    result = aio.run("--asyncio-timeout=0.2", "--asyncio-fixture-timeout=0.3", "-k", "test_server")
    result.stdout.fnmatch_lines(["fixture 'server' timed out after 0.3 s*"])


@pytest.mark.since("final")
def test_a_timeout_at_module_loop_scope_leaves_the_module_loop_working(aio):
    """The cut is inside the shared loop: its later tests and its fixtures still work in it."""
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest
        import pytest_aioloop

        pytestmark = pytest.mark.asyncio(loop_scope="module")
        loops = []

        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def queue():
            queue = asyncio.Queue()
            yield queue
            assert queue.qsize() == 1  # the teardown runs, in the same loop

        async def test_hangs(queue):
            loops.append(asyncio.get_running_loop())
            await queue.get()

        async def test_same_loop_still_works(queue):
            assert asyncio.get_running_loop() is loops[0]
            await queue.put("item")
            await asyncio.sleep(0.01)
        """
    )
    result = aio.run("--asyncio-timeout=0.2")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["the test timed out after 0.2 s*"])


@pytest.mark.since("final")
def test_no_timeout_fires_while_a_debugger_traces_the_test(aio):
    """A debugger's trace function (pdb's bdb, PyCharm's pydevd) turns the timeout off."""
    aio.pytester.makepyfile(
        """
        import asyncio
        import bdb
        import sys
        import pytest

        @pytest.mark.asyncio
        async def test_debugged():
            debugger = bdb.Bdb()  # pdb's base class; its user_line() and friends do nothing
            debugger.reset()
            sys.settrace(debugger.trace_dispatch)  # what pdb does: a bdb trace function
            try:
                await asyncio.sleep(0.4)
            finally:
                sys.settrace(None)

        @pytest.mark.asyncio
        async def test_not_debugged():
            await asyncio.sleep(0.4)
        """
    )
    result = aio.run("--asyncio-timeout=0.2", "-v")
    result.stdout.fnmatch_lines_random(["*test_debugged PASSED*", "*test_not_debugged FAILED*"])


@pytest.mark.since("final")
@pytest.mark.parametrize("option", ["--pdb", "--trace"])
def test_no_timeout_fires_under_pdb_or_trace(aio, option):
    """With --pdb or --trace, the run is a debugging session: no timeout at all."""
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest

        @pytest.mark.asyncio
        async def test_slow():
            await asyncio.sleep(0.4)
        """
    )
    # --trace stops at the test's start: pdb reads "continue" from stdin.
    aio.subprocess_env()
    result = aio.pytester.run(
        sys.executable,
        "-m",
        "pytest",
        *aio.plugin_args(),
        "--asyncio-timeout=0.2",
        option,
        stdin=b"continue\n",
        timeout=120,
    )
    result.stdout.fnmatch_lines([f"asyncio: *timeouts=off ({option})*", "*1 passed*"])


@pytest.mark.since("final")
def test_no_timeout_fires_after_a_breakpoint(aio):
    """breakpoint() enters pytest's pdb: from then on no timeout fires (the user is at a prompt)."""
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest

        @pytest.mark.asyncio
        async def test_stops_at_a_breakpoint():
            breakpoint()
            await asyncio.sleep(0.4)
        """
    )
    aio.subprocess_env()
    result = aio.pytester.run(
        sys.executable,
        "-m",
        "pytest",
        *aio.plugin_args(),
        "--asyncio-timeout=0.2",
        stdin=b"continue\n",
        timeout=120,
    )
    result.stdout.fnmatch_lines(["*1 passed*"])


@pytest.mark.since("final")
@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (["--asyncio-timeout=-1"], "", "--asyncio-timeout='-1' is not a timeout*"),
        (["--asyncio-timeout=abc"], "", "--asyncio-timeout='abc' is not a timeout*"),
        (["--asyncio-fixture-timeout=-1"], "", "--asyncio-fixture-timeout='-1' is not a timeout*"),
        ([], "asyncio_timeout = abc", "asyncio_timeout='abc' is not a timeout*"),
        ([], "asyncio_fixture_timeout = inf", "asyncio_fixture_timeout='inf' is not a timeout*"),
    ],
)
def test_bad_timeout_values_are_usage_errors(aio, args, ini, message):
    """A negative, non-numeric or infinite timeout is a usage error naming the option."""
    aio.pytester.makeini(f"[pytest]\n{ini}\n")
    aio.pytester.makepyfile("def test_nothing():\n    pass\n")
    result = aio.run(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: {message}give a number of seconds (such as 30 or 2.5), or 0 or none*"]
    )


@pytest.mark.since("final")
@pytest.mark.parametrize("value", ["-1", "'abc'", "float('nan')"])
def test_a_bad_marker_timeout_names_the_test(aio, value):
    """@pytest.mark.asyncio(timeout=...) takes seconds or None: anything else names the test."""
    aio.pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.asyncio(timeout={value})
        async def test_marked():
            pass
        """
    )
    result = aio.run()
    result.stdout.fnmatch_lines(
        ["*test_marked*: @pytest.mark.asyncio(timeout=*): give a number of seconds*"]
    )
    result.stdout.no_fnmatch_line("*MarkError*")
    assert result.ret != pytest.ExitCode.OK


@pytest.mark.since("final")
def test_the_timeout_runs_on_real_time_whatever_the_loop_clock_says(aio):
    """A loop whose clock is stopped, or races ahead, still gets its timeout in real seconds."""
    aio.pytester.makeconftest(
        """
        import asyncio
        import itertools

        class StoppedClock(asyncio.SelectorEventLoop):
            def time(self):
                return 0.0  # call_later never comes due

        class RacingClock(asyncio.SelectorEventLoop):
            # An hour per look: any call_later comes due at once, as in an idle virtual clock.
            _hours = itertools.count(step=3600.0)

            def time(self):
                return next(self._hours)

        def pytest_asyncio_loop_factories(config, item):
            return {"stopped": StoppedClock, "racing": RacingClock}
        """
    )
    aio.pytester.makepyfile(
        test_clocks="""
        import asyncio
        import time
        import pytest

        @pytest.mark.asyncio(loop_factories=["stopped"])
        async def test_hangs_on_a_stopped_clock():
            await asyncio.sleep(1)

        @pytest.mark.asyncio(loop_factories=["racing"])
        async def test_real_work_on_a_racing_clock():
            # 0.1 real seconds of work in a thread: far below the 1 s timeout.
            await asyncio.get_running_loop().run_in_executor(None, time.sleep, 0.1)
        """
    )
    result = aio.run_subprocess("--asyncio-timeout=1", "-v", "-rf", timeout=120)
    result.stdout.fnmatch_lines_random(
        [
            "*test_hangs_on_a_stopped_clock*FAILED*",
            "*test_real_work_on_a_racing_clock*PASSED*",
            "FAILED *test_hangs_on_a_stopped_clock - Failed: the test timed*",
        ]
    )


@pytest.mark.since("final")
def test_a_loop_blocked_past_the_deadline_is_cut_at_its_next_await(aio):
    """Blocking code cannot be cut; the next await is, and the report says the loop was blocked."""
    aio.pytester.makepyfile(
        """
        import asyncio
        import time
        import pytest

        @pytest.mark.asyncio
        async def test_blocks():
            time.sleep(0.6)  # blocks the loop past the deadline
            await asyncio.sleep(60)
        """
    )
    result = aio.run("--asyncio-timeout=0.2")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["Its event loop could act only 0.* s after the deadline: something blocked it*"]
    )


@pytest.mark.since("final")
def test_uvloop_tests_time_out_too(aio):
    """The alarm wakes any loop through call_soon_threadsafe(): uvloop's loops included."""
    pytest.importorskip("uvloop")
    aio.pytester.makeconftest(
        """
        import uvloop

        def pytest_asyncio_loop_factories(config, item):
            return {"uvloop": uvloop.new_event_loop}
        """
    )
    aio.pytester.makepyfile(test_hangs=HANGING)
    result = aio.run("--asyncio-timeout=0.2")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["the test timed out after 0.2 s*", "  test_hangs.py:16: in *"])


@pytest.mark.since("final")
@pytest.mark.parametrize(
    ("ours", "theirs", "expected"),
    [
        pytest.param("0.2", "5", "the test timed out after 0.2 s*", id="ours-shorter"),
        pytest.param("5", "0.3", "E*Failed: Timeout*", id="pytest-timeout-shorter"),
    ],
)
def test_beside_pytest_timeout_the_shorter_one_fires(aio, ours, theirs, expected):
    """Both active: whichever is shorter fails the hanging test, and the run carries on."""
    pytest.importorskip("pytest_timeout")
    aio.pytester.makepyfile(test_hangs=HANGING)
    result = aio.run_subprocess(
        f"--asyncio-timeout={ours}", f"--timeout={theirs}", "--timeout-method=signal", timeout=120
    )
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*_ test_hangs _*", expected])


@pytest.mark.since("final")
def test_timeouts_work_under_xdist(aio):
    """An xdist worker has its own watchdog: the timeout fires there and the report comes back."""
    pytest.importorskip("xdist")
    aio.pytester.makepyfile(test_hangs=HANGING)
    result = aio.run_subprocess("-p", "xdist", "-n", "1", "--asyncio-timeout=0.2", timeout=60)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["the test timed out after 0.2 s*", "  test_hangs.py:16: in *"])


@pytest.mark.since("final")
def test_sync_tests_and_untimed_runs_are_untouched(aio):
    """The header names the timeouts only when some are set; sync tests are never timed."""
    aio.pytester.makepyfile(
        """
        import time

        def test_sync_and_slow():
            time.sleep(0.3)
        """
    )
    result = aio.run("--asyncio-timeout=0.1")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["asyncio: mode=strict*, timeout=0.1s, fixture_timeout=0.1s"])
    result = aio.run()
    result.stdout.fnmatch_lines(["asyncio: mode=strict*default_test_loop_scope=function"])


@pytest.mark.since("final")
def test_the_report_says_what_a_fixture_between_setup_and_teardown_waits_for(aio):
    """A yield fixture's own task waits for its teardown: the report says so, not 'no frames'."""
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest

        @pytest.fixture
        async def service():
            yield "up"

        @pytest.mark.asyncio
        async def test_hangs(service):
            await asyncio.Event().wait()
        """
    )
    result = aio.run("--asyncio-timeout=0.2", "--asyncio-mode=auto")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "task \"fixture 'service'\":",
            "  (the fixture's own task, between its setup and its teardown)",
        ]
    )
    result.stdout.no_fnmatch_line("*no frames to show*")
