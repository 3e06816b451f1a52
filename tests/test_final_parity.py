"""final/ behaves as pytest-asyncio 1.5 where its users rely on it (issue 14).

The current event loop that sync code of an async test sees, the deprecated
``event_loop_policy`` override, the loop factories hook, and smaller
differences: each is a suite that would break on the day it switches.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, _exclusive

SCOPES = ("function", "class", "module", "package", "session")

# Sync fixtures, plain and generator, of every scope: each records the current
# loop (asyncio.get_event_loop()) when it is set up and torn down, next to the
# loop the test runs in. test_zz_check.py compares them.
CURRENT_CONFTEST = """
import asyncio
import sys

import pytest

EVENTS = []  # (what, test, loop)

def current():
    return asyncio.get_event_loop()

@pytest.fixture
def plain(request):
    EVENTS.append(("plain", request.node.nodeid, current()))

@pytest.fixture
def gen(request):
    name = request.node.nodeid
    EVENTS.append(("gen setup", name, current()))
    yield
    EVENTS.append(("gen teardown", name, current()))

@pytest.fixture(scope="module")
def module_gen(request):
    EVENTS.append(("module_gen setup", None, current()))
    yield
    EVENTS.append(("module_gen teardown", None, current()))
"""

CURRENT_TEST = """
import asyncio
import sys

import pytest

from conftest import EVENTS

pytestmark = pytest.mark.asyncio(loop_scope="{scope}")

{breakers}

class TestScope:
    async def test_one(self, request, {module_gen}plain, gen):
        EVENTS.append(("test", request.node.nodeid, asyncio.get_running_loop()))

    async def test_two(self, request, {module_gen}plain, gen):
        EVENTS.append(("test", request.node.nodeid, asyncio.get_running_loop()))
"""

# Tests that break the current loop, each its own way, before the tests above.
BREAKERS = """
async def test_unset_current_loop():
    asyncio.set_event_loop(None)

def test_asyncio_run():
    async def main():
        return 1
    assert asyncio.run(main()) == 1

if sys.version_info >= (3, 11):
    def test_runner():
        with asyncio.Runner() as runner:
            runner.run(asyncio.sleep(0))
"""

CURRENT_CHECK = """
import asyncio

from conftest import EVENTS

def test_every_sync_fixture_saw_its_tests_loop():
    loops = {{name: loop for what, name, loop in EVENTS if what == "test"}}
    assert len(loops) == 2 * 5 * {variants}
    # A module-scoped fixture is set up for the first test that asks for it, and
    # torn down after the last one.
    tests = [(i, loop) for i, (what, name, loop) in enumerate(EVENTS) if what == "test"]
    wrong = []
    for i, (what, name, loop) in enumerate(EVENTS):
        if what == "module_gen setup":
            expected = next(test_loop for j, test_loop in tests if j > i)
        elif what == "module_gen teardown":
            expected = [test_loop for j, test_loop in tests if j < i][-1]
        elif what == "test":
            continue
        else:
            expected = loops[name]
        if loop is not expected:
            wrong.append((what, name))
    assert not wrong
"""

FACTORIES_HOOK = """

class FirstLoop(asyncio.SelectorEventLoop):
    pass

class SecondLoop(asyncio.SelectorEventLoop):
    pass

def pytest_asyncio_loop_factories(config, item):
    return {"first": FirstLoop, "second": SecondLoop}
