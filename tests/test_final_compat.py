"""final/ is a drop-in for pytest-asyncio 1.5: configuration, public functions, neighbours.

Configuration in every ini format, the mode where other plugins read it, the
public ``is_async_test`` and ``__version__``, free ports, and the neighbours an
asyncio plugin must live with: Hypothesis, doctests, unittest's own async test
cases, and pytest-asyncio itself (refused, with the fix).
"""

import sys

import pytest

ADD = """
import asyncio

import sys

import pytest


async def add(a, b):
    await asyncio.sleep(0)
    return a + b
"""


@pytest.mark.since("final")
def test_auto_mode_from_every_ini_format(aio):
    """asyncio_mode is read from pytest.ini, pyproject.toml, tox.ini and setup.cfg alike."""
    aio.pytester.makepyfile(
        ADD
        + """
async def test_unmarked():
    assert await add(1, 2) == 3
"""
    )
    configs = {
        "pytest.ini": "[pytest]\nasyncio_mode = auto\n",
        "pyproject.toml": '[tool.pytest.ini_options]\nasyncio_mode = "auto"\n',
        "tox.ini": "[pytest]\nasyncio_mode = auto\n",
        "setup.cfg": "[tool:pytest]\nasyncio_mode = auto\n",
    }
    for name, text in configs.items():
        path = aio.pytester.path / name
        path.write_text(text)
        result = aio.run()
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["asyncio: mode=auto*"])
        path.unlink()


@pytest.mark.since("final")
def test_mode_is_stored_in_config_option(aio):
    """The mode is config.option.asyncio_mode, from the ini file or --asyncio-mode, for plugins."""
    aio.pytester.makeconftest(
        """
        def pytest_configure(config):
            pass

        def pytest_collection_finish(session):
            print("mode seen by a plugin:", session.config.option.asyncio_mode)
        """
    )
    aio.pytester.makepyfile("def test_nothing(): pass")
    aio.run("-s").stdout.fnmatch_lines(["mode seen by a plugin: strict"])
    aio.run("-s", "--asyncio-mode=auto").stdout.fnmatch_lines(["mode seen by a plugin: auto"])
    aio.pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    aio.run("-s").stdout.fnmatch_lines(["mode seen by a plugin: auto"])


@pytest.mark.since("final")
def test_unset_default_loop_scopes_print_no_warning(aio):
    """Leaving asyncio_default_fixture_loop_scope unset prints no warning (pytest-asyncio does)."""
    aio.pytester.makepyfile(
        ADD
        + """
import pytest_aioloop

@pytest_aioloop.fixture(scope="module")
async def shared():
    return 1

@pytest.mark.asyncio
async def test_uses(shared):
    assert await add(shared, 1) == 2
"""
    )
    result = aio.run("-W", "error")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*asyncio_default_fixture_loop_scope*")
    result.stdout.fnmatch_lines(["asyncio: mode=strict*default_fixture_loop_scope=None*"])


@pytest.mark.since("final")
def test_fixture_scope_value_of_default_fixture_loop_scope(aio):
    """asyncio_default_fixture_loop_scope = fixture-scope: each fixture runs in its scope's loop."""
    aio.pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = fixture-scope\n"
        "asyncio_default_test_loop_scope = module\n"
    )
    aio.pytester.makepyfile(
        ADD
        + """
import pytest_aioloop

@pytest_aioloop.fixture(scope="module")
async def module_loop():
    return asyncio.get_running_loop()

@pytest.mark.asyncio
async def test_same_loop(module_loop):
    assert asyncio.get_running_loop() is module_loop
"""
    )
    aio.run("-W", "error").assert_outcomes(passed=1)
    aio.pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = modul\n")
    result = aio.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*asyncio_default_fixture_loop_scope='modul' is not one of*session, fixture-scope*"]
    )


@pytest.mark.since("final")
def test_deprecated_scope_alias_on_the_marker(aio):
    """mark.asyncio(scope=...) still works as loop_scope=..., with a deprecation warning."""
    aio.pytester.makepyfile(
        ADD
        + """
loops = []

@pytest.mark.asyncio(scope="module")
async def test_one():
    loops.append(asyncio.get_running_loop())

@pytest.mark.asyncio(scope="module")
async def test_two():
    assert asyncio.get_running_loop() is loops[0]
"""
    )
    # The warning under test stays a warning even where DeprecationWarning is an error.
    result = aio.run("-W", "always::pytest.PytestDeprecationWarning")
    result.assert_outcomes(passed=2, warnings=2)
    result.stdout.fnmatch_lines(["*scope=...) is deprecated: write loop_scope='module' instead*"])


