"""The workshop's exercises: generate them from the stages, reset one, show a solution.

    python tests/workshop/exercises.py reset 03     # exercise 03 as it was (your edits are lost)
    python tests/workshop/exercises.py solution 03  # the diff from your exercise 03 to stage 03
    python tests/workshop/exercises.py generate     # rewrite every exercise from its stage
    python tests/workshop/exercises.py check        # exit 1 if an exercise is not up to date

(Checking your work is pytest's job: ``pytest --exercise 03``; see tests/workshop/progress.py.)

Exercise NN is stage NN's package, ``stages/NN/pytest_aioloop``, with the parts
that stage NN adds cut out, written to ``stages/NN/exercise/pytest_aioloop``.
The parts to cut are marked in the stage's source with the named sections that
pymdownx.snippets understands (the docs drop these lines from every listing)::

    # --8<-- [start:ex03-own-arguments]
    def _own_arguments(item: pytest.Function) -> dict[str, object]:
        ...
        # --8<-- [end:ex03-own-arguments]

(an end marker at the indentation of the body keeps ``ruff format`` from
putting blank lines before it).

A section named ``exNN-...`` is cut from exercise NN only. Its markers stay, the
same, in every later stage, so that the diff from one stage to the next shows
the step and nothing else; later exercises just drop the marker lines. A cut
section becomes, in the exercise:

* if the section is one function that stage NN-1 did not have: a stub of it,
  with its signature and docstring (decorators and comments go), a
  ``TODO(exercise NN)`` comment and a body that does nothing: ``pass`` or
  ``return None`` for a hook (so pytest goes on as if the hook were absent),
  ``raise NotImplementedError`` for anything else;
* otherwise, stage NN changed code that stage NN-1 had: the section becomes
  stage NN-1's version of those lines (found by a diff of the two stages) under
  a ``TODO(exercise NN)`` comment that says what to change; for new code inside
  a function, that is the TODO alone (``NEW_CODE`` settles the rare case where
  the diff cannot tell).

Either way an untouched exercise NN behaves like stage NN-1, which is what
tests/test_workshop.py holds it to: it passes every scenario of the stages
before NN and fails every scenario of stage NN. The TODO texts are
``GUIDANCE`` below, one per section; a section without one is an error.

Python's standard library only: a workshop room has nothing else to install.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import io
import itertools
import re
import sys
import textwrap
import tokenize
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGES = ROOT / "stages"
PACKAGE = "pytest_aioloop"

# What the TODO comment of each cut section says: what that part must do, and
# why, in a sentence or two; not how (no call to write, no line to copy). The
# hints that lead from the idea to the code are tests/workshop/hints.py, shown
# one at a time by the pages and by `pytest --exercise NN --hint`.
GUIDANCE: dict[str, str] = {
    "ex02-event-loop": (
        "make this a fixture that gives each test that asks for it a new event loop of its "
        "own, and closes that loop once the test is over, whether it passed or failed."
    ),
    "ex03-marker": (
        "register the `asyncio` marker, so that --strict-markers accepts it and "
        "`pytest --markers` says what it does."
    ),
    "ex03-pyfunc-call": (
        "pytest calls each test function through this hook. Take over the `async def` "
        "tests marked `asyncio`: run each to its end in a new event loop, closed whatever "
        "happens, and tell pytest that the test has been called. Leave every other test "
        "to pytest, and warn about a sync test that carries the marker itself."
    ),
    "ex03-own-arguments": (
        "the arguments to call the test function with: the values of the fixtures it "
        "takes, by name (the test may have more fixtures than the function takes)."
    ),
    "ex04-loop-of": (
        "the event loop of this node (a test, a module...): made when something first "
        "needs it, and closed when pytest tears the node down, so that it lives exactly "
        "as long as the node."
    ),
    "ex04-fixture-setup": (
        "pytest sets each fixture up through this hook, and refuses async ones itself. "
        "Take over the async fixtures (coroutine and async generator functions): run each "
        "in the loop of the node it is cached on, with its own arguments, record its "
        "value or its error where pytest looks for it, and for an async generator, leave "
        "the part after its `yield` for the fixture's teardown. Leave sync fixtures to "
        "pytest."
    ),
    "ex04-tear-down": (
        "run the async generator fixture from its `yield` to its end in `loop`; a fixture "
        "that yields a second time is an error that names it."
    ),
    "ex04-test-loop": (
        "run the test in its own node's loop, the one its function-scoped async fixtures "
        "use, instead of a loop of its own: that loop stays open for their teardown."
    ),
    "ex05-addoption": (
        "declare the `asyncio_mode` ini option (strict by default) and the "
        "`--asyncio-mode` command-line option, which overrides it when given."
    ),
    "ex05-mode": (
        "settle the mode (the command line wins over the ini file), stop the run with a "
        "usage error that names the allowed MODES when it is not one of them, and keep it "
        "for the other hooks."
    ),
    "ex05-fixture": (
        "pytest.fixture, with the same arguments, bare (@fixture) or called "
        "(@fixture(scope='module')), that also marks the function as one this plugin "
        "runs in strict mode."
    ),
    "ex05-auto-marks": (
        "in auto mode only, mark `asyncio` every collected `async def` test that has no "
        "such marker, early enough for `-m asyncio` to see the marks."
    ),
    "ex05-strict-fixtures": (
        "in strict mode, leave to pytest (and to other plugins) every async fixture that "
        "our decorator did not mark; when a test marked `asyncio` requests one, warn, "
        "naming the test, the fixture and the fix."
    ),
    "ex06-ini-defaults": (
        "declare two more ini options: `asyncio_default_test_loop_scope` (function by "
        "default) and `asyncio_default_fixture_loop_scope` (unset by default: then the "
        "fixture's own scope decides)."
    ),
    "ex06-check-defaults": (
        "stop the run with a usage error when either default loop scope is not one of "
        "SCOPES, naming the option, its value and the allowed scopes."
    ),
    "ex06-fixture-loop-scope": (
        "accept a keyword-only `loop_scope`: the loop the fixture runs in, whatever its "
        "caching scope. Refuse (ValueError naming the fixture) a scope not in SCOPES, "
        "and keep it where pytest_fixture_setup can find it."
    ),
    "ex06-runtest-setup": (
        "remember the test being set up: a fixture's request shows the node the fixture "
        "is cached on, not the test that needs it, and the loop-scope checks need the test."
    ),
    "ex06-test-loop-scope": (
        "the test's loop scope: the `loop_scope` of its asyncio marker, else the "
        "asyncio_default_test_loop_scope ini option. Fail the test, naming it, when the "
        "marker has other arguments or the scope is not one of SCOPES."
    ),
    "ex06-node-for": (
        "the node that owns the loop of `scope`, seen from `node`: the test, its class, "
        "module or package, or the session, with the fallbacks of pytest's own fixtures "
        "where there is no such node."
    ),
    "ex06-close": (
        "before closing the loop, do what asyncio.run() does with what is left in it: "
        "pending tasks, async generators, the default executor; close the loop even if "
        "that fails."
    ),
    "ex06-cancel-pending": (
        "cancel the tasks still pending in `loop`, let them finish (their `finally` "
        "blocks run), and report any exception other than the cancellation to the loop's "
        "exception handler."
    ),
    "ex06-fixture-loop-scope-choice": (
        "choose the fixture's loop scope instead: the one its decorator kept, else the "
        "asyncio_default_fixture_loop_scope ini option, else the fixture's own scope."
    ),
    "ex06-fixture-loop": (
        "check that the fixture's loop scope fits (_check_loop_scope, with the test being "
        "set up), then run it in the loop of that scope."
    ),
    "ex06-check-loop-scope": (
        "fail when the fixture's loop scope is narrower than its caching scope (its value "
        "would outlive its loop), or than the loop scope of the marked async test that "
        "needs it; each message names the fixture, the test where there is one, both "
        "scopes, and the fix."
    ),
    "ex06-scope-loop": (
        "run the test in the loop of its loop scope instead of the test's own; get that "
        "loop before the coroutine is created, so that a bad loop_scope fails the test "
        "without leaving a coroutine never awaited."
    ),
}

# Sections of new code that a diff would pair with code the stage deleted right
# beside them (stage 06 drops the event_loop fixture where its ini check goes):
# their old version is nothing, whatever the diff says.
NEW_CODE = {"ex06-check-defaults"}

SECTION_MARKER = re.compile(r"-{1,}8<-{1,}\s*\[\s*(start|end)\s*:")
CUT_MARKER = re.compile(
    r"^(?P<indent>[ \t]*)# --8<-- \[(?P<kind>start|end):(?P<name>ex(?P<stage>\d\d)-[-a-z0-9]+)\]$"
)
WIDTH = 88


class GenerationError(Exception):
    """A stage's markers or the guidance do not make a sensible exercise."""


