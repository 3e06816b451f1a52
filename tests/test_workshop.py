"""The workshop's exercises are current and honest, and its pages say what the checker does.

* Every exercise, ``stages/NN/exercise``, is what tests/workshop/exercises.py
  makes of its stage today (regenerated in memory and compared).
* An untouched exercise NN passes every scenario of the stages before NN and
  fails every scenario of stage NN: the learner has all of stage NN's work to
  do, and nothing else. Its solution, stage NN itself, passes them all: the
  matrix checks that already.
* Every cut is needed: the stage's solution with only that one part cut out
  fails at least one of the exercise's scenarios.
* The checker (``pytest --exercise NN``, tests/workshop/progress.py) runs every
  scenario of stages up to NN, wherever it lives in tests/: the selection the
  pages list (tests/workshop/selection.py); it reports both cases as a learner
  needs, and gives hints one at a time (``--hint``).
* Each common mistake a page names (tests/workshop/mistakes.py), made on the
  stage's solution, fails exactly the scenarios the page names; every scenario
  of an exercise has its hints (tests/workshop/hints.py), from the idea to the
  code.

The exercises checked are the generated ones, written to a temporary folder,
not the files in stages/NN/exercise: those are a learner's to edit.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from conftest import ROOT, TARGETS
from workshop import exercises, hints, mistakes, selection
from workshop.progress import HINTS_SEEN, NAME, Progress

STAGES = exercises.exercise_stages()


class _Config:
    """Keeps the config of a run, to find the checker's plugin in it afterwards."""

    config: pytest.Config

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config


def check(
    pytester: pytest.Pytester, spec: str, stage: str, *args: str, cache: Path | None = None
) -> tuple[Progress, list[str]]:
    """Run the checker, ``pytest --exercise SPEC``, in this process: its data and its report.

    On the whole of tests/, as a learner's ``pytest --exercise NN`` does (the
    harness picks the files), unless ``args`` name files; ``cache`` is pytest's
    cache directory for the run (none by default).
    """
    run = _Config()
    where = [] if any(a.endswith(".py") for a in args) else [str(ROOT / "tests")]
    caching = ["-o", f"cache_dir={cache}"] if cache else ["-p", "no:cacheprovider"]
    pytester.inline_run(*where, *args, "--exercise", spec, *caching, plugins=[run])
    progress = run.config.pluginmanager.get_plugin(NAME)
    assert isinstance(progress, Progress)
    return progress, progress.one(stage)


def write_exercise(stage: str, folder: Path, only: frozenset[str] | None = None) -> Path:
    """Exercise ``stage`` as generated (``only``: just those cuts), written into ``folder``."""
    for path, text in exercises.exercise(stage, only).items():
        copy = folder / path.relative_to(ROOT / "stages" / stage / "exercise")
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(text)
    return folder


def failed(progress: Progress, stage: str) -> set[str]:
    return {s.name for s in progress.of(stage) if s.outcome not in ("passed", "skipped")}


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
    progress, report = check(pytester, f"{stage}={write_exercise(stage, tmp_path)}", stage)

    scenarios = progress.of(stage)
    # The checker runs the selection the pages list: every scenario of the stages
    # up to this one, wherever it is in tests/ (and nothing else).
    ran = [(s.file, s.name) for s in scenarios]
    assert sorted(ran) == sorted((s.file, s.name) for s in selection.checked_by(stage))
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
    # The report counts them by stage and points at the first scenario of the stage.
    passed = sum(s.outcome == "passed" for s in scenarios)
    counted = sum(s.outcome != "skipped" for s in scenarios)
    assert f"{passed} of {counted} scenarios pass." in report[0]
    rows = [line for line in report if line.startswith("  stage ")]
    assert [line.split()[1] for line in rows] == sorted({s.stage for s in scenarios})
    assert f"  stage {stage}   0 of {len(own):<3}" in "\n".join(rows)
    assert f"Next to make pass: {own[0].name} " in "\n".join(report)
    assert f"  It checks: {own[0].hint}" in report


def test_the_scenarios_declared_are_the_scenarios_collected():
    """selection.py reads the declarations with ast: a real collection must agree."""
    script = """
import json, sys, pytest

class Record:
    def pytest_collection_finish(self, session):
        found = set()
        for item in session.items:
            marker = item.get_closest_marker("since")
            if marker is not None:
                found.add((f"tests/{item.path.name}", item.originalname, marker.args[0]))
        print("SCENARIOS=" + json.dumps(sorted(found)))

sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
                     plugins=[Record()]))
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("SCENARIOS="))
    collected = {tuple(x) for x in json.loads(line.removeprefix("SCENARIOS="))}
    assert {(s.file, s.name, s.since) for s in selection.scenarios()} == collected


def test_the_checker_reports_by_the_stage_a_scenario_declares(pytester):
    """A scenario of stage 03 kept in tests/test_final_loops.py counts in stage 03's row."""
    file = "tests/test_final_loops.py"
    own = [s for s in selection.brought_by("03") if s.file == file]
    assert own, f"{file} has no scenario of stage 03 any more: pick another file"
    progress, report = check(pytester, f"03={ROOT / 'stages' / '03'}", "03", str(ROOT / file))
    assert [s.name for s in progress.of("03")] == [s.name for s in own]
    assert not any("??" in line for line in report)
    assert any(line.startswith(f"  stage 03   {len(own)} of {len(own)}") for line in report)
    every = len(selection.checked_by("03"))
    assert f"  (this run checked {len(own)} of the exercise's {every} scenarios: " in "\n".join(
        report
    )


