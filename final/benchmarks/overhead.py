"""What the plugin costs: whole pytest runs of async tests against the same count of sync tests.

Run it from the repository root, with the project's venv:

    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python final/benchmarks/overhead.py --pytest-asyncio

Each measurement is a whole ``pytest`` process in a fresh interpreter
(start-up, collection, set-up, the tests, teardown, the report), timed for its
wall-clock time and for the CPU time the process used (user + system, from
``os.wait4``), which the other processes of a loaded machine disturb less.
Plugin autoloading is off (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``) and the plugin
measured is loaded with ``-p``: whatever else the venv has is not loaded. pytest
looks a ``-p`` name up among the entry points of every installed distribution
(what a run with autoload on does once), so the runs without a plugin load an
empty one with ``-p``: every run pays that look-up once. The workloads,
generated in a temporary folder, all in auto mode:

* start-up: one trivial test (the reference: pytest alone, the plugin not loaded;
  the bare ``asyncio.Runner`` shows what importing asyncio costs any plugin);
* a: 2000 trivial async tests in 20 modules, a loop per test;
* b: the same tests, one loop per module (``loop_scope="module"``);
* c: 1000 async tests, each with a function-scoped async-generator fixture;
* d: ``--collect-only`` of 10,000 async tests in 200 modules.

Each is run with pytest-aioloop (from this tree's ``final/src``), and as the
same count of plain sync tests in the same environment (pytest-aioloop loaded:
the reference of its ratios); for reference, also with a bare
``asyncio.Runner`` per test (a 40-line conftest, its ratios to the sync tests
with pytest alone). The runs alternate between the variants, round
after round (five by default), each round in another order, and each variant is
reported with its median, its min-max and its ratio to the sync runs' median.

``--pytest-asyncio`` installs pytest-asyncio 1.5 (with this pytest) into a
throwaway venv and adds it as a column, its ratios to sync tests run in that
venv (``--pytest-asyncio-python PYTHON`` uses a venv that has it already;
pytest-asyncio is never a dependency of this project). ``--asyncio-timeout
SECONDS`` adds workload a with that timeout: what a timeout costs a test that
stays well within it. ``--asyncio-leaks MODE`` adds workloads a to c with that
leaks mode: ``--asyncio-leaks ignore`` tracks no task at all, so it shows what
the default mode, ``report``, costs. ``--baseline SRC`` adds pytest-aioloop from another
tree's ``src`` folder (say a ``git worktree`` of an earlier commit), to compare
before and after a change. ``--memory`` adds the peak RSS of a 10,000-test run
against a 2,000-test run. ``--only a,d`` runs some workloads only. ``--micro``
times one step of a loop runner without pytest instead: a step in the loop's
shared driver task against a step in a task of its own (what a test costs
since each test's context is its own).

``--instructions`` counts instead the instructions each run executes
(valgrind's cachegrind, one run per variant, hash seed fixed): a figure that a
busy or noisy machine does not move, for comparing changes where wall and CPU
time scatter. It leaves out what the kernel does (a loop's sockets, its
selector) and what memory stalls cost, so it complements the times rather
than replacing them.

It prints figures and asserts nothing about time. PYTHONDONTWRITEBYTECODE must
be unset: with it, pytest redoes its assertion rewriting on every run, and the
figures measure that instead. ``os.wait4`` makes it Unix-only.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
PYTEST_ASYNCIO = "pytest-asyncio==1.5.*"

INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"

# A minimal plugin for reference: a bare asyncio.Runner per test, for the test and its
# async-generator fixtures, nothing else (no scopes, no timeouts, no diagnostics).
BARE_RUNNER = """
import asyncio, inspect, pytest

RUNNER = pytest.StashKey()

def _runner(item):
    runner = item.stash.get(RUNNER, None)
    if runner is None:
        runner = item.stash[RUNNER] = asyncio.Runner()
        item.addfinalizer(runner.close)
    return runner

@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef, request):
    if not inspect.isasyncgenfunction(fixturedef.func):
        return None
    runner = _runner(request.node)
    generator = fixturedef.func(**{n: request.getfixturevalue(n) for n in fixturedef.argnames})
    value = runner.run(generator.__anext__())

    def tear_down():
        try:
            runner.run(generator.__anext__())
        except StopAsyncIteration:
            pass

    fixturedef.addfinalizer(tear_down)
    fixturedef.cached_result = (value, fixturedef.cache_key(request), None)
    return value

