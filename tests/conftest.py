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

``pytest tests --exercise 03`` runs the scenarios of stages 01 to 03 against
the workshop's exercise ``stages/03/exercise`` instead: the learner's plugin,
held to what stage 03 must do (``--exercise 03=DIR`` for an exercise kept in
another directory; ``--exercise all`` for every exercise). Such a run prints
the workshop's progress report (tests/workshop/progress.py); ``--hint`` adds
the next hint on the first failing scenario, one per run.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# The inner runs happen in this process, and pytester removes every module a
# run imported once it ends. hypothesis's pytest plugin imports hypothesis
# itself at the end of each run (about 0.3 s): importing it here, once, keeps
# it out of that churn. A workshop room may install pytest alone: the checker
# (`pytest --exercise NN`) needs nothing else, so hypothesis is optional here.
with contextlib.suppress(ImportError):
    import hypothesis  # noqa: F401
# asyncio too, for a subtler reason: its C part (_asyncio) is initialised once
# per process and keeps the classes of the first asyncio it saw. A run that
# imports asyncio first has it removed afterwards; the next run imports a new
# asyncio whose CancelledError is not the one that the C tasks raise, and
# `except asyncio.CancelledError` in a scenario's test no longer catches it.
import asyncio  # noqa: F401

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Target:
    """One implementation of the plugin that the scenarios run against."""

    name: str  # "03" or "final"
    path: Path  # the directory that holds its `pytest_aioloop` package
    exercise: bool = False  # a workshop exercise, held to what stage `name` must do

    @property
    def title(self) -> str:
        if self.exercise:
            return f"exercise {self.name}"
        return "final/" if self.name == "final" else f"stage {self.name}"

    @property
    def id(self) -> str:
        return f"exercise-{self.name}" if self.exercise else self.name


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
    parser.addoption(
        "--exercise",
        action="append",
        default=[],
        metavar="NN[=DIR]",
        help="run the scenarios of stages up to NN against the workshop's exercise "
        "stages/NN/exercise (or the one in DIR) instead of the targets, and report the "
        "progress; repeatable; 'all' for every exercise",
    )
    parser.addoption(
        "--hint",
        action="store_true",
        default=False,
        help="with --exercise: show the next hint for the first failing scenario, one per "
        "run (the place in the hints is kept in pytest's cache, .pytest_cache/, which git "
        "ignores; --cache-clear starts the hints again)",
    )


EXERCISES = pytest.StashKey[list[Target]]()
SCENARIO_FILES = pytest.StashKey[set[str]]()  # what --exercise collects


def exercise_targets(spec: str) -> list[Target]:
    """The targets for ``--exercise NN``, ``--exercise NN=DIR`` or ``--exercise all``."""
    if spec == "all":
        folders = sorted((ROOT / "stages").glob("*/exercise/pytest_aioloop/plugin.py"))
        if not folders:
            raise pytest.UsageError("--exercise all: there is no stages/NN/exercise")
        return [exercise_target(p.parent.parent.parent.name) for p in folders]
    return [exercise_target(spec)]


