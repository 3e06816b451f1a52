"""The workshop's checker: what ``pytest --exercise 03`` prints.

``pytest --exercise 03`` runs the shared suite's scenarios of stages 01 to 03
(tests/workshop/selection.py says which) against the learner's plugin,
``stages/03/exercise/pytest_aioloop`` (the harness, tests/conftest.py, does the
running). This plugin, which the harness registers for such a run, turns the
outcome into a report for a learner:

* how many scenarios pass, grouped by the stage that brings them (their
  ``@pytest.mark.since("NN")``, wherever in tests/ they live; the docstring of
  ``tests/test_NN_*.py`` says what stage NN adds), and whether the run
  checked fewer than the exercise's scenarios;
* the first failing scenario of the earliest stage, with what it checks (its
  docstring), what its own small pytest run said, and the command that shows
  all of it;
* with ``--hint``, the next hint on that scenario's part of the plugin
  (tests/workshop/hints.py), one per run: the place in each topic's hints is
  kept in pytest's cache (``.pytest_cache/v/aioloop-workshop/hints-seen``,
  which git ignores), so it survives between runs; without ``--hint``, which
  hint comes next;
* on success, what to read and do next.

``pytest --exercise all`` (or several ``--exercise``) prints the progress of
every exercise instead. Tracebacks and the list of failures are left out of
such runs unless the command line asks for them (``--tb=short``, ``-rf``):
the report is the point.

pytest and the standard library only: a workshop room installs nothing else.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from workshop import hints, selection

ROOT = Path(__file__).resolve().parents[2]
NAME = "aioloop-workshop-progress"
# Where `--hint` keeps its place, in pytest's cache (.pytest_cache/ at the
# rootdir, which git ignores): {topic key: how many of its hints were shown}.
HINTS_SEEN = "aioloop-workshop/hints-seen"


@dataclass
class Scenario:
    """One scenario run against one exercise, and how it went."""

    nodeid: str
    name: str  # test_marked_async_test_passes
    file: str  # tests/test_03_async_tests.py
    line: int
    stage: str  # the stage that brings it, where it must pass from: @pytest.mark.since("03")
    exercise: str  # the exercise it checks: 03
    hint: str  # its docstring
    superseded: str | None  # why it must fail at the exercise's stage, if it must
    outcome: str = "not run"  # passed, failed or skipped
    check: list[str] = field(default_factory=list)  # the scenario's failed check
    said: list[str] = field(default_factory=list)  # what the pytest run inside it said


def paragraph(text: str | None) -> str:
    """The first paragraph of a docstring, on one line, with ``code`` shown as `code`."""
    first = (text or "").strip().split("\n\n")[0]
    return " ".join(first.split()).replace("``", "`")


def flat(text: str | None) -> str:
    return " ".join((text or "").split()).replace("``", "`")


def relative(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _inner_lines(output: str) -> list[str]:
    """What the scenario's own pytest run said: its first failure, and its summary."""
    lines = [line.rstrip() for line in output.splitlines()]
    # The first failure or error section, from its "____ name ____" header on.
    block: list[str] = []
    for index, line in enumerate(lines):
        if re.fullmatch(r"_{3,} .+ _{3,}", line):
            for following in lines[index + 1 :]:
                if re.fullmatch(r"(_{3,} .+ _{3,}|={3,}.*)", following):
                    break
                block.append(following)
            break
    said = [line for line in block if line.startswith("E ")][:4]
    if not said:
        # pytest's own refusals ("async def functions are not natively supported")
        # and some collection errors have no E line: their first lines say it.
        said = [line for line in block if line.strip()][:2]
    summary = [line for line in lines if re.match(r"(FAILED|ERROR|XPASS|XFAIL) \S", line)]
    return said + summary[:3]


def _crash(report: pytest.TestReport) -> list[str]:
    """The scenario's own failed check, without pytest's advice on verbosity."""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = crash.message if crash is not None else str(report.longrepr)
    return [
        line.rstrip()
        for line in message.splitlines()
        if line.strip() and not line.lstrip().startswith(("Omitting", "Use -v", "Full diff"))
    ][:8]


