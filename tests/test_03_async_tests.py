"""Stage 03 brings hooks: ``async def`` tests marked ``asyncio`` are run by the plugin."""

import pytest

ADD = """
import asyncio

import pytest


async def add(a, b):
    await asyncio.sleep(0)
    return a + b
"""


@pytest.mark.since("03")
def test_marked_async_test_passes(aio):
    """A test marked @pytest.mark.asyncio is awaited and passes: implement pytest_pyfunc_call."""
    aio.pytester.makepyfile(
        ADD
        + """
@pytest.mark.asyncio
async def test_add():
    assert await add(1, 2) == 3
"""
    )
    aio.run().assert_outcomes(passed=1)


@pytest.mark.since("03")
def test_marked_async_test_really_runs(aio):
    """The coroutine must run to completion, not just be created: its side effects are seen."""
    aio.pytester.makepyfile(
        ADD
        + """
ran = []

@pytest.mark.asyncio
async def test_records():
    ran.append(await add(1, 2))

def test_after():
    assert ran == [3]
"""
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("03")
def test_failing_async_test_fails(aio):
    """A failing assertion inside an async test fails the test with pytest's assertion report."""
    aio.pytester.makepyfile(
        ADD
        + """
@pytest.mark.asyncio
async def test_wrong():
    result = await add(1, 1)
    assert result == 3
"""
    )
    result = aio.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert 2 == 3*"])


@pytest.mark.since("03")
def test_traceback_points_at_the_users_line(aio):
    """The failure report shows the user's failing line, not the plugin's internals."""
    aio.pytester.makepyfile(
        test_where=ADD
        + """
@pytest.mark.asyncio
async def test_wrong():
    await asyncio.sleep(0)
    raise ValueError("boom in the test")
"""
    )
    result = aio.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ['>       raise ValueError("boom in the test")', "E       ValueError: boom in the test"]
    )
    result.stdout.fnmatch_lines(["test_where.py:13: ValueError"])


@pytest.mark.since("03")
def test_exception_type_is_reported(aio):
    """An exception raised by the coroutine fails the test with that exception."""
    aio.pytester.makepyfile(
        ADD
        + """
@pytest.mark.asyncio
async def test_raises():
    raise KeyError("missing")
"""
    )
    result = aio.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*KeyError: 'missing'*"])


@pytest.mark.since("03")
def test_running_loop_inside_async_test(aio):
    """Inside the test, asyncio.get_running_loop() is an open loop that runs tasks."""
    aio.pytester.makepyfile(
        ADD
        + """
@pytest.mark.asyncio
async def test_tasks():
    loop = asyncio.get_running_loop()
    assert not loop.is_closed()
    task = asyncio.create_task(add(2, 2))
    assert await task == 4
    assert await asyncio.gather(add(1, 1), add(3, 3)) == [2, 6]
"""
    )
    aio.run().assert_outcomes(passed=1)


