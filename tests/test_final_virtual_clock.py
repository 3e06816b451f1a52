"""final/'s virtual clock, as a user's suite sees it: clock="virtual", asyncio_clock, aioloop_clock.

The clock itself is tested on a bare loop in tests/test_final_clock.py; these
scenarios hold the plugin to its promises around it: where the clock is chosen,
that fixtures and shared loops keep one timeline, and the errors for misuse.

Where a test's loop has no virtual clock (every stage: they ignore clock=), its
first line fails at once, before any sleep would take real minutes: a
virtual-clock loop starts at 0, a real one at time.monotonic().
"""

import pytest


@pytest.mark.since("final")
def test_an_hour_of_sleep_takes_no_real_time(aio):
    """With clock="virtual", sleep(3600) returns at once and loop.time() is an hour later."""
    aio.pytester.makepyfile(
        """
        import asyncio
        import time
        import pytest

        @pytest.mark.asyncio(clock="virtual")
        async def test_sleep_an_hour():
            loop = asyncio.get_running_loop()
            assert loop.time() == 0
            real = time.monotonic()
            await asyncio.sleep(3600)
            assert loop.time() == 3600
            assert time.monotonic() - real < 1  # time.monotonic() stays real

        @pytest.mark.asyncio
        async def test_real_by_default():
            assert abs(asyncio.get_running_loop().time() - time.monotonic()) < 1
        """
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("final")
def test_asyncio_clock_ini_option_and_the_marker_over_it(aio):
    """asyncio_clock = virtual gives every test's loop a clock from 0; the marker overrides it."""
    aio.pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_clock = virtual\n")
    aio.pytester.makepyfile(
        """
        import asyncio
        import time
        import pytest

        async def test_first():
            assert asyncio.get_running_loop().time() == 0
            await asyncio.sleep(100)

        async def test_second_starts_at_zero_again():
            assert asyncio.get_running_loop().time() == 0

        @pytest.mark.asyncio(clock="real")
        async def test_real_on_request():
            assert abs(asyncio.get_running_loop().time() - time.monotonic()) < 1
        """
    )
    result = aio.run()
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["asyncio: mode=auto*clock=virtual"])


@pytest.mark.since("final")
def test_pytestmark_chooses_the_clock_of_a_module(aio):
    """The marker's clock= works through a module's pytestmark and on a class."""
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest

        pytestmark = pytest.mark.asyncio(clock="virtual")

        async def test_module_level():
            assert asyncio.get_running_loop().time() == 0
            await asyncio.sleep(50)
            assert asyncio.get_running_loop().time() == 50

        @pytest.mark.asyncio(clock="virtual", loop_scope="class")
        class TestShared:
            async def test_one(self):
                assert asyncio.get_running_loop().time() == 0
                await asyncio.sleep(1)

            async def test_two(self):
                assert asyncio.get_running_loop().time() == 1
        """
    )
    aio.run().assert_outcomes(passed=3)


@pytest.mark.since("final")
def test_wait_for_and_timeout_expire_on_virtual_time_in_order(aio):
    """wait_for() and asyncio.timeout() expire on virtual time, each at its deadline, in order."""
    aio.pytester.makepyfile(
        """
        import asyncio
        import sys
        import pytest

        @pytest.mark.asyncio(clock="virtual")
        async def test_deadlines():
            loop = asyncio.get_running_loop()
            assert loop.time() == 0
            expired = []

            async def wait_for(deadline):
                try:
                    await asyncio.wait_for(asyncio.Event().wait(), deadline)
                except asyncio.TimeoutError:
                    expired.append(("wait_for", loop.time()))

            async def timeout(deadline):
                if sys.version_info < (3, 11):  # no asyncio.timeout(): the same with wait_for
                    return await wait_for(deadline)
                try:
                    async with asyncio.timeout(deadline):
                        await asyncio.sleep(deadline * 2)
                except TimeoutError:
                    expired.append(("timeout", loop.time()))

            await asyncio.gather(wait_for(30), timeout(10), wait_for(20), timeout(40))
            assert [when for _, when in expired] == [10, 20, 30, 40]
        """
    )
    aio.run().assert_outcomes(passed=1)


@pytest.mark.since("final")
def test_aioloop_clock_advance_runs_exactly_what_falls_due(aio):
    """aioloop_clock: time(), autojump off, and advance() running each callback that falls due."""
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest

        @pytest.mark.asyncio(clock="virtual")
        async def test_step_by_step(aioloop_clock):
            aioloop_clock.autojump = False
            loop = asyncio.get_running_loop()
            ticks = []

            async def every_second():
                while True:
                    await asyncio.sleep(1)
                    ticks.append(loop.time())

            task = asyncio.create_task(every_second())
            loop.call_later(2.5, ticks.append, "2.5")
            await asyncio.sleep(0)
            assert ticks == [] and aioloop_clock.time() == 0
            await aioloop_clock.advance(3)
            assert ticks == [1, 2, "2.5", 3]
            await aioloop_clock.advance(0.5)
            assert ticks == [1, 2, "2.5", 3] and loop.time() == 3.5
            task.cancel()
        """
    )
    aio.run().assert_outcomes(passed=1)