@pytest.mark.since("final")
def test_is_async_test_and_version(aio):
    """pytest_aioloop.is_async_test(item) tells the plugin's tests apart; __version__ is set."""
    aio.pytester.makeconftest(
        """
        import pytest_aioloop

        def pytest_collection_modifyitems(items):
            for item in items:
                print(item.name, pytest_aioloop.is_async_test(item))
            print("version", pytest_aioloop.__version__)
        """
    )
    aio.pytester.makepyfile(
        ADD
        + """
@pytest.mark.asyncio
async def test_async():
    pass

def test_sync():
    pass

async def test_unmarked():
    pass
"""
    )
    result = aio.run("-s")
    result.stdout.fnmatch_lines(
        ["test_async True", "test_sync False", "test_unmarked False", "version [0-9]*.[0-9]*"]
    )
    aio.run("-s", "--asyncio-mode=auto").stdout.fnmatch_lines(["test_unmarked True"])


@pytest.mark.since("final")
def test_unused_port_fixtures(aio):
    """unused_tcp_port, unused_udp_port and their factories give free, distinct local ports."""
    aio.pytester.makepyfile(
        ADD
        + """
import socket

@pytest.mark.asyncio
async def test_tcp_server(unused_tcp_port):
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", unused_tcp_port)
    async with server:
        reader, writer = await asyncio.open_connection("127.0.0.1", unused_tcp_port)
        writer.close()

def test_udp(unused_udp_port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", unused_udp_port))

def test_factories_never_repeat(unused_tcp_port_factory, unused_udp_port_factory):
    tcp = [unused_tcp_port_factory() for _ in range(30)]
    udp = [unused_udp_port_factory() for _ in range(30)]
    assert len(set(tcp)) == 30 and len(set(udp)) == 30
    assert all(isinstance(port, int) and 1024 <= port <= 65535 for port in tcp + udp)

"""
    )
    aio.run().assert_outcomes(passed=3)


@pytest.mark.since("final")
def test_no_port_is_handed_out_twice_in_a_run(aio):
    """Over hundreds of tests on two xdist workers, every port fixture call gets a new port.

    The OS gives a port it handed out a moment ago again once its socket is
    closed (seen: unused_tcp_port_factory() returning the port of unused_tcp_port
    in the same test, and two workers getting the same port).
    """
    pytest.importorskip("xdist")
    aio.pytester.makepyfile(
        """
import os

import pytest

@pytest.mark.parametrize("n", range(200))
def test_ports(n, unused_tcp_port, unused_tcp_port_factory, unused_udp_port,
               unused_udp_port_factory):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "none")
    ports = [f"tcp:{unused_tcp_port}", f"tcp:{unused_tcp_port_factory()}",
             f"tcp:{unused_tcp_port_factory()}", f"udp:{unused_udp_port}",
             f"udp:{unused_udp_port_factory()}"]
    with open(f"ports-{worker}.txt", "a") as record:
        record.write(" ".join(ports) + "\\n")
"""
    )
    result = aio.run_subprocess("-n", "2", "-p", "no:randomly", timeout=120)
    result.assert_outcomes(passed=200)
    records = sorted(aio.pytester.path.glob("ports-gw*.txt"))
    assert [path.name for path in records] == ["ports-gw0.txt", "ports-gw1.txt"]
    given = [port for path in records for port in path.read_text().split()]
    assert len(given) == 1000
    repeated = sorted({port for port in given if given.count(port) > 1})
    assert not repeated, f"handed out more than once: {repeated}"


@pytest.mark.since("final")
def test_hypothesis_given_on_async_test(aio):
    """hypothesis.given works on async tests: every example is awaited in the test's loop."""
    aio.pytester.makepyfile(
        ADD
        + """
from hypothesis import given, settings, strategies as st

examples = []

@pytest.mark.asyncio
@settings(max_examples=20, database=None)
@given(st.integers(), st.integers())
async def test_add_commutes(a, b):
    examples.append(asyncio.get_running_loop())
    assert await add(a, b) == await add(b, a)

@pytest.mark.asyncio
@settings(max_examples=5, database=None)
@given(st.integers())
async def test_finds_counterexample(a):
    assert await add(a, 0) != 0

def test_examples_ran():
    assert len(examples) == 20
"""
    )
    result = aio.run()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*assert 0 != 0*"])


