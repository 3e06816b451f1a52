"""Fixture behaviour that pytest-asyncio 1.5 users rely on, checked on final/.

Context variables that cross from fixtures to tests, ``event_loop_policy`` and
its deprecation, and the misuse errors that name the fixture and the fix are
final/'s own. A few scenarios here hold from an earlier stage on (they say so
with ``since``): they are pytest-asyncio traps that final/ must not fall into
(a fixture whose value is None, a failing module fixture run once).
"""

import pytest

HEAD = """
import asyncio
import contextvars

import pytest

import pytest_aioloop
"""


@pytest.mark.since("final")
def test_context_variables_flow_from_fixtures_to_tests(aio):
    """A context variable set in an async fixture is seen by the test and by fixtures using it."""
    aio.pytester.makepyfile(
        HEAD
        + """
user = contextvars.ContextVar("user")
tenant = contextvars.ContextVar("tenant")

@pytest_aioloop.fixture
async def logged_in():
    token = user.set("alice")
    yield
    user.reset(token)

@pytest_aioloop.fixture(scope="module", loop_scope="module")
async def module_tenant():
    tenant.set("acme")

@pytest_aioloop.fixture
async def greeting(logged_in):
    return f"hello {user.get()}"

@pytest.mark.asyncio
async def test_sees_variables(module_tenant, greeting):
    assert user.get() == "alice"
    assert tenant.get() == "acme"
    assert greeting == "hello alice"

def test_sync_after(module_tenant):
    assert user.get("nobody") == "nobody"
"""
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("05")
def test_async_fixtures_with_none_values(aio):
    """Async fixtures that return or yield None still run once each, with no pytest error."""
    aio.pytester.makepyfile(
        HEAD
        + """
calls = []

@pytest_aioloop.fixture(scope="module")
async def prepare():
    calls.append("prepare")

@pytest_aioloop.fixture
async def around():
    calls.append("setup")
    yield
    calls.append("teardown")

@pytest.mark.asyncio
async def test_one(prepare, around):
    assert prepare is None and around is None

@pytest.mark.asyncio
async def test_two(prepare, around):
    pass

def test_calls():
    assert calls == ["prepare", "setup", "teardown", "setup", "teardown"]
"""
    )
    aio.run().assert_outcomes(passed=3)


@pytest.mark.since("05")
def test_failing_module_fixture_runs_once(aio):
    """A module-scoped async fixture that fails is run once; every test using it gets its error."""
    aio.pytester.makepyfile(
        HEAD
        + """
calls = []

@pytest_aioloop.fixture(scope="module")
async def broken():
    calls.append("broken")
    raise RuntimeError("database is down")

@pytest.mark.asyncio
async def test_one(broken):
    pass

@pytest.mark.asyncio
async def test_two(broken):
    pass

def test_ran_once():
    assert calls == ["broken"]
"""
    )
    result = aio.run()
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(["*RuntimeError: database is down*"])


@pytest.mark.since("05")
def test_fixture_decorator_on_methods_and_sync_functions(aio):
    """pytest_aioloop.fixture works on methods of test classes and on sync fixtures too."""
    aio.pytester.makepyfile(
        HEAD
        + """
@pytest_aioloop.fixture
def plain():
    return "plain"

class TestService:
    prefix = "svc"

    @pytest_aioloop.fixture(params=["a", "b"])
    async def name(self, request, plain):
        await asyncio.sleep(0)
        return f"{self.prefix}-{request.param}-{plain}"

    @pytest_aioloop.fixture
    async def closing(self):
        yield self.prefix

    @pytest.mark.asyncio
    async def test_name(self, name, closing):
        assert name in ("svc-a-plain", "svc-b-plain")
        assert closing == "svc"
"""
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("final")
def test_event_loop_policy_override_is_deprecated_but_works(aio):
    """An overridden event_loop_policy still makes the loops, with a DeprecationWarning."""
    aio.pytester.makepyfile(
        HEAD
        + """
class CustomLoop(asyncio.SelectorEventLoop):
    pass

class CustomPolicy(asyncio.DefaultEventLoopPolicy):
    def new_event_loop(self):
        return CustomLoop()

@pytest.fixture(scope="session")
def event_loop_policy():
    return CustomPolicy()

@pytest.mark.asyncio
async def test_custom_loop():
    assert isinstance(asyncio.get_running_loop(), CustomLoop)
"""
    )
    # The warning under test stays a warning even where DeprecationWarning is an error.
    result = aio.run(
        "-W", "ignore::DeprecationWarning:asyncio", "-W", "always::pytest.PytestDeprecationWarning"
    )
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        ["*DeprecationWarning*event_loop_policy*deprecated*pytest_asyncio_loop_factories*"]
    )


@pytest.mark.since("final")
def test_event_loop_policy_deprecation_as_an_error_is_that_error_alone(aio):
    """With the deprecation made an error (filterwarnings = error), it is the one error shown."""
    aio.pytester.makepyfile(
        HEAD
        + """
@pytest.fixture
def event_loop_policy():
    return asyncio.get_event_loop_policy()

@pytest.mark.asyncio
async def test_uses_the_override():
    pass

def test_sync():
    pass
"""
    )
    result = aio.run(
        "-W", "ignore::DeprecationWarning:asyncio", "-W", "error::pytest.PytestDeprecationWarning"
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            '*::test_uses_the_override: Overriding the "event_loop_policy" fixture is '
            "deprecated: implement the pytest_asyncio_loop_factories hook*"
            "(This deprecation warning is an error in this run*"
        ]
    )
    result.stdout.no_fnmatch_line("*KeyError*")
    result.stdout.no_fnmatch_line("*During handling of the above exception*")
    result.stdout.no_fnmatch_line("*pytest_aioloop*")


