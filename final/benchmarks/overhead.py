"""What the plugin costs per test: 2000 trivial async tests against 2000 plain sync tests.

Each measurement is a whole ``pytest`` run in a fresh interpreter (collection,
set-up, the test, teardown, the report). The runs alternate between the
variants, five rounds by default, and the median of each is reported with its
ratio to the sync baseline run by the same interpreter and pytest. The async
tests run twice: each in a loop of its own (the default), and all of a module's
in one module loop (``loop_scope="module"``), where what the plugin adds to a
test is the test's task and context of its own, and nothing else.

    env -u PYTHONDONTWRITEBYTECODE python final/benchmarks/overhead.py
    env -u PYTHONDONTWRITEBYTECODE python final/benchmarks/overhead.py \\
        --pytest-asyncio /tmp/pa-venv/bin/python --baseline /tmp/main/final/src
    env -u PYTHONDONTWRITEBYTECODE python final/benchmarks/overhead.py --micro

``--pytest-asyncio PYTHON`` adds pytest-asyncio's figures, measured with an
interpreter of a throwaway venv where it is installed (it is never a dependency
of this project). ``--asyncio-timeout SECONDS`` adds the async suite run with
that timeout (``--asyncio-timeout 60``: what a timeout costs a test that stays
well within it). ``--baseline SRC`` adds the async runs with another version
of the plugin (its ``src`` folder, say of a ``git worktree`` of an earlier
commit), alternating with this one: before and after a change. ``--micro``
times one step of a loop runner without pytest instead: a step in the loop's
shared driver task against a step in a task of its own (what a test costs
since each test's context is its own). PYTHONDONTWRITEBYTECODE must be unset:
with it, pytest redoes its assertion rewriting on every run and the figures
measure that instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
MODULES, PER_MODULE = 20, 100  # 2000 tests

# A minimal plugin for reference: a bare asyncio.Runner per test, nothing else.
BARE_RUNNER = """
import asyncio, inspect, pytest

@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    with asyncio.Runner() as runner:
        runner.run(pyfuncitem.obj())
    return True
"""


def write_suite(root: Path, kind: str) -> Path:
    suite = root / kind
    suite.mkdir()
    module_loop = kind == "async-module"
    (suite / "pytest.ini").write_text(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
        if kind != "bare"
        else "[pytest]\n"
    )
    if kind == "bare":
        (suite / "conftest.py").write_text(BARE_RUNNER)
    for module in range(MODULES):
        lines = ["import pytest", ""]
        if module_loop:
            lines += ['pytestmark = pytest.mark.asyncio(loop_scope="module")', ""]
        for number in range(PER_MODULE):
            if kind == "sync":
                lines += [f"def test_{number}():", "    pass", ""]
            elif module_loop:
                lines += [f"async def test_{number}():", "    pass", ""]
            else:
                lines += ["@pytest.mark.asyncio", f"async def test_{number}():", "    pass", ""]
        (suite / f"test_m{module}.py").write_text("\n".join(lines))
    return suite


def timed_run(python: str, suite: Path, plugin_args: list[str], env: dict[str, str]) -> float:
    command = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin_args, str(suite)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=suite)
    elapsed = time.perf_counter() - start
    if result.returncode != 0 or f"{MODULES * PER_MODULE} passed" not in result.stdout:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return elapsed


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pytest-asyncio", metavar="PYTHON", help="a venv's python with it")
    parser.add_argument(
        "--asyncio-timeout",
        metavar="SECONDS",
        help="add the async suite run with --asyncio-timeout=SECONDS",
    )
    parser.add_argument("--baseline", metavar="SRC", help="another version's src folder")
    parser.add_argument("--micro", action="store_true", help="time the loop runner alone")
    args = parser.parse_args()
    if args.micro:
        micro(args.rounds)
        return
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        sys.exit("unset PYTHONDONTWRITEBYTECODE first: env -u PYTHONDONTWRITEBYTECODE ...")

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    ours_env = {
        **env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")])),
    }
    no_plugins = ["-p", "no:aioloop", "-p", "no:asyncio"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sync, asynchronous, module, bare = (
            write_suite(root, kind) for kind in ("sync", "async", "async-module", "bare")
        )
        ours = [*no_plugins, "-p", "pytest_aioloop.plugin"]
        variants: dict[str, tuple[str, Path, list[str], dict[str, str]]] = {
            "sync tests, pytest-aioloop loaded": (
                sys.executable,
                sync,
                [*no_plugins, "-p", "pytest_aioloop.plugin"],
                ours_env,
            ),
            "async tests, pytest-aioloop": (sys.executable, asynchronous, ours, ours_env),
            "async tests, module loop, pytest-aioloop": (sys.executable, module, ours, ours_env),
            "async tests, bare asyncio.Runner per test": (sys.executable, bare, no_plugins, env),
        }
        if args.asyncio_timeout:
            variants[f"async tests, pytest-aioloop, timeout {args.asyncio_timeout} s"] = (
                sys.executable,
                asynchronous,
                [
                    *no_plugins,
                    "-p",
                    "pytest_aioloop.plugin",
                    f"--asyncio-timeout={args.asyncio_timeout}",
                ],
                ours_env,
            )
        if args.baseline:
            baseline_env = {
                **env,
                "PYTHONPATH": os.pathsep.join(filter(None, [args.baseline, env.get("PYTHONPATH")])),
            }
            variants["async tests, pytest-aioloop baseline"] = (
                sys.executable,
                asynchronous,
                ours,
                baseline_env,
            )
            variants["async tests, module loop, pytest-aioloop baseline"] = (
                sys.executable,
                module,
                ours,
                baseline_env,
            )
        if args.pytest_asyncio:
            variants["sync tests, pytest-asyncio loaded"] = (args.pytest_asyncio, sync, [], env)
            variants["async tests, pytest-asyncio"] = (args.pytest_asyncio, asynchronous, [], env)
        # Bytecode caches are written once, so that no variant pays for them.
        for python, suite, plugin_args, variant_env in variants.values():
            timed_run(python, suite, plugin_args, variant_env)
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, (python, suite, plugin_args, variant_env) in variants.items():
                times[name].append(timed_run(python, suite, plugin_args, variant_env))

    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"{MODULES * PER_MODULE} tests per run, median of {args.rounds} alternating runs")
    print(f"python {sys.version.split()[0]}")
    baseline = medians["sync tests, pytest-aioloop loaded"]
    for name, median in medians.items():
        reference = baseline
        if "pytest-asyncio" in name:
            reference = medians["sync tests, pytest-asyncio loaded"]
        spread = f"{min(times[name]):.2f}-{max(times[name]):.2f}"
        per_test = (median - reference) / (MODULES * PER_MODULE) * 1e6
        print(
            f"  {name:50} {median:6.2f} s  ({spread})  "
            f"ratio {median / reference:4.2f}x  ({per_test:+5.0f} us/test)"
        )
        if "timeout" in name:
            untimed = medians["async tests, pytest-aioloop"]
            extra = (median - untimed) / (MODULES * PER_MODULE) * 1e6
            print(f"  {'':50} {median / untimed - 1:+6.1%} over no timeout ({extra:+.0f} us/test)")
    for name in [name for name in medians if name.endswith(" baseline")]:
        after = name.removesuffix(" baseline")
        change = (medians[after] - medians[name]) / (MODULES * PER_MODULE) * 1e6
        print(f"  {after}: {change:+.1f} us/test against the baseline")


if __name__ == "__main__":
    main()
