"""final/'s leaked tasks and background errors, each charged to the test or fixture that caused it.

A task that a test starts and forgets, a task that raised and that nobody
awaited, an exception in a ``call_soon`` callback: each is a finding of the
test (or fixture) that was running, reported as the mode says: ``report`` (the
default) lists them in a summary at the end and changes nothing else,
``warn`` makes each a ``LeakWarning`` on its test, ``error`` fails the test's
teardown, ``ignore`` records nothing.
"""

from __future__ import annotations

import os
import sys

import pytest

SECTION = "*asyncio: leaked tasks and background errors*"

LEAKY = """
import asyncio
import pytest


async def poll():
    while True:
        await asyncio.sleep(1)  # line 7: where the leaked task waits


@pytest.mark.asyncio
async def test_before():
    await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_leaks():
    asyncio.create_task(poll(), name="poller")  # line 17: where it is created
    await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_after():
    await asyncio.sleep(0)
"""


def section(output: str) -> str:
    """The plugin's summary section of a run's output ('' when there is none)."""
    start = output.find("asyncio: leaked tasks and background errors")
    if start < 0:
        return ""
    end = output.find("\n==", start)
    return output[start : None if end < 0 else end]


def mode_args(mode: str) -> list[str]:
    return [] if mode == "report" else [f"--asyncio-leaks={mode}"]


@pytest.mark.since("final")
@pytest.mark.parametrize("mode", ["report", "warn", "error"])
def test_a_leaked_task_is_named_on_its_test_and_not_on_its_neighbours(aio, mode):
    """The task's name, coroutine, where it waits; on test_leaks only; error fails it only."""
    aio.pytester.makepyfile(test_leaky=LEAKY)
    result = aio.run("-rA", *mode_args(mode))
    details = [
        "*leaked task 'poller' (coroutine poll()), still pending",
        "*waiting at (innermost last):",
        "*test_leaky.py:7: in poll",
        "*await asyncio.sleep(1)  # line 7: where the leaked task waits",
    ]
    output = result.stdout.str()
    if mode == "report":
        result.assert_outcomes(passed=3)
        result.stdout.fnmatch_lines([SECTION, "test_leaky.py::test_leaks: 1 leaked task", *details])
        result.stdout.fnmatch_lines(["*set asyncio_leaks = warn*asyncio_leaks = error*"])
        assert "test_before" not in section(output)
        assert "test_after" not in section(output)
    elif mode == "warn":
        result.assert_outcomes(passed=3, warnings=1)
        result.stdout.fnmatch_lines(
            [
                "*warnings summary*",
                "test_leaky.py::test_leaks",
                "*LeakWarning: test_leaky.py::test_leaks: 1 leaked task",
                *details,
            ]
        )
        assert "asyncio: leaked tasks" not in output
    else:
        result.assert_outcomes(passed=3, errors=1)
        result.stdout.fnmatch_lines(
            ["*ERROR at teardown of test_leaks*", "test_leaky.py::test_leaks: 1 leaked task"]
        )
        result.stdout.fnmatch_lines(["ERROR test_leaky.py::test_leaks - *"])
        result.stdout.fnmatch_lines(["PASSED test_leaky.py::test_before", "*test_after*"])
        # The findings alone, as a failing teardown: no traceback of the plugin's.
        result.stdout.no_fnmatch_line("*pytest_aioloop*")


@pytest.mark.since("final")
@pytest.mark.parametrize("debug", [False, True])
def test_a_leak_says_where_the_task_was_created_in_debug_mode_and_how_to_see_it(aio, debug):
    aio.pytester.makepyfile(test_leaky=LEAKY)
    result = aio.run("-k", "test_leaks", *(["--asyncio-debug"] if debug else []))
    # Without the option a loop keeps asyncio's default: debug in Python's
    # development mode (-X dev, PYTHONDEVMODE, as in CI's leak check) or with
    # PYTHONASYNCIODEBUG set.
    if debug or sys.flags.dev_mode or os.environ.get("PYTHONASYNCIODEBUG"):
        result.stdout.fnmatch_lines(
            [
                "*created at (innermost last):",
                "*test_leaky.py:17: in test_leaks",
                '*asyncio.create_task(poll(), name="poller")  # line 17*',
            ]
        )
    else:
        result.stdout.fnmatch_lines(
            ["*created at: not known, asyncio debug mode is off (--asyncio-debug*"]
        )