@dataclass(frozen=True)
class Section:
    """A cut section: lines ``start:end`` of the file with its marker lines removed."""

    name: str
    stage: str
    start: int
    end: int


def stages() -> list[str]:
    return sorted(
        p.name
        for p in STAGES.iterdir()
        if p.name.isdigit() and (p / PACKAGE / "plugin.py").is_file()
    )


def exercise_stages() -> list[str]:
    """The stages that have an exercise: every stage after the first."""
    return stages()[1:]


def parse(text: str, where: str) -> tuple[list[str], list[Section]]:
    """A file's lines with every section marker removed, and its ``exNN-`` sections."""
    lines: list[str] = []
    sections: list[Section] = []
    open_: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not SECTION_MARKER.search(line):
            lines.append(line)
            continue
        match = CUT_MARKER.match(line)
        if match is None:
            continue  # a section of the docs' own: not ours to cut
        name = match["name"]
        if match["kind"] == "start":
            if name in open_ or any(s.name == name for s in sections):
                raise GenerationError(f"{where}:{number}: section {name} starts twice")
            open_[name] = len(lines)
        else:
            if name not in open_:
                raise GenerationError(f"{where}:{number}: section {name} ends before it starts")
            sections.append(Section(name, match["stage"], open_.pop(name), len(lines)))
    if open_:
        raise GenerationError(f"{where}: section {', '.join(open_)} never ends")
    return lines, sections