@pytest.mark.since("final")
def test_local_tcp_echo_round_trip_in_a_virtual_clock_test(aio):
    """A server and a client in the test's loop talk as usual; their timers run on virtual time."""
    aio.pytester.makepyfile(
        """
        import asyncio
        import time
        import pytest

        async def echo_slowly(reader, writer):
            line = await reader.readline()
            await asyncio.sleep(30)  # a slow server, in virtual time
            writer.write(line)
            await writer.drain()
            writer.close()

        @pytest.mark.asyncio(clock="virtual")
        async def test_echo(unused_tcp_port):
            loop = asyncio.get_running_loop()
            assert loop.time() == 0
            real = time.monotonic()
            server = await asyncio.start_server(echo_slowly, "127.0.0.1", unused_tcp_port)
            async with server:
                reader, writer = await asyncio.open_connection("127.0.0.1", unused_tcp_port)
                writer.write(b"ping\\n")
                assert await asyncio.wait_for(reader.readline(), 60) == b"ping\\n"
                assert loop.time() == pytest.approx(30)
                writer.close()
                await writer.wait_closed()
            assert time.monotonic() - real < 5
        """
    )
    aio.run().assert_outcomes(passed=1)


@pytest.mark.since("final")
def test_module_scoped_virtual_loop_keeps_its_timeline(aio):
    """A module loop with a virtual clock keeps one timeline for its tests and fixtures."""
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest
        import pytest_aioloop

        pytestmark = pytest.mark.asyncio(loop_scope="module", clock="virtual")

        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def started_at():
            assert asyncio.get_running_loop().time() == 0
            await asyncio.sleep(5)
            yield asyncio.get_running_loop().time()

        async def test_one(started_at):
            assert started_at == 5
            await asyncio.sleep(10)
            assert asyncio.get_running_loop().time() == 15

        async def test_two(started_at, aioloop_clock):
            assert aioloop_clock.time() == 15
            await aioloop_clock.advance(5)
            assert asyncio.get_running_loop().time() == 20
        """
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("final")
def test_async_fixtures_share_the_test_loop_virtual_time(aio):
    """An async fixture's setup and teardown run on the test's virtual clock too."""
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest
        import pytest_aioloop

        seen = []

        @pytest_aioloop.fixture
        async def slow_resource():
            loop = asyncio.get_running_loop()
            assert loop.time() == 0
            await asyncio.sleep(60)
            seen.append(("set up", loop.time()))
            yield
            await asyncio.sleep(60)
            seen.append(("torn down", loop.time()))

        @pytest.mark.asyncio(clock="virtual")
        async def test_uses_it(slow_resource):
            seen.append(("test", asyncio.get_running_loop().time()))

        def test_times():
            assert seen == [("set up", 60), ("test", 60), ("torn down", 120)]
        """
    )
    aio.run().assert_outcomes(passed=2)


UVLOOP = """
import asyncio
import uvloop

def pytest_asyncio_loop_factories(config, item):
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
"""