"""


def _current_loop_project(aio, *, factories: bool, breakers: bool) -> None:
    conftest = CURRENT_CONFTEST + (FACTORIES_HOOK if factories else "")
    aio.pytester.makeconftest(conftest)
    package = aio.pytester.mkpydir("pkg")
    for scope in SCOPES:
        # (a breaker, a sync test, may be the last of its module: the module's
        # fixtures are then torn down in a sync test's teardown)
        text = CURRENT_TEST.format(
            scope=scope,
            breakers=BREAKERS if breakers else "",
            module_gen="" if breakers else "module_gen, ",
        )
        (package / f"test_{scope}.py").write_text(textwrap.dedent(text))
    (aio.pytester.path / "test_zz_check.py").write_text(
        CURRENT_CHECK.format(variants=2 if factories else 1)
    )


@pytest.mark.since("final")
@pytest.mark.parametrize("factories", [False, True], ids=["default-loop", "loop-factories"])
def test_sync_fixtures_of_an_async_test_see_its_loop_as_the_current_loop(aio, factories):
    """A sync fixture of an async test, and its teardown, get the test's loop from
    asyncio.get_event_loop(), at every loop scope, with and without loop factories;
    after the test, the loop that was current before is current again."""
    _current_loop_project(aio, factories=factories, breakers=False)
    aio.pytester.makepyfile(
        test_zz_previous="""
        import asyncio

        import pytest

        @pytest.fixture(scope="module")
        def previous():
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            yield loop
            asyncio.set_event_loop(None)
            loop.close()

        def test_set(previous):
            assert asyncio.get_event_loop() is previous

        @pytest.mark.asyncio
        async def test_async(previous):
            assert asyncio.get_running_loop() is not previous

        def test_restored(previous):
            assert asyncio.get_event_loop() is previous
        """
    )
    variants = 2 if factories else 1
    result = aio.run("-p", "no:randomly", "-W", "error::DeprecationWarning")
    result.assert_outcomes(passed=2 * 5 * variants + 1 + 2 + variants)


@pytest.mark.since("final")
@pytest.mark.parametrize("factories", [False, True], ids=["default-loop", "loop-factories"])
def test_a_test_that_breaks_the_current_loop_does_not_break_later_tests(aio, factories):
    """set_event_loop(None), asyncio.run() and asyncio.Runner in one test leave the later
    tests' sync fixtures their own loop, at every loop scope."""
    _current_loop_project(aio, factories=factories, breakers=True)
    result = aio.run("-W", "error::DeprecationWarning")
    variants = 2 if factories else 1
    runner = 1 if hasattr(__import__("asyncio"), "Runner") else 0
    result.assert_outcomes(passed=5 * (2 * variants + variants + 1 + runner) + 1)


# ---------------------------------------------------------------- smaller differences


@pytest.mark.since("final")
def test_scope_and_loop_scope_on_one_marker_is_an_error_naming_the_test(aio):
    """A marker with both scope= and loop_scope= (on the test, its class or its module) is an
    error naming the test, never a silent choice of one."""
    aio.pytester.makepyfile(
        test_class="""
        import pytest

        @pytest.mark.asyncio(scope="class", loop_scope="function")
        class TestBoth:
            async def test_in_class(self):
                pass
        """,
        test_module="""
        import pytest

        pytestmark = pytest.mark.asyncio(scope="module", loop_scope="module")

        async def test_in_module():
            pass
        """,
    )
    result = aio.run("--asyncio-mode=auto")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines_random(
        [
            "*test_class.py::TestBoth::test_in_class: *both scope= and loop_scope=*",
            "*test_module.py::test_in_module: *both scope= and loop_scope=*",
        ]
    )


@pytest.mark.since("final")
def test_package_loop_scope_fixture_runs_in_the_packages_loop(aio):
    """A fixture with loop_scope="package", used by tests with loop_scope="package", runs in
    their package's loop, wherever the fixture is defined (a root conftest.py, whose
    package-scoped fixtures pytest caches for the session; a parent package's conftest):
    it is set up once per package, and torn down before that package's loop closes."""
    aio.pytester.makeconftest(
        """
        import asyncio
        import pytest_aioloop

        @pytest_aioloop.fixture(scope="package", loop_scope="package")
        async def root_package_loop():
            return asyncio.get_running_loop()
        """
    )
    package = aio.pytester.mkpydir("pkg")
    (package / "conftest.py").write_text(
        textwrap.dedent(
            """
            import asyncio
            import pytest_aioloop

            @pytest_aioloop.fixture(scope="package", loop_scope="package")
            async def package_loop():
                loop = asyncio.get_running_loop()
                yield loop
                assert asyncio.get_running_loop() is loop
            """
        )
    )
    aio.pytester.mkpydir("pkg/sub")
    aio.pytester.mkpydir("other")
    for name in ("pkg/test_a.py", "pkg/test_b.py", "pkg/sub/test_c.py", "other/test_d.py"):
        in_pkg = name.startswith("pkg/")
        (aio.pytester.path / name).write_text(
            textwrap.dedent(
                """
                import asyncio
                import pytest

                @pytest.mark.asyncio(loop_scope="package")
                async def test_loop(root_package_loop{more}):
                    assert root_package_loop is asyncio.get_running_loop()
                    {check}
                """
            ).format(
                more=", package_loop" if in_pkg else "",
                check="assert package_loop is asyncio.get_running_loop()" if in_pkg else "",
            )
        )
    aio.run("-W", "error").assert_outcomes(passed=4)


