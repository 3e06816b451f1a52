"""Stage 06 brings scoped loops: one event loop per function, class, module, package or session."""

import pytest

HEAD = """
import asyncio

import pytest

import pytest_aioloop
"""


@pytest.mark.since("06")
def test_module_loop_scope_shares_one_loop(aio):
    """Tests marked ``asyncio(loop_scope="module")`` share the module's loop; others don't."""
    aio.pytester.makepyfile(
        HEAD
        + """
loops = []

@pytest.mark.asyncio(loop_scope="module")
async def test_first():
    loops.append(asyncio.get_running_loop())

@pytest.mark.asyncio(loop_scope="module")
async def test_second():
    assert asyncio.get_running_loop() is loops[0]

@pytest.mark.asyncio
async def test_own_loop():
    assert asyncio.get_running_loop() is not loops[0]
"""
    )
    aio.run().assert_outcomes(passed=3)


@pytest.mark.since("06")
def test_class_loop_scope(aio):
    """``loop_scope="class"`` on a class gives its tests one loop, another class another loop."""
    aio.pytester.makepyfile(
        HEAD
        + """
loops = {}

@pytest.mark.asyncio(loop_scope="class")
class TestA:
    async def test_one(self):
        loops["a1"] = asyncio.get_running_loop()

    async def test_two(self):
        assert asyncio.get_running_loop() is loops["a1"]

@pytest.mark.asyncio(loop_scope="class")
class TestB:
    async def test_one(self):
        assert asyncio.get_running_loop() is not loops["a1"]
"""
    )
    aio.run().assert_outcomes(passed=3)


