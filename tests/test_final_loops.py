"""final/ brings what pytest-asyncio 1.5 users rely on about loops: factories, debug, cleanup.

These scenarios exist for final/ only (the stages teach the idea; final/ is the
drop-in replacement): the loop factories hook, debug mode, what happens to
tasks, async generators and executors when a loop's scope ends, and the one
driver task that every coroutine of a loop runs in.
"""

import pytest

FACTORIES = """
import asyncio

class FirstLoop(asyncio.SelectorEventLoop):
    pass

class SecondLoop(asyncio.SelectorEventLoop):
    pass

def pytest_asyncio_loop_factories(config, item):
    return {"first": FirstLoop, "second": SecondLoop}
"""


@pytest.mark.since("final")
def test_loop_factories_hook_parametrizes_async_tests(aio):
    """pytest_asyncio_loop_factories(config, item) runs each async test once per named factory."""
    aio.pytester.makeconftest(FACTORIES)
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest

        seen = []

        @pytest.mark.asyncio
        async def test_loop():
            seen.append(type(asyncio.get_running_loop()).__name__)

        def test_sync_is_not_parametrized():
            assert sorted(seen) == ["FirstLoop", "SecondLoop"]
        """
    )
    result = aio.run("-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_loop?first? PASSED*", "*test_loop?second? PASSED*"])


@pytest.mark.since("final")
def test_marker_picks_loop_factories(aio):
    """mark.asyncio(loop_factories=[...]) picks a subset; an unknown name skips that variant."""
    aio.pytester.makeconftest(FACTORIES)
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest

        @pytest.mark.asyncio(loop_factories=["second", "third"])
        async def test_loop():
            assert type(asyncio.get_running_loop()).__name__ == "SecondLoop"
        """
    )
    result = aio.run("-v", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*loop factory 'third' is not available*first, second*"])


@pytest.mark.since("final")
def test_loop_factories_without_hook_is_an_error(aio):
    """loop_factories= on the marker with no hook to name them is an error naming the test."""
    aio.pytester.makepyfile(
        test_nohook="""
        import pytest

        @pytest.mark.asyncio(loop_factories=["uvloop"])
        async def test_loop():
            pass
        """
    )
    result = aio.run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*test_nohook.py::test_loop*loop_factories*pytest_asyncio_loop_factories hook*"]
    )


@pytest.mark.since("final")
def test_module_loop_with_factories_is_shared_per_factory(aio):
    """With loop_scope="module", the tests of a module share one loop per factory."""
    aio.pytester.makeconftest(FACTORIES)
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest

        pytestmark = pytest.mark.asyncio(loop_scope="module")
        loops = {}

        async def test_one():
            loop = asyncio.get_running_loop()
            loops.setdefault(type(loop).__name__, set()).add(loop)

        async def test_two():
            loop = asyncio.get_running_loop()
            loops.setdefault(type(loop).__name__, set()).add(loop)

        def test_check():
            assert {name: len(found) for name, found in loops.items()} == {
                "FirstLoop": 1, "SecondLoop": 1
            }
        """
    )
    aio.run().assert_outcomes(passed=5)


@pytest.mark.since("final")
def test_asyncio_debug_option_and_ini(aio):
    """--asyncio-debug and the asyncio_debug ini option run every loop in debug mode."""
    aio.pytester.makepyfile(
        """
        import asyncio
        import os
        import sys

        import pytest

        # Off, a loop keeps asyncio's own default: on in Python's development
        # mode (-X dev, PYTHONDEVMODE) or with PYTHONASYNCIODEBUG set.
        ASYNCIO_DEFAULT = sys.flags.dev_mode or bool(os.environ.get("PYTHONASYNCIODEBUG"))

        @pytest.mark.asyncio
        async def test_debug(request):
            expected = request.config.getoption("expect") == "on" or ASYNCIO_DEFAULT
            assert asyncio.get_running_loop().get_debug() is expected
        """
    )
    aio.pytester.makeconftest(
        """
        def pytest_addoption(parser):
            parser.addoption("--expect")
        """
    )
    aio.run("--expect=off").assert_outcomes(passed=1)
    aio.run("--expect=on", "--asyncio-debug").assert_outcomes(passed=1)
    aio.pytester.makeini("[pytest]\nasyncio_debug = true\n")
    aio.run("--expect=on").assert_outcomes(passed=1)


@pytest.mark.since("06")
def test_pending_tasks_cancelled_and_asyncgens_closed_at_scope_end(aio):
    """When a loop's scope ends, pending tasks are cancelled and async generators finalized.

    Stage 06 brings it with scoped loops; final/ keeps it, with the default executor too.
    """
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest

        events = []
        loops = []

        async def forever():
            try:
                await asyncio.sleep(3600)
            finally:
                events.append("task cancelled")

        async def ticker():
            try:
                while True:
                    yield 1
            finally:
                events.append("asyncgen closed")

        @pytest.mark.asyncio
        async def test_leaves_things_behind():
            loops.append(asyncio.get_running_loop())
            asyncio.get_running_loop().create_task(forever())
            generator = ticker()
            await generator.__anext__()
            loops.append(generator)
            await asyncio.sleep(0)
            await asyncio.get_running_loop().run_in_executor(None, sum, [1, 2])

        def test_cleaned_up():
            assert sorted(events) == ["asyncgen closed", "task cancelled"]
            assert loops[0].is_closed()
        """
    )
    result = aio.run("-W", "error::pytest.PytestUnraisableExceptionWarning")
    result.assert_outcomes(passed=2)