FIXTURES = """
import asyncio
import pytest
import pytest_aioloop


async def serve():
    while True:
        await asyncio.sleep(1)


@pytest_aioloop.fixture(scope="{scope}", loop_scope="{scope}")
async def server():
    task = asyncio.create_task(serve(), name="server")
    yield task
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


@pytest_aioloop.fixture(scope="{scope}", loop_scope="{scope}")
async def sloppy():
    yield asyncio.create_task(serve(), name="sloppy-server")


@pytest.mark.asyncio(loop_scope="{scope}")
async def test_uses_the_server(server):
    assert not server.done()
    await asyncio.sleep(0)


@pytest.mark.asyncio(loop_scope="{scope}")
async def test_uses_the_sloppy_one(sloppy):
    await asyncio.sleep(0)


@pytest.mark.asyncio(loop_scope="{scope}")
async def test_last():
    await asyncio.sleep(0)
"""


@pytest.mark.since("final")
@pytest.mark.parametrize("scope", ["function", "module"])
@pytest.mark.parametrize("mode", ["report", "warn", "error"])
def test_a_fixtures_task_is_no_leak_while_it_lives_and_one_after_its_teardown(aio, scope, mode):
    """The server fixture stops its task: no leak. The sloppy one does not: a leak, at teardown."""
    aio.pytester.makepyfile(test_fixtures=FIXTURES.format(scope=scope))
    result = aio.run("-rA", *mode_args(mode))
    found = "fixture 'sloppy' of test_fixtures.py*: 1 leaked task"
    output = result.stdout.str()
    assert "'server'" not in output
    # Once in the report (the short summary repeats it whole where CI=true keeps
    # pytest from cutting its lines to the terminal's width).
    report = output.partition("short test summary info")[0]
    assert report.count("leaked task 'sloppy-server'") == 1
    # Function scope: torn down after the test that uses it; module scope: after the last test.
    torn_down_after = "test_uses_the_sloppy_one" if scope == "function" else "test_last"
    if mode == "report":
        result.assert_outcomes(passed=3)
        result.stdout.fnmatch_lines([SECTION, found, "*leaked task 'sloppy-server'*"])
        assert "test_uses_the_server" not in section(output)
    elif mode == "warn":
        # Under the test in whose teardown the fixture was torn down, at the fixture's line.
        result.assert_outcomes(passed=3, warnings=1)
        result.stdout.fnmatch_lines(
            [
                f"test_fixtures.py::{torn_down_after}",
                f"  test_fixtures.py:22: LeakWarning: {found}",
            ]
        )
    else:
        result.assert_outcomes(passed=3, errors=1)
        result.stdout.fnmatch_lines([f"*ERROR at teardown of {torn_down_after}*", found])


UNRETRIEVED = """
import asyncio
import pytest


async def fail():
    raise ValueError("nobody hears this")  # line 6


@pytest.mark.asyncio
async def test_forgets_a_failed_task():
    task = asyncio.create_task(fail(), name="failing")
    await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_awaits_it():
    task = asyncio.create_task(fail())
    with pytest.raises(ValueError):
        await task
"""


