"""Stage 02 brings the ``event_loop`` fixture: one fresh loop per test, always closed.

pytest-asyncio 1.x removed this fixture, and so does stage 06 (where loops
belong to scopes) and final/.
"""

import pytest


@pytest.mark.since("02", until="05")
def test_event_loop_fixture_runs_coroutines(aio):
    """A test that names ``event_loop`` gets a loop it can drive with run_until_complete."""
    aio.pytester.makepyfile(
        """
        import asyncio

        async def add(a, b):
            await asyncio.sleep(0)
            return a + b

        def test_add(event_loop):
            assert isinstance(event_loop, asyncio.AbstractEventLoop)
            assert event_loop.run_until_complete(add(1, 2)) == 3
        """
    )
    aio.run().assert_outcomes(passed=1)


@pytest.mark.since("02", until="05")
def test_event_loop_fixture_is_fresh_per_test(aio):
    """Every test gets a new loop, so no state leaks from one test to the next."""
    aio.pytester.makepyfile(
        """
        seen = []

        def test_first(event_loop):
            seen.append(event_loop)

        def test_second(event_loop):
            assert event_loop is not seen[0]
            assert not event_loop.is_closed()
        """
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("02", until="05")
def test_event_loop_fixture_closes_loop_after_failure(aio):
    """The fixture closes its loop after the test, even when the test fails."""
    aio.pytester.makepyfile(
        """
        seen = []

        def test_fails(event_loop):
            seen.append(event_loop)
            assert False

        def test_loop_was_closed():
            assert seen[0].is_closed()
        """
    )
    aio.run().assert_outcomes(passed=1, failed=1)
