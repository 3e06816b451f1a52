"""final/'s start-up: loading the plugin in a run that needs no event loop imports no asyncio.

Not scenarios (no ``aio`` fixture, no target): a property of final/ alone (stage
01's plugin imports nothing either, and the later stages import asyncio at
once). Each run is a fresh interpreter, with plugin autoloading off, so that
``sys.modules`` holds what pytest and this plugin imported, nothing else.
"""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT

#: Prints, at the end of the run, which of asyncio's and the plugin's modules were imported.
REPORT_MODULES = """
import sys

def pytest_terminal_summary(terminalreporter):
    loaded = sorted(
        name for name in sys.modules if name.split(".")[0] in ("asyncio", "pytest_aioloop")
    )
    terminalreporter.write_line("imported: " + " ".join(loaded))
"""

SYNC_TESTS = """
import pytest

@pytest.fixture
def number():
    yield 1

def test_sync(number):
    assert number == 1

@pytest.mark.asyncio
class TestMarked:
    def test_in_a_marked_class(self):
        pass

def test_fails():
    assert False
"""

#: The plugin's modules that run loops: each imports asyncio.
RUNTIME_MODULES = (
    "pytest_aioloop.runtime",
    "pytest_aioloop.runner",
    "pytest_aioloop.loops",
    "pytest_aioloop.watchdog",
    "pytest_aioloop.tracker",
    "pytest_aioloop.diagnostics",
    "pytest_aioloop.clock",
)


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str) -> list[str]:
    """Run pytest with final/'s plugin only; return the modules imported, and check the header."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "final" / "src"))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    pytester.makeconftest(REPORT_MODULES)
    result = pytester.runpytest_subprocess(
        "-p", "pytest_aioloop.plugin", "--asyncio-timeout=5", "--asyncio-leaks=warn", *args
    )
    # The options were read and checked: the plugin is configured, not merely imported.
    result.stdout.fnmatch_lines(["asyncio: mode=auto*timeout=5s*leaks=warn*"])
    (line,) = [line for line in result.stdout.lines if line.startswith("imported: ")]
    modules = line.split()[1:]
    assert "pytest_aioloop.plugin" in modules
    return modules


def test_a_run_without_async_tests_imports_no_asyncio(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_sync=SYNC_TESTS)
    modules = _run(pytester, monkeypatch)
    assert [name for name in modules if name.split(".")[0] == "asyncio"] == []
    assert [name for name in modules if name in RUNTIME_MODULES] == []


def test_the_first_async_test_imports_the_runtime(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same run with one async test and one async fixture: they run, in their loops."""
    pytester.makepyfile(
        test_sync=SYNC_TESTS,
        test_async="""
import asyncio

async def ready():
    await asyncio.sleep(0)
    yield asyncio.get_running_loop()

import pytest
ready = pytest.fixture(ready)

async def test_async(ready):
    assert asyncio.get_running_loop() is ready
""",
    )
    modules = _run(pytester, monkeypatch, "-rA")
    assert "asyncio" in modules
    assert set(RUNTIME_MODULES) - {"pytest_aioloop.clock"} <= set(modules)


def test_a_collection_only_run_opens_no_loop(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--collect-only`` of async tests classifies them without the loops' machinery."""
    pytester.makepyfile(test_async="async def test_async():\n    pass\n")
    modules = _run(pytester, monkeypatch, "--collect-only")
    assert [name for name in modules if name in RUNTIME_MODULES] == []


def test_show_loops_makes_the_loops_machinery_at_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_sync=SYNC_TESTS)
    modules = _run(pytester, monkeypatch, "--asyncio-show-loops")
    assert "pytest_aioloop.runtime" in modules


def test_the_public_names_from_asyncio_modules_are_imported_at_first_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "final" / "src"))
    before = {name: module for name, module in sys.modules.items() if "pytest_aioloop" in name}
    for name in before:
        monkeypatch.delitem(sys.modules, name)
    try:
        import pytest_aioloop
        import pytest_aioloop.clock
        import pytest_aioloop.diagnostics

        assert pytest_aioloop.VirtualClock is pytest_aioloop.clock.VirtualClock
        assert pytest_aioloop.SplitLoopWarning is pytest_aioloop.diagnostics.SplitLoopWarning
        for name in pytest_aioloop.__all__:
            getattr(pytest_aioloop, name)
            assert name in dir(pytest_aioloop)
        with pytest.raises(AttributeError, match="has no attribute 'VirtualClok'"):
            pytest_aioloop.VirtualClok  # noqa: B018
    finally:
        for name in [name for name in sys.modules if "pytest_aioloop" in name]:
            del sys.modules[name]


def test_reports_are_imported_only_when_there_is_something_to_report(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An async test that passes, with no async fixture: no stack capture, no loop log."""
    pytester.makepyfile(test_async="async def test_async():\n    pass\n")
    modules = _run(pytester, monkeypatch)
    assert "pytest_aioloop.runtime" in modules
    assert "pytest_aioloop.stacks" not in modules
    assert "pytest_aioloop.diagnostics" not in modules
    # A leaked task is a finding: its report captures the task's stack.
    pytester.makepyfile(
        test_async="""
import asyncio

async def test_leaks():
    asyncio.get_running_loop().create_task(asyncio.sleep(10))
"""
    )
    modules = _run(pytester, monkeypatch)
    assert "pytest_aioloop.stacks" in modules