@pytest.mark.since("final")
@pytest.mark.parametrize("mode", ["report", "error"])
def test_a_task_that_raised_and_was_never_awaited(aio, mode):
    """Charged to its test, with its traceback, at once: no garbage collection needed."""
    aio.pytester.makepyfile(test_unretrieved=UNRETRIEVED)
    result = aio.run("-rA", *mode_args(mode))
    lines = [
        "*task 'failing' (coroutine fail()) raised ValueError, and nothing awaited it or "
        "retrieved its exception:",
        "*Traceback (most recent call last):",
        '*test_unretrieved.py", line 6, in fail',
        "*ValueError: nobody hears this",
    ]
    if mode == "report":
        result.assert_outcomes(passed=2)
        result.stdout.fnmatch_lines(
            [SECTION, "test_unretrieved.py::test_forgets_a_failed_task: 1 background error"]
        )
    else:
        result.assert_outcomes(passed=2, errors=1)
        result.stdout.fnmatch_lines(
            [
                "*ERROR at teardown of test_forgets_a_failed_task*",
                "test_unretrieved.py::test_forgets_a_failed_task: 1 background error",
            ]
        )
    result.stdout.fnmatch_lines(lines)
    assert "test_awaits_it:" not in result.stdout.str()
    # Reported once, and asyncio's own "never retrieved" log does not follow later.
    assert "Task exception was never retrieved" not in result.stdout.str() + result.stderr.str()


CALLBACK = """
import asyncio
import pytest


def broken():
    raise KeyError("in a callback")  # line 6


@pytest.mark.asyncio
async def test_schedules_a_broken_callback():
    asyncio.get_running_loop().call_soon(broken)
    await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_next():
    await asyncio.sleep(0.01)
"""


@pytest.mark.since("final")
@pytest.mark.parametrize("mode", ["report", "warn"])
def test_an_exception_in_a_call_soon_callback(aio, mode):
    """What reaches the loop's exception handler is charged to the test that was running."""
    aio.pytester.makepyfile(test_callback=CALLBACK)
    result = aio.run(*mode_args(mode))
    lines = [
        "*background error: Exception in callback broken()*",
        '*test_callback.py", line 6, in broken',
        "*KeyError: 'in a callback'",
    ]
    if mode == "report":
        result.assert_outcomes(passed=2)
        result.stdout.fnmatch_lines(
            [SECTION, "test_callback.py::test_schedules_a_broken_callback: 1 background error"]
        )
    else:
        result.assert_outcomes(passed=2, warnings=1)
        result.stdout.fnmatch_lines(
            [
                "test_callback.py::test_schedules_a_broken_callback",
                "*LeakWarning: test_callback.py::test_schedules_a_broken_callback: "
                "1 background error",
            ]
        )
    result.stdout.fnmatch_lines(lines)
    assert "test_next:" not in result.stdout.str()
    assert "test_callback.py::test_next\n" not in result.stdout.str()


MODULE_LOOP = """
import asyncio
import pytest

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def poll():
    while True:
        await asyncio.sleep(0.001)


async def child_of_a_leak():
    await asyncio.sleep(0.005)
    raise RuntimeError("raised by the leak's child, during a later test")


async def parent():
    await asyncio.sleep(0.002)  # test_leaks has ended by now: its leak makes a child
    asyncio.create_task(child_of_a_leak(), name="child")
    await poll()


async def test_first():
    await asyncio.sleep(0)


async def test_leaks():
    asyncio.create_task(parent(), name="parent")
    await asyncio.sleep(0)


async def test_later():
    await asyncio.sleep(0.05)  # the leaked tasks run, in the shared loop, during this test


async def test_last():
    await asyncio.sleep(0)
"""


@pytest.mark.since("final")
@pytest.mark.parametrize("mode", ["report", "error"])
def test_a_leak_in_a_module_loop_is_charged_to_the_test_that_made_it(aio, mode):
    """The leaked task runs on in the shared loop; its child's error is still test_leaks's."""
    aio.pytester.makepyfile(test_module_loop=MODULE_LOOP)
    result = aio.run("-rA", *mode_args(mode))
    output = result.stdout.str()
    if mode == "report":
        result.assert_outcomes(passed=4)
    else:
        # Only test_leaks fails; the later error of its task cannot fail it any more.
        result.assert_outcomes(passed=4, errors=1)
        result.stdout.fnmatch_lines(["*ERROR at teardown of test_leaks*"])
    result.stdout.fnmatch_lines(
        [
            SECTION,
            "test_module_loop.py::test_leaks (after it ended): 1 background error",
            "*task 'child' (coroutine child_of_a_leak()) raised RuntimeError*",
        ]
    )
    assert "leaked task 'parent'" in output
    for neighbour in ("test_first", "test_later", "test_last"):
        assert f"test_module_loop.py::{neighbour}:" not in output
        assert f"test_module_loop.py::{neighbour} (after" not in output