def exercise_target(spec: str) -> Target:
    """The target for ``--exercise NN`` or ``--exercise NN=DIR``."""
    name, _, where = spec.partition("=")
    if name not in ORDER or name == "final":
        stages = ", ".join(n for n in ORDER if n != "final")
        raise pytest.UsageError(f"--exercise {spec}: no such stage; the stages are {stages}")
    path = Path(where).resolve() if where else ROOT / "stages" / name / "exercise"
    if not (path / "pytest_aioloop" / "plugin.py").is_file():
        raise pytest.UsageError(f"--exercise {spec}: no {path / 'pytest_aioloop' / 'plugin.py'}")
    return Target(name, path, exercise=True)


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
    specs = config.getoption("exercise")
    exercises = list(
        # One target per exercise, the first named: `--exercise 03 --exercise all` works.
        {t.name: t for spec in reversed(specs) for t in exercise_targets(spec)}.values()
    )
    exercises.sort(key=lambda t: t.name)
    if exercises and config.getoption("target"):
        raise pytest.UsageError("--exercise and --target do not mix: use one or the other")
    config.stash[EXERCISES] = exercises
    if exercises:
        from workshop.progress import NAME, Progress  # tests/workshop/, beside this file

        named = {spec.partition("=")[0]: spec for spec in specs if spec != "all"}
        config.pluginmanager.register(Progress(config, named), NAME)


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
    targets = metafunc.config.stash[EXERCISES] or [t for t in TARGETS if t.name in chosen]
    params = []
    for target in targets:
        reason = expectation(since, until, target.name)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        params.append(pytest.param(target, id=target.id, marks=marks))
    metafunc.parametrize("target", params)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With ``--exercise NN``, collect only the files that hold scenarios of stages up to NN.

    Wherever they are in tests/ (tests/workshop/selection.py decides, for the
    checker and the workshop pages alike); the other files are never imported,
    so a room with pytest alone can run the checker.
    """
    exercises = config.stash.get(EXERCISES, [])
    if not exercises or collection_path.suffix != ".py" or collection_path.parent != ROOT / "tests":
        return None
    if SCENARIO_FILES not in config.stash:
        from workshop import selection  # tests/workshop/, beside this file

        last = max(exercises, key=lambda t: position(t.name)).name
        config.stash[SCENARIO_FILES] = set(selection.files(last))
    return None if f"tests/{collection_path.name}" in config.stash[SCENARIO_FILES] else True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``--exercise NN``, keep only the scenarios of stages up to NN."""
    if not config.stash[EXERCISES]:
        return
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        target = callspec.params.get("target") if callspec else None
        marker = item.get_closest_marker("since")
        if (
            isinstance(target, Target)
            and marker is not None
            and position(marker.args[0]) <= position(target.name)
        ):
            kept.append(item)
        else:
            dropped.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@dataclass(frozen=True)
class BuiltSite:
    """The docs site as `mkdocs build --strict` made it, once for the whole run."""

    root: Path
    log: str


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    """One build of the docs site, shared by the page checks and the browser test.

    A build runs every generated listing and pytest run of the docs (about 30 s
    of CPU). Under pytest-xdist each worker is a process of its own, so the
    workers meet in the run's shared temporary folder and the first to get the
    lock builds the site for all (pytest-xdist's documented recipe; its
    ``--dist loadgroup`` would serve too, but does not group under pytest 9.2).
    """
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the folder every worker's basetemp lives in
    out, log = shared / "docs-site", shared / "docs-site.log"
    with _exclusive(shared / "docs-site.lock"):
        if not log.exists():
            result = subprocess.run(
                [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                cwd=ROOT,
                env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            assert result.returncode == 0, f"mkdocs build failed:\n{result.stdout}{result.stderr}"
            log.write_text(result.stderr)
    return BuiltSite(out, log.read_text())


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (where the OS has fcntl; elsewhere, no lock)."""
    try:
        import fcntl
    except ImportError:  # Windows: each worker builds its own site
        yield
        return
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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

    def run_subprocess(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> pytest.RunResult:
        """Run in a fresh interpreter: for what a process can do only once.

        ``timeout`` (seconds) ends a run that hangs: pytester raises
        ``Pytester.TimeoutExpired``, so a hang fails the scenario instead of the suite.
        """
        self.subprocess_env(env)
        return self.pytester.runpytest_subprocess(*self.plugin_args(), *args, timeout=timeout)

    def subprocess_env(self, env: dict[str, str] | None = None) -> None:
        """Set this process's environment for a child pytest that loads the target's plugin."""
        paths = [str(self.target.path), os.environ.get("PYTHONPATH", "")]
        self.monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
        for key, value in (env or {}).items():
            self.monkeypatch.setenv(key, value)


@pytest.fixture
def aio(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, target: Target) -> AioRun:
    """Runs pytest on the files the scenario wrote, with the target's plugin."""
    return AioRun(pytester, monkeypatch, target)