def _old_lines_of(section: Section, old: list[str], new: list[str], where: str) -> list[str]:
    """The previous stage's lines that ``section`` replaced (none if it is all new).

    The section is collapsed to one line that matches nothing, and the previous
    stage is diffed against that: whatever old lines the diff puts in its place
    are the section's old version.
    """
    a, b = section.start, section.end
    collapsed = [*new[:a], "\0 the section \0", *new[b:]]
    matcher = difflib.SequenceMatcher(None, old, collapsed, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if not j1 <= a < j2:
            continue
        if tag == "insert":
            return []
        if (j1, j2) != (a, a + 1):
            raise GenerationError(
                f"{where}: section {section.name} is next to other changed lines (lines "
                f"{j1 + 1}-{j2 + b - a - 1} of the stage without markers): move its markers "
                "so that the whole change is inside"
            )
        return old[i1:i2]
    raise AssertionError("the collapsed section is in no opcode")


def _todo(stage: str, name: str, indent: str) -> list[str]:
    text = GUIDANCE.get(name)
    if text is None:
        raise GenerationError(
            f"section {name} has no guidance: add a GUIDANCE entry in tests/workshop/exercises.py"
        )
    wrapped = textwrap.wrap(
        f"TODO(exercise {stage}): {text}",
        width=WIDTH - len(indent) - 2,
        break_on_hyphens=False,
    )
    return [f"{indent}# {line}" for line in wrapped]


def _new_function(
    section: Section, lines: list[str], old_names: set[str]
) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, list[str], str] | None:
    """The function ``section`` defines, if it is all the section defines and is new."""
    body = lines[section.start : section.end]
    source = textwrap.dedent("\n".join(body))
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None  # part of a block: not a definition
    functions = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if len(functions) != 1 or functions[0].name in old_names:
        return None
    first = next(line for line in body if line.strip())
    return functions[0], source.splitlines(), first[: len(first) - len(first.lstrip())]