@pytest.mark.since("05")
def test_doctests_and_async_tests_in_auto_mode(aio):
    """Doctests run as usual next to async tests, in auto mode too (--doctest-modules)."""
    aio.pytester.makepyfile(
        test_mod=ADD
        + '''
def double(x):
    """
    >>> double(2)
    4
    >>> import asyncio; asyncio.run(add(1, 1))
    2
    """
    return 2 * x

async def test_async():
    assert await add(1, 1) == double(1)
'''
    )
    result = aio.run("--doctest-modules", "--asyncio-mode=auto", "-W", "error")
    result.assert_outcomes(passed=2)


@pytest.mark.since("05")
def test_isolated_asyncio_test_case_untouched(aio):
    """unittest.IsolatedAsyncioTestCase runs its own loop, in auto mode too: hands off."""
    aio.pytester.makepyfile(
        """
        import asyncio
        import unittest

        class TestCase(unittest.IsolatedAsyncioTestCase):
            async def asyncSetUp(self):
                self.loop = asyncio.get_running_loop()

            async def test_runs(self):
                assert asyncio.get_running_loop() is self.loop

            async def test_fails(self):
                self.assertEqual(1, 2)

        async def test_plain_async():
            await asyncio.sleep(0)
        """
    )
    result = aio.run("--asyncio-mode=auto", "-W", "error::pytest.PytestWarning")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: 1 != 2*"])


@pytest.mark.since("final")
def test_pytest_asyncio_in_the_same_run_is_a_usage_error(aio):
    """With pytest-asyncio active too, the run stops with a usage error naming both and the fix."""
    aio.pytester.syspathinsert()
    package = aio.pytester.mkpydir("pytest_asyncio")
    (package / "plugin.py").write_text("def pytest_configure(config):\n    pass\n")
    aio.pytester.makepyfile("def test_nothing(): pass")
    result = aio.run("-p", "pytest_asyncio.plugin")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*pytest-aioloop and pytest-asyncio are both active*uninstall one*-p no:asyncio*"]
    )
    result.stdout.no_fnmatch_line("*passed*")


@pytest.mark.since("final")
def test_marker_misuse_errors_name_the_test_without_a_traceback(aio):
    """A wrong asyncio marker is a collection error naming the test and the fix, no traceback."""
    aio.pytester.makepyfile(
        test_typo=ADD
        + """
@pytest.mark.asyncio(loop_scope="modul")
async def test_typo():
    pass
""",
        test_positional=ADD
        + """
@pytest.mark.asyncio("module")
async def test_positional():
    pass
""",
        test_both=ADD
        + """
@pytest.mark.asyncio(scope="module", loop_scope="module")
async def test_both():
    pass
""",
    )
    result = aio.run("--continue-on-collection-errors")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines_random(
        [
            "test_typo.py::test_typo: loop_scope='modul' is not one of function, class, module*",
            "test_positional.py::test_positional: *got 'module'; it accepts only the keyword*",
            "test_both.py::test_both: *got both scope= and loop_scope=*",
        ]
    )
    result.stdout.no_fnmatch_line("*pytest_aioloop/*.py*")
    result.stdout.no_fnmatch_line("*During handling*")


@pytest.mark.since("final")
def test_trace_stops_at_the_first_line_of_an_async_test(aio):
    """pytest --trace stops pdb at an async test's call, as for a sync test; its body is traced."""
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest

        @pytest.mark.asyncio
        async def test_traced():
            first = "the first statement"
            await asyncio.sleep(0)
            assert first
        """
    )
    aio.subprocess_env()
    result = aio.pytester.run(
        sys.executable, "-m", "pytest", *aio.plugin_args(), "--trace", stdin=b"next\ncontinue\n"
    )
    # pdb stops where pdb.runcall() stops for a sync test: at the test's call.
    result.stdout.fnmatch_lines(
        [
            "--Call--",
            "*test_trace_stops_at_the_first_line_of_an_async_test.py(*)test_traced()",
            "(Pdb) *test_trace_stops_at_the_first_line_of_an_async_test.py(6)test_traced()",
            '-> first = "the first statement"',
            "*1 passed*",
        ]
    )
    result.stdout.no_fnmatch_line("*never awaited*")