@pytest.mark.since("final")
def test_uvloop_is_refused_with_the_test_named(aio):
    """A factory that makes uvloop loops cannot be driven virtually: an error names the test."""
    pytest.importorskip("uvloop")  # in the dev group: this runs wherever the suite does
    aio.pytester.makeconftest(UVLOOP)
    aio.pytester.makepyfile(
        test_uv="""
        import asyncio
        import pytest

        @pytest.mark.asyncio(clock="virtual")
        async def test_sleep():
            assert asyncio.get_running_loop().time() == 0
            await asyncio.sleep(60)
        """
    )
    result = aio.run("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_uv.py::test_sleep?uvloop?: clock='virtual' cannot run in the loop that the "
            "loop factory made: a uvloop.Loop is not an asyncio selector event loop*"
            "loop_factories=[[]...[]]*or give it clock='real'.",
        ]
    )
    assert "Traceback" not in result.stdout.str()


@pytest.mark.since("final")
def test_tests_that_share_a_loop_share_its_clock(aio):
    """A test whose clock differs from that of the shared loop it runs in is an error."""
    aio.pytester.makepyfile(
        test_mixed="""
        import asyncio
        import pytest

        @pytest.mark.asyncio(loop_scope="module")
        async def test_real():
            pass

        @pytest.mark.asyncio(loop_scope="module", clock="virtual")
        async def test_virtual():
            pass
        """
    )
    result = aio.run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_mixed.py::test_virtual asks for clock='virtual', but its "
            "loop_scope='module' loop, shared with other tests, was opened with clock='real'*"
            "loop_scope='function'*"
        ]
    )


@pytest.mark.since("final")
def test_aioloop_clock_needs_a_virtual_clock(aio):
    """aioloop_clock in a real-clock test or a sync test is an error that names the fix."""
    aio.pytester.makepyfile(
        test_misuse="""
        import pytest

        @pytest.mark.asyncio
        async def test_real_clock(aioloop_clock):
            pass

        def test_sync(aioloop_clock):
            pass
        """
    )
    result = aio.run()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*test_misuse.py::test_real_clock uses the aioloop_clock fixture but runs with the "
            "real clock: mark it @pytest.mark.asyncio(clock='virtual'), or set asyncio_clock*",
            "*test_misuse.py::test_sync uses the aioloop_clock fixture*not an async test*",
        ]
    )


@pytest.mark.since("final")
def test_bad_clock_values_name_the_option(aio):
    """clock="fast" on a marker names the test; asyncio_clock = fast is a usage error."""
    aio.pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.asyncio(clock="fast")
        async def test_fast():
            pass
        """
    )
    result = aio.run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*test_bad.py::test_fast: clock='fast' is not one of real, virtual."]
    )
    aio.pytester.makeini("[pytest]\nasyncio_clock = fast\n")
    result = aio.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*asyncio_clock='fast' is not one of real, virtual."])


@pytest.mark.since("final")
def test_a_virtual_clock_test_that_never_advances_hits_the_real_time_timeout(aio):
    """Test timeouts are real time: a virtual-clock test spinning on sleep(0) still times out."""
    aio.pytester.makepyfile(
        test_spin="""
        import asyncio
        import time
        import pytest

        @pytest.mark.asyncio(clock="virtual", timeout=0.5)
        async def test_spins():
            assert asyncio.get_running_loop().time() == 0
            began = time.monotonic()
            while time.monotonic() - began < 2:  # never lets the virtual clock move
                await asyncio.sleep(0)
            pytest.fail("not cut by the timeout")  # rather than spin forever without one

        @pytest.mark.asyncio(clock="virtual", timeout=0.5)
        async def test_sleeps_for_a_day_in_no_time():
            assert asyncio.get_running_loop().time() == 0
            await asyncio.sleep(86400)  # a virtual day, well within half a real second

        async def test_next():
            pass
        """
    )
    result = aio.run("--asyncio-mode=auto")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["the test timed out after 0.5 s*", "FAILED test_spin.py::test_spins - *"]
    )