@pytest.mark.since("final")
def test_event_loop_policy_fixture_is_provided(aio):
    """The event_loop_policy fixture exists, for code that asks for it."""
    aio.pytester.makepyfile(
        HEAD
        + """
def test_policy(event_loop_policy):
    assert hasattr(event_loop_policy, "new_event_loop")
"""
    )
    result = aio.run("-W", "ignore::DeprecationWarning")
    result.assert_outcomes(passed=1)


@pytest.mark.since("final")
def test_fixture_loop_narrower_than_its_cache_is_an_error(aio):
    """A fixture cached per module cannot run in a per-test loop: the error names it and the fix."""
    aio.pytester.makepyfile(
        test_mismatch=HEAD
        + """
@pytest_aioloop.fixture(scope="module", loop_scope="function")
async def connection():
    return "connection"

@pytest.mark.asyncio
async def test_uses(connection):
    pass
"""
    )
    result = aio.run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*fixture 'connection' is cached with scope='module'*loop_scope='module' or wider*"]
    )
    result.stdout.no_fnmatch_line("*pytest_aioloop/*.py*")


@pytest.mark.since("final")
def test_a_misused_fixture_fails_every_test_that_asks_with_its_error(aio):
    """Each test that asks for a misused fixture gets the error that names it and the fix.

    Not only the first: pytest tears a fixture down only once its set-up left a
    result, so a misuse error must be recorded as the fixture's result, or the
    next test that asks gets pytest's internal ``AssertionError`` instead.
    """
    aio.pytester.makepyfile(
        HEAD
        + """
@pytest.fixture
async def plain():
    return "plain"

@pytest_aioloop.fixture(scope="module", loop_scope="function")
async def connection():
    return "connection"

@pytest.mark.asyncio
async def test_plain_first(plain):
    pass

@pytest.mark.asyncio
async def test_plain_second(plain):
    pass

@pytest.mark.asyncio
async def test_connection_first(connection):
    pass

@pytest.mark.asyncio
async def test_connection_second(connection):
    pass
"""
    )
    result = aio.run()
    result.assert_outcomes(errors=4)
    plain = "the async fixture 'plain' is a plain @pytest.fixture*"
    cached = "fixture 'connection' is cached with scope='module'*"
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_plain_first*",
            f"*::test_plain_first: {plain}",
            "*ERROR at setup of test_plain_second*",
            f"*::test_plain_second: {plain}",
            "*ERROR at setup of test_connection_first*",
            cached,
            "*ERROR at setup of test_connection_second*",
            cached,
        ]
    )
    result.stdout.no_fnmatch_line("*AssertionError*")


@pytest.mark.since("final")
def test_invalid_fixture_loop_scope_names_the_fixture(aio):
    """A misspelt loop_scope on pytest_aioloop.fixture names the fixture and the allowed values."""
    aio.pytester.makepyfile(
        HEAD
        + """
@pytest_aioloop.fixture(loop_scope="modul")
async def connection():
    return "connection"

@pytest.mark.asyncio
async def test_uses(connection):
    pass
"""
    )
    result = aio.run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*fixture 'connection': loop_scope='modul' is not one of function, class, module*"]
    )
    result.stdout.no_fnmatch_line("*pytest_aioloop/*.py*")


@pytest.mark.since("final")
@pytest.mark.parametrize("loop_scope", ["function", "module"])
def test_an_async_fixture_requested_from_inside_a_running_test_is_an_error(aio, loop_scope):
    """request.getfixturevalue() of an async fixture in an async test fails it, naming the fix.

    The fixture would have to run in a loop that is running already (or while
    another runs): it used to hang the run.
    """
    aio.pytester.makepyfile(
        HEAD
        + f"""
@pytest_aioloop.fixture
async def number():
    await asyncio.sleep(0)
    return 5

@pytest.mark.asyncio(loop_scope="{loop_scope}")
async def test_dynamic(request):
    request.getfixturevalue("number")

@pytest.mark.asyncio(loop_scope="{loop_scope}")
async def test_next(number):
    assert number == 5
"""
    )
    result = aio.run_subprocess(timeout=60)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*fixture 'number' cannot be set up while the test runs in an event loop: "
            "request.getfixturevalue() of an async fixture is not possible in async code; "
            "ask for it as an argument instead.",
        ]
    )
    result.stdout.no_fnmatch_line("*pytest_aioloop/*")  # no frame of the plugin's
