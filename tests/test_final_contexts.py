"""Each test's context is its own: context variables, tasks and fixtures on final/.

What a fixture (sync or async) sets reaches the tests that use it, at every
scope; what a test sets never reaches the next test that shares its loop; a
fixture's teardown sees what its setup set. And while each test's context is
its own, what belongs to a task still spans a fixture's ``yield``: a
``TaskGroup`` or an ``asyncio.timeout()`` entered in the setup works at every
loop scope, and when it cancels the fixture's task while a test runs, that
test fails with the real error (the child's exception, a ``TimeoutError``
naming the fixture), not with a bare ``CancelledError``.
"""

import sys

import pytest

HEAD = """
import asyncio
import contextvars

import pytest

import pytest_aioloop

var = contextvars.ContextVar("var", default="unset")
"""

needs_taskgroup = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="asyncio.TaskGroup and asyncio.timeout() are Python 3.11+"
)


@pytest.mark.since("final")
@pytest.mark.parametrize("loop_scope", ["module", "session"])
def test_a_tests_changes_do_not_reach_the_next_test_in_its_loop(aio, loop_scope):
    """What a test, or its function fixture, sets is gone for the next test of its loop."""
    aio.pytester.makepyfile(
        HEAD
        + f"""
pytestmark = pytest.mark.asyncio(loop_scope="{loop_scope}")

@pytest_aioloop.fixture(loop_scope="{loop_scope}")
async def sets_and_never_resets():
    var.set("set by a function fixture")

async def test_sets():
    assert asyncio.get_running_loop() is not None
    var.set("set by the first test")

async def test_next_sees_nothing():
    assert var.get() == "unset"

async def test_uses_the_fixture(sets_and_never_resets):
    assert var.get() == "set by a function fixture"

async def test_after_the_fixture():
    assert var.get() == "unset"

def test_sync_after_the_fixture():
    assert var.get() == "unset"
"""
    )
    aio.run().assert_outcomes(passed=5)


@pytest.mark.since("final")
def test_fixture_values_reach_the_tests_at_every_scope(aio):
    """Sync and async fixtures of session, module and function scope: every test sees them all."""
    aio.pytester.makeconftest(
        """
import contextvars

import pytest

import pytest_aioloop

seen = {
    name: contextvars.ContextVar(name, default="unset")
    for name in ("sync_session", "async_session", "sync_module", "async_module",
                 "sync_function", "async_function")
}

@pytest.fixture(scope="session")
def sync_session():
    token = seen["sync_session"].set("set")
    yield
    seen["sync_session"].reset(token)

@pytest_aioloop.fixture(scope="session", loop_scope="session")
async def async_session():
    seen["async_session"].set("set")
    yield

@pytest.fixture(scope="module")
def sync_module():
    token = seen["sync_module"].set("set")
    yield
    seen["sync_module"].reset(token)

@pytest_aioloop.fixture(scope="module", loop_scope="module")
async def async_module():
    seen["async_module"].set("set")

@pytest.fixture
def sync_function():
    token = seen["sync_function"].set("set")
    yield
    seen["sync_function"].reset(token)

@pytest_aioloop.fixture
async def async_function():
    seen["async_function"].set("set")
    yield

@pytest.fixture
def every(sync_session, async_session, sync_module, async_module, sync_function,
          async_function):
    pass

def values():
    return {name: var.get() for name, var in seen.items()}
"""
    )
    body = """
import pytest
from conftest import values

ALL = dict.fromkeys(
    ("sync_session", "async_session", "sync_module", "async_module", "sync_function",
     "async_function"),
    "set",
)

@pytest.mark.asyncio
async def test_function_loop(every):
    assert values() == ALL

@pytest.mark.asyncio(loop_scope="module")
async def test_module_loop(every):
    assert values() == ALL

@pytest.mark.asyncio(loop_scope="session")
async def test_session_loop(every):
    assert values() == ALL

def test_sync(every):
    assert values() == ALL
"""
    aio.pytester.makepyfile(
        test_a=body,
        test_b=body,
        test_c="""
import pytest
from conftest import values

@pytest.mark.asyncio(loop_scope="session")
async def test_only_the_session_fixtures_outlive_their_module():
    assert values() == {
        "sync_session": "set", "async_session": "set", "sync_module": "unset",
        "async_module": "unset", "sync_function": "unset", "async_function": "unset",
    }
""",
    )
    aio.run().assert_outcomes(passed=9)


