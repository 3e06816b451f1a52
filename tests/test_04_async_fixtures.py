"""Stage 04 brings async fixtures: ``async def`` and async generator fixtures.

The user's files here declare their async fixtures with ``@pytest.fixture``
and set ``asyncio_mode = auto``: stage 04 takes over every async fixture, and
from stage 05 on (as in pytest-asyncio) auto mode is what takes over fixtures
that are not decorated with ``pytest_aioloop.fixture``. Stage 04 does not know
the option yet and ignores it.
"""

import pytest

AUTO = """
[pytest]
asyncio_mode = auto
"""

HEAD = """
import asyncio

import pytest

events = []
"""


def write(aio, source, **files):
    aio.pytester.makeini(AUTO)
    aio.pytester.makepyfile(HEAD + source, **files)


@pytest.mark.since("04")
def test_async_fixture_value_reaches_the_test(aio):
    """An ``async def`` fixture is awaited and the test gets its result (pytest_fixture_setup)."""
    write(
        aio,
        """
@pytest.fixture
async def answer():
    await asyncio.sleep(0)
    return 42

@pytest.mark.asyncio
async def test_answer(answer):
    assert answer == 42
""",
    )
    aio.run().assert_outcomes(passed=1)


@pytest.mark.since("04")
def test_async_generator_fixture_runs_setup_then_teardown(aio):
    """An async generator fixture runs up to its yield before the test and the rest after it."""
    write(
        aio,
        """
@pytest.fixture
async def resource():
    events.append("setup")
    await asyncio.sleep(0)
    yield "value"
    await asyncio.sleep(0)
    events.append("teardown")

@pytest.mark.asyncio
async def test_uses(resource):
    events.append(f"test got {resource}")

def test_order():
    assert events == ["setup", "test got value", "teardown"]
""",
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("04")
def test_fixture_and_test_share_one_loop(aio):
    """A function-scoped async fixture (setup and teardown) runs in the loop the test runs in."""
    write(
        aio,
        """
loops = {}

@pytest.fixture
async def recorder():
    loops["setup"] = asyncio.get_running_loop()
    yield
    loops["teardown"] = asyncio.get_running_loop()

@pytest.mark.asyncio
async def test_uses(recorder):
    loops["test"] = asyncio.get_running_loop()
    assert recorder is None  # what it yielded

def test_same_loop():
    assert loops["setup"] is loops["test"] is loops["teardown"]
""",
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("04")
def test_loop_bound_objects_cross_from_fixture_to_test(aio):
    """A future or task made in a fixture can be awaited in the test: they share the loop."""
    write(
        aio,
        """
@pytest.fixture
async def pending():
    future = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(0.01, future.set_result, "done")
    return future

@pytest.fixture
async def background():
    task = asyncio.create_task(asyncio.sleep(0.01, result="finished"))
    yield task
    assert task.done()

@pytest.mark.asyncio
async def test_awaits(pending, background):
    assert await pending == "done"
    assert await background == "finished"
""",
    )
    aio.run().assert_outcomes(passed=1)


@pytest.mark.since("04")
def test_teardown_runs_when_the_test_fails(aio):
    """A failing test still gets its async fixture torn down: make the teardown a finalizer."""
    write(
        aio,
        """
@pytest.fixture
async def resource():
    yield "value"
    await asyncio.sleep(0)
    events.append("closed")

@pytest.mark.asyncio
async def test_fails(resource):
    assert resource == "other"

def test_was_closed():
    assert events == ["closed"]
""",
    )
    result = aio.run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError*"])


@pytest.mark.since("04")
def test_failing_teardown_is_an_error_and_others_still_run(aio):
    """A teardown that raises is an error of that test; the other fixtures are still torn down."""
    write(
        aio,
        """
@pytest.fixture
async def first():
    yield 1
    events.append("first closed")

@pytest.fixture
async def broken():
    yield 2
    raise RuntimeError("cannot close broken")

@pytest.fixture
async def last():
    yield 3
    events.append("last closed")

@pytest.mark.asyncio
async def test_uses_all(first, broken, last):
    assert first + broken + last == 6

def test_others_were_closed():
    assert sorted(events) == ["first closed", "last closed"]
""",
    )
    result = aio.run()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_uses_all*", "*RuntimeError: cannot close broken*"]
    )


@pytest.mark.since("04")
def test_fixture_setup_error_is_reported(aio):
    """An async fixture that raises errors the test at setup, showing the fixture's line."""
    write(
        aio,
        """
@pytest.fixture
async def broken():
    await asyncio.sleep(0)
    raise ValueError("no database today")

@pytest.mark.asyncio
async def test_uses(broken):
    pass
""",
    )
    result = aio.run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_uses*",
            '>*raise ValueError("no database today")',
            "E*ValueError: no database today",
        ]
    )