def _stub(
    section: Section,
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    source_lines: list[str],
    indent: str,
    where: str,
) -> list[str]:
    """A do-nothing stub of ``function``: its signature, its docstring, a TODO."""
    first = function.body[0]
    if first.lineno == function.lineno:
        raise GenerationError(f"{where}: {function.name} has its body on the def line")
    # The def line(s), without the decorators and comments above them or below.
    out = source_lines[function.lineno - 1 : _header_end(function, source_lines)]
    inner = " " * (function.col_offset + 4)
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        assert first.end_lineno is not None
        out += source_lines[first.lineno - 1 : first.end_lineno]  # the docstring
    out += _todo(section.stage, section.name, inner)
    returns = ast.unparse(function.returns) if function.returns else "None"
    if function.name.startswith("pytest_"):
        # A hook that does nothing: pytest goes on as if it were not there.
        out.append(inner + ("pass" if returns == "None" else "return None"))
    else:
        out.append(f'{inner}raise NotImplementedError("exercise {section.stage}: {function.name}")')
    return [indent + line if line else line for line in out]


def _header_end(function: ast.FunctionDef | ast.AsyncFunctionDef, source_lines: list[str]) -> int:
    """The number of the line that ends the ``def`` header: the first ``:`` outside brackets."""
    text = "\n".join(source_lines[function.lineno - 1 :]) + "\n"
    depth = 0
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
        elif token.type == tokenize.OP and token.string == ":" and depth == 0:
            return function.lineno + token.start[0] - 1
    raise AssertionError(f"no end to the header of {function.name}")