def test_the_checker_needs_pytest_alone():
    """A workshop room installs pytest only: the files the checker imports need nothing else."""
    modules = [ROOT / f for f in selection.files(STAGES[-1])]
    modules += [*sorted((ROOT / "tests" / "workshop").glob("*.py")), ROOT / "tests" / "conftest.py"]
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                allowed = top in sys.stdlib_module_names or top in ("pytest", "_pytest", "workshop")
                optional = top == "hypothesis"  # tests/conftest.py: imported if present
                assert allowed or optional, f"{path.relative_to(ROOT)} imports {name}"


def test_solved_exercise_is_reported_as_done(pytester):
    """The checker on a solved exercise (stage 02's own package): success and what next."""
    progress, report = check(pytester, f"02={ROOT / 'stages' / '02'}", "02")
    counted = len(progress.of("02"))
    assert report[0] == f"Exercise 02 (stages/02/pytest_aioloop): all {counted} scenarios pass."
    assert "Well done. Next:" in report
    assert any("exercises.py solution 02" in line for line in report)
    assert any("go on to exercise 03" in line for line in report)


CUTS = [(stage, name) for stage in STAGES for name in exercises.sections(stage)]


@pytest.mark.parametrize(("stage", "section"), CUTS, ids=[name for _, name in CUTS])
def test_every_cut_is_needed(stage, section, pytester, tmp_path):
    """The stage's solution with only this part cut out fails a scenario of the exercise.

    Otherwise the learner could leave the part unwritten and still pass: the
    untouched exercise cannot show it, since its other cuts fail everything.
    """
    folder = write_exercise(stage, tmp_path, frozenset({section}))
    files = selection.files(stage)
    # Its own stage's scenarios first, and stop at the first failure: one is enough.
    ordered = sorted(files, key=lambda f: not f.startswith(f"tests/test_{stage}_"))
    progress, _ = check(
        pytester, f"{stage}={folder}", stage, *[str(ROOT / f) for f in ordered], "-x"
    )
    assert failed(progress, stage), (
        f"stage {stage}'s solution with only {section} cut out passes every scenario of "
        f"exercise {stage}: no scenario needs that part. Add one that does, or do not cut it."
    )