@pytest.mark.since("final")
def test_failing_shutdown_asyncgens_is_a_warning_naming_it(aio):
    """A loop whose shutdown_asyncgens() fails as its scope ends: a warning naming the loop
    and the error; the run carries on."""
    aio.pytester.makeconftest(
        """
        import asyncio

        class BrokenLoop(asyncio.SelectorEventLoop):
            async def shutdown_asyncgens(self):
                raise OSError("broken on purpose")

        def pytest_asyncio_loop_factories(config, item):
            return {"broken": BrokenLoop}
        """
    )
    aio.pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        async def test_one():
            pass

        @pytest.mark.asyncio
        async def test_two():
            pass
        """
    )
    result = aio.run("-W", "always")
    result.assert_outcomes(passed=2, warnings=2)
    result.stdout.fnmatch_lines(
        [
            "*RuntimeWarning: the function loop of test_*.py::test_one*shutdown_asyncgens()*"
            "OSError: broken on purpose*",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


@pytest.mark.since("final")
def test_a_loop_closed_by_a_sync_fixtures_teardown_is_a_warning(aio):
    """A sync fixture whose teardown closes the test's loop: a warning saying the loop was
    closed before its scope ended, so nothing left in it was cleaned up."""
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest

        @pytest.fixture
        def closes_the_loop():
            yield
            asyncio.get_event_loop().close()

        @pytest.mark.asyncio
        async def test_closed(closes_the_loop):
            pass

        @pytest.mark.asyncio
        async def test_next():
            pass
        """
    )
    result = aio.run("-W", "always", "-W", "error::DeprecationWarning")
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(
        ["*RuntimeWarning: the function loop of *test_closed was closed before its scope ended*"]
    )


@pytest.mark.since("final")
def test_async_generator_test_is_an_error_naming_it(aio):
    """An async def test with a yield is an error naming the test and saying that generator
    tests are not supported; no misleading 'not an async def function' warning, and the other
    tests of its module run."""
    aio.pytester.makepyfile(
        test_marked="""
        import pytest

        @pytest.mark.asyncio
        async def test_generator():
            yield 1

        @pytest.mark.asyncio
        async def test_fine():
            pass
        """,
        test_unmarked="""
        async def test_unmarked_generator():
            yield 1
        """,
    )
    for auto in (False, True):
        args = ("--asyncio-mode=auto",) if auto else ("test_marked.py",)
        result = aio.run("-W", "error::pytest.PytestWarning", *args)
        result.assert_outcomes(passed=1, errors=2 if auto else 1)
        expected = ["*test_marked.py::test_generator: async generator tests*not supported*"]
        if auto:
            expected.append(
                "*test_unmarked.py::test_unmarked_generator: async generator tests*not supported*"
            )
        result.stdout.fnmatch_lines_random(expected)
        result.stdout.no_fnmatch_line("*not an async def function*")
        result.stdout.no_fnmatch_line("*install a suitable plugin*")


# ------------------------------------------------------ pytest-asyncio installed beside final/


def _plain_env() -> dict[str, str]:
    """This environment, without what would change the child runs under test (or pip).

    CI runs the suite with warnings made errors (development mode, DeprecationWarning):
    what pip or pytest-asyncio itself warns about is not what the scenario checks.
    """
    dropped = ("PYTHONPATH", "PYTEST_", "PYTHONWARNINGS", "PYTHONDEVMODE")
    return {k: v for k, v in os.environ.items() if not k.startswith(dropped)}


