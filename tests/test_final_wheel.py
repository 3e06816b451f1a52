"""End to end: final/ as a user gets it, from a wheel, in a fresh venv with pytest only.

Not a scenario of the matrix (it has no ``aio`` fixture and runs once): it builds
a wheel of final/ (``pip wheel --no-deps``), installs it into a new venv next to
pytest and nothing else, and runs a small sample project there in strict and in
auto mode, with no ``-p`` option: the ``pytest11`` entry point must load the
plugin by itself. pip's cache keeps the build backend and pytest between runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT

SAMPLE = {
    "conftest.py": """
        import pytest_aioloop

        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def database():
            yield {"users": ["alice"]}
    """,
    "test_sample.py": """
        import asyncio

        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture
        async def client(database):
            await asyncio.sleep(0)
            yield lambda name: name in database["users"]

        @pytest.mark.asyncio
        async def test_marked(client):
            assert client("alice")

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop(database):
            assert database["users"] == ["alice"]

        def test_sync(unused_tcp_port):
            assert unused_tcp_port > 0
    """,
    "test_auto_only.py": """
        import asyncio

        import pytest

        @pytest.fixture
        async def plain_async_fixture():
            return 41

        async def test_unmarked(plain_async_fixture):
            await asyncio.sleep(0)
            assert plain_async_fixture + 1 == 42
    """,
}


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "PYTEST_"))}
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with pytest and a wheel of final/ installed, nothing else."""
    where = tmp_path_factory.mktemp("wheel")
    dist = where / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    wheel = run(*pip, "wheel", "--no-deps", "-w", dist, ROOT / "final")
    assert wheel.returncode == 0, wheel.stdout + wheel.stderr
    (built,) = dist.glob("pytest_aioloop-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", where / "venv"], check=True)
    python = where / "venv" / "bin" / "python"
    install = run(*pip, "--python", python, "install", built, "pytest")
    assert install.returncode == 0, install.stdout + install.stderr
    return where / "venv"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, text in SAMPLE.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    return tmp_path


def test_wheel_holds_the_package_and_entry_point(venv: Path) -> None:
    freeze = run(
        venv / "bin" / "python",
        "-c",
        "import importlib.metadata as m; "
        "print(sorted(d.metadata['Name'].lower() for d in m.distributions())); "
        "print([e.value for e in m.entry_points(group='pytest11')]); "
        "import pytest_aioloop, pathlib; "
        "print((pathlib.Path(pytest_aioloop.__file__).parent / 'py.typed').is_file())",
    )
    names, entry_points, typed = freeze.stdout.splitlines()
    assert "pytest-aioloop" in names
    assert "pytest-asyncio" not in names
    assert entry_points == "['pytest_aioloop.plugin']"
    assert typed == "True"


def test_sample_project_in_strict_mode(venv: Path, project: Path) -> None:
    result = run(venv / "bin" / "pytest", "-p", "no:cacheprovider", cwd=project)
    assert "plugins: aioloop-" in result.stdout, result.stdout
    # Strict: the unmarked test with its plain @pytest.fixture async fixture is not ours.
    assert "3 passed, 1 error" in result.stdout, result.stdout


def test_sample_project_in_auto_mode(venv: Path, project: Path) -> None:
    (project / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    result = run(venv / "bin" / "pytest", "-p", "no:cacheprovider", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout, result.stdout
    assert "asyncio: mode=auto" in result.stdout
