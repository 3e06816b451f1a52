"""Which loop everything ran in, on final/: told when loops are mixed, shown when asked.

A failure that means mixed loops ("attached to a different loop" and its kin)
gets an "event loops" section naming the loops and the fix; any other failure
gets none; a loop silently split by a default loop scope is warned about once;
``--asyncio-show-loops`` prints where each loop opened and closed and what ran
in it, and its lines are checked here as the user reads them.
"""

import pytest

HEAD = """
import asyncio

import pytest

import pytest_aioloop
"""


@pytest.mark.since("final")
def test_a_mixed_loop_failure_names_both_loops_and_the_fix(aio):
    """A module fixture's future awaited in a function loop: the section says which and how."""
    aio.pytester.makepyfile(
        test_api=HEAD
        + """
@pytest_aioloop.fixture(scope="module")
async def pending():
    return asyncio.get_running_loop().create_future()

@pytest_aioloop.fixture
async def client():
    return "client"

@pytest.mark.asyncio
async def test_waits(client, pending):
    await pending
"""
    )
    result = aio.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*RuntimeError: *attached to a different loop",
            "*- event loops -*",
            "test_api.py::test_waits ran in the function loop of test_api.py::test_waits",
            "    (loop_scope='function', the default; loop factory: asyncio.new_event_loop).",
            "Its async fixtures, in the order they were set up:",
            "    pending: loop_scope='module' (its scope), ran in the module loop of test_api.py"
            "   <- not the test's loop",
            "    client: loop_scope='function' (its scope), ran in the test's loop",
            "*'pending' ran in another loop than the test.",
            'Fix: mark the test @pytest.mark.asyncio(loop_scope="module"), and give '
            "'client' loop_scope=\"module\", so that they all run in one loop.",
        ]
    )


@pytest.mark.since("final")
def test_the_loop_section_reaches_the_report_under_xdist(aio):
    """With pytest-xdist the section is part of the report that the worker sends."""
    pytest.importorskip("xdist")
    aio.pytester.makepyfile(
        test_api=HEAD
        + """
@pytest_aioloop.fixture(scope="module")
async def pending():
    return asyncio.get_running_loop().create_future()

@pytest.mark.asyncio
async def test_waits(pending):
    await pending
"""
    )
    result = aio.run_subprocess("-n", "1", timeout=60)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- event loops -*",
            "test_api.py::test_waits ran in the function loop of test_api.py::test_waits",
        ]
    )


@pytest.mark.since("final")
def test_a_split_loop_failure_says_to_widen_the_fixture(aio):
    """A module-loop test awaits a function fixture's future: give the fixture the test's scope."""
    aio.pytester.makepyfile(
        test_split=HEAD
        + """
@pytest_aioloop.fixture
async def pending():
    return asyncio.get_running_loop().create_future()

@pytest.mark.asyncio(loop_scope="module")
async def test_waits(pending):
    await pending
"""
    )
    result = aio.run("-W", "ignore::pytest_aioloop.SplitLoopWarning")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- event loops -*",
            "test_split.py::test_waits ran in the module loop of test_split.py",
            "    (loop_scope='module', from its asyncio marker; *",
            "    pending: loop_scope='function' (its scope), ran in the function loop of "
            "test_split.py::test_waits   <- not the test's loop",
            "*",
            "Fix: give 'pending' loop_scope=\"module\" (@pytest_aioloop.fixture(loop_scope=...)),"
            " so that the test's loop runs it too.",
        ]
    )


@pytest.mark.since("final")
def test_only_a_mixed_loop_failure_gets_the_loop_section(aio):
    """A test failing for another reason, a fixture erroring: no "event loops" section for them."""
    aio.pytester.makepyfile(
        HEAD
        + """
@pytest_aioloop.fixture(scope="module")
async def pending():
    return asyncio.get_running_loop().create_future()

@pytest_aioloop.fixture
async def broken():
    raise RuntimeError("the database is down")

@pytest.mark.asyncio
async def test_fails(pending):
    assert 1 == 2

@pytest.mark.asyncio
async def test_errors(broken):
    pass

@pytest.mark.asyncio
async def test_mixed(pending):
    await pending
"""
    )
    result = aio.run()
    result.assert_outcomes(failed=2, errors=1)
    result.stdout.fnmatch_lines(["*RuntimeError: the database is down"])
    # The one section is test_mixed's: it comes after the last failure's header.
    output = result.stdout.str()
    assert output.count("- event loops -") == 1
    assert output.index("- event loops -") > output.index("_ test_mixed _")


