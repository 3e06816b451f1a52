"""Guards the stages from each other.

Every stage ships a package with the same name, ``pytest_aioloop``, so that a
user's test file reads the same at every stage. Python imports a package once
per process: in one run over two stages, the second stage's tests would run
with the first stage's plugin. Refuse such a run before anything is collected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

STAGES = Path(__file__).resolve().parent


def _stages_in(arg: str, invocation_dir: Path) -> set[str]:
    path = (invocation_dir / arg.split("::")[0]).resolve()
    all_stages = {p.name for p in STAGES.iterdir() if (p / "pytest_aioloop").is_dir()}
    if path == STAGES or STAGES.is_relative_to(path):
        return all_stages
    if path.is_relative_to(STAGES):
        return {path.relative_to(STAGES).parts[0]}
    return set()


def pytest_configure(config: pytest.Config) -> None:
    stages: set[str] = set()
    for arg in config.args:
        stages |= _stages_in(arg, config.invocation_params.dir)
    if len(stages) > 1:
        first = min(stages)
        raise pytest.UsageError(
            f"this run covers stages {', '.join(sorted(stages))}, but each stage has its own "
            f"pytest_aioloop and one process can import only one: run one stage at a time, "
            f"e.g. `pytest stages/{first}`."
        )