@pytest.fixture(scope="session")
def pytest_asyncio_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the real pytest-asyncio 1.5 from the package index, on top of this
    environment (its pytest, and final/ as installed here): what a user has who installs
    one beside the other.

    A ``.pth`` file adds this environment's site-packages, with their own ``.pth``
    files (final/'s editable install; this tree's final/src comes first), so pip
    installs only pytest-asyncio and what this Python lacks for it (a full install
    would cost a minute per run). Made once per run: pytest-xdist's
    workers meet in the run's shared temporary folder, as for the docs site. Without
    the index the set-up fails, never skips: pytest-asyncio is not a dependency of
    this project.
    """
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    venv = shared / "pytest-asyncio-venv"
    done = shared / "pytest-asyncio-venv.done"
    with _exclusive(shared / "pytest-asyncio-venv.lock"):
        if not done.exists():
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
            python = venv / "bin" / "python"
            where = subprocess.run(
                [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            # This tree's final/ first, whichever one the environment's own install is of.
            lines = f"{ROOT / 'final' / 'src'}\n" + "".join(
                f"import site; site.addsitedir({p!r})\n" for p in site.getsitepackages()
            )
            (Path(where) / "zz_this_environment.pth").write_text(lines)
            # What this environment has already (pytest) is not installed again.
            install = subprocess.run(
                [
                    *(sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"),
                    *("--python", str(python), "install", "pytest-asyncio==1.5.*"),
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
                env=_plain_env(),
            )
            assert install.returncode == 0, (
                "could not install pytest-asyncio 1.5 from the package index into a "
                f"throwaway venv:\n{install.stdout}{install.stderr}"
            )
            done.touch()
    return venv


def test_pytest_asyncio_installed_beside_final_is_one_usage_error(pytest_asyncio_venv, tmp_path):
    """With the real pytest-asyncio 1.5 installed too, whichever plugin pytest loads first,
    the run stops with one usage error naming both and the fix, no traceback; with
    -p no:asyncio the run is final/'s.

    Not a scenario of the matrix: it needs the two distributions installed (entry
    points), so it runs final/ in its own venv, once.
    """
    (tmp_path / "test_one.py").write_text(
        "import pytest\n\n@pytest.mark.asyncio\nasync def test_one():\n    pass\n"
    )
    env = _plain_env()
    python = pytest_asyncio_venv / "bin" / "python"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(python), "-m", "pytest", "-p", "no:cacheprovider", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    # As installed; ours loaded first (-p aioloop); pytest-asyncio first (-p asyncio).
    for args in ((), ("-p", "aioloop"), ("-p", "asyncio")):
        result = run(*args)
        output = result.stdout + result.stderr
        assert result.returncode == pytest.ExitCode.USAGE_ERROR, (args, output)
        assert output.count("ERROR: ") == 1, (args, output)
        assert "ERROR: pytest-aioloop and pytest-asyncio are both active in this run" in output, (
            args,
            output,
        )
        assert "uninstall one of them" in output, (args, output)
        assert "-p no:asyncio" in output, (args, output)
        assert "Traceback" not in output, (args, output)
        assert "ValueError" not in output, (args, output)
    result = run("-p", "no:asyncio")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "aioloop-" in result.stdout, result.stdout  # in the plugins: line
    assert "1 passed" in result.stdout, result.stdout


# ------------------------------------------------ event_loop_policy, deprecated but honoured

POLICY_TEST = """
import asyncio

import pytest
import pytest_aioloop

from conftest import LOOP_CLASSES

pytestmark = pytest.mark.asyncio(loop_scope="{scope}")

@pytest_aioloop.fixture(loop_scope="session", scope="session")
async def session_loop_class():
    return type(asyncio.get_running_loop())

class TestScope:
    async def test_one(self, event_loop_policy, session_loop_class):
        assert type(asyncio.get_running_loop()) is LOOP_CLASSES[type(event_loop_policy)]
        assert session_loop_class is LOOP_CLASSES[type(event_loop_policy)]

    async def test_two(self, event_loop_policy):
        assert type(asyncio.get_running_loop()) is LOOP_CLASSES[type(event_loop_policy)]
"""

POLICY_CONFTEST = """
import asyncio