@pytest.mark.since("06")
def test_pytestmark_sets_the_loop_scope(aio):
    """``pytestmark = pytest.mark.asyncio(loop_scope="module")`` runs the module in one loop."""
    aio.pytester.makepyfile(
        HEAD
        + """
pytestmark = pytest.mark.asyncio(loop_scope="module")

loops = []

async def test_first():
    loops.append(asyncio.get_running_loop())

async def test_second():
    loops.append(asyncio.get_running_loop())
    assert loops[0] is loops[1]
"""
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("06")
def test_session_loop_scope_spans_modules(aio):
    """``loop_scope="session"`` tests in different modules run in one loop."""
    aio.pytester.makeconftest("loops = []")
    test = (
        HEAD
        + """
import conftest

@pytest.mark.asyncio(loop_scope="session")
async def test_loop():
    conftest.loops.append(asyncio.get_running_loop())
    assert all(loop is conftest.loops[0] for loop in conftest.loops)
"""
    )
    aio.pytester.makepyfile(test_a=test, test_b=test, test_c=test)
    aio.run().assert_outcomes(passed=3)


@pytest.mark.since("06")
def test_package_loop_scope(aio):
    """``loop_scope="package"`` tests share their package's loop; another package has another."""
    aio.pytester.makeconftest("loops = {}")
    test = (
        HEAD
        + """
import conftest

@pytest.mark.asyncio(loop_scope="package")
async def test_loop():
    package = __name__.split(".")[0]
    loop = conftest.loops.setdefault(package, asyncio.get_running_loop())
    assert loop is asyncio.get_running_loop()
"""
    )
    aio.pytester.makepyfile(
        **{
            "pkg_a/__init__": "",
            "pkg_a/test_one": test,
            "pkg_a/test_two": test,
            "pkg_b/__init__": "",
            "pkg_b/test_three": test,
        }
    )
    aio.pytester.makepyfile(
        test_zz_check="""
import conftest

def test_two_packages_two_loops():
    assert len(conftest.loops) == 2
    assert conftest.loops["pkg_a"] is not conftest.loops["pkg_b"]
"""
    )
    aio.run().assert_outcomes(passed=4)


@pytest.mark.since("06")
def test_module_fixture_works_across_module_loop_tests(aio):
    """A module-scoped async fixture in the module loop serves every module-loop test: its
    loop-bound objects (a queue, a server) work in all of them, no "different loop" error."""
    aio.pytester.makepyfile(
        HEAD
        + """
pytestmark = pytest.mark.asyncio(loop_scope="module")

@pytest_aioloop.fixture(scope="module", loop_scope="module")
async def queue():
    return asyncio.Queue()

@pytest_aioloop.fixture(scope="module", loop_scope="module")
async def server():
    async def echo(reader, writer):
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()

async def test_put(queue):
    asyncio.get_running_loop().call_later(0.01, queue.put_nowait, "item")

async def test_get(queue):
    assert await queue.get() == "item"

async def test_echo_one(server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(b"one\\n")
    assert await reader.readline() == b"one\\n"
    writer.close()

async def test_echo_two(server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(b"two\\n")
    assert await reader.readline() == b"two\\n"
    writer.close()
"""
    )
    result = aio.run()
    result.assert_outcomes(passed=4)
    result.stdout.no_fnmatch_line("*different loop*")


@pytest.mark.since("06")
def test_fixture_loop_scope_is_independent_of_its_scope(aio):
    """``pytest_aioloop.fixture(loop_scope="module")`` with the default function scope: a fresh
    value for every test, made in the module's loop."""
    aio.pytester.makepyfile(
        HEAD
        + """
pytestmark = pytest.mark.asyncio(loop_scope="module")

made = []

@pytest_aioloop.fixture(loop_scope="module")
async def fresh():
    value = (object(), asyncio.get_running_loop())
    made.append(value)
    return value

async def test_one(fresh):
    assert fresh[1] is asyncio.get_running_loop()

async def test_two(fresh):
    assert fresh[1] is asyncio.get_running_loop()
    assert len(made) == 2 and made[0][0] is not made[1][0]
    assert made[0][1] is made[1][1]
"""
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("06")
def test_default_test_loop_scope_from_ini(aio):
    """``asyncio_default_test_loop_scope = module`` is the loop scope of tests that give none."""
    aio.pytester.makeini("[pytest]\nasyncio_default_test_loop_scope = module\n")
    aio.pytester.makepyfile(
        HEAD
        + """
loops = []

@pytest.mark.asyncio
async def test_first():
    loops.append(asyncio.get_running_loop())

@pytest.mark.asyncio
async def test_second():
    assert asyncio.get_running_loop() is loops[0]
"""
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("06")
def test_default_fixture_loop_scope_from_ini(aio):
    """``asyncio_default_fixture_loop_scope = module`` puts fixtures without loop_scope in the
    module's loop, where module-loop tests can use them."""
    aio.pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = module\n")
    aio.pytester.makepyfile(
        HEAD
        + """
loops = []

@pytest_aioloop.fixture
async def fixture_loop():
    return asyncio.get_running_loop()

@pytest.mark.asyncio(loop_scope="module")
async def test_first(fixture_loop):
    loops.extend([fixture_loop, asyncio.get_running_loop()])

@pytest.mark.asyncio(loop_scope="module")
async def test_second(fixture_loop):
    loops.extend([fixture_loop, asyncio.get_running_loop()])
    assert all(loop is loops[0] for loop in loops)
"""
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("06")
def test_loop_close_cancels_pending_tasks(aio):
    """When a loop's scope ends, the tasks still pending in it are cancelled (their ``finally``
    runs) before the loop is closed."""
    aio.pytester.makeconftest("state = {}")
    aio.pytester.makepyfile(
        test_a=HEAD
        + """
import conftest

async def sleeper():
    try:
        await asyncio.sleep(3600)
    finally:
        conftest.state["finally ran"] = True

@pytest.mark.asyncio(loop_scope="module")
async def test_leaves_a_task():
    conftest.state["loop"] = asyncio.get_running_loop()
    conftest.state["task"] = asyncio.create_task(sleeper())
    await asyncio.sleep(0)

@pytest.mark.asyncio(loop_scope="module")
async def test_task_still_runs_in_the_module():
    assert not conftest.state["task"].done()
""",
        test_b="""
import conftest

def test_after_the_module():
    assert conftest.state["task"].cancelled()
    assert conftest.state["finally ran"]
    assert conftest.state["loop"].is_closed()
""",
    )
    result = aio.run("-W", "error::pytest.PytestUnraisableExceptionWarning")
    result.assert_outcomes(passed=3)
    result.stdout.no_fnmatch_line("*Task was destroyed*")


@pytest.mark.since("06")
def test_loop_close_shuts_down_async_generators(aio):
    """When a loop's scope ends, its unfinished async generators are closed (shutdown_asyncgens)."""
    aio.pytester.makepyfile(
        HEAD
        + """
closed = []
keep = []

async def numbers():
    try:
        for n in range(10):
            yield n
    finally:
        closed.append(True)

@pytest.mark.asyncio
async def test_half_consumed():
    generator = numbers()
    keep.append(generator)
    assert await anext(generator) == 0

def test_generator_was_closed():
    assert closed == [True]
"""
    )
    aio.run().assert_outcomes(passed=2)


@pytest.mark.since("06")
def test_invalid_marker_loop_scope_names_the_test(aio):
    """An unknown ``loop_scope`` on the marker is an error that names the test and the value."""
    aio.pytester.makepyfile(
        test_scopes=HEAD
        + """
@pytest.mark.asyncio(loop_scope="modul")
async def test_typo():
    pass
"""
    )
    result = aio.run()
    assert result.ret != pytest.ExitCode.OK
    assert result.parseoutcomes().get("passed", 0) == 0
    result.stdout.fnmatch_lines(["*test_typo*modul*"])


@pytest.mark.since("06")
def test_positional_marker_argument_names_the_test(aio):
    """``@pytest.mark.asyncio("module")`` is an error naming the test: loop_scope is a keyword."""
    aio.pytester.makepyfile(
        HEAD
        + """
@pytest.mark.asyncio("module")
async def test_positional():
    pass
"""
    )
    result = aio.run()
    assert result.ret != pytest.ExitCode.OK
    assert result.parseoutcomes().get("passed", 0) == 0
    result.stdout.fnmatch_lines(["*test_positional*"])
    result.stdout.fnmatch_lines(["*loop_scope*"])


@pytest.mark.since("06")
def test_fixture_loop_narrower_than_the_tests_is_an_error(aio):
    """A fixture in a narrower loop than its test's (function vs module) is an error naming both."""
    aio.pytester.makepyfile(
        HEAD
        + """
@pytest_aioloop.fixture(loop_scope="function")
async def per_test_loop():
    return 1

@pytest.mark.asyncio(loop_scope="module")
async def test_in_module_loop(per_test_loop):
    pass
"""
    )
    result = aio.run()
    assert result.parseoutcomes().get("passed", 0) == 0
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*test_in_module_loop*per_test_loop*"])


@pytest.mark.since("06")
def test_wider_fixture_in_a_narrower_loop_than_its_test_is_an_error(aio):
    """A module fixture in the module loop, used by a session-loop test, is an error naming both.

    The check must look at the test being set up: the fixture's own request
    shows the module it is cached on, not the test that needs it.
    """
    aio.pytester.makepyfile(
        HEAD
        + """
@pytest_aioloop.fixture(scope="module", loop_scope="module")
async def module_queue():
    return asyncio.Queue()

@pytest.mark.asyncio(loop_scope="session")
async def test_in_session_loop(module_queue):
    await module_queue.put(1)
    assert await module_queue.get() == 1
"""
    )
    result = aio.run()
    assert result.parseoutcomes().get("passed", 0) == 0
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*test_in_session_loop*module_queue*"])


@pytest.mark.since("06")
def test_fixture_loop_narrower_than_its_scope_is_an_error(aio):
    """A fixture cached for the module but run in a function loop would outlive its loop:
    an error that names the fixture, its scope and its loop scope."""
    aio.pytester.makepyfile(
        HEAD
        + """
@pytest_aioloop.fixture(scope="module", loop_scope="function")
async def outlives_its_loop():
    return 1

@pytest.mark.asyncio
async def test_uses(outlives_its_loop):
    pass
"""
    )
    result = aio.run()
    assert result.parseoutcomes().get("passed", 0) == 0
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*outlives_its_loop*module*function*"])


@pytest.mark.since("06")
def test_invalid_fixture_loop_scope_names_the_fixture(aio):
    """An unknown ``loop_scope`` given to ``pytest_aioloop.fixture`` is an error naming it."""
    aio.pytester.makepyfile(
        HEAD
        + """
@pytest_aioloop.fixture(loop_scope="everywhere")
async def misplaced():
    return 1

@pytest.mark.asyncio
async def test_uses(misplaced):
    pass
"""
    )
    result = aio.run()
    assert result.ret != pytest.ExitCode.OK
    assert result.parseoutcomes().get("passed", 0) == 0
    result.stdout.fnmatch_lines(["*misplaced*everywhere*"])


@pytest.mark.since("06")
def test_invalid_default_loop_scope_in_ini_is_a_usage_error(aio):
    """An unknown ``asyncio_default_test_loop_scope`` is a usage error naming the allowed scopes."""
    aio.pytester.makeini("[pytest]\nasyncio_default_test_loop_scope = forever\n")
    aio.pytester.makepyfile("def test_nothing(): pass")
    result = aio.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = result.stderr.str()
    assert "forever" in errors
    assert "module" in errors
    assert "session" in errors


@pytest.mark.since("06")
def test_event_loop_fixture_is_gone(aio):
    """As in pytest-asyncio 1.5, there is no ``event_loop`` fixture: loops belong to scopes."""
    aio.pytester.makepyfile(
        HEAD
        + """
loops = []

@pytest.mark.asyncio(loop_scope="module")
async def test_first():
    loops.append(asyncio.get_running_loop())

@pytest.mark.asyncio(loop_scope="module")
async def test_second():
    assert asyncio.get_running_loop() is loops[0]

def test_old_style(event_loop):
    pass
"""
    )
    result = aio.run()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*fixture 'event_loop' not found*"])