@pytest.mark.since("06")
def test_a_loop_closes_only_once_its_executor_jobs_and_callbacks_are_done(aio):
    """What a test leaves to the loop still happens before the loop is closed.

    An executor job still running when the test ends is waited for (the
    default executor's shutdown), and a callback scheduled at its end runs, as
    under asyncio.run(). (A loop with nothing left to do is closed without
    that shutdown run: what is left is looked for, not assumed.)
    """
    aio.pytester.makepyfile(
        """
        import asyncio
        import time
        import pytest

        events = []

        def slow_job():
            time.sleep(0.3)
            events.append("job done")

        @pytest.mark.asyncio
        async def test_leaves_a_job_running():
            asyncio.get_running_loop().run_in_executor(None, slow_job)

        @pytest.mark.asyncio
        async def test_schedules_a_callback():
            asyncio.get_running_loop().call_soon(events.append, "callback ran")

        @pytest.mark.asyncio
        async def test_sets_a_timer_due_now():
            asyncio.get_running_loop().call_later(0, events.append, "timer ran")

        def test_all_of_it_happened():
            assert events == ["job done", "callback ran", "timer ran"]
        """
    )
    result = aio.run("-p", "no:randomly")
    result.assert_outcomes(passed=4)


@pytest.mark.since("final")
def test_a_fixtures_setup_and_teardown_run_in_one_task_and_the_test_in_its_own(aio):
    """A fixture's setup and teardown share one task (what TaskGroup across yield needs).

    The test runs in a task of its own, so that what it sets in its context
    is its own (tests/test_final_contexts.py has the rest).
    """
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest
        import pytest_aioloop

        tasks = {}

        @pytest_aioloop.fixture
        async def resource():
            tasks["setup"] = asyncio.current_task()
            yield
            tasks["teardown"] = asyncio.current_task()

        @pytest.mark.asyncio
        async def test_uses(resource):
            tasks["test"] = asyncio.current_task()

        def test_tasks():
            assert tasks["setup"] is tasks["teardown"]
            assert tasks["test"] is not tasks["setup"]
        """
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("03")
def test_asyncio_run_in_sync_test_after_async_tests(aio):
    """A sync test may call asyncio.run() after async tests ran, with no warning at all.

    pytest-asyncio users rely on it; every stage since 03 keeps it, and final/ must too.
    """
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest

        @pytest.mark.asyncio
        async def test_async():
            await asyncio.sleep(0)

        @pytest.mark.asyncio(loop_scope="module")
        async def test_async_module_loop():
            await asyncio.sleep(0)

        def test_sync_runs_its_own_loop():
            async def main():
                return 5
            assert asyncio.run(main()) == 5
        """
    )
    result = aio.run("-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    result.stdout.no_fnmatch_line("*warning*")


@pytest.mark.since("06")
def test_no_event_loop_policy_call(aio):
    """No event loop policy call: loops come from a loop factory.

    The stages do not change the current loop either; final/ sets it with
    asyncio.set_event_loop() alone (see test_final_parity.py).
    """
    aio.pytester.makeconftest(
        """
        import asyncio

        calls = []
        NAMES = ["get_event_loop_policy", "set_event_loop_policy", "set_event_loop"]
        originals = {name: getattr(asyncio, name) for name in NAMES}

        def spy(name):
            def call(*args, **kwargs):
                calls.append(name)
                return originals[name](*args, **kwargs)
            return call

        def pytest_configure(config):
            for name in NAMES:
                setattr(asyncio, name, spy(name))

        def pytest_unconfigure(config):
            for name in NAMES:
                setattr(asyncio, name, originals[name])
            print("policy calls:", [c for c in calls if c != "set_event_loop"])
            print("set_event_loop calls:", calls.count("set_event_loop"))
        """
    )
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def shared():
            yield "shared"

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop(shared):
            assert shared == "shared"

        @pytest.mark.asyncio
        async def test_function_loop(shared):
            await asyncio.sleep(0)
        """
    )
    result = aio.run("-s", "-W", "error::DeprecationWarning")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["policy calls: []"])
    if aio.target.name != "final":
        result.stdout.fnmatch_lines(["set_event_loop calls: 0"])