import pytest

class FirstLoop(asyncio.SelectorEventLoop):
    pass

class SecondLoop(asyncio.SelectorEventLoop):
    pass

class FirstPolicy(asyncio.DefaultEventLoopPolicy):
    def new_event_loop(self):
        return FirstLoop()

class SecondPolicy(asyncio.DefaultEventLoopPolicy):
    def new_event_loop(self):
        return SecondLoop()

LOOP_CLASSES = {FirstPolicy: FirstLoop, SecondPolicy: SecondLoop}
"""


def _policy_project(aio, fixture: str) -> None:
    aio.pytester.makeconftest(POLICY_CONFTEST + fixture)
    package = aio.pytester.mkpydir("pkg")
    for scope in SCOPES:
        (package / f"test_{scope}.py").write_text(POLICY_TEST.format(scope=scope))


# The policy classes are deprecated on Python 3.14; the warning under test is
# pytest-aioloop's own.
POLICY_ARGS = (
    "-W",
    "ignore::DeprecationWarning:asyncio",
    "-W",
    "ignore::DeprecationWarning:conftest",
)


@pytest.mark.since("final")
def test_event_loop_policy_override_makes_every_loop_at_every_scope(aio):
    """An overridden event_loop_policy makes every loop of the tests that see it, function
    through session, async fixtures' loops included, with its policy's new_event_loop();
    the deprecation warning points at the loop-factories hook."""
    _policy_project(
        aio,
        """
@pytest.fixture(scope="session")
def event_loop_policy():
    return FirstPolicy()
""",
    )
    result = aio.run(*POLICY_ARGS, "-W", "always::pytest.PytestDeprecationWarning")
    result.assert_outcomes(passed=2 * 5, warnings=1)
    result.stdout.fnmatch_lines(
        ["*PytestDeprecationWarning*event_loop_policy*deprecated*pytest_asyncio_loop_factories*"]
    )


@pytest.mark.since("final")
def test_parametrized_event_loop_policy_runs_each_test_once_per_policy(aio):
    """A parametrized event_loop_policy override runs each test once per policy, each in
    a loop of that policy, at every loop scope."""
    _policy_project(
        aio,
        """
@pytest.fixture(scope="session", params=[FirstPolicy, SecondPolicy], ids=["first", "second"])
def event_loop_policy(request):
    return request.param()
""",
    )
    # (its deprecation warning is the scenario above's)
    result = aio.run(*POLICY_ARGS, "-W", "ignore::pytest.PytestDeprecationWarning", "-v")
    result.assert_outcomes(passed=2 * 2 * 5)
    result.stdout.fnmatch_lines_random(
        [
            f"*test_{scope}.py::TestScope::test_one?{which}? PASSED*"
            for scope in SCOPES
            for which in ("first", "second")
        ]
    )


# ------------------------------------------------------------------------ loop factories


@pytest.mark.since("final")
def test_sync_tests_are_never_parametrized_by_the_loop_factories(aio):
    """Sync tests, marked by their module, using an async fixture, or in auto mode, run once."""
    aio.pytester.makeconftest(FACTORIES_HOOK.replace("\nclass", "\nimport asyncio\n\nclass", 1))
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest
        import pytest_aioloop

        pytestmark = pytest.mark.asyncio

        @pytest_aioloop.fixture
        async def value():
            return 1

        def test_sync():
            pass

        def test_sync_with_async_fixture(value):
            assert value == 1

        class TestSync:
            def test_method(self):
                pass

        async def test_async():
            pass
        """
    )
    for args in ((), ("--asyncio-mode=auto",)):
        result = aio.run("-v", *args)
        result.assert_outcomes(passed=5)
        result.stdout.fnmatch_lines_random(
            [
                "*::test_sync PASSED*",
                "*::test_sync_with_async_fixture PASSED*",
                "*::TestSync::test_method PASSED*",
                "*::test_async?first? PASSED*",
                "*::test_async?second? PASSED*",
            ]
        )