def _wrap(text: str, indent: str = "  ") -> list[str]:
    """``text`` in lines of 88 columns, never broken inside `code` or a link."""
    keep = re.sub(r"`[^`]*`", lambda m: m[0].replace(" ", "\0"), text)
    lines = textwrap.wrap(
        keep,
        width=88,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [line.replace("\0", " ") for line in lines]


class Progress:
    """Collects every scenario's outcome and prints the learner's report at the end."""

    def __init__(self, config: pytest.Config, specs: dict[str, str]) -> None:
        self.config = config
        self.specs = specs  # exercise stage -> the --exercise value that named it
        self.scenarios: dict[str, Scenario] = {}
        self.paths: dict[str, Path] = {}  # exercise stage -> its directory
        self.groups: dict[str, str] = {}  # stage -> what it adds
        self.hint = bool(config.getoption("hint", False))
        self.given: dict[str, int] = {}  # topic key -> hints seen before this run
        given = config.invocation_params.args
        if not any(str(a).startswith("--tb") for a in given):
            config.option.tbstyle = "no"
        if not any(re.fullmatch(r"-r\w*", str(a)) for a in given):
            config.option.reportchars = "N"

    # -- collecting outcomes --------------------------------------------------

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            callspec = getattr(item, "callspec", None)
            target: Any = callspec.params.get("target") if callspec else None
            if target is None or not isinstance(item, pytest.Function):
                continue
            since = item.get_closest_marker("since")
            if since is None:
                continue  # not a scenario (the harness refuses those anyway)
            path, line, _ = item.location
            xfail = item.get_closest_marker("xfail")
            stage = since.args[0]
            self.paths[target.name] = target.path
            if stage not in self.groups:
                self.groups[stage] = selection.what_stage_brings(stage, ROOT)
            self.scenarios[item.nodeid] = Scenario(
                nodeid=item.nodeid,
                name=item.originalname,
                file=path,
                line=(line or 0) + 1,
                stage=stage,
                exercise=target.name,
                hint=flat(item.function.__doc__),
                superseded=xfail.kwargs.get("reason") if xfail else None,
            )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        scenario = self.scenarios.get(report.nodeid)
        if scenario is None or scenario.outcome == "failed":
            return
        if report.failed:
            scenario.outcome = "failed"
            if hasattr(report, "wasxfail"):  # a strict xfail that passed
                scenario.check = [f"It passed, but it must fail here: {scenario.superseded}."]
            else:
                scenario.check = _crash(report)
            scenario.said = _inner_lines(report.capstdout)
        elif report.when == "call" or (report.skipped and report.when == "setup"):
            if hasattr(report, "wasxfail"):
                scenario.outcome = "passed"  # it failed, as it must at this stage
            else:
                scenario.outcome = "skipped" if report.skipped else "passed"

    # -- the report -------------------------------------------------------------

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        write = terminalreporter.write_line
        exercises = sorted({s.exercise for s in self.scenarios.values()})
        if not exercises:
            return
        terminalreporter.write_sep("=", "workshop")
        lines = self.one(exercises[0]) if len(exercises) == 1 else self.overview(exercises)
        for line in lines:
            write(line)

    def of(self, exercise: str) -> list[Scenario]:
        return [s for s in self.scenarios.values() if s.exercise == exercise]

    def command(self, exercise: str) -> str:
        return f"pytest --exercise {self.specs.get(exercise, exercise)}"

    def one(self, exercise: str) -> list[str]:
        """The report of one exercise: progress by stage, then the next step."""
        scenarios = self.of(exercise)
        counted = [s for s in scenarios if s.outcome != "skipped"]
        passed = [s for s in counted if s.outcome == "passed"]
        where = relative(self.paths[exercise] / "pytest_aioloop")
        done = len(passed) == len(counted)
        noun = "scenario passes" if len(counted) == 1 else "scenarios pass"
        if done:
            head = f"Exercise {exercise} ({where}): all {len(counted)} {noun}."
        else:
            head = f"Exercise {exercise} ({where}): {len(passed)} of {len(counted)} {noun}."
        lines = [head, ""]
        for stage, label in sorted(self.groups.items()):
            group = [s for s in counted if s.stage == stage]
            if not group:
                continue
            ok = sum(s.outcome == "passed" for s in group)
            mark = "ok" if ok == len(group) else "  "
            lines.append(f"  stage {stage} {ok:>3} of {len(group):<3} {mark}  {label}")
        skipped = len(scenarios) - len(counted)
        if skipped:
            lines.append(f"  ({skipped} skipped here, not counted)")
        every = len(selection.checked_by(exercise, ROOT))
        if len(scenarios) < every:
            lines.append(
                f"  (this run checked {len(scenarios)} of the exercise's {every} scenarios: "
                f"`{self.command(exercise)}` checks them all)"
            )
        lines.append("")
        if done:
            lines += self.next_steps(exercise)
        else:
            lines += self.first_failure(self.next_to_fix(counted))
        return lines

    @staticmethod
    def next_to_fix(counted: list[Scenario]) -> Scenario:
        """The first failing scenario of the earliest stage: what broke first comes first."""
        failed = [s for s in counted if s.outcome != "passed"]
        return min(failed, key=lambda s: s.stage)  # min() keeps the first of equals

    def first_failure(self, scenario: Scenario) -> list[str]:
        lines = [
            f"Next to make pass: {scenario.name} ({scenario.file}:{scenario.line}, "
            f"stage {scenario.stage})",
            f"  It checks: {scenario.hint or '(no docstring)'}",
        ]
        if scenario.outcome == "not run":
            lines.append("  It did not run: see pytest's own messages above.")
        if scenario.check:
            lines.append("  The scenario's check:")
            lines += [f"    {line}" for line in scenario.check]
        if scenario.said:
            lines.append("  The pytest run inside the scenario said:")
            lines += [f"    {line}" for line in scenario.said]
        lines += [
            "  All of it:",
            f'    pytest "{scenario.nodeid}" --exercise '
            f"{self.specs.get(scenario.exercise, scenario.exercise)} --tb=short",
        ]
        return lines + self.hint_for(scenario)

    # -- hints, one at a time ----------------------------------------------------

    def hint_for(self, scenario: Scenario) -> list[str]:
        """With ``--hint``, the next hint about the failing scenario; else how to get one."""
        exercise = scenario.exercise
        topic = hints.for_scenario(exercise, scenario.name)
        if topic is None:
            if scenario.stage == exercise:
                return []  # tests/test_workshop.py sees to it that this does not happen
            return [
                "",
                f"This scenario is stage {scenario.stage}'s, which the untouched exercise "
                f"{exercise} passes: a change of yours broke it. `git diff "
                f"{relative(self.paths[exercise])}` shows your changes; the hints are for "
                f"stage {exercise}'s own scenarios.",
            ]
        cache = getattr(self.config, "cache", None)  # None with -p no:cacheprovider
        seen: dict[str, int] = (cache.get(HINTS_SEEN, {}) if cache is not None else {}) or {}
        total = len(topic.hints)
        # One step per run, however often the report is asked for.
        if topic.key not in self.given:
            self.given[topic.key] = seen.get(topic.key, 0)
        shown = self.given[topic.key]
        if not self.hint:
            if shown < total:
                offer = f"shows hint {shown + 1} of {total}"
            else:
                offer = f"shows the last of its {total} hints again"
            return [
                "",
                *_wrap(
                    f'Stuck? `{self.command(exercise)} --hint` {offer} on "{topic.title}", '
                    "one per run.",
                    indent="",
                ),
            ]
        number = min(shown + 1, total)
        if cache is not None and seen.get(topic.key, 0) != number:
            seen[topic.key] = number
            cache.set(HINTS_SEEN, seen)
        title, text = topic.hints[number - 1]
        lines = ["", f'Hint {number} of {total} on "{topic.title}": {title.lower()}']
        lines += _wrap(hints.plain(text))
        solution = f"`python tests/workshop/exercises.py solution {exercise}`"
        if cache is None:
            then = (
                "(pytest's cache is off in this run, so the next --hint shows this one "
                "again: drop `-p no:cacheprovider`.)"
            )
        elif number < total:
            then = f"Try it; `{self.command(exercise)} --hint` again for the next."
        elif shown >= total:
            then = f"No more hints on this; the solution is the stage's own code: {solution}."
        else:
            then = f"That was the last hint on this. Still stuck? The solution: {solution}."
        lines += _wrap(then)
        return lines

    def next_steps(self, exercise: str) -> list[str]:
        chapter = sorted((ROOT / "docs" / "tutorial").glob(f"{exercise}-*.md"))
        later = sorted(
            p.parents[2].name
            for p in (ROOT / "stages").glob("*/exercise/pytest_aioloop/plugin.py")
            if p.parents[2].name > exercise
        )
        lines = [
            "Well done. Next:",
            f"  * compare your code with stage {exercise}'s own: "
            f"python tests/workshop/exercises.py solution {exercise}",
        ]
        if chapter:
            lines.append(
                f"  * read the chapter of stage {exercise}: {relative(chapter[0])}"
                " (or `mkdocs serve`)"
            )
        if later:
            lines.append(
                f"  * go on to exercise {later[0]}: docs/workshop/exercise-{later[0]}.md, "
                f"then pytest --exercise {later[0]}"
            )
        else:
            lines.append("  * that was the last exercise: see how final/ grows stage 06 up")
        return lines

    def overview(self, exercises: list[str]) -> list[str]:
        """Every exercise in one table: how far along, and what is next."""
        lines = ["Workshop progress:", ""]
        done = []
        for exercise in exercises:
            counted = [s for s in self.of(exercise) if s.outcome != "skipped"]
            passed = sum(s.outcome == "passed" for s in counted)
            own = [s for s in counted if s.stage == exercise]
            own_passed = sum(s.outcome == "passed" for s in own)
            every = len(selection.checked_by(exercise, ROOT))
            if passed == len(counted) and len(self.of(exercise)) < every:
                state = f"all pass, but this run checked {len(self.of(exercise))} of {every}"
            elif passed == len(counted):
                done.append(exercise)
                state = "done"
            else:
                state = f"next: {self.next_to_fix(counted).name}"
            lines.append(
                f"  exercise {exercise}  {passed:>3} of {len(counted):<3} "
                f"(stage {exercise}'s own: {own_passed:>2} of {len(own):<2})  {state}"
            )
        todo = [e for e in exercises if e not in done]
        lines += ["", f"{len(done)} of {len(exercises)} exercises done."]
        if todo:
            lines.append(f"Carry on with: {self.command(todo[0])}")
            if self.hint and any(s.outcome != "passed" for s in self.of(todo[0])):
                counted = [s for s in self.of(todo[0]) if s.outcome != "skipped"]
                lines += self.hint_for(self.next_to_fix(counted))
        return lines