@pytest.mark.since("final")
@pytest.mark.parametrize("loop_scope", ["function", "module"])
def test_teardown_sees_its_setup_and_resets_in_reverse_order(aio, loop_scope):
    """Each teardown sees its own setup's value; after it, the earlier fixture's value is back."""
    aio.pytester.makepyfile(
        HEAD
        + f"""
log = []

@pytest_aioloop.fixture(loop_scope="{loop_scope}")
async def outer():
    var.set("outer")
    yield
    log.append(("outer's teardown", var.get()))

@pytest.fixture
def middle(outer):
    token = var.set("middle")
    yield
    log.append(("middle's teardown", var.get()))
    var.reset(token)

@pytest_aioloop.fixture(loop_scope="{loop_scope}")
async def inner(middle):
    log.append(("inner's setup", var.get()))
    var.set("inner")
    yield
    log.append(("inner's teardown", var.get()))

@pytest.mark.asyncio(loop_scope="{loop_scope}")
async def test_sees_the_innermost(inner):
    assert var.get() == "inner"
    var.set("the test")

def test_order():
    assert log == [
        ("inner's setup", "middle"),
        ("inner's teardown", "inner"),
        ("middle's teardown", "middle"),
        ("outer's teardown", "outer"),
    ]
    assert var.get() == "unset"
"""
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("final")
@needs_taskgroup
@pytest.mark.parametrize("loop_scope", ["function", "module", "session"])
def test_taskgroup_and_timeout_across_yield_at_every_loop_scope(aio, loop_scope):
    """A fixture's TaskGroup and timeout span its yield, in one task, at every loop scope."""
    aio.pytester.makepyfile(
        HEAD
        + f"""
@pytest_aioloop.fixture(scope="{loop_scope}", loop_scope="{loop_scope}")
async def group():
    task = asyncio.current_task()
    async with asyncio.timeout(30):
        async with asyncio.TaskGroup() as tg:
            yield tg
    # What the TaskGroup and the timeout need, though they may not check it.
    assert asyncio.current_task() is task
    print("group closed")

@pytest.mark.asyncio(loop_scope="{loop_scope}")
async def test_one(group):
    done = asyncio.Event()
    async def child():
        done.set()
    group.create_task(child())
    await done.wait()

@pytest.mark.asyncio(loop_scope="{loop_scope}")
async def test_two(group):
    assert (await asyncio.gather(group.create_task(asyncio.sleep(0, "ok")))) == ["ok"]
"""
    )
    result = aio.run("-s")
    result.assert_outcomes(passed=2, errors=0)
    assert result.stdout.str().count("group closed") == (2 if loop_scope == "function" else 1)


@pytest.mark.since("final")
@needs_taskgroup
@pytest.mark.parametrize("loop_scope", ["function", "module", "session"])
def test_a_crashing_taskgroup_child_fails_the_test_with_its_error(aio, loop_scope):
    """A child of a fixture's TaskGroup that crashes fails the running test with that error."""
    aio.pytester.makepyfile(
        HEAD
        + f"""
@pytest_aioloop.fixture(scope="{loop_scope}", loop_scope="{loop_scope}")
async def workers():
    async with asyncio.TaskGroup() as tg:
        async def crash():
            await asyncio.sleep(0.05)
            raise ValueError("the worker crashed")
        tg.create_task(crash())
        yield

@pytest.mark.asyncio(loop_scope="{loop_scope}")
async def test_waits(workers):
    await asyncio.sleep(5)

@pytest.mark.asyncio(loop_scope="{loop_scope}")
async def test_next():
    await asyncio.sleep(0)
"""
    )
    result = aio.run()
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_waits _*",
            "*ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)",
            "*raised in fixture 'workers', whose task was cancelled while the test ran*",
            "*ValueError: the worker crashed",
        ]
    )
    result.stdout.no_fnmatch_line("E*CancelledError*")


@pytest.mark.since("final")
@needs_taskgroup
@pytest.mark.parametrize("loop_scope", ["function", "module"])
def test_an_expired_fixture_timeout_fails_the_test_naming_the_fixture(aio, loop_scope):
    """A fixture's asyncio.timeout() held across yield that expires: a TimeoutError naming it."""
    aio.pytester.makepyfile(
        HEAD
        + f"""
@pytest_aioloop.fixture(scope="{loop_scope}", loop_scope="{loop_scope}")
async def deadline():
    async with asyncio.timeout(0.05):
        yield

@pytest.mark.asyncio(loop_scope="{loop_scope}")
async def test_too_slow(deadline):
    await asyncio.sleep(5)
"""
    )
    result = aio.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*_ test_too_slow _*", "E*TimeoutError: fixture 'deadline'*expired while the test ran*"]
    )
    result.stdout.no_fnmatch_line("E*CancelledError*")
