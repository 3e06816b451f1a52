"""The harness of the shared suite: one set of scenarios, every target.

A *target* is one implementation of the plugin: a stage (``stages/03``) or the
finished plugin (``final/src``). Every scenario is a test function that takes
the ``aio`` fixture; pytest runs it once per target. A scenario declares where
it must pass with ``@pytest.mark.since("03")`` (and ``until="05"`` when a
later stage replaces the behaviour); on every other target it is marked
``xfail(strict=True)``, so the claim "this stage does not do that yet" is
tested as well as the feature itself.

``pytest tests --target 03`` narrows the matrix to one target (repeat the
option for several).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

# The inner runs happen in this process, and pytester removes every module a
# run imported once it ends. hypothesis's pytest plugin imports hypothesis
# itself at the end of each run (about 0.3 s): importing it here, once, keeps
# it out of that churn.
import hypothesis  # noqa: F401
import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Target:
    """One implementation of the plugin that the scenarios run against."""

    name: str  # "03" or "final"
    path: Path  # the directory that holds its `pytest_aioloop` package

    @property
    def title(self) -> str:
        return "final/" if self.name == "final" else f"stage {self.name}"


def discover_targets() -> list[Target]:
    targets = sorted(
        (
            Target(p.name, p)
            for p in (ROOT / "stages").iterdir()
            if (p / "pytest_aioloop" / "plugin.py").is_file()
        ),
        key=lambda t: t.name,
    )
    final = ROOT / "final" / "src"
    if (final / "pytest_aioloop" / "plugin.py").is_file():
        targets.append(Target("final", final))
    return targets


TARGETS = discover_targets()
ORDER = [t.name for t in TARGETS]


def position(name: str) -> int:
    """Where a target stands in the order of the lessons; final/ comes last.

    A declaration may name a stage that does not exist yet (a scenario can be
    written before its stage): stage names are numbers, so it still has a place.
    """
    return 100 if name == "final" else int(name)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--target",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run the scenarios against this target only (one of {', '.join(ORDER)}); repeatable",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "since(stage, until=None): the first (and last) target where the scenario must pass",
    )
    unknown = [name for name in config.getoption("target") if name not in ORDER]
    if unknown:
        raise pytest.UsageError(
            f"--target {unknown[0]}: no such target; the targets are {', '.join(ORDER)}"
        )


def expectation(since: str, until: str | None, target: str) -> str | None:
    """Why ``target`` is expected to fail the scenario, or None if it must pass."""
    if position(target) < position(since):
        brings = "final/" if since == "final" else f"stage {since}"
        return f"{brings} brings this"
    if until is not None and position(target) > position(until):
        return f"after stage {until}, a later stage replaces this"
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("since")
    if marker is None:
        raise pytest.UsageError(
            f"{metafunc.definition.nodeid}: a scenario must declare where it passes, "
            'e.g. @pytest.mark.since("03")'
        )
    since: str = marker.args[0]
    until: str | None = marker.kwargs.get("until")
    chosen = metafunc.config.getoption("target") or ORDER
    params = []
    for target in TARGETS:
        if target.name not in chosen:
            continue
        reason = expectation(since, until, target.name)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        params.append(pytest.param(target, id=target.name, marks=marks))
    metafunc.parametrize("target", params)


class _OnePlugin:
    """Checks, inside a run, that the target's plugin is the one that got loaded."""

    def __init__(self, target: Target) -> None:
        self.target = target

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        module = sys.modules.get("pytest_aioloop")
        assert module is not None, "no plugin was imported"
        assert module.__file__ is not None
        loaded = Path(module.__file__).resolve()
        assert loaded.is_relative_to(self.target.path), (
            f"the run for {self.target.title} imported {loaded}"
        )
        assert not config.pluginmanager.has_plugin("asyncio"), "pytest-asyncio is active"


class AioRun:
    """Runs pytest on the files a scenario wrote, with one target's plugin only."""

    def __init__(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, target: Target
    ) -> None:
        self.pytester = pytester
        self.monkeypatch = monkeypatch
        self.target = target

    def plugin_args(self) -> list[str]:
        # Block the installed final/ ("aioloop") and pytest-asyncio ("asyncio"),
        # whatever this environment holds, then load the target's plugin by name.
        return ["-p", "no:aioloop", "-p", "no:asyncio", "-p", "pytest_aioloop.plugin"]

    def run(self, *args: str) -> pytest.RunResult:
        """Run in this process: fast, and pytester restores sys.modules afterwards."""
        self.pytester.syspathinsert(self.target.path)
        return self.pytester.runpytest_inprocess(
            *self.plugin_args(), *args, plugins=[_OnePlugin(self.target)]
        )

    def run_subprocess(self, *args: str, env: dict[str, str] | None = None) -> pytest.RunResult:
        """Run in a fresh interpreter: for what a process can do only once."""
        paths = [str(self.target.path), os.environ.get("PYTHONPATH", "")]
        self.monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
        for key, value in (env or {}).items():
            self.monkeypatch.setenv(key, value)
        return self.pytester.runpytest_subprocess(*self.plugin_args(), *args)


@pytest.fixture
def aio(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, target: Target) -> AioRun:
    """Runs pytest on the files the scenario wrote, with the target's plugin."""
    return AioRun(pytester, monkeypatch, target)