@pytest.mark.since("final")
def test_the_marker_overrides_the_cli_and_the_cli_the_ini(aio):
    """leaks= of the closest marker that gives it, else --asyncio-leaks, else asyncio_leaks."""
    aio.pytester.makeini("[pytest]\nasyncio_leaks = error\n")
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest

        async def poll():
            await asyncio.sleep(60)

        @pytest.mark.asyncio
        async def test_by_the_ini():
            asyncio.create_task(poll())

        @pytest.mark.asyncio(leaks="ignore")
        async def test_ignored():
            asyncio.create_task(poll())

        @pytest.mark.asyncio(leaks="warn")
        class TestWarned:
            async def test_by_the_class(self):
                asyncio.create_task(poll())

            @pytest.mark.asyncio(loop_scope="function")
            async def test_own_marker_without_leaks(self):
                asyncio.create_task(poll())
        """
    )
    result = aio.run("-rA")
    result.assert_outcomes(passed=4, errors=1, warnings=2)
    result.stdout.fnmatch_lines(["ERROR *::test_by_the_ini*"])
    result.stdout.fnmatch_lines_random(
        [
            "*LeakWarning: *::TestWarned::test_by_the_class: 1 leaked task",
            "*LeakWarning: *::TestWarned::test_own_marker_without_leaks: 1 leaked task",
        ]
    )
    assert (
        "test_ignored"
        not in result.stdout.str().split("short test summary")[0].split("warnings summary")[-1]
    )
    # The command line over the ini file.
    result = aio.run("-rA", "--asyncio-leaks=report")
    result.assert_outcomes(passed=4, warnings=2)
    result.stdout.fnmatch_lines([SECTION, "*::test_by_the_ini: 1 leaked task"])
    assert "test_ignored" not in section(result.stdout.str())


CLEAN = """
import asyncio
import pytest
import pytest_aioloop


@pytest_aioloop.fixture
async def server():
    task = asyncio.create_task(asyncio.sleep(60))
    yield
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


@pytest.mark.asyncio
async def test_gathers():
    await asyncio.gather(asyncio.sleep(0), asyncio.sleep(0.001))


@pytest.mark.asyncio
async def test_uses_a_server(server):
    task = asyncio.create_task(asyncio.sleep(0))
    await task


@pytest.mark.asyncio
async def test_cancels_its_task():
    task = asyncio.create_task(asyncio.sleep(60))
    await asyncio.sleep(0)
    task.cancel()
"""


@pytest.mark.since("final")
@pytest.mark.parametrize("mode", ["report", "warn", "error"])
def test_a_clean_suite_reports_nothing(aio, mode):
    """No section, no warning, no error; the same run with a leak does show the section."""
    aio.pytester.makepyfile(test_clean=CLEAN)
    result = aio.run("-W", "error", f"--asyncio-leaks={mode}")
    result.assert_outcomes(passed=3)
    assert "asyncio: leaked tasks" not in result.stdout.str()
    assert "warnings summary" not in result.stdout.str()
    if mode == "report":  # and with something to report, the section is there
        aio.pytester.makepyfile(test_leaky=LEAKY)
        result = aio.run(f"--asyncio-leaks={mode}")
        result.stdout.fnmatch_lines([SECTION])


@pytest.mark.skipif(
    sys.version_info < (3, 11),
    reason="a task asked to stop is told by Task.cancelling(), Python 3.11+",
)
@pytest.mark.since("final")
def test_a_task_its_test_cancelled_is_no_leak(aio):
    aio.pytester.makepyfile(test_clean=CLEAN)
    result = aio.run("--asyncio-leaks=error", "-k", "cancels")
    result.assert_outcomes(passed=1)


@pytest.mark.since("final")
def test_filterwarnings_error_with_the_default_mode_changes_no_outcome(aio):
    """A leaky suite that passes today under filterwarnings = error still passes."""
    aio.pytester.makeini("[pytest]\nfilterwarnings =\n    error\n")
    aio.pytester.makepyfile(test_leaky=LEAKY, test_callback=CALLBACK, test_unretrieved=UNRETRIEVED)
    result = aio.run("-rA")
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines([SECTION])
    assert "warnings summary" not in result.stdout.str()


LOOP_FACTORY = """
import asyncio
import sys

