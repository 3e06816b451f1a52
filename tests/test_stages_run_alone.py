"""Each stage directory is a runnable lesson: `pytest stages/NN` passes, alone.

These run real `pytest` processes from the repository root, exactly as a
reader would, so they also see whatever this environment has installed (such
as final/, with its `aioloop` entry point): the root configuration must keep
it out of a stage's run.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT, TARGETS

STAGES = [t for t in TARGETS if t.name != "final"]


def run_pytest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("stage", STAGES, ids=lambda t: t.name)
def test_stage_examples_pass(stage):
    result = run_pytest(
        f"stages/{stage.name}", "-q", "-W", "error::pytest.PytestUnknownMarkWarning"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


@pytest.mark.parametrize("stage", STAGES, ids=lambda t: t.name)
def test_stage_run_loads_its_own_plugin(stage):
    """The stage's own package is the plugin, whatever else is installed."""
    result = run_pytest(
        f"stages/{stage.name}",
        "--collect-only",
        "-q",
        "--trace-config",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    loaded = [
        line
        for line in result.stdout.splitlines()
        if "registered" in line and "pytest_aioloop" in line
    ]
    assert loaded, result.stdout
    assert all(f"stages/{stage.name}/pytest_aioloop" in line for line in loaded), loaded


def test_two_stages_in_one_run_are_refused():
    result = run_pytest("stages/02", "stages/03")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "run one stage at a time" in result.stderr
    assert "passed" not in result.stdout


def test_all_stages_in_one_run_are_refused():
    result = run_pytest("stages")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "run one stage at a time, e.g. `pytest stages/01`" in result.stderr


def test_final_is_installed_beside_the_stages():
    """The README's set-up installs final/, so the stage runs above meet it.

    pytest loads an installed pytest11 entry point into every run; the stage
    runs above prove that final/'s `aioloop` stays out of them.
    """
    from importlib.metadata import entry_points

    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins.get("aioloop") == "pytest_aioloop.plugin", plugins