def _function_names(lines: list[str]) -> set[str]:
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return set()
    return {
        n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def _header(stage: str, relative: str, cut: bool) -> list[str]:
    header = [
        f"# Workshop exercise {stage}: generated from stages/{stage}/{PACKAGE}/{relative}",
        f"# by tests/workshop/exercises.py (`python tests/workshop/exercises.py reset {stage}`).",
    ]
    if cut:
        header += [
            f"# The parts that stage {stage} adds are cut out: write each TODO, then check",
            f"# your work with `pytest --exercise {stage}`. Stuck? Add --hint: it gives the",
            "# next hint on the failing scenario, one per run.",
        ]
    return header


def generate_module(stage: str, relative: str, only: frozenset[str] | None = None) -> str:
    """The exercise's version of one module of stage ``stage``'s package.

    ``only`` names the sections to cut (default: every ``exNN-`` section of the
    stage): with one name, the stage's own solution with that one part cut out,
    which tests/test_workshop.py uses to check that every cut is needed.
    """
    path = STAGES / stage / PACKAGE / relative
    where = str(path.relative_to(ROOT))
    new, sections = parse(path.read_text(), where)
    index = stages().index(stage)
    previous = STAGES / stages()[index - 1] / PACKAGE / relative if index else None
    old: list[str] = []
    if previous is not None and previous.is_file():
        old, _ = parse(previous.read_text(), str(previous.relative_to(ROOT)))
    cut = sorted(
        (s for s in sections if s.stage == stage and (only is None or s.name in only)),
        key=lambda s: s.start,
    )
    for earlier, later in itertools.pairwise(cut):
        if later.start < earlier.end:
            raise GenerationError(f"{where}: sections {earlier.name} and {later.name} overlap")
    out = _header(stage, relative, bool(cut))
    position = 0
    old_names = _function_names(old)
    for section in cut:
        out += new[position : section.start]
        position = section.end
        function = _new_function(section, new, old_names)
        if function is not None:
            out += _stub(section, *function, where)
            continue
        # Changed code: the previous stage's version of it, under the TODO.
        replaced = [] if section.name in NEW_CODE else _old_lines_of(section, old, new, where)
        if replaced == new[section.start : section.end]:
            raise GenerationError(
                f"{where}: section {section.name} holds code that stage {stage} did not change"
            )
        first = next((line for line in replaced or new[section.start :] if line.strip()), "")
        out += _todo(stage, section.name, first[: len(first) - len(first.lstrip())])
        out += replaced
    out += new[position:]
    text = "\n".join(out) + "\n"
    try:
        compile(text, f"stages/{stage}/exercise/{PACKAGE}/{relative}", "exec")
    except SyntaxError as error:
        raise GenerationError(
            f"the exercise made from {where} does not compile: {error}"
        ) from error
    return text


def sections(stage: str) -> list[str]:
    """The names of the sections that exercise ``stage`` cuts, in file order."""
    package = STAGES / stage / PACKAGE
    return [
        s.name
        for p in sorted(package.rglob("*.py"))
        if "__pycache__" not in p.parts
        for s in sorted(parse(p.read_text(), str(p))[1], key=lambda s: s.start)
        if s.stage == stage
    ]


def exercise(stage: str, only: frozenset[str] | None = None) -> dict[Path, str]:
    """Every file of exercise ``stage``: its path and its text (``only``: see generate_module)."""
    package = STAGES / stage / PACKAGE
    modules = sorted(
        str(p.relative_to(package)) for p in package.rglob("*.py") if "__pycache__" not in p.parts
    )
    names = {
        s.name for m in modules for s in parse((package / m).read_text(), m)[1] if s.stage == stage
    }
    unused = {n for n in GUIDANCE if n.startswith(f"ex{stage}-")} - names
    if unused:
        raise GenerationError(
            f"GUIDANCE has {', '.join(sorted(unused))}, which stage {stage} lacks"
        )
    target = STAGES / stage / "exercise" / PACKAGE
    return {target / m: generate_module(stage, m, only) for m in modules}


def stale(stage: str) -> list[Path]:
    """The files of exercise ``stage`` that differ from what would be generated, or are extra."""
    files = exercise(stage)
    wrong = [p for p, text in files.items() if not p.is_file() or p.read_text() != text]
    folder = STAGES / stage / "exercise"
    if folder.is_dir():
        extra = [
            p
            for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p not in files
        ]
        wrong += sorted(extra)
    return wrong


def write(stage: str) -> list[Path]:
    files = exercise(stage)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return list(files)


def solution(stage: str) -> str:
    """A unified diff from the exercise as it is now to its stage: what is left to write."""
    out: list[str] = []
    for path in exercise(stage):
        relative = path.relative_to(STAGES / stage / "exercise")
        mine = path.read_text().splitlines() if path.is_file() else []
        model = STAGES / stage / relative
        theirs, _ = parse(model.read_text(), str(model))
        theirs = [line for line in theirs if not SECTION_MARKER.search(line)]
        out += difflib.unified_diff(
            mine,
            theirs,
            str(path.relative_to(ROOT)),
            str(model.relative_to(ROOT)),
            lineterm="",
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tests/workshop/exercises.py",
        description="The workshop's exercises, stages/NN/exercise, made from the stages.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in [
        ("reset", "rewrite one exercise as it was at the start (your edits are lost)"),
        ("solution", "show the diff from your exercise to its stage, the solution"),
    ]:
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("stage", help="the exercise, e.g. 03")
    command = commands.add_parser("generate", help="rewrite the exercises from their stages")
    command.add_argument("stage", nargs="*", help="the exercises (default: all)")
    commands.add_parser("check", help="exit 1 if an exercise is not what its stage makes")
    args = parser.parse_args(argv)
    stage = getattr(args, "stage", None)
    chosen = ([stage] if isinstance(stage, str) else stage) or exercise_stages()
    unknown = [s for s in chosen if s not in exercise_stages()]
    if unknown:
        parser.error(f"no exercise {unknown[0]}; the exercises are {', '.join(exercise_stages())}")
    try:
        if args.command == "check":
            wrong = [p for s in chosen for p in stale(s)]
            for path in wrong:
                print(f"stale: {path.relative_to(ROOT)}")
            if wrong:
                print("rewrite them with: python tests/workshop/exercises.py generate")
            return 1 if wrong else 0
        if args.command == "solution":
            print(solution(chosen[0]) or f"exercise {chosen[0]} is stage {chosen[0]} already")
            return 0
        for stage in chosen:
            for path in write(stage):
                print(f"wrote {path.relative_to(ROOT)}")
    except GenerationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
