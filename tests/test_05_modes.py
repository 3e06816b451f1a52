"""Stage 05 brings modes: strict (the default) and auto, and ``pytest_aioloop.fixture``."""

import pytest

# pytest 9 refuses an async fixture that no plugin runs (an error at set-up);
# pytest 8.4 deprecated that instead: it warns (PytestRemovedIn9Warning) and
# hands the test the coroutine object.
PYTEST_REFUSES_UNHANDLED_ASYNC_FIXTURES = int(pytest.__version__.split(".")[0]) >= 9

HEAD = """
import asyncio

import pytest

import pytest_aioloop
"""


@pytest.mark.since("05")
def test_decorated_fixture_runs_in_strict_mode(aio):
    """In the default (strict) mode, ``@pytest_aioloop.fixture`` fixtures run, bare or called."""
    aio.pytester.makepyfile(
        HEAD
        + """
@pytest_aioloop.fixture
async def answer():
    await asyncio.sleep(0)
    return 42

@pytest_aioloop.fixture()
async def resource():
    yield "resource"

@pytest.mark.asyncio
async def test_uses(answer, resource):
    assert (answer, resource) == (42, "resource")
"""
    )
    aio.run().assert_outcomes(passed=1)


@pytest.mark.since("05")
def test_fixture_decorator_takes_pytest_fixture_arguments(aio):
    """``pytest_aioloop.fixture`` passes scope, params, ids, name, autouse on to pytest.fixture."""
    aio.pytester.makepyfile(
        HEAD
        + """
events = []

@pytest_aioloop.fixture(scope="module", name="connection")
async def make_connection():
    events.append("open")
    yield "connection"
    events.append("close")

@pytest_aioloop.fixture(params=[1, 2], ids=["one", "two"])
async def number(request):
    return request.param

@pytest_aioloop.fixture(autouse=True)
async def always():
    events.append("autouse")

@pytest.mark.asyncio
async def test_uses(connection, number):
    assert connection == "connection"
    assert events.count("open") == 1
"""
    )
    result = aio.run("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_uses?one? PASSED*", "*test_uses?two? PASSED*"])


@pytest.mark.since("05")
def test_undecorated_async_fixture_in_strict_mode_names_the_fix(aio):
    """Strict mode: a marked test requesting a ``@pytest.fixture`` async fixture fails, with a
    message (error or warning) that names the fixture and the fix: ``@pytest_aioloop.fixture``."""
    aio.pytester.makepyfile(
        HEAD
        + """
@pytest.fixture
async def forgotten():
    return 1

@pytest.mark.asyncio
async def test_uses(forgotten):
    assert forgotten == 1
"""
    )
    result = aio.run()
    outcomes = result.parseoutcomes()
    if PYTEST_REFUSES_UNHANDLED_ASYNC_FIXTURES:
        result.assert_outcomes(errors=1)
    else:  # an error, or pytest 8.4's own warning and the test failing on a coroutine
        assert outcomes.get("errors", 0) + outcomes.get("failed", 0) == 1, outcomes
    result.stdout.fnmatch_lines(["*test_uses*forgotten*"])
    result.stdout.fnmatch_lines(["*pytest_aioloop.fixture*"])


@pytest.mark.since("05")
def test_strict_mode_leaves_undecorated_fixtures_to_others(aio):
    """Strict mode runs only decorated async fixtures; for the others, pytest's own error stands."""
    aio.pytester.makeini("[pytest]\nasyncio_mode = strict\n")
    aio.pytester.makepyfile(
        HEAD
        + """
@pytest.fixture
async def not_ours():
    return 1

@pytest_aioloop.fixture
async def ours():
    return 2

def test_sync(not_ours):
    pass

def test_sync_with_ours(ours):
    assert ours == 2
"""
    )
    result = aio.run()
    if PYTEST_REFUSES_UNHANDLED_ASYNC_FIXTURES:
        result.assert_outcomes(passed=1, errors=1)
    else:  # pytest 8.4 warns, and test_sync gets the coroutine object
        result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*requested an async fixture*not_ours*"])