@pytest.mark.since("03")
def test_fresh_loop_per_async_test(aio):
    """Each async test runs in a loop of its own (function scope is the default)."""
    aio.pytester.makepyfile(
        ADD
        + """
loops = []

@pytest.mark.asyncio
async def test_first():
    loops.append(asyncio.get_running_loop())

@pytest.mark.asyncio
async def test_second():
    assert asyncio.get_running_loop() is not loops[0]
"""
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("03")
def test_loop_closed_after_failing_async_test(aio):
    """The test's loop is closed when the test ends, even when it fails: close it in a finally."""
    aio.pytester.makepyfile(
        ADD
        + """
loops = []

@pytest.mark.asyncio
async def test_fails():
    loops.append(asyncio.get_running_loop())
    assert False

def test_loop_was_closed():
    assert loops[0].is_closed()
"""
    )
    aio.run().assert_outcomes(passed=1, failed=1)


@pytest.mark.since("03")
def test_no_resource_warning_after_failing_async_test(aio):
    """No 'unclosed event loop' ResourceWarning is left behind by a failing async test."""
    aio.pytester.makepyfile(
        ADD
        + """
import gc

@pytest.mark.asyncio
async def test_fails():
    assert await add(1, 1) == 3

def test_collect_garbage():
    gc.collect()
"""
    )
    # In a fresh interpreter: an in-process run records every hook call, the
    # failed call's traceback with them, and that keeps a leaked loop alive (and
    # silent) until the run is over.
    result = aio.run_subprocess(
        "-W", "error::ResourceWarning", "-W", "error::pytest.PytestUnraisableExceptionWarning"
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*assert 2 == 3*"])
    result.stdout.no_fnmatch_line("*unclosed event loop*")


@pytest.mark.since("03")
def test_parametrize(aio):
    """parametrize works on async tests: one item per parameter set, each awaited."""
    aio.pytester.makepyfile(
        ADD
        + """
@pytest.mark.asyncio
@pytest.mark.parametrize(("a", "b", "total"), [(1, 2, 3), (2, 2, 4), (0, 0, 1)])
async def test_add(a, b, total):
    assert await add(a, b) == total
"""
    )
    result = aio.run("-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_add?0-0-1? FAILED*"])


@pytest.mark.since("03")
def test_methods_of_a_test_class(aio):
    """Async test methods of a test class are run, with self bound as usual."""
    aio.pytester.makepyfile(
        ADD
        + """
class TestAdd:
    factor = 10

    @pytest.mark.asyncio
    async def test_method(self):
        assert await add(self.factor, 1) == 11

    def test_sync_method(self):
        assert self.factor == 10
"""
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("03")
def test_pytestmark_on_a_module(aio):
    """pytestmark = pytest.mark.asyncio marks every async test in the module."""
    aio.pytester.makepyfile(
        ADD
        + """
pytestmark = pytest.mark.asyncio

async def test_one():
    assert await add(1, 2) == 3

async def test_two():
    assert await add(2, 2) == 5
"""
    )
    aio.run().assert_outcomes(passed=1, failed=1)


@pytest.mark.since("03")
def test_mark_on_a_class(aio):
    """A marker on a class, or pytestmark inside it, marks its async methods."""
    aio.pytester.makepyfile(
        ADD
        + """
@pytest.mark.asyncio
class TestDecorated:
    async def test_one(self):
        assert await add(1, 2) == 3

class TestPytestmark:
    pytestmark = pytest.mark.asyncio

    async def test_two(self):
        assert await add(2, 2) == 4
"""
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("03")
def test_module_mark_leaves_sync_tests_alone(aio):
    """Sync tests under a module's pytestmark run as usual, with no warning."""
    aio.pytester.makepyfile(
        ADD
        + """
pytestmark = pytest.mark.asyncio

async def test_async():
    assert await add(1, 2) == 3

def test_sync():
    assert 1 + 2 == 3
"""
    )
    result = aio.run("-W", "error::pytest.PytestWarning")
    result.assert_outcomes(passed=2)


@pytest.mark.since("03")
def test_skip_on_async_test(aio):
    """skip and skipif work on async tests: the coroutine is never created."""
    aio.pytester.makepyfile(
        ADD
        + """
import sys

@pytest.mark.asyncio
@pytest.mark.skip(reason="not today")
async def test_skipped():
    raise AssertionError

@pytest.mark.asyncio
@pytest.mark.skipif(sys.version_info > (3,), reason="always")
async def test_skipped_if():
    raise AssertionError

@pytest.mark.asyncio
async def test_skips_itself():
    await asyncio.sleep(0)
    pytest.skip("decided at run time")
"""
    )
    result = aio.run("-W", "error::RuntimeWarning")
    result.assert_outcomes(skipped=3)


@pytest.mark.since("03")
def test_xfail_on_async_test(aio):
    """xfail works on async tests, and an unexpected pass is reported (strict xfail fails)."""
    aio.pytester.makepyfile(
        ADD
        + """
@pytest.mark.asyncio
@pytest.mark.xfail(reason="known bug")
async def test_xfails():
    assert await add(1, 1) == 3

@pytest.mark.asyncio
@pytest.mark.xfail(reason="fixed", strict=True)
async def test_xpasses_strictly():
    assert await add(1, 1) == 2
"""
    )
    result = aio.run()
    result.assert_outcomes(xfailed=1, failed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*fixed*"])


@pytest.mark.since("03")
def test_marker_on_sync_test_warns(aio):
    """A sync test marked asyncio still runs, and a warning names the test and the fix."""
    aio.pytester.makepyfile(
        test_sync_marked="""
import pytest

@pytest.mark.asyncio
def test_not_async():
    assert True
"""
    )
    result = aio.run()
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        ["*test_sync_marked.py::test_not_async*is not an async def function*"]
    )


@pytest.mark.since("03")
def test_marker_is_registered_for_strict_markers(aio):
    """The asyncio marker is registered: --strict-markers accepts it and --markers lists it."""
    aio.pytester.makepyfile(
        ADD
        + """
@pytest.mark.asyncio
async def test_add():
    assert await add(1, 2) == 3
"""
    )
    aio.run("--strict-markers").assert_outcomes(passed=1)
    aio.run("--markers").stdout.fnmatch_lines(["@pytest.mark.asyncio*"])


@pytest.mark.since("03")
def test_unmarked_async_test_next_to_marked_one(aio):
    """Only marked tests are run by the plugin; an unmarked one beside them still fails loudly."""
    aio.pytester.makepyfile(
        ADD
        + """
@pytest.mark.asyncio
async def test_marked():
    assert await add(1, 2) == 3

async def test_unmarked():
    assert await add(1, 2) == 3
"""
    )
    result = aio.run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*async def functions are not natively supported*"])


@pytest.mark.since("03")
def test_fixtures_reach_async_tests(aio):
    """Sync fixtures, including parametrized and autouse ones, are passed to async tests."""
    aio.pytester.makepyfile(
        ADD
        + """
calls = []

@pytest.fixture(autouse=True)
def record():
    calls.append("autouse")

@pytest.fixture(params=[1, 2])
def number(request):
    return request.param

@pytest.mark.asyncio
async def test_uses(number, tmp_path):
    assert await add(number, 0) == number
    assert tmp_path.is_dir()
    assert calls and calls[-1] == "autouse"
"""
    )
    aio.run().assert_outcomes(passed=2)