@pytest.mark.since("final")
def test_loop_factories_hook_is_first_result_and_checked(aio):
    """The first implementation that returns a mapping wins; all None is an error naming the
    hook; a result that is not a non-empty mapping of names to callables is a usage error
    saying what was returned and what is expected."""
    aio.pytester.makeconftest(
        """
        import asyncio

        class RootLoop(asyncio.SelectorEventLoop):
            pass

        def pytest_asyncio_loop_factories(config, item):
            if "none" in item.nodeid:
                return None
            return {"root": RootLoop}
        """
    )
    package = aio.pytester.mkpydir("pkg")
    (package / "conftest.py").write_text(
        "def pytest_asyncio_loop_factories(config, item):\n    return None\n"
    )
    (package / "test_first.py").write_text(
        textwrap.dedent(
            """
            import asyncio
            import pytest

            @pytest.mark.asyncio
            async def test_root_wins():
                assert type(asyncio.get_running_loop()).__name__ == "RootLoop"
            """
        )
    )
    aio.run("pkg/test_first.py").assert_outcomes(passed=1)
    (package / "test_none.py").write_text(
        "import pytest\n\n@pytest.mark.asyncio\nasync def test_all_none():\n    pass\n"
    )
    result = aio.run("pkg/test_none.py")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*pkg/test_none.py::test_all_none: "
            "every pytest_asyncio_loop_factories hook returned None*"
        ]
    )
    result.stderr.no_fnmatch_line("*Traceback*")
    for bad in ('{"": asyncio.new_event_loop}', '{"a": 1}', "[]", "{}"):
        (package / "conftest.py").write_text(
            "import asyncio\n\n"
            f"def pytest_asyncio_loop_factories(config, item):\n    return {bad}\n"
        )
        result = aio.run("pkg/test_first.py")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            [
                "*pkg/test_first.py::test_root_wins: pytest_asyncio_loop_factories returned *; "
                "it must return a non-empty mapping of names to loop factories*"
            ]
        )
        result.stderr.no_fnmatch_line("*Traceback*")


@pytest.mark.since("final")
def test_platform_conditional_loop_factories(aio):
    """A hook that names different factories per platform: the marker's names that it gives
    run, the others are skipped with a reason naming them."""
    aio.pytester.makeconftest(
        """
        import asyncio
        import sys

        def pytest_asyncio_loop_factories(config, item):
            if sys.platform == "win32":
                return {"proactor": asyncio.ProactorEventLoop}
            return {"selector": asyncio.SelectorEventLoop}
        """
    )
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest

        @pytest.mark.asyncio(loop_factories=["selector", "proactor"])
        async def test_either():
            assert isinstance(asyncio.get_running_loop(), asyncio.BaseEventLoop)
        """
    )
    result = aio.run("-rs")
    result.assert_outcomes(passed=1, skipped=1)
    missing = "selector" if sys.platform == "win32" else "proactor"
    result.stdout.fnmatch_lines([f"*loop factory {missing!r} is not available*"])


@pytest.mark.since("final")
def test_wider_async_fixture_is_set_up_again_for_each_factory(aio):
    """An async fixture of a wider loop scope is set up once per factory variant, in that
    variant's loop; a sync fixture sees the loop of its test's variant."""
    aio.pytester.makeconftest(FACTORIES_HOOK.replace("\nclass", "\nimport asyncio\n\nclass", 1))
    aio.pytester.makepyfile(
        """
        import asyncio
        import pytest
        import pytest_aioloop

        SET_UP = []

        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def module_loop():
            SET_UP.append(type(asyncio.get_running_loop()).__name__)
            return asyncio.get_running_loop()

        @pytest.fixture
        def sync_loop():
            return asyncio.get_event_loop()

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module(module_loop, sync_loop):
            assert module_loop is asyncio.get_running_loop()
            assert sync_loop is asyncio.get_running_loop()

        @pytest.mark.asyncio
        async def test_function(module_loop, sync_loop):
            assert type(module_loop) is type(asyncio.get_running_loop())
            assert sync_loop is asyncio.get_running_loop()

        def test_set_up_once_per_factory():
            assert sorted(set(SET_UP)) == ["FirstLoop", "SecondLoop"]
        """
    )
    aio.run("-W", "error::DeprecationWarning").assert_outcomes(passed=5)