@pytest.mark.since("04")
def test_async_fixture_requests_sync_and_async_fixtures(aio):
    """Async fixtures may request other fixtures, sync or async, and pytest's own (tmp_path)."""
    write(
        aio,
        """
@pytest.fixture
def base():
    return 10

@pytest.fixture
async def doubled(base):
    await asyncio.sleep(0)
    return base * 2

@pytest.fixture
async def report(doubled, base, tmp_path):
    path = tmp_path / "report.txt"
    path.write_text(str(doubled + base))
    yield path
    events.append(path.read_text())

@pytest.mark.asyncio
async def test_report(report):
    assert report.read_text() == "30"

def test_torn_down():
    assert events == ["30"]
""",
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("04")
def test_parametrized_async_fixture(aio):
    """An async fixture with params makes one test per parameter, each with its own value."""
    write(
        aio,
        """
@pytest.fixture(params=[1, 2, 3], ids=["one", "two", "three"])
async def number(request):
    await asyncio.sleep(0)
    return request.param

@pytest.mark.asyncio
async def test_small(number):
    assert number < 3
""",
    )
    result = aio.run("-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_small?one? PASSED*", "*test_small?three? FAILED*"])


@pytest.mark.since("04")
def test_sync_test_gets_async_fixture_value(aio):
    """A sync test may request an async fixture: it runs in a loop of that test's own."""
    write(
        aio,
        """
@pytest.fixture
async def resource():
    await asyncio.sleep(0)
    yield "value"
    await asyncio.sleep(0)
    events.append("closed")

def test_sync(resource):
    assert resource == "value"

def test_closed():
    assert events == ["closed"]
""",
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("04")
def test_module_scoped_async_fixture_is_set_up_once(aio):
    """An async fixture with scope="module" runs once for the module and is torn down after it."""
    write(
        aio,
        """
@pytest.fixture(scope="module")
async def shared():
    events.append("setup")
    yield object()
    events.append("teardown")

seen = []

@pytest.mark.asyncio
async def test_one(shared):
    seen.append(shared)

@pytest.mark.asyncio
async def test_two(shared):
    seen.append(shared)
    assert seen[0] is seen[1]
    assert events == ["setup"]
""",
        test_zz_later="""
import test_module_scoped_async_fixture_is_set_up_once as first

def test_torn_down_after_the_module():
    assert first.events == ["setup", "teardown"]
""",
    )
    aio.run().assert_outcomes(passed=3)


@pytest.mark.since("04")
def test_async_fixture_method_in_a_test_class(aio):
    """An async fixture written as a method of a test class gets the test's own ``self``."""
    write(
        aio,
        """
class TestWithFixture:
    @pytest.fixture
    async def name(self):
        self.seen_by_fixture = self
        return "method fixture"

    @pytest.mark.asyncio
    async def test_uses(self, name):
        assert name == "method fixture"
        assert self.seen_by_fixture is self
""",
    )
    aio.run().assert_outcomes(passed=1)


@pytest.mark.since("04")
def test_autouse_async_fixture(aio):
    """An autouse async fixture runs for every test in its scope, async and sync."""
    write(
        aio,
        """
@pytest.fixture(autouse=True)
async def count():
    await asyncio.sleep(0)
    events.append("autouse")

@pytest.mark.asyncio
async def test_async():
    assert events == ["autouse"]

def test_sync(count):
    assert events == ["autouse", "autouse"]
    assert count is None  # what it returned
""",
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("04")
def test_skip_inside_async_fixture(aio):
    """pytest.skip() called in an async fixture skips the test that requested it."""
    write(
        aio,
        """
@pytest.fixture
async def service():
    await asyncio.sleep(0)
    pytest.skip("service unavailable")

@pytest.mark.asyncio
async def test_one(service):
    raise AssertionError("never runs")

@pytest.mark.asyncio
async def test_two(service):
    raise AssertionError("never runs")
""",
    )
    result = aio.run("-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*service unavailable*"])


@pytest.mark.since("04")
def test_async_generator_fixture_that_yields_twice(aio):
    """An async generator fixture must yield once: a second yield is an error at teardown."""
    write(
        aio,
        """
@pytest.fixture
async def greedy():
    yield 1
    yield 2

@pytest.mark.asyncio
async def test_uses(greedy):
    assert greedy == 1
""",
    )
    result = aio.run()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_uses*", "*[Yy]ield*"])


@pytest.mark.since("04")
def test_no_resource_warning_from_async_fixtures(aio):
    """Every loop the fixtures used is closed: no 'unclosed event loop' ResourceWarning."""
    write(
        aio,
        """
import gc

@pytest.fixture
async def resource():
    yield "value"

@pytest.fixture(scope="module")
async def shared():
    yield "shared"

def test_sync(resource, shared):
    assert resource == "value"

@pytest.mark.asyncio
async def test_async(resource, shared):
    assert shared == "shared"
""",
        test_z_collect="""
import gc

def test_collect_garbage():
    gc.collect()
""",
    )
    result = aio.run(
        "-W", "error::ResourceWarning", "-W", "error::pytest.PytestUnraisableExceptionWarning"
    )
    result.assert_outcomes(passed=3)
    result.stdout.no_fnmatch_line("*unclosed event loop*")
