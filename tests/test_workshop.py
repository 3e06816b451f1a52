"""The workshop's exercises are current and honest, and the checker says so.

* Every exercise, ``stages/NN/exercise``, is what tests/workshop/exercises.py
  makes of its stage today (regenerated in memory and compared).
* An untouched exercise NN passes every scenario of the stages before NN and
  fails every scenario of stage NN: the learner has all of stage NN's work to
  do, and nothing else. Its solution, stage NN itself, passes them all: the
  matrix checks that already.
* The checker (``pytest --exercise NN``, tests/workshop/progress.py) reports
  both cases as a learner needs.

The exercises checked are the generated ones, written to a temporary folder,
not the files in stages/NN/exercise: those are a learner's to edit.
"""

from __future__ import annotations

import importlib.util
import itertools

import pytest
from conftest import ROOT, TARGETS, position
from workshop import exercises
from workshop.progress import NAME, Progress

STAGES = exercises.exercise_stages()


def scenario_files(stage: str) -> list[str]:
    """The scenario files of the stages up to ``stage``."""
    return [
        str(p)
        for p in sorted((ROOT / "tests").glob("test_[0-9][0-9]_*.py"))
        if position(p.name[5:7]) <= position(stage)
    ]


class _Config:
    """Keeps the config of a run, to find the checker's plugin in it afterwards."""

    config: pytest.Config

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config


def check(pytester: pytest.Pytester, spec: str, stage: str) -> tuple[Progress, list[str]]:
    """Run the checker, ``pytest --exercise SPEC``, in this process: its data and its report."""
    run = _Config()
    pytester.inline_run(
        *scenario_files(stage), "--exercise", spec, "-p", "no:cacheprovider", plugins=[run]
    )
    progress = run.config.pluginmanager.get_plugin(NAME)
    assert isinstance(progress, Progress)
    return progress, progress.one(stage)


def test_every_stage_but_the_first_has_an_exercise():
    stages = sorted(p.name for p in (ROOT / "stages").glob("[0-9][0-9]") if p.is_dir())
    assert stages[1:] == STAGES


@pytest.mark.parametrize("stage", STAGES)
def test_exercise_is_up_to_date(stage):
    stale = [str(p.relative_to(ROOT)) for p in exercises.stale(stage)]
    assert not stale, (
        f"{', '.join(stale)}: not what stage {stage} makes. After a change to the stage, "
        "run `python tests/workshop/exercises.py generate`. (In a workshop, your own "
        f"edits make this fail; `python tests/workshop/exercises.py reset {stage}` undoes them.)"
    )


@pytest.mark.parametrize("stage", STAGES)
def test_untouched_exercise_leaves_exactly_its_stage_to_do(stage, pytester, tmp_path):
    for path, text in exercises.exercise(stage).items():
        copy = tmp_path / path.relative_to(ROOT / "stages" / stage / "exercise")
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(text)
    progress, report = check(pytester, f"{stage}={tmp_path}", stage)

    scenarios = progress.of(stage)
    own = [s for s in scenarios if s.stage == stage]
    earlier = [s for s in scenarios if s.stage != stage]
    assert own, f"stage {stage} has no scenarios of its own"
    already = [s.name for s in own if s.outcome != "failed"]
    assert not already, (
        f"the untouched exercise {stage} already does this, so the learner cannot: "
        f"{', '.join(already)}. Cut the code that does it (an ex{stage}- section)."
    )
    broken = [s.name for s in earlier if s.outcome not in ("passed", "skipped")]
    assert not broken, (
        f"the untouched exercise {stage} fails scenarios of earlier stages: "
        f"{', '.join(broken)}. Its stubs must leave the earlier stages' behaviour alone."
    )
    # The report counts them and points at the first scenario of the stage.
    passed = sum(s.outcome == "passed" for s in scenarios)
    counted = sum(s.outcome != "skipped" for s in scenarios)
    assert f"{passed} of {counted} scenarios pass." in report[0]
    assert f"Next to make pass: {own[0].name} " in "\n".join(report)
    assert f"  Hint: {own[0].hint}" in report


def test_solved_exercise_is_reported_as_done(pytester):
    """The checker on a solved exercise (stage 02's own package): success and what next."""
    progress, report = check(pytester, f"02={ROOT / 'stages' / '02'}", "02")
    counted = len(progress.of("02"))
    assert report[0] == f"Exercise 02 (stages/02/pytest_aioloop): all {counted} scenarios pass."
    assert "Well done. Next:" in report
    assert any("exercises.py solution 02" in line for line in report)
    assert any("go on to exercise 03" in line for line in report)


def test_exercises_are_neither_stages_nor_tests():
    """`pytest stages/NN`, the stages' guard and the suite's targets ignore the exercises."""
    for stage in STAGES:
        folder = ROOT / "stages" / stage / "exercise"
        assert not [p.name for p in folder.rglob("*.py") if p.name.startswith("test_")]
        assert not (folder / "conftest.py").exists()
    assert not [t for t in TARGETS if "exercise" in t.path.parts]
    spec = importlib.util.spec_from_file_location("_stages_guard", ROOT / "stages" / "conftest.py")
    assert spec is not None
    assert spec.loader is not None
    guard = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(guard)
    assert guard._stages_in("stages/03/exercise", ROOT) == {"03"}


def test_exercise_markers_stay_in_every_later_stage():
    """A stage's ``exNN-`` markers stay, the same, in every later stage that keeps the code.

    So that ``diff -ru stages/04/pytest_aioloop stages/05/pytest_aioloop`` shows
    stage 05's step and nothing else. A section may go only with its code (stage
    06 drops the event_loop fixture, and its markers with it).
    """
    stages = exercises.stages()
    for previous, stage in itertools.pairwise(stages):
        path = f"{exercises.PACKAGE}/plugin.py"
        old_lines, old = exercises.parse((ROOT / "stages" / previous / path).read_text(), previous)
        new_text = (ROOT / "stages" / stage / path).read_text()
        _, new = exercises.parse(new_text, stage)
        kept = {s.name for s in new}
        here = [line.strip() for line in new_text.splitlines()]
        for section in old:
            if section.name in kept:
                continue
            code = [line.strip() for line in old_lines[section.start : section.end]]
            still_there = any(
                here[i : i + len(code)] == code for i in range(len(here) - len(code) + 1)
            )
            assert not still_there, (
                f"stage {stage} lost the markers of section {section.name} but kept its "
                f"code: copy the markers from stage {previous}"
            )