@pytest.mark.since("05")
def test_strict_mode_coexists_with_another_async_plugin(aio):
    """Another plugin may run its own undecorated async fixtures: strict mode leaves them to it."""
    aio.pytester.makeconftest(
        """
import asyncio
import inspect

import pytest

handled = []

# A stand-in for another async library's plugin: it runs the async fixtures
# whose names start with "other_", in a loop of its own.
def pytest_fixture_setup(fixturedef, request):
    if fixturedef.argname.startswith("other_"):
        value = asyncio.run(fixturedef.func())
        handled.append(fixturedef.argname)
        fixturedef.cached_result = (value, fixturedef.cache_key(request), None)
        return value
"""
    )
    aio.pytester.makepyfile(
        HEAD
        + """
import conftest

@pytest.fixture
async def other_value():
    return "theirs"

@pytest_aioloop.fixture
async def our_value():
    return "ours"

def test_theirs(other_value):
    assert other_value == "theirs"
    assert conftest.handled == ["other_value"]

@pytest.mark.asyncio
async def test_ours(our_value):
    assert our_value == "ours"
"""
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("05")
def test_auto_mode_from_ini(aio):
    """With ``asyncio_mode = auto`` every async test is run, unmarked, and ``@pytest.fixture``
    async fixtures are taken over; sync tests are left alone."""
    aio.pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    aio.pytester.makepyfile(
        HEAD
        + """
@pytest.fixture
async def answer():
    await asyncio.sleep(0)
    return 42

async def test_unmarked(answer):
    assert answer == 42

class TestInAClass:
    async def test_method(self, answer):
        assert answer == 42

def test_sync():
    assert True
"""
    )
    result = aio.run("-W", "error::pytest.PytestWarning")
    result.assert_outcomes(passed=3)


@pytest.mark.since("05")
def test_auto_mode_from_the_command_line(aio):
    """``--asyncio-mode=auto`` on the command line turns auto mode on without an ini file."""
    aio.pytester.makepyfile(
        HEAD
        + """
async def test_unmarked():
    await asyncio.sleep(0)
"""
    )
    aio.run("--asyncio-mode=auto").assert_outcomes(passed=1)


@pytest.mark.since("05")
def test_command_line_mode_wins_over_ini(aio):
    """``--asyncio-mode=strict`` overrides ``asyncio_mode = auto`` from the ini file."""
    aio.pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    aio.pytester.makepyfile(
        HEAD
        + """
async def test_unmarked():
    await asyncio.sleep(0)

@pytest.mark.asyncio
async def test_marked():
    await asyncio.sleep(0)
"""
    )
    assert aio.run().ret == pytest.ExitCode.OK
    result = aio.run("--asyncio-mode=strict")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*async def functions are not natively supported*"])


@pytest.mark.since("05")
def test_invalid_mode_on_command_line_is_a_usage_error(aio):
    """An unknown ``--asyncio-mode`` stops pytest with a usage error naming the allowed modes."""
    aio.pytester.makepyfile("def test_nothing(): pass")
    result = aio.run("--asyncio-mode=bogus")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = result.stderr.str()
    assert "bogus" in errors
    assert "strict" in errors
    assert "auto" in errors


@pytest.mark.since("05")
def test_invalid_mode_in_ini_is_a_usage_error(aio):
    """An unknown ``asyncio_mode`` in the ini file is a usage error naming the allowed modes."""
    aio.pytester.makeini("[pytest]\nasyncio_mode = sometimes\n")
    aio.pytester.makepyfile("def test_nothing(): pass")
    result = aio.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = result.stderr.str()
    assert "sometimes" in errors
    assert "strict" in errors
    assert "auto" in errors


@pytest.mark.since("05")
def test_auto_mode_marks_are_visible_to_m(aio):
    """Auto mode marks tests at collection, so ``-m asyncio`` (and ``-k asyncio``, which
    matches marker names) selects unmarked async tests."""
    aio.pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    aio.pytester.makepyfile(
        HEAD
        + """
async def test_async():
    pass

def test_sync():
    pass
"""
    )
    result = aio.run("-m", "asyncio", "-v")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["*test_async PASSED*"])
    result = aio.run("-k", "asyncio", "-v")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["*test_async PASSED*"])


@pytest.mark.since("05")
def test_help_lists_the_mode_options(aio):
    """``pytest --help`` documents ``--asyncio-mode`` and the ``asyncio_mode`` ini option."""
    result = aio.run("--help")
    result.stdout.fnmatch_lines(["*--asyncio-mode*"])
    result.stdout.fnmatch_lines(["*asyncio_mode*"])
