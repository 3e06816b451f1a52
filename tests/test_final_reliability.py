"""final/ never hangs, whatever a test does to its run: interrupts, exits, stopped loops.

Each scenario runs the inner pytest in a fresh interpreter with a time limit
(``aio.run_subprocess(..., timeout=...)``): a run that hangs fails the scenario
with ``TimeoutExpired`` instead of hanging the suite. Every run records the
loops it made (through the public ``pytest_asyncio_loop_factories`` hook) and
prints, after the plugin's own ``pytest_unconfigure``, how many are still open.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

# Records every loop the plugin makes, and reports at the very end how many are open.
RECORD_LOOPS = """
import asyncio
import pytest

LOOPS = []


def recorded_loop():
    loop = asyncio.new_event_loop()
    LOOPS.append(loop)
    return loop


def pytest_asyncio_loop_factories(config, item):
    return {"recorded": recorded_loop}


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    open_loops = sum(not loop.is_closed() for loop in LOOPS)
    with open("loops.txt", "w") as report:
        report.write(f"loops made: {len(LOOPS)}, still open: {open_loops}")
"""

# What a run must never print: the plugin's own noise after a broken test.
NOISE = [
    "*InvalidStateError*",
    "*was never awaited*",
    "*Task was destroyed but it is pending*",
    "*never retrieved*",
    "*coroutine ignored GeneratorExit*",
    "*INTERNALERROR*",
]


def loops_report(aio) -> str:
    return (aio.pytester.path / "loops.txt").read_text()


def assert_quiet(result: pytest.RunResult) -> None:
    for pattern in NOISE:
        result.stdout.no_fnmatch_line(pattern)
        result.stderr.no_fnmatch_line(pattern)


def assert_every_loop_closed(aio) -> None:
    made, _, still_open = loops_report(aio).partition(", ")
    assert still_open == "still open: 0", loops_report(aio)
    assert made != "loops made: 0"


KEYBOARD_INTERRUPTS = {
    "test": """
        @pytest.mark.asyncio
        async def test_interrupted():
            await asyncio.sleep(0)
            raise KeyboardInterrupt
    """,
    "test with an async fixture": """
        @pytest_aioloop.fixture
        async def resource():
            yield "resource"

        @pytest.mark.asyncio
        async def test_interrupted(resource):
            await asyncio.sleep(0)
            raise KeyboardInterrupt
    """,
    "fixture setup": """
        @pytest_aioloop.fixture
        async def resource():
            await asyncio.sleep(0)
            raise KeyboardInterrupt
            yield

        @pytest.mark.asyncio
        async def test_interrupted(resource):
            pass
    """,
    "fixture teardown": """
        @pytest_aioloop.fixture
        async def resource():
            yield "resource"
            await asyncio.sleep(0)
            raise KeyboardInterrupt

        @pytest.mark.asyncio
        async def test_interrupted(resource):
            pass
    """,
}


@pytest.mark.since("final")
@pytest.mark.parametrize("loop_scope", ["function", "module"])
@pytest.mark.parametrize("where", list(KEYBOARD_INTERRUPTS))
def test_keyboard_interrupt_ends_the_session_cleanly(aio, where, loop_scope):
    """KeyboardInterrupt raised in a coroutine stops the run as Ctrl-C does: exit code 2."""
    aio.pytester.makeconftest(RECORD_LOOPS)
    aio.pytester.makeini(f"[pytest]\nasyncio_default_test_loop_scope = {loop_scope}\n")
    aio.pytester.makepyfile(
        "import asyncio\nimport pytest\nimport pytest_aioloop\n"
        + KEYBOARD_INTERRUPTS[where].replace("\n        ", "\n")
        + "\n@pytest.mark.asyncio\nasync def test_never_reached():\n    pass\n"
    )
    result = aio.run_subprocess(timeout=120)
    assert result.ret == pytest.ExitCode.INTERRUPTED, result.stdout.str()
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*"])
    result.stdout.no_fnmatch_line("*test_never_reached*PASSED*")
    assert_quiet(result)
    assert_every_loop_closed(aio)


@pytest.mark.since("final")
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX only")
@pytest.mark.parametrize("loop_scope", ["function", "module"])
def test_ctrl_c_while_a_test_awaits(aio, loop_scope):
    """SIGINT while a test awaits: pytest's KeyboardInterrupt summary, exit code 2, loops closed.

    The interrupted test's body must not carry on: its ``finally`` runs once, at
    the interrupt, and nothing after the await runs.
    """
    aio.pytester.makeconftest(RECORD_LOOPS)
    aio.pytester.makepyfile(
        f"""
        import asyncio
        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture(loop_scope="{loop_scope}", scope="{loop_scope}")
        async def resource():
            yield
            print("fixture torn down")

        @pytest.mark.asyncio(loop_scope="{loop_scope}")
        async def test_waits(resource):
            open("started", "w").close()
            try:
                await asyncio.sleep(60)
                print("the body carried on after Ctrl-C")
            finally:
                print("test finally ran")

        def test_never_reached():
            pass
        """
    )
    aio.subprocess_env()
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-s", *aio.plugin_args()],
        cwd=aio.pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (aio.pytester.path / "started").exists():
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "the test never started"
            time.sleep(0.05)
        time.sleep(0.2)  # let the test reach its await
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "KeyboardInterrupt" in output
    assert output.count("test finally ran") == 1, output
    assert "the body carried on" not in output
    assert "fixture torn down" in output
    assert "test_never_reached PASSED" not in output
    for pattern in NOISE:
        assert pattern.strip("*") not in output, output
    assert_every_loop_closed(aio)


@pytest.mark.since("final")
@pytest.mark.parametrize("loop_scope", ["function", "module"])
def test_system_exit_fails_the_test_and_the_session_goes_on(aio, loop_scope):
    """``raise SystemExit(3)`` in an async test fails that test, as in a sync test."""
    aio.pytester.makeconftest(RECORD_LOOPS)
    aio.pytester.makepyfile(
        f"""
        import asyncio
        import pytest

        @pytest.mark.asyncio(loop_scope="{loop_scope}")
        async def test_exits():
            await asyncio.sleep(0)
            raise SystemExit(3)

        @pytest.mark.asyncio(loop_scope="{loop_scope}")
        async def test_next():
            await asyncio.sleep(0)
        """
    )
    result = aio.run_subprocess("-rf", timeout=120)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*_ test_exits _*", "E*SystemExit: 3"])
    assert_quiet(result)
    assert_every_loop_closed(aio)


@pytest.mark.since("final")
@pytest.mark.parametrize("loop_scope", ["function", "module"])
def test_pytest_timeout_signal_method_leaves_the_loop_working(aio, loop_scope):
    """pytest-timeout's signal method fails the hanging test; the next tests pass in that loop."""
    pytest.importorskip("pytest_timeout")
    aio.pytester.makeconftest(RECORD_LOOPS)
    aio.pytester.makepyfile(
        f"""
        import asyncio
        import pytest

        @pytest.mark.asyncio(loop_scope="{loop_scope}")
        async def test_hangs():
            await asyncio.sleep(60)

        @pytest.mark.asyncio(loop_scope="{loop_scope}")
        async def test_next():
            await asyncio.sleep(0)

        def test_sync_asyncio_run():
            asyncio.run(asyncio.sleep(0))
        """
    )
    result = aio.run_subprocess("-rf", "--timeout=1", "--timeout-method=signal", timeout=120)
    result.assert_outcomes(failed=1, passed=2)
    result.stdout.fnmatch_lines(["*_ test_hangs _*", "E*Failed: Timeout*"])
    assert_quiet(result)
    assert_every_loop_closed(aio)


@pytest.mark.since("final")
@pytest.mark.parametrize("loop_scope", ["function", "module"])
def test_a_test_that_stops_its_loop_fails_clearly(aio, loop_scope):
    """``loop.stop()`` then an await: that test fails with a message that says so; no hang."""
    aio.pytester.makeconftest(RECORD_LOOPS)
    aio.pytester.makepyfile(
        f"""
        import asyncio
        import pytest

        @pytest.mark.asyncio(loop_scope="{loop_scope}")
        async def test_stops_its_loop():
            asyncio.get_running_loop().stop()
            await asyncio.sleep(60)

        @pytest.mark.asyncio(loop_scope="{loop_scope}")
        async def test_next():
            await asyncio.sleep(0)

        def test_sync_asyncio_run():
            asyncio.run(asyncio.sleep(0))
        """
    )
    result = aio.run_subprocess("-rf", timeout=120)
    result.assert_outcomes(failed=1, passed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_stops_its_loop _*",
            "the event loop was stopped (loop.stop() was called) before the test finished*",
        ]
    )
    # A misuse, reported as such: the message alone, no traceback of the plugin's.
    result.stdout.no_fnmatch_line("*pytest_aioloop*")
    assert_quiet(result)
    assert_every_loop_closed(aio)
