"""What holds before any plugin: pytest on its own, and a plugin that stays out of the way.

These scenarios pass at every stage. They pin down pytest's own behaviour the
lessons start from, and check that no stage breaks ordinary tests.
"""

import pytest


@pytest.mark.since("01")
def test_sync_tests_still_pass(aio):
    """A plugin must leave ordinary sync tests alone."""
    aio.pytester.makepyfile(
        """
        def test_one():
            assert 1 + 1 == 2

        def test_two():
            assert "a" * 2 == "aa"
        """
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("01")
def test_coroutine_driven_by_hand(aio):
    """A sync test may create a loop and drive a coroutine itself, as in stage 01."""
    aio.pytester.makepyfile(
        """
        import asyncio

        async def add(a, b):
            await asyncio.sleep(0)
            return a + b

        def test_by_hand():
            loop = asyncio.new_event_loop()
            try:
                assert loop.run_until_complete(add(1, 2)) == 3
            finally:
                loop.close()

        def test_with_asyncio_run():
            assert asyncio.run(add(2, 2)) == 4
        """
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("01")
def test_unmarked_async_test_fails_loudly(aio):
    """An async def test with no marker fails: pytest refuses to call it.

    A plugin in strict mode must leave pytest's refusal in place (what each
    pytest does with such a test: the docs' glossary).
    """
    aio.pytester.makepyfile(
        """
        async def test_unmarked():
            assert False, "never awaited"
        """
    )
    result = aio.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*async def functions are not natively supported*"])
    result.stdout.no_fnmatch_line("*never awaited*")