@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    kwargs = {n: pyfuncitem.funcargs[n] for n in pyfuncitem._fixtureinfo.argnames}
    _runner(pyfuncitem).run(pyfuncitem.obj(**kwargs))
    return True
"""


def write_suite(
    folder: Path, *, modules: int, per_module: int, kind: str, shape: str, bare: bool = False
) -> Path:
    """``modules`` test modules of ``per_module`` tests each; ``kind``: sync or async.

    ``shape``: "plain" (trivial tests), "module-loop" (one loop per module) or
    "fixture" (each test takes a function-scoped generator fixture). ``bare``:
    no plugin's ini options, and async tests get the bare runner's conftest
    (sync ones none: they are pytest alone, which imports no asyncio).
    """
    folder.mkdir(parents=True)
    # Plain pytest would warn about the plugins' ini options.
    (folder / "pytest.ini").write_text("[pytest]\n" if bare else INI)
    if bare and kind == "async":
        (folder / "conftest.py").write_text(BARE_RUNNER)
    prefix = "async " if kind == "async" else ""
    for module in range(modules):
        lines = ["import pytest", ""]
        if shape == "module-loop" and kind == "async":
            lines += ['pytestmark = pytest.mark.asyncio(loop_scope="module")', ""]
        if shape == "fixture":
            lines += ["@pytest.fixture", f"{prefix}def resource():", "    yield 1", ""]
        argument = "resource" if shape == "fixture" else ""
        for number in range(per_module):
            lines += [f"{prefix}def test_{number}({argument}):", "    pass", ""]
        (folder / f"test_m{module}.py").write_text("\n".join(lines))
    return folder


@dataclass
class Variant:
    """One column: a python, its plugin arguments and environment."""

    name: str
    python: str
    args: list[str]
    env: dict[str, str]
    #: the variant whose sync runs are this one's reference.
    reference: str


@dataclass
class Workload:
    name: str
    tests: int
    #: (variant name, suite folder) pairs to run, the reference ones included.
    runs: list[tuple[str, str, Path]] = field(default_factory=list)
    pytest_args: list[str] = field(default_factory=list)


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mb: float


def run_once(
    variant: Variant,
    suite: Path,
    tests: int,
    pytest_args: list[str],
    prefix: tuple[str, ...] = (),
) -> tuple[Sample, str]:
    """One whole pytest run (under ``prefix``: valgrind, say); its figures and its output."""
    command = [
        *prefix,
        variant.python,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *variant.args,
        *pytest_args,
        str(suite),
    ]
    env = {**variant.env, "PYTHONHASHSEED": "0"} if prefix else variant.env
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=suite
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read()
    # (valgrind's own lines begin with ==pid== or --pid--)
    pytest_output = re.sub(r"(?m)^(==|--)\d+(==|--).*\n?", "", output)
    expected = (
        rf"\b{tests} tests? collected" if "--collect-only" in pytest_args else rf"\b{tests} passed"
    )
    if (
        process.returncode != 0
        or not re.search(expected, pytest_output)
        or "warning" in pytest_output
    ):
        sys.exit(f"{' '.join(command)} did not do what it should:\n{output[-3000:]}")
    # ru_maxrss: kilobytes on Linux, bytes on macOS.
    rss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return Sample(wall, usage.ru_utime + usage.ru_stime, rss), output


CACHEGRIND = ("valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null")


def count_instructions(variant: Variant, suite: Path, tests: int, pytest_args: list[str]) -> float:
    """The instructions one run executes, in millions (valgrind's cachegrind, hash seed fixed)."""
    _, output = run_once(variant, suite, tests, pytest_args, CACHEGRIND)
    found = re.search(r"I\s+refs:\s+([\d,]+)", output)
    if found is None:
        sys.exit(f"valgrind printed no instruction count:\n{output[-3000:]}")
    return int(found.group(1).replace(",", "")) / 1e6


def summary(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def measure(
    workloads: list[Workload], variants: dict[str, Variant], rounds: int
) -> dict[tuple[str, str], list[Sample]]:
    samples: dict[tuple[str, str], list[Sample]] = {}
    # Bytecode caches are written once, so that no variant pays for them.
    for workload in workloads:
        for key, suite_variant, suite in workload.runs:
            run_once(variants[suite_variant], suite, workload.tests, workload.pytest_args)
            samples[(workload.name, key)] = []
    order = [(w, run) for w in workloads for run in w.runs]
    for number in range(rounds):
        # Alternate, each round starting somewhere else: no variant always runs first.
        shift = number * len(order) // max(rounds, 1)
        for workload, (key, suite_variant, suite) in order[shift:] + order[:shift]:
            sample, _ = run_once(
                variants[suite_variant], suite, workload.tests, workload.pytest_args
            )
            samples[(workload.name, key)].append(sample)
        print(f"  round {number + 1}/{rounds} done", file=sys.stderr, flush=True)
    return samples


def describe_machine(python: str, env: dict[str, str]) -> list[str]:
    where = subprocess.run(
        [
            python,
            "-c",
            "import pytest, pytest_aioloop; print(pytest.__version__, pytest_aioloop.__file__)",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.split()
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?", "?", "?")
    return [
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"pytest {where[0]}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} at the start",
        f"pytest-aioloop from {Path(where[1]).parent}",
    ]


def make_pytest_asyncio_venv(root: Path) -> str:
    import pytest

    venv = root / "pytest-asyncio-venv"
    print(f"installing {PYTEST_ASYNCIO} into {venv} ...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", f"pytest=={pytest.__version__}", PYTEST_ASYNCIO],
        check=True,
    )
    return python


def micro(rounds: int, steps: int = 20000) -> None:
    """Per-step cost of the loop runner alone: the shared driver against a task per step."""
    sys.path.insert(0, str(SRC))
    import asyncio

    from pytest_aioloop.runner import LoopRunner

    async def noop() -> None:
        pass

    runner = LoopRunner(asyncio.new_event_loop, debug=False)
    shared: list[float] = []
    own: list[float] = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(steps):
            runner.run(noop())
        shared.append((time.perf_counter() - start) / steps * 1e6)
        start = time.perf_counter()
        for _ in range(steps):
            runner.run(noop(), driver=runner.driver(what="the test"), last=True)
        own.append((time.perf_counter() - start) / steps * 1e6)
    runner.close()
    print(f"{steps} steps per round, median of {rounds} alternating rounds")
    print(f"python {sys.version.split()[0]}")
    print(f"  a step in the loop's shared driver task   {statistics.median(shared):6.1f} us")
    print(f"  a step in a task of its own (each test)   {statistics.median(own):6.1f} us")


def reference_of(work: Workload, key: str, variant: Variant) -> str:
    """The variant whose runs are ``key``'s reference (start-up: pytest alone)."""
    if work.tests == 1 and key in ("sync", "aioloop"):
        return "pytest alone"
    if work.tests == 1 and key == "pytest-asyncio":
        return "pa-sync"
    return variant.reference


def _async_start_up(ratio: float) -> str:
    """The start-up of one async test over the bare runner's: both import asyncio."""
    return f"  one async test over the bare asyncio.Runner (both import asyncio): {ratio:.3f}x"


def print_instructions(
    workloads: list[Workload], variants: dict[str, Variant], header: list[str]
) -> None:
    """--instructions: each run's instructions, and their ratios to the sync runs'."""
    counts: dict[tuple[str, str], float] = {}
    for work in workloads:
        for key, suite_variant, suite in work.runs:
            run_once(variants[suite_variant], suite, work.tests, work.pytest_args)  # bytecode
            counts[(work.name, key)] = count_instructions(
                variants[suite_variant], suite, work.tests, work.pytest_args
            )
        print(f"  {work.name.split('.')[0].split(':')[0]} counted", file=sys.stderr, flush=True)
    print("instructions executed by one run of each (millions; valgrind's cachegrind, hash seed 0)")
    for line in header:
        print(line)
    for work in workloads:
        print()
        print(work.name)
        print(f"  {'':38} {'instructions':>12} {'ratio':>7} {'per test':>10}")
        for key, _, _ in work.runs:
            variant = variants[key]
            count = counts[(work.name, key)]
            reference = reference_of(work, key, variant)
            line = f"  {variant.name:38} {count:10.1f} M"
            if reference:
                ref = counts[(work.name, reference)]
                per_test = (count - ref) / work.tests * 1e6
                line += f" {count / ref:6.3f}x {per_test:+10.0f}"
            print(line)
        if work.tests == 1 and (work.name, "bare") in counts:
            print(_async_start_up(counts[(work.name, "aioloop")] / counts[(work.name, "bare")]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--pytest-asyncio",
        action="store_true",
        help=f"install {PYTEST_ASYNCIO} into a throwaway venv and add it as a column",
    )
    parser.add_argument(
        "--pytest-asyncio-python", metavar="PYTHON", help="a venv's python that has it already"
    )
    parser.add_argument(
        "--asyncio-timeout", metavar="SECONDS", help="add workload a with this timeout"
    )
    parser.add_argument(
        "--asyncio-leaks", metavar="MODE", help="add workloads a-c with this leaks mode"
    )
    parser.add_argument("--baseline", metavar="SRC", help="another tree's final/src to compare")
    parser.add_argument("--memory", action="store_true", help="peak RSS: 10,000 tests vs 2,000")
    parser.add_argument("--micro", action="store_true", help="time the loop runner alone")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count the instructions of one run per variant (valgrind) instead of timing",
    )
    parser.add_argument(
        "--only", metavar="W,W", default="start-up,a,b,c,d", help="the workloads to run"
    )
    args = parser.parse_args()
    if args.micro:
        micro(args.rounds)
        return
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        sys.exit("unset PYTHONDONTWRITEBYTECODE first: env -u PYTHONDONTWRITEBYTECODE ...")
    only = set(args.only.split(","))

    # The same environment for every variant: pytest's own plugins, and the one measured
    # (what else the venv has installed, hypothesis or xdist, is not loaded).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"

    def with_path(src: Path | str) -> dict[str, str]:
        return {
            **env,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")])),
        }

    no_plugins: list[str] = []
    ours = ["-p", "pytest_aioloop.plugin"]
    variants = {
        "pytest alone": Variant("sync tests, pytest alone", sys.executable, no_plugins, env, ""),
        "sync": Variant(
            "sync tests, pytest-aioloop loaded", sys.executable, ours, with_path(SRC), ""
        ),
        "aioloop": Variant("pytest-aioloop", sys.executable, ours, with_path(SRC), "sync"),
        "bare": Variant("bare asyncio.Runner", sys.executable, no_plugins, env, "pytest alone"),
    }
    if args.asyncio_timeout:
        variants["timeout"] = Variant(
            f"pytest-aioloop --asyncio-timeout {args.asyncio_timeout}",
            sys.executable,
            [*ours, f"--asyncio-timeout={args.asyncio_timeout}"],
            with_path(SRC),
            "sync",
        )
    if args.asyncio_leaks:
        variants["leaks"] = Variant(
            f"pytest-aioloop --asyncio-leaks={args.asyncio_leaks}",
            sys.executable,
            [*ours, f"--asyncio-leaks={args.asyncio_leaks}"],
            with_path(SRC),
            "sync",
        )
    if args.baseline:
        variants["baseline"] = Variant(
            "pytest-aioloop baseline", sys.executable, ours, with_path(args.baseline), "sync"
        )

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # pytest looks each plugin named with -p up among the entry points of every
        # installed distribution first (what a run with autoload on does once): the
        # runs without a plugin name an empty one, so that every run pays that once.
        empty = root / "plugins"
        empty.mkdir()
        (empty / "benchmark_no_plugin.py").write_text('"""No hooks, no fixtures."""\n')
        for key in ("pytest alone", "bare"):
            variants[key].args = ["-p", "benchmark_no_plugin"]
            variants[key].env = with_path(empty)
        pa_python = args.pytest_asyncio_python
        if args.pytest_asyncio and not pa_python:
            pa_python = make_pytest_asyncio_venv(root)
        if pa_python:
            theirs = ["-p", "pytest_asyncio.plugin"]
            variants["pa-sync"] = Variant(
                "sync tests, pytest-asyncio loaded", pa_python, theirs, env, ""
            )
            variants["pytest-asyncio"] = Variant(
                "pytest-asyncio", pa_python, theirs, env, "pa-sync"
            )
        header = describe_machine(sys.executable, with_path(SRC))
        if args.baseline:
            header += describe_machine(sys.executable, with_path(args.baseline))[1:]
            header[-1] = header[-1].replace("from", "baseline from")

        async_columns: list[str] = [
            k
            for k in ("aioloop", "timeout", "leaks", "baseline", "bare", "pytest-asyncio")
            if k in variants
        ]

        def workload(
            name: str, tests: int, modules: int, shape: str, columns: list[str], *extra: str
        ) -> Workload:
            work = Workload(name, tests, pytest_args=list(extra))
            slug = re.sub(r"\W+", "-", name)
            sync = write_suite(
                root / slug / "sync",
                modules=modules,
                per_module=tests // modules,
                kind="sync",
                shape=shape,
            )
            asynchronous = write_suite(
                root / slug / "async",
                modules=modules,
                per_module=tests // modules,
                kind="async",
                shape=shape,
            )
            work.runs.append(("sync", "sync", sync))
            if "pa-sync" in variants:
                work.runs.append(("pa-sync", "pa-sync", sync))
            if "bare" in columns:
                # The bare conftest's reference: the sync tests with pytest alone.
                alone = write_suite(
                    root / slug / "alone",
                    modules=modules,
                    per_module=tests // modules,
                    kind="sync",
                    shape=shape,
                    bare=True,
                )
                work.runs.append(("pytest alone", "pytest alone", alone))
            for column in columns:
                suite = asynchronous
                if column == "bare":
                    suite = write_suite(
                        root / slug / "bare",
                        modules=modules,
                        per_module=tests // modules,
                        kind="async",
                        shape=shape,
                        bare=True,
                    )
                work.runs.append((column, column, suite))
            return work

        workloads: list[Workload] = []
        titles = {
            "start-up": "start-up: one trivial test",
            "a": "a. 2000 trivial async tests, a loop per test",
            "b": "b. 2000 trivial async tests, one loop per module",
            "c": "c. 1000 async tests, each with a function-scoped async-generator fixture",
            "d": "d. --collect-only of 10,000 async tests in 200 modules",
        }
        no_timeout = [c for c in async_columns if c != "timeout"]
        no_leaks = [c for c in no_timeout if c != "leaks"]
        if "start-up" in only:
            # (the bare conftest's reference, pytest alone, is every start-up's)
            workloads.append(workload(titles["start-up"], 1, 1, "plain", no_leaks))
        if "a" in only:
            workloads.append(workload(titles["a"], 2000, 20, "plain", async_columns))
        if "b" in only:
            workloads.append(
                workload(
                    titles["b"], 2000, 20, "module-loop", [c for c in no_timeout if c != "bare"]
                )
            )
        if "c" in only:
            workloads.append(workload(titles["c"], 1000, 10, "fixture", no_timeout))
        if "d" in only:
            workloads.append(workload(titles["d"], 10000, 200, "plain", no_leaks, "--collect-only"))

        if args.instructions:
            print_instructions(workloads, variants, header)
            return
        print("measuring ...", file=sys.stderr, flush=True)
        samples = measure(workloads, variants, args.rounds)
        memory: dict[tuple[str, int], list[Sample]] = {}
        if args.memory:
            print("measuring peak RSS ...", file=sys.stderr, flush=True)
            memory_workloads = []
            for tests in (2000, 10000):
                work = workload(f"memory {tests}", tests, tests // 100, "plain", ["aioloop"])
                work.runs = [run for run in work.runs if run[0] in ("sync", "aioloop")]
                memory_workloads.append(work)
            memory_samples = measure(memory_workloads, variants, min(args.rounds, 3))
            for (name, key), values in memory_samples.items():
                memory[(key, int(name.split()[1]))] = values

    print(f"median of {args.rounds} alternating rounds; wall and CPU (user + system) seconds")
    for line in header:
        print(line)
    ratios: dict[tuple[str, str], tuple[float, float]] = {}
    for work in workloads:
        print()
        print(work.name)
        print(
            f"  {'':38} {'wall s':>6} {'(min-max)':13} {'ratio':>6}  "
            f"{'CPU s':>6} {'(min-max)':13} {'ratio':>6}  {'CPU us/test':>11}"
        )
        for key, _, _ in work.runs:
            variant = variants[key]
            values = samples[(work.name, key)]
            wall, wall_min, wall_max = summary([s.wall for s in values])
            cpu, cpu_min, cpu_max = summary([s.cpu for s in values])
            reference = reference_of(work, key, variant)
            line = f"  {variant.name:38} {wall:6.2f} ({wall_min:5.2f}-{wall_max:5.2f}) "
            if reference:
                ref_values = samples[(work.name, reference)]
                ref_wall = statistics.median(s.wall for s in ref_values)
                ref_cpu = statistics.median(s.cpu for s in ref_values)
                ratios[(work.name, key)] = (wall / ref_wall, cpu / ref_cpu)
                per_test = (cpu - ref_cpu) / work.tests * 1e6
                line += (
                    f"{wall / ref_wall:5.2f}x  {cpu:6.2f} ({cpu_min:5.2f}-{cpu_max:5.2f}) "
                    f"{cpu / ref_cpu:5.2f}x  {per_test:+11.1f}"
                )
            else:
                line += f"{'':6}  {cpu:6.2f} ({cpu_min:5.2f}-{cpu_max:5.2f})"
            print(line)
        if work.tests == 1 and (work.name, "bare") in samples:
            bare_cpu = statistics.median(s.cpu for s in samples[(work.name, "bare")])
            ours_cpu = statistics.median(s.cpu for s in samples[(work.name, "aioloop")])
            print(_async_start_up(ours_cpu / bare_cpu) + " (CPU)")
        if "timeout" in variants and (work.name, "timeout") in samples:
            for index, label in ((0, "wall"), (1, "CPU")):
                plain = ratios[(work.name, "aioloop")][index]
                timed = ratios[(work.name, "timeout")][index]
                print(f"  the timeout adds {timed / plain - 1:+.1%} ({label}) to pytest-aioloop")
        if "leaks" in variants and (work.name, "leaks") in samples:
            for index, label in ((0, "wall"), (1, "CPU")):
                default = ratios[(work.name, "aioloop")][index]
                other = ratios[(work.name, "leaks")][index]
                print(
                    f"  the default leaks mode (report) is {default / other - 1:+.1%} ({label}) "
                    f"over --asyncio-leaks={args.asyncio_leaks}"
                )
        if "baseline" in variants and (work.name, "baseline") in samples:
            for index, label in ((0, "wall"), (1, "CPU")):
                now = ratios[(work.name, "aioloop")][index]
                before = ratios[(work.name, "baseline")][index]
                print(f"  against the baseline: {now / before - 1:+.1%} ({label})")

    print()
    print("ratios to sync tests in the same environment, wall / CPU")
    columns = [
        k
        for k in ("aioloop", "timeout", "leaks", "baseline", "bare", "pytest-asyncio")
        if k in variants
    ]
    print(f"  {'workload':12}" + "".join(f" {variants[c].name[:24]:>24}" for c in columns))
    for work in workloads:
        cells = []
        for column in columns:
            ratio = ratios.get((work.name, column))
            cells.append(f" {'-' if ratio is None else f'{ratio[0]:.2f}x / {ratio[1]:.2f}x':>24}")
        print(f"  {work.name.split(':')[0].split('.')[0]:12}" + "".join(cells))

    if memory:
        print()
        print("peak RSS (MB), median of the runs: trivial tests, a loop per test")
        for key in ("sync", "aioloop"):
            small = statistics.median(s.rss_mb for s in memory[(key, 2000)])
            large = statistics.median(s.rss_mb for s in memory[(key, 10000)])
            print(
                f"  {variants[key].name:38} 2,000 tests {small:6.1f}   10,000 tests {large:6.1f}"
                f"   {large / small - 1:+.1%}"
            )
        extra_small = statistics.median(
            s.rss_mb for s in memory[("aioloop", 2000)]
        ) - statistics.median(s.rss_mb for s in memory[("sync", 2000)])
        extra_large = statistics.median(
            s.rss_mb for s in memory[("aioloop", 10000)]
        ) - statistics.median(s.rss_mb for s in memory[("sync", 10000)])
        print(
            f"  pytest-aioloop over sync tests: {extra_small:+.1f} MB at 2,000 tests, "
            f"{extra_large:+.1f} MB at 10,000 tests "
            f"({(extra_large - extra_small) * 2**20 / 8000:+.0f} bytes per test more)"
        )


if __name__ == "__main__":
    main()