@pytest.mark.since("final")
def test_a_split_loop_is_warned_about_once_naming_both(aio):
    """A defaulted narrower fixture loop: one warning per fixture and test function, and the fix."""
    aio.pytester.makepyfile(
        test_split=HEAD
        + """
@pytest_aioloop.fixture
async def connection():
    yield

@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("n", [1, 2, 3])
async def test_query(connection, n):
    pass

@pytest_aioloop.fixture(loop_scope="module")
async def fine():
    yield

@pytest.mark.asyncio(loop_scope="module")
async def test_fine(fine):
    pass
"""
    )
    result = aio.run()
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "*/test_split.py:7: SplitLoopWarning: test_split.py::test_query runs in the module "
            "loop of test_split.py, but its async fixture 'connection' runs in another loop, the "
            "function loop of test_split.py::test_query[[]1[]]: its loop_scope defaults to its "
            "scope, 'function'. What 'connection' makes belongs to its loop, and awaiting it in "
            "the test fails with 'attached to a different loop'. Give 'connection' "
            'loop_scope="module".',
        ]
    )
    assert result.stdout.str().count("SplitLoopWarning:") == 1
    result.stdout.no_fnmatch_line("*'fine'*")


SHOW_LOOPS = """
import asyncio

import pytest

import pytest_aioloop

@pytest_aioloop.fixture(scope="session", loop_scope="session")
async def server():
    yield "server"

@pytest_aioloop.fixture(scope="module", loop_scope="module")
async def pool():
    yield "pool"

@pytest_aioloop.fixture
async def connection():
    yield "connection"

@pytest.mark.asyncio(loop_scope="session")
async def test_session(server):
    pass

@pytest.mark.asyncio(loop_scope="module")
async def test_module(pool, server):
    pass

@pytest.mark.asyncio
async def test_function(connection, pool):
    pass

def test_sync():
    pass
"""


@pytest.mark.since("final")
def test_show_loops_prints_where_each_loop_opens_and_what_ran_in_it(aio):
    """``--asyncio-show-loops``: OPEN, SETUP, RUN, TEARDOWN and CLOSE lines, at their scopes."""
    aio.pytester.makepyfile(test_loops=SHOW_LOOPS)
    result = aio.run("--asyncio-show-loops")
    result.assert_outcomes(passed=4)
    # Each test's progress mark ends its RUN line, as with pytest's --setup-show.
    result.stdout.fnmatch_lines(
        [
            "test_loops.py ",
            "OPEN     session loop",
            "SETUP    S server in the session loop",
            "        RUN      test_loops.py::test_session in the session loop"
            " (async fixtures: server in the same loop) .*",
            "",
            "    OPEN     module loop of test_loops.py",
            "    SETUP    M pool in the module loop of test_loops.py",
            "        RUN      test_loops.py::test_module in the module loop of test_loops.py"
            " (async fixtures: server in the session loop, pool in the same loop) .*",
            "",
            "        OPEN     function loop of test_loops.py::test_function",
            "        SETUP    F connection in the function loop of test_loops.py::test_function",
            "        RUN      test_loops.py::test_function in the function loop of"
            " test_loops.py::test_function (async fixtures: pool in the module loop of"
            " test_loops.py, connection in the same loop) .*",
            "",
            "        TEARDOWN F connection in the function loop of test_loops.py::test_function",
            "        CLOSE    function loop of test_loops.py::test_function.",
            "    TEARDOWN M pool in the module loop of test_loops.py",
            "    CLOSE    module loop of test_loops.py",
            "TEARDOWN S server in the session loop",
            "CLOSE    session loop *[[]100%[]]",
        ],
        consecutive=True,
    )
    assert "OPEN" not in aio.run().stdout.str()