@pytest.mark.parametrize(
    "mistake",
    mistakes.MISTAKES,
    ids=[f"{m.exercise}-{mistakes.of(m.exercise).index(m) + 1}" for m in mistakes.MISTAKES],
)
def test_common_mistake_fails_exactly_the_scenarios_its_page_names(mistake, pytester, tmp_path):
    stage = mistake.exercise
    package = tmp_path / exercises.PACKAGE
    shutil.copytree(
        ROOT / "stages" / stage / exercises.PACKAGE,
        package,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    plugin = package / "plugin.py"
    plugin.write_text(mistakes.apply(mistake, plugin.read_text()))
    progress, _ = check(pytester, f"{stage}={tmp_path}", stage)
    assert failed(progress, stage) == set(mistake.caught_by)


def test_every_scenario_of_an_exercise_has_one_topic_of_hints():
    for stage in STAGES:
        own = [s.name for s in selection.brought_by(stage)]
        topics = {name: [t.title for t in hints.of(stage) if name in t.scenarios] for name in own}
        assert {n: t for n, t in topics.items() if len(t) != 1} == {}, (
            f"exercise {stage}: every scenario of stage {stage} needs exactly one topic in "
            "tests/workshop/hints.py"
        )
        listed = {n for t in hints.of(stage) for n in t.scenarios}
        assert listed <= set(own), f"hints of exercise {stage} name other stages' scenarios"


CODE_SPAN = re.compile(r"`([^`]+)`")


@pytest.mark.parametrize("topic", hints.TOPICS, ids=[t.key for t in hints.TOPICS])
def test_hints_go_from_the_idea_to_the_code(topic):
    """The idea names no code to write; the second says where to read; the third is code."""
    # Names are fine (`asyncio.run()`, `loop_scope=`); a call with arguments or an
    # assignment is a line to write.
    written = [s for s in CODE_SPAN.findall(topic.idea) if re.search(r"\w\([^)]|\s=\s", s)]
    assert not written, f"{topic.key}: the first hint is the idea, not code: {written}"
    assert re.search(r"<https://|docs/concepts/|help\(|python -c|hookspec", topic.look_up), (
        f"{topic.key}: the second hint says where to read (a page, a contract)"
    )
    assert CODE_SPAN.search(topic.code), f"{topic.key}: the third hint comes close to the code"
    assert topic.idea != topic.look_up != topic.code


def test_mistakes_are_made_on_code_the_stage_has():
    for mistake in mistakes.MISTAKES:
        source = (ROOT / "stages" / mistake.exercise / exercises.PACKAGE / "plugin.py").read_text()
        assert mistakes.apply(mistake, source) != source


def test_hint_flow_gives_the_next_hint_one_run_at_a_time(pytester, tmp_path):
    """``--hint`` shows hint 1, 2, 3 of the failing scenario's topic, one per run."""
    folder = write_exercise("02", tmp_path / "exercise")
    cache = tmp_path / "cache"
    topic = hints.for_scenario("02", selection.brought_by("02")[0].name)
    assert topic is not None

    _, report = check(pytester, f"02={folder}", "02", cache=cache)
    assert "--hint` shows hint 1 of 3" in " ".join(" ".join(report).split()), report
    assert not any(line.startswith("Hint ") for line in report)

    shown = []
    for _ in range(4):
        progress, _ = check(pytester, f"02={folder}", "02", "--hint", cache=cache)
        report = progress.one("02")
        lines = [line for line in report if line.startswith("Hint ")]
        assert len(lines) == 1, report
        shown.append(lines[0])
        text = " ".join(" ".join(report[report.index(lines[0]) + 1 :]).split())
        number = len(shown) if len(shown) <= 3 else 3
        first_words = " ".join(hints.plain(topic.hints[number - 1][1]).split()[:6])
        assert first_words in text
    assert [line.split(" on ")[0] for line in shown] == [
        "Hint 1 of 3",
        "Hint 2 of 3",
        "Hint 3 of 3",
        "Hint 3 of 3",
    ]
    assert "No more hints on this" in " ".join(" ".join(report).split())
    # The place is in pytest's cache, which git does not see.
    stored = json.loads((cache / "v" / HINTS_SEEN).read_text())
    assert stored == {topic.key: 3}


def test_a_broken_earlier_stage_gets_no_hint_of_this_one(pytester, tmp_path):
    """A stage-02 scenario that a change to exercise 03 breaks: the report says so."""
    mistake = next(m for m in mistakes.of("03") if m.caught_by[0].startswith("test_event_loop"))
    package = tmp_path / exercises.PACKAGE
    shutil.copytree(
        ROOT / "stages" / "03" / exercises.PACKAGE,
        package,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (package / "plugin.py").write_text(mistakes.apply(mistake, (package / "plugin.py").read_text()))
    _, report = check(
        pytester, f"03={tmp_path}", "03", str(ROOT / "tests" / "test_02_loop_fixture.py")
    )
    text = "\n".join(report)
    assert "Next to make pass: test_event_loop_fixture_closes_loop_after_failure" in text
    assert "This scenario is stage 02's, which the untouched exercise 03 passes" in text


def generator() -> ModuleType:
    """docs/hooks/generate.py, the build-time generator, imported by path."""
    spec = importlib.util.spec_from_file_location(
        "_aioloop_docs_generate_for_workshop", ROOT / "docs" / "hooks" / "generate.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("stage", STAGES)
def test_exercise_page_takes_its_lists_hints_and_mistakes_from_the_data(stage):
    text = (ROOT / "docs" / "workshop" / f"exercise-{stage}.md").read_text()
    for directive in ("exercise-scenarios", "exercise-hints", "exercise-mistakes"):
        assert f"[% {directive} {stage} %]" in text
    assert "??? tip" not in text, "hints are tests/workshop/hints.py, shown by a directive"
    # A sample run of the checker is of a pristine copy, never the working tree's exercise.
    assert "[% run --exercise" not in text


def test_sample_runs_are_of_a_pristine_copy(monkeypatch, tmp_path):
    """The pages' runs of the checker see the exercise as generated, not as edited."""
    module = generator()
    ran = {}

    def record(args, cwd, extra_env=None):
        exercise = cwd / "stages" / "03" / "exercise" / exercises.PACKAGE / "plugin.py"
        ran["plugin"] = exercise.read_text()
        ran["others"] = sorted(p.parent.name for p in (cwd / "stages").glob("*/exercise"))
        return "output", 1

    monkeypatch.setattr(module, "_pytest_run", record)
    assert module.run_exercise("03", "untouched") == "$ pytest --exercise 03\noutput"
    assert ran["plugin"] == exercises.generate_module("03", "plugin.py")
    assert ran["others"] == ["03"]


def test_the_tutorial_and_the_checker_count_the_same_scenarios():
    """A chapter's lists (docs/hooks/generate.py) and the checker's selection agree."""
    docs = generator().scenarios()
    for stage in STAGES:
        listed = {s.name for s in docs if s.since == stage}
        assert listed == {s.name for s in selection.brought_by(stage)}, stage


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