import pytest

seen = []


def handler(loop, context):
    seen.append(context["message"])


def make_loop():
    loop = asyncio.new_event_loop()
    if sys.version_info >= (3, 12):
        factory = asyncio.eager_task_factory
    else:
        def factory(loop, coro, **kwargs):
            return asyncio.Task(coro, loop=loop, **kwargs)

    def counting(loop, coro, **kwargs):
        seen.append("task")
        return factory(loop, coro, **kwargs)

    loop.set_task_factory(counting)
    loop.set_exception_handler(handler)
    return loop


def pytest_asyncio_loop_factories(config, item):
    return {"custom": make_loop}
"""


@pytest.mark.since("final")
def test_a_users_task_factory_and_exception_handler_keep_working(aio):
    """Wrapped, not replaced: eager tasks stay eager (3.12+), the handler still gets the error."""
    aio.pytester.makeconftest(LOOP_FACTORY)
    aio.pytester.makepyfile(
        """
        import asyncio
        import sys

        import pytest

        from conftest import seen

        async def poll():
            await asyncio.sleep(60)

        async def spawns():
            asyncio.create_task(poll(), name="grandchild")
            await asyncio.sleep(60)

        def broken():
            raise KeyError("callback")

        async def fails_at_once():
            raise OSError("at once")

        @pytest.mark.asyncio
        async def test_uses_them():
            started = []

            async def note():
                started.append(True)

            task = asyncio.create_task(note())
            # An eager task has run its first step already when create_task returns.
            assert started == ([True] if sys.version_info >= (3, 12) else [])
            await task
            asyncio.create_task(spawns(), name="child")
            # (3.12+: an eager task that ends as it is created, with no coroutine left.)
            asyncio.create_task(fails_at_once(), name="at-once")
            asyncio.get_running_loop().call_soon(broken)
            await asyncio.sleep(0.01)
            assert seen.count("task") >= 3
            assert any(m.startswith("Exception in callback broken()") for m in seen)
        """
    )
    result = aio.run()
    result.assert_outcomes(passed=1)
    # An eager child's own child is owned too.
    result.stdout.fnmatch_lines_random(
        [
            "*leaked task 'child' (coroutine spawns())*",
            "*leaked task 'grandchild' (coroutine poll())*",
            "*background error: Exception in callback broken()*",
            "*task 'at-once' (coroutine fails_at_once()) raised OSError*",
        ]
    )


@pytest.mark.since("final")
def test_ignore_records_nothing(aio):
    aio.pytester.makepyfile(test_leaky=LEAKY, test_callback=CALLBACK)
    result = aio.run("--asyncio-leaks=ignore", "-W", "error")
    result.assert_outcomes(passed=5)
    assert "leaked" not in result.stdout.str()


@pytest.mark.since("final")
def test_a_bad_marker_value_names_the_test(aio):
    aio.pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio(leaks="loud")
        async def test_typo():
            pass
        """
    )
    result = aio.run()
    result.stdout.fnmatch_lines(
        ["*test_typo*@pytest.mark.asyncio(leaks='loud') is not one of report, warn, error, ignore."]
    )
    assert result.ret != 0


@pytest.mark.since("final")
def test_the_summary_gathers_the_workers_findings_under_xdist(aio):
    """Each pytest-xdist worker hands its findings to the controller, which prints them."""
    pytest.importorskip("xdist")
    aio.pytester.makepyfile(test_leaky=LEAKY, test_callback=CALLBACK)
    # (--asyncio-leaks: a stage, which has no such option, fails before it starts workers.)
    result = aio.run_subprocess("-n", "2", "-p", "xdist", "--asyncio-leaks=report")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines_random(
        [
            SECTION,
            "test_leaky.py::test_leaks: 1 leaked task",
            "test_callback.py::test_schedules_a_broken_callback: 1 background error",
        ]
    )
