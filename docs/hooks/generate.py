"""The generated parts of the docs, produced at build time from the real files.

An mkdocs hook (``hooks:`` in ``mkdocs.yml``). Before pymdownx.snippets reads a
page, this module replaces every directive line of the form ``[% name args %]``
with Markdown computed from the repository, so nothing generated is committed
and nothing can drift:

``[% stage-tabs 03 %]``
    three content tabs: stage 03's ``plugin.py`` (whole file, through a snippet)
    with the lines that changed since stage 02 highlighted, the diff from stage
    02, and the stage's example tests (through snippets).
``[% excerpt stages/03/pytest_aioloop/plugin.py pytest_pyfunc_call %]``
    one function or class of a file, located with ``ast`` (decorators and the
    comment block right above it included), included through a line-range
    snippet, so the listing is the file's text and the range is never typed.
``[% run stages/03 -v %]``
    runs ``pytest stages/03 -v`` from the repository root and shows the command
    and its real output.
``[% run-on-stage 03 stages/04/test_async_fixtures.py::test_async_fixture %]``
    runs a later stage's example test with stage 03's plugin (in a temporary
    copy of stage 03): the failing example a chapter starts from.
``[% example-files shared-loop %]``, ``[% run-example shared-loop -v %]``
    a how-to's example project (docs/examples/shared-loop): its files through
    snippets, and the real output of ``pytest -v`` in it, with final/'s plugin
    loaded as if installed. An example that fails stops the build.
``[% run-failing-example hanging-test %]``
    the same for an example whose point is a failing test (a timeout's
    report): it must fail a test, and anything else (a pass included) stops
    the build.
``[% module-map final/src/pytest_aioloop %]``, ``[% module-tabs ... %]``
    a package's modules: a table of their docstrings' first paragraphs, and
    content tabs with each whole module through snippets.
``[% scenarios-new 03 %]``, ``[% scenarios-missing 03 %]``, ``[% stage-matrix %]``
    the shared suite's scenarios, read from their ``@pytest.mark.since(...)``
    declarations, judged by the suite's own ``expectation()`` (tests/conftest.py):
    those that pass on a target (and which of them for the first time), those
    still to come and those a later stage replaced (the three add up to the
    suite), and the whole matrix. Pages never type a count of scenarios.
``[% final-reference %]``
    every option, marker, fixture, hook and public name of final/, read from
    its code and from ``pytest --fixtures`` / ``--markers`` with it loaded.
``[% changelog %]``
    ``final/CHANGELOG.md`` through a snippet, once final/ has one.

An unknown directive, a missing file or a missing function fails the build.
Snippet paths are resolved from the repository root (``base_path`` is set here),
whatever directory ``mkdocs`` is started from.
"""

from __future__ import annotations

import ast
import concurrent.futures
import difflib
import html
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[2]
DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\[% *(?P<name>[a-z-]+)(?P<args>[^%]*)%\][ \t]*$")
# A snippet section marker (`# --8<-- [start:name]`): pymdownx.snippets drops
# these lines from every listing, so line counts must drop them too.
SECTION_MARKER = re.compile(r"-{1,}8<-{1,}\s*\[\s*(start|end)\s*:")


class DirectiveError(PluginError):
    """A directive that cannot be expanded: the build stops with this message."""


# --------------------------------------------------------------------------
# The repository: stages, files, scenarios
# --------------------------------------------------------------------------


def stages() -> list[str]:
    return sorted(
        p.name
        for p in (ROOT / "stages").iterdir()
        if p.name.isdigit() and (p / "pytest_aioloop" / "plugin.py").is_file()
    )


def previous_stage(stage: str) -> str | None:
    names = stages()
    if stage not in names:
        raise DirectiveError(f"there is no stage {stage!r} (stages: {', '.join(names)})")
    index = names.index(stage)
    return names[index - 1] if index else None


def read_lines(relative: str) -> list[str]:
    """A file's lines as pymdownx.snippets renders them: section markers removed."""
    path = ROOT / relative
    if not path.is_file():
        raise DirectiveError(f"no such file: {relative}")
    return [line for line in path.read_text().splitlines() if not SECTION_MARKER.search(line)]


def package_files(stage: str) -> list[str]:
    package = ROOT / "stages" / stage / "pytest_aioloop"
    return sorted(str(p.relative_to(package)) for p in package.rglob("*.py"))


def example_tests(stage: str) -> list[str]:
    return sorted(p.name for p in (ROOT / "stages" / stage).glob("test_*.py"))


@cache
def harness() -> ModuleType:
    """The shared suite's tests/conftest.py, for its targets and ``expectation()``."""
    spec = importlib.util.spec_from_file_location(
        "_aioloop_docs_harness", ROOT / "tests" / "conftest.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Scenario:
    file: str  # tests/test_03_async_tests.py
    name: str  # test_parametrize
    since: str
    until: str | None
    doc: str

    def passes_on(self, target: str) -> bool:
        return harness().expectation(self.since, self.until, target) is None


def _since_marker(node: ast.FunctionDef) -> tuple[str, str | None] | None:
    for decorator in node.decorator_list:
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr == "since"
        ):
            since = ast.literal_eval(decorator.args[0])
            until = next(
                (ast.literal_eval(k.value) for k in decorator.keywords if k.arg == "until"), None
            )
            return since, until
    return None


@cache
def scenarios() -> tuple[Scenario, ...]:
    """Every scenario of the shared suite, in file order.

    Read from the source with ``ast``: tests/test_docs.py checks this list
    against a real pytest collection of the suite.
    """
    found = []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and (marker := _since_marker(node)):
                doc = " ".join((ast.get_docstring(node) or "").split())
                found.append(Scenario(f"tests/{path.name}", node.name, *marker, doc))
    return tuple(found)


def targets() -> list[str]:
    return [t.name for t in harness().discover_targets()]


def title(target: str) -> str:
    return "final/" if target == "final" else f"stage {target}"


# --------------------------------------------------------------------------
# Running pytest (in parallel, once per build)
# --------------------------------------------------------------------------


def pytest_command(args: str) -> list[str]:
    # The `pytest` script beside this interpreter, as a reader types it (its
    # usage messages then say "pytest", not "python -m pytest").
    script = Path(sys.executable).with_name("pytest")
    launcher = [str(script)] if script.is_file() else [sys.executable, "-m", "pytest"]
    return [*launcher, *shlex.split(args)]


def _pytest_run(args: str, cwd: Path, extra_env: dict[str, str] | None = None) -> tuple[str, int]:
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    # Plain text at 80 columns, whatever terminal the build runs in; and no
    # .pytest_cache written by the docs build (the cache plugin adds nothing to
    # the output of a run without --lf/--ff). `-p no:aioloop` keeps an installed
    # final/ (the README's set-up installs it) from loading a second time beside
    # the plugin a run names itself, from a stage or from final/src.
    env.update(PY_COLORS="0", COLUMNS="80", PYTEST_ADDOPTS="-p no:cacheprovider -p no:aioloop")
    env.update(extra_env or {})
    result = subprocess.run(
        pytest_command(args),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # as a terminal shows them: usage errors go to stderr
        text=True,
        timeout=300,
        check=False,
    )
    return result.stdout.rstrip(), result.returncode


def run_pytest(args: str, cwd: Path = ROOT) -> str:
    output, code = _pytest_run(args, cwd)
    # 0 passed, 1 tests failed, 2 interrupted (a collection error), 4 usage
    # error: each can be a lesson. 3 (an internal error) and 5 (no tests) never are.
    if code not in (0, 1, 2, 4):
        raise DirectiveError(f"`pytest {args}` exited with {code}:\n{output}")
    return output


def run_on_stage(stage: str, test: str, *args: str) -> str:
    """Run an example test of a later stage with stage ``stage``'s plugin.

    The test file is copied into a copy of the stage (its conftest.py and its
    package, with the repository's configuration), in a temporary directory:
    ``pytest stages/NN/test_file.py`` there shows what that stage does with it.
    """
    file = test.split("::")[0]
    if not (ROOT / file).is_file():
        raise DirectiveError(f"no such file: {file}")
    previous_stage(stage)  # fails on an unknown stage
    with tempfile.TemporaryDirectory(prefix="aioloop-docs-") as tmp:
        copy = Path(tmp)
        shutil.copy(ROOT / "pyproject.toml", copy)
        (copy / "stages").mkdir()
        shutil.copy(ROOT / "stages" / "conftest.py", copy / "stages")
        shutil.copytree(
            ROOT / "stages" / stage,
            copy / "stages" / stage,
            ignore=shutil.ignore_patterns("__pycache__", "test_*.py", "exercise*"),
        )
        shutil.copy(ROOT / file, copy / "stages" / stage)
        name = Path(file).name
        node = test.replace(file, f"stages/{stage}/{name}", 1)
        return run_pytest(shlex.join([node, *args]), cwd=copy)


EXAMPLES = ROOT / "docs" / "examples"


def run_example(example: str, args: str) -> str:
    """``pytest ARGS`` in docs/examples/EXAMPLE, with final/'s plugin as if installed.

    final/src goes on PYTHONPATH and PYTEST_PLUGINS loads its plugin, which is
    what its ``pytest11`` entry point does once it is installed. An example
    must pass: the build fails otherwise.
    """
    output, code = _example_run(example, args)
    if code != 0:
        raise DirectiveError(f"docs/examples/{example}: `pytest {args}` failed:\n{output}")
    return output


def run_failing_example(example: str, args: str) -> str:
    """``run_example()`` for an example whose point is a failure (a timeout's report).

    Its run must end with failed tests (exit code 1): an example that passes,
    or fails otherwise (a usage error, an internal error), stops the build, so
    the page cannot show a failure that no longer happens.
    """
    output, code = _example_run(example, args)
    if code != 1:
        raise DirectiveError(
            f"docs/examples/{example}: `pytest {args}` was meant to fail a test (exit code 1) "
            f"and exited with {code}:\n{output}"
        )
    return output


def _example_run(example: str, args: str) -> tuple[str, int]:
    folder = EXAMPLES / example
    if not folder.is_dir():
        raise DirectiveError(f"no such example: docs/examples/{example}")
    if not (ROOT / "final" / "src" / "pytest_aioloop" / "plugin.py").is_file():
        raise DirectiveError("the examples run against final/, which does not exist yet")
    env = {
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT / "final" / "src"), os.environ.get("PYTHONPATH")) if p
        ),
        "PYTEST_PLUGINS": "pytest_aioloop.plugin",
    }
    return _pytest_run(args, folder, env)


_outputs: dict[tuple[str, ...], concurrent.futures.Future[Any]] = {}
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
_RUNNERS: dict[str, Callable[..., str]] = {
    "run": run_pytest,
    "run-on-stage": run_on_stage,
    "run-example": run_example,
    "run-failing-example": run_failing_example,
}


def _key(name: str, args: str) -> tuple[str, ...]:
    if name == "run":
        return (name, args)
    if name in ("run-example", "run-failing-example"):
        example, _, rest = args.partition(" ")
        return (name, example, rest.strip())
    return (name, *shlex.split(args))


def start_runs(markdown_sources: Iterator[str]) -> None:
    """Start every run the site's pages ask for at once; each page waits for its own."""
    for source in markdown_sources:
        for line in source.splitlines():
            match = DIRECTIVE.match(line)
            if match and match["name"] in _RUNNERS:
                output_of(_key(match["name"], match["args"].strip()), wait=False)
            elif match and match["name"] == "final-reference" and FINAL_PLUGIN.is_file():
                for function in (_final_facts, _final_fixtures, _final_markers):
                    in_background(function)


def in_background(function: Callable[[], Any]) -> concurrent.futures.Future[Any]:
    """``function()``, started on the pool once per build."""
    key = ("call", function.__name__)
    if key not in _outputs:
        _outputs[key] = _pool.submit(function)
    return _outputs[key]


def output_of(key: tuple[str, ...], *, wait: bool = True) -> str:
    if key not in _outputs:
        _outputs[key] = _pool.submit(_RUNNERS[key[0]], *key[1:])
    return _outputs[key].result() if wait else ""


# --------------------------------------------------------------------------
# Markdown builders
# --------------------------------------------------------------------------


def fence_for(text: str) -> str:
    """A backtick fence longer than any run of backticks in ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def snippet_block(path: str, *, language: str = "python", options: str = "") -> list[str]:
    return [
        f'```{language} title="{path}"{options}',
        f'--8<-- "{path}"',
        "```",
    ]


def changed_lines(old: list[str], new: list[str]) -> list[tuple[int, int]]:
    """1-based inclusive ranges of the lines of ``new`` that are not in ``old``."""
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [
        (j1 + 1, j2)
        for tag, _, _, j1, j2 in matcher.get_opcodes()
        if tag in ("replace", "insert") and j2 > j1
    ]


def hl_lines(ranges: list[tuple[int, int]]) -> str:
    return " ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def stage_diff(old_stage: str | None, new_stage: str) -> str:
    """The unified diff of the stage's package against the previous stage's, as `diff -ru`."""
    chunks = []
    files = set(package_files(new_stage)) | set(package_files(old_stage) if old_stage else [])
    for name in sorted(files):
        old_path = f"stages/{old_stage}/pytest_aioloop/{name}" if old_stage else None
        new_path = f"stages/{new_stage}/pytest_aioloop/{name}"
        old = read_lines(old_path) if old_path and (ROOT / old_path).is_file() else []
        new = read_lines(new_path) if (ROOT / new_path).is_file() else []
        chunks.extend(
            difflib.unified_diff(
                old,
                new,
                fromfile=old_path or "/dev/null",
                tofile=new_path,
                lineterm="",
            )
        )
    return "\n".join(chunks)


def indent(lines: list[str], prefix: str = "    ") -> list[str]:
    return [prefix + line if line else "" for line in lines]


def directive_stage_tabs(stage: str) -> list[str]:
    before = previous_stage(stage)
    plugin = f"stages/{stage}/pytest_aioloop/plugin.py"
    new = read_lines(plugin)
    old = read_lines(f"stages/{before}/pytest_aioloop/plugin.py") if before else []
    ranges = changed_lines(old, new)
    options = ' linenums="1"'
    if ranges:
        options += f' hl_lines="{hl_lines(ranges)}"'
    since = f"stage {before}" if before else "nothing (there is no stage before this one)"
    count = sum(b - a + 1 for a, b in ranges)
    diff = stage_diff(before, stage)
    fence = fence_for(diff)
    out = [
        f'=== "plugin.py, {count} new or changed lines highlighted"',
        "",
        *indent(snippet_block(plugin, options=options)),
        "",
        f'=== "Diff from {since.split(" (")[0]}"',
        "",
    ]
    if diff:
        out += indent(
            [
                f'{fence}diff title="diff -ru stages/{before}/pytest_aioloop '
                f'stages/{stage}/pytest_aioloop"'
                if before
                else f'{fence}diff title="new files"',
                *diff.splitlines(),
                fence,
            ]
        )
    else:
        out += indent([f"The plugin package did not change since {since}."])
    out += ["", '=== "Example tests"', ""]
    for test_file in example_tests(stage):
        out += indent(snippet_block(f"stages/{stage}/{test_file}", options=' linenums="1"'))
        out.append("")
    return out


def _symbol_range(tree: ast.Module, lines: list[str], symbol: str) -> tuple[int, int]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and node.name == symbol
        ):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            # Take in the comment block written right above the definition.
            while start > 1 and lines[start - 2].lstrip().startswith("#"):
                start -= 1
            assert node.end_lineno is not None
            return start, node.end_lineno
    raise DirectiveError(f"no function or class named {symbol!r}")


def directive_excerpt(path: str, *symbols: str) -> list[str]:
    if not symbols:
        raise DirectiveError("excerpt needs a file and one or more function or class names")
    file = ROOT / path
    if not file.is_file():
        raise DirectiveError(f"no such file: {path}")
    raw = file.read_text().splitlines()
    tree = ast.parse("\n".join(raw))
    ranges = []
    for symbol in symbols:
        try:
            ranges.append(_symbol_range(tree, raw, symbol))
        except DirectiveError as error:
            raise DirectiveError(f"{path}: {error}") from None
    spans = ",".join(f"{a}:{b}" for a, b in ranges)
    return [
        f'```python title="{path}"',
        f'--8<-- "{path}:{spans}"',
        "```",
    ]


def directive_run(*args: str) -> list[str]:
    joined = " ".join(args)
    output = output_of(_key("run", joined))
    text = f"$ pytest {joined}\n{output}"
    fence = fence_for(text)
    return [f'{fence}text title="pytest {joined}"', *text.splitlines(), fence]


def directive_run_on_stage(stage: str, test: str, *args: str) -> list[str]:
    output = output_of(("run-on-stage", stage, test, *args))
    file = Path(test.split("::")[0])
    node = test.replace(str(file), f"stages/{stage}/{file.name}", 1)
    command = shlex.join([node, *args])
    text = f"$ cp {file} stages/{stage}/ && pytest {command}\n{output}"
    fence = fence_for(text)
    title = f"{file.name} run with stage {stage}'s plugin (in a temporary copy of stage {stage})"
    return [f'{fence}text title="{title}"', *text.splitlines(), fence]


def directive_run_example(example: str, *args: str, runner: str = "run-example") -> list[str]:
    joined = " ".join(args)
    output = output_of((runner, example, joined))
    text = f"$ pytest {joined}".rstrip() + f"\n{output}"
    fence = fence_for(text)
    title = f"pytest {joined}".rstrip() + f" in docs/examples/{example}, with final/ installed"
    return [f'{fence}text title="{title}"', *text.splitlines(), fence]


def directive_run_failing_example(example: str, *args: str) -> list[str]:
    return directive_run_example(example, *args, runner="run-failing-example")


def directive_example_files(example: str) -> list[str]:
    folder = EXAMPLES / example
    if not folder.is_dir():
        raise DirectiveError(f"no such example: docs/examples/{example}")
    out = []
    for file in sorted(p for p in folder.iterdir() if p.is_file()):
        language = {".py": "python", ".toml": "toml", ".ini": "ini"}.get(file.suffix, "text")
        out += [*snippet_block(str(file.relative_to(ROOT)), language=language), ""]
    return out


def _modules(package: str) -> list[tuple[str, str, int]]:
    """(path, the first paragraph of its docstring, line count) of each module of a package."""
    folder = ROOT / package
    if not folder.is_dir():
        raise DirectiveError(f"no such package: {package}")
    found = []
    for file in sorted(folder.glob("*.py")):
        text = file.read_text()
        doc = ast.get_docstring(ast.parse(text)) or ""
        first = " ".join(doc.split("\n\n")[0].split())
        found.append((str(file.relative_to(ROOT)), first, len(text.splitlines())))
    return found


def directive_module_map(package: str) -> list[str]:
    out = ["| module | lines | what it is |", "| --- | --: | --- |"]
    for path, doc, lines in _modules(package):
        out.append(f"| `{Path(path).name}` | {lines} | {_cell(doc)} |")
    return out


def directive_module_tabs(package: str) -> list[str]:
    out = []
    for path, doc, _ in _modules(package):
        out += [f'=== "{Path(path).name}"', ""]
        if doc:
            out += indent([_cell(doc), ""])
        out += indent(snippet_block(path, options=' linenums="1"'))
        out.append("")
    return out


def _scenario_line(scenario: Scenario) -> str:
    doc = f": {scenario.doc}" if scenario.doc else ""
    return f"- `{scenario.name}` (`{scenario.file}`){doc}"


def directive_scenarios_new(stage: str) -> list[str]:
    names = targets()
    if stage not in names:
        raise DirectiveError(f"no such target: {stage!r} (targets: {', '.join(names)})")
    before = names[names.index(stage) - 1] if names.index(stage) else None
    gained = [
        s
        for s in scenarios()
        if s.passes_on(stage) and not (before is not None and s.passes_on(before))
    ]
    lost = [s for s in scenarios() if before and s.passes_on(before) and not s.passes_on(stage)]
    total = sum(s.passes_on(stage) for s in scenarios())
    out = [
        f"With {title(stage)}, {total} of the shared suite's {len(scenarios())} scenarios pass"
        f" ({len(gained)} of them for the first time):",
        "",
        *[_scenario_line(s) for s in gained],
    ]
    if not gained:
        out[-1:] = ["- none: this stage's gain is not yet covered by a scenario"]
    if lost:
        out += [
            "",
            f"These passed on {title(before)} and no longer do: {title(stage)} replaces"
            " the behaviour they check (their `until=` says so):",
            "",
            *[_scenario_line(s) for s in lost],
        ]
    return out


def directive_scenarios_missing(stage: str) -> list[str]:
    """The scenarios that do not pass on ``stage``: those still to come, those replaced.

    Together with ``[% scenarios-new %]``'s count of those that pass, they make
    the whole suite: tests/test_docs.py checks that the three counts add up.
    """
    position = harness().position
    to_come = [s for s in scenarios() if position(stage) < position(s.since)]
    replaced = [s for s in scenarios() if not s.passes_on(stage) and s not in to_come]
    if not to_come and not replaced:
        return [f"Every scenario of the shared suite passes on {title(stage)}."]
    out = []
    if to_come:
        groups: dict[tuple[str, str | None], list[Scenario]] = {}
        for scenario in to_come:
            groups.setdefault((scenario.since, scenario.until), []).append(scenario)
        out += [
            f"{len(to_come)} scenarios of the shared suite are still strict xfails on"
            f" {title(stage)}; they pass from the stage that brings them:",
            "",
        ]
        for (since, until), group in sorted(
            groups.items(), key=lambda kv: (position(kv[0][0]), position(kv[0][1] or "final"))
        ):
            span = f" (through stage {until})" if until else ""
            names = ", ".join(f"`{s.name}`" for s in group)
            out.append(f"- {title(since)}{span}: {names}")
    if replaced:
        names = ", ".join(f"`{s.name}`" for s in replaced)
        out += [
            *([""] if out else []),
            f"{len(replaced)} scenarios passed on earlier stages and no longer do on"
            f" {title(stage)}: a later stage replaced what they check (their `until=` says"
            f" so): {names}.",
        ]
    return out


def directive_stage_matrix() -> list[str]:
    names = targets()
    header = "| scenario | declared | " + " | ".join(names) + " |"
    rule = "| --- | --- | " + " | ".join(":-:" for _ in names) + " |"
    out = [
        f"{len(scenarios())} scenarios against {len(names)} targets (the stages, then"
        " `final/`). ✓: the scenario must pass there. ·: it is a strict xfail there,"
        " it must fail, because that target does not do it yet (or, after its"
        " `until=`, no longer does it that way). Under each name, the scenario's"
        ' docstring, which the workshop\'s checker prints after "It checks:" for a'
        " scenario that fails.",
        "",
    ]
    for file in sorted({s.file for s in scenarios()}):
        out += [f"### `{file}`", "", '<div class="stage-matrix" markdown>', "", header, rule]
        for s in (s for s in scenarios() if s.file == file):
            cells = " | ".join("✓" if s.passes_on(t) else "·" for t in names)
            declared = f"{s.since} to {s.until}" if s.until else f"from {s.since}"
            doc = f"<br><small>{_cell(html.escape(s.doc, quote=False))}</small>" if s.doc else ""
            out.append(f"| `{s.name}`{doc} | {declared} | {cells} |")
        out += ["", "</div>", ""]
    totals = " | ".join(str(sum(s.passes_on(t) for s in scenarios())) for t in names)
    out += ["### Totals", "", header, rule, f"| scenarios that pass | | {totals} |"]
    return out


def directive_changelog() -> list[str]:
    if (ROOT / "final" / "CHANGELOG.md").is_file():
        return ['--8<-- "final/CHANGELOG.md"']
    return [
        "!!! note",
        "    final/ has no `CHANGELOG.md` yet: this page includes it as soon as it exists.",
    ]


# --------------------------------------------------------------------------
# The reference of final/, read from its code
# --------------------------------------------------------------------------

FINAL_SRC = ROOT / "final" / "src"
FINAL_PLUGIN = FINAL_SRC / "pytest_aioloop" / "plugin.py"

# Run with final/src first on sys.path: what pytest_addoption declares (through
# a parser that records the calls), and the public names with their signatures.
_INTROSPECT = r"""
import inspect, json, sys
import pytest_aioloop, pytest_aioloop.plugin as plugin

class Group:
    def __init__(self, out, name):
        self.out, self.name = out, name
    def addoption(self, *names, **attrs):
        self.out["options"].append({"names": list(names), "group": self.name,
                                    **{k: repr(v) if k == "default" else v
                                       for k, v in attrs.items() if k != "type"}})

class Parser(Group):
    def __init__(self, out):
        super().__init__(out, "")
    def getgroup(self, name, description="", after=None):
        return Group(self.out, description or name)
    def addini(self, name, help, type=None, default=None, **kw):
        self.out["ini"].append({"name": name, "help": help, "type": type or "string",
                                "default": repr(default)})

class Hooks:
    def __init__(self, out):
        self.out = out
    # pytest_addoption first checks for pytest-asyncio (pytest_aioloop.clash): absent here.
    def has_plugin(self, name):
        return False
    def is_blocked(self, name):
        return True
    def add_hookspecs(self, module):
        for name, function in vars(module).items():
            if name.startswith("pytest_") and callable(function):
                self.out["hooks"].append({"name": name,
                                          "signature": str(inspect.signature(function)),
                                          "doc": inspect.getdoc(function) or ""})

out = {"options": [], "ini": [], "hooks": [], "public": [],
       "version": pytest_aioloop.__version__, "file": pytest_aioloop.__file__}
plugin.pytest_addoption(Parser(out), Hooks(out))
for name in pytest_aioloop.__all__:
    obj = getattr(pytest_aioloop, name)
    if name.startswith("__"):
        continue
    kind = "class" if inspect.isclass(obj) else "function"
    try:
        signature = str(inspect.signature(obj)) if kind == "function" else ""
    except (TypeError, ValueError):
        signature = ""
    members = [m.value for m in obj] if kind == "class" and hasattr(obj, "__members__") else []
    out["public"].append({"name": name, "kind": kind, "signature": signature,
                          "doc": inspect.getdoc(obj) or "", "members": members})
print(json.dumps(out))
"""


def _final_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(FINAL_SRC), env.get("PYTHONPATH")) if p)
    env.update(PY_COLORS="0", COLUMNS="80")
    env.pop("PYTEST_ADDOPTS", None)
    return env


def _final_facts() -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", _INTROSPECT],
        env=_final_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode:
        raise DirectiveError(f"cannot read final/'s options:\n{result.stderr}")
    facts: dict[str, Any] = json.loads(result.stdout)
    if not Path(facts["file"]).resolve().is_relative_to(FINAL_SRC):
        raise DirectiveError(f"read {facts['file']} instead of final/src")
    return facts


def _final_pytest(*args: str) -> str:
    """``pytest ARGS`` with final/'s plugin only, in an empty directory."""
    with tempfile.TemporaryDirectory(prefix="aioloop-docs-") as tmp:
        result = subprocess.run(
            pytest_command(
                " ".join(
                    (
                        "-p no:asyncio -p no:aioloop -p no:cacheprovider -p pytest_aioloop.plugin",
                        *args,
                    )
                )
            ),
            cwd=tmp,
            env=_final_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if result.returncode not in (0, 5):
        raise DirectiveError(f"`pytest {' '.join(args)}` failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def _final_fixtures() -> list[tuple[str, str, str, str]]:
    """(name, scope, module, docstring) of each fixture final/ defines, from `pytest --fixtures`."""
    found = []
    module = None
    current: list[str] | None = None
    for line in _final_pytest("--fixtures").splitlines():
        header = re.match(r"^-+ fixtures defined from (\S+) -+$", line)
        if header:
            module = header[1] if header[1].startswith("pytest_aioloop") else None
            continue
        entry = re.match(r"^(\w+)(?: \[(\w+) scope\])? -- ", line)
        if module and entry:
            current = []
            found.append((entry[1], entry[2] or "function", module, current))
        elif module and current is not None and line.startswith("    "):
            current.append(line.strip())
        elif line.startswith("="):
            module = None
    return [(n, s, m, " ".join(doc)) for n, s, m, doc in found]


def _final_markers() -> list[str]:
    return [
        line.removeprefix("@pytest.mark.")
        for line in _final_pytest("--markers").splitlines()
        if line.startswith("@pytest.mark.asyncio")
    ]


def _rst(text: str) -> str:
    """A docstring's reStructuredText roles (:func:`x`) as Markdown code (`x`)."""
    return re.sub(r":\w+:`~?([^`]+)`", r"``\1``", text)


def _unquote(signature: str) -> str:
    """Annotations as written (``from __future__ import annotations`` keeps them as strings)."""
    return re.sub(r"(: |-> )'([^']*)'", r"\1\2", signature)


def _cell(text: str) -> str:
    return " ".join(_rst(text).split()).replace("|", "\\|")


def directive_final_reference() -> list[str]:
    if not FINAL_PLUGIN.is_file():
        return ["!!! note", "    final/ does not exist yet: this reference is generated from it."]
    facts = in_background(_final_facts).result()
    out = [
        f"Generated from `final/src/pytest_aioloop` (version `{facts['version']}`) when this"
        " site was built: the options are what its `pytest_addoption` declares, the"
        " fixtures and the marker what `pytest --fixtures` and `pytest --markers` list"
        " with the plugin loaded, the rest its public names and their docstrings.",
        "",
        "### Command-line options",
        "",
        "| option | stored as | default | description |",
        "| --- | --- | --- | --- |",
    ]
    for option in facts["options"]:
        names = ", ".join(f"`{n}`" for n in option["names"])
        metavar = f" `{option['metavar']}`" if option.get("metavar") else ""
        default = f"`{option.get('default', 'None')}`"
        if default == "`None`" and option.get("dest") in {ini["name"] for ini in facts["ini"]}:
            default = f"`None`: the ini option `{option['dest']}` decides"
        out.append(
            f"| {names}{metavar} | `config.option.{option.get('dest', '')}` | {default}"
            f" | {_cell(option.get('help', ''))} |"
        )
    out += [
        "",
        "### Ini options",
        "",
        "In `pytest.ini`, `tox.ini`, `setup.cfg` (`[tool:pytest]`) or `pyproject.toml`"
        " (`[tool.pytest.ini_options]`).",
        "",
        "| ini option | type | default | description |",
        "| --- | --- | --- | --- |",
    ]
    for ini in facts["ini"]:
        out.append(
            f"| `{ini['name']}` | {ini['type']} | `{ini['default']}` | {_cell(ini['help'])} |"
        )
    out += ["", "### Markers", ""]
    out += [
        f"- `@pytest.mark.{line.split(':')[0]}`: {_cell(line.partition(': ')[2])}"
        for line in in_background(_final_markers).result()
    ]
    out += [
        "",
        "### Fixtures",
        "",
        "| fixture | scope | module | description |",
        "| --- | --- | --- | --- |",
    ]
    for name, scope, module, doc in in_background(_final_fixtures).result():
        out.append(f"| `{name}` | {scope} | `{module}` | {_cell(doc)} |")
    out += ["", "### Hooks", ""]
    for hook in facts["hooks"]:
        out += [
            f"#### `{hook['name']}`",
            "",
            "```python",
            f"def {hook['name']}{_unquote(hook['signature'])}: ...",
            "```",
            "",
            _rst(hook["doc"]),
            "",
        ]
    out += ["### Public names of `pytest_aioloop`", ""]
    for public in facts["public"]:
        signature = public["signature"]
        out += [f"#### `pytest_aioloop.{public['name']}`", ""]
        if signature:
            out += ["```python", f"{public['name']}{_unquote(signature)}", "```", ""]
        if public["members"]:
            out += ["Values: " + ", ".join(f"`{m}`" for m in public["members"]), ""]
        out += [_rst(public["doc"]), ""]
    out += [
        "#### `pytest_aioloop.__version__`",
        "",
        f"The version of the distribution, as a string: `{facts['version']!r}`.",
    ]
    return out


DIRECTIVES: dict[str, Callable[..., list[str]]] = {
    "stage-tabs": directive_stage_tabs,
    "excerpt": directive_excerpt,
    "run": directive_run,
    "run-on-stage": directive_run_on_stage,
    "run-example": directive_run_example,
    "run-failing-example": directive_run_failing_example,
    "example-files": directive_example_files,
    "module-map": directive_module_map,
    "module-tabs": directive_module_tabs,
    "scenarios-new": directive_scenarios_new,
    "scenarios-missing": directive_scenarios_missing,
    "stage-matrix": directive_stage_matrix,
    "changelog": directive_changelog,
    "final-reference": directive_final_reference,
}


def expand(markdown: str, where: str) -> str:
    out: list[str] = []
    in_fence = False
    for number, line in enumerate(markdown.splitlines(), 1):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else DIRECTIVE.match(line)
        if match is None:
            out.append(line)
            continue
        name, args = match["name"], shlex.split(match["args"])
        if name not in DIRECTIVES:
            raise DirectiveError(f"{where}:{number}: unknown directive [% {name} %]")
        try:
            lines = DIRECTIVES[name](*args)
        except (DirectiveError, TypeError) as error:
            raise DirectiveError(f"{where}:{number}: [% {name} %]: {error}") from error
        out.extend(match["indent"] + x if x else "" for x in lines)
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# mkdocs event handlers
# --------------------------------------------------------------------------


_INPUTS = ("stages", "final/src", "docs/examples", "tests", "pyproject.toml")
_seen_inputs: list[int] = []


def inputs_fingerprint() -> int:
    """Changes whenever a file that a generated part is computed from changes."""
    state = []
    for name in _INPUTS:
        path = ROOT / name
        files = [path] if path.is_file() else path.rglob("*")
        for file in files:
            if file.suffix in (".py", ".toml", ".ini", ".cfg") and "__pycache__" not in file.parts:
                stat = file.stat()
                state.append((str(file), stat.st_mtime_ns, stat.st_size))
    return hash(tuple(sorted(state)))


def on_config(config: Any) -> Any:
    # Snippet paths are relative to the repository root, from any working directory.
    snippets = config["mdx_configs"].setdefault("pymdownx.snippets", {})
    snippets["base_path"] = [str(ROOT)]
    # mkdocs loads a hook module once per process: `mkdocs serve` keeps this
    # module, and its results, from one rebuild to the next. Keep them while
    # their inputs are unchanged (a page edit rebuilds fast), drop them otherwise.
    fingerprint = inputs_fingerprint()
    if _seen_inputs != [fingerprint]:
        _outputs.clear()
        scenarios.cache_clear()
        harness.cache_clear()
        _seen_inputs[:] = [fingerprint]
    return config


def on_files(files: Any, config: Any) -> Any:
    start_runs(
        Path(f.abs_src_path).read_text()
        for f in files
        if f.src_uri.endswith(".md") and f.abs_src_path
    )
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return expand(markdown, page.file.src_uri)


# --------------------------------------------------------------------------
# The workshop's pages (docs/workshop/), from the data its checker uses
# --------------------------------------------------------------------------
#
# ``[% exercise-scenarios 06 %]``
#     what ``pytest --exercise 06`` checks, counted and listed from the one
#     selection the checker runs (tests/workshop/selection.py).
# ``[% exercise-hints 03 %]``, ``[% exercise-mistakes 03 %]``
#     the exercise's hints, one collapsed box each (tests/workshop/hints.py,
#     which ``--hint`` shows one at a time), and its common mistakes with the
#     scenarios that catch each (tests/workshop/mistakes.py, which
#     tests/test_workshop.py makes on the stage's solution to prove it).
# ``[% exercise-run 03 untouched %]`` (or ``solved``, or ``hint``)
#     the checker's real report on a pristine copy made at build time: tests/,
#     stages/ without any learner's exercise, and exercise 03 generated afresh
#     (``solved``: with the stage's own package in its place; ``hint``: run
#     twice with ``--hint``). A learner who builds the site after solving still
#     sees the untouched exercise under that heading.

WORKSHOP = ROOT / "tests" / "workshop"
_workshop_modules: dict[str, tuple[int, ModuleType]] = {}


def workshop(name: str) -> ModuleType:
    """tests/workshop/NAME.py, loaded by path (again when it changes: `mkdocs serve`)."""
    path = WORKSHOP / f"{name}.py"
    stamp = path.stat().st_mtime_ns
    if name not in _workshop_modules or _workshop_modules[name][0] != stamp:
        spec = importlib.util.spec_from_file_location(f"_aioloop_workshop_{name}", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        _workshop_modules[name] = (stamp, module)
    return _workshop_modules[name][1]


def _exercise_stage(stage: str) -> str:
    stages_with_exercises = workshop("exercises").exercise_stages()
    if stage not in stages_with_exercises:
        raise DirectiveError(
            f"there is no exercise {stage!r} (exercises: {', '.join(stages_with_exercises)})"
        )
    return stage


def _names(scenarios: list[str], most: int = 6) -> str:
    shown = ", ".join(f"`{n}`" for n in scenarios[:most])
    rest = len(scenarios) - most
    return shown if rest <= 0 else f"{shown} and {rest} more"


def directive_exercise_scenarios(stage: str) -> list[str]:
    selection = workshop("selection")
    checked = selection.checked_by(_exercise_stage(stage))
    own = [s for s in checked if s.since == stage]
    earlier = [s for s in checked if s.since != stage]
    replaced = [s for s in earlier if s.until is not None and int(s.until) < int(stage)]
    out = [
        f"`pytest --exercise {stage}` runs {len(checked)} scenarios of the shared suite,"
        f" those of stages {stages()[0]} to {stage}: the {len(earlier)} of the earlier stages,"
        " which the untouched exercise passes already",
    ]
    if replaced:
        out[-1] += (
            f" ({len(replaced)} of them, which a later stage replaces, count as passing"
            f" when they fail: {_names([s.name for s in replaced])})"
        )
    out[-1] += f", and these {len(own)} of stage {stage}, which you make pass:"
    out.append("")
    out += [f"- `{s.name}` (`{s.file}`): {s.summary}" for s in own]
    return out


def directive_exercise_hints(stage: str) -> list[str]:
    topics = workshop("hints").of(_exercise_stage(stage))
    if not topics:
        raise DirectiveError(f"exercise {stage} has no hints in tests/workshop/hints.py")
    out = []
    for topic in topics:
        out += [
            f"### {topic.title}",
            "",
            f"For {_names(list(topic.scenarios), most=4)}.",
            "",
        ]
        for number, (level, text) in enumerate(topic.hints, 1):
            out += [f'??? tip "Hint {number} · {level}"', f"    {text}", ""]
    return out


def directive_exercise_mistakes(stage: str) -> list[str]:
    found = workshop("mistakes").of(_exercise_stage(stage))
    if not found:
        raise DirectiveError(f"exercise {stage} has no mistakes in tests/workshop/mistakes.py")
    return [
        f"- {m.says} Caught by {_names(list(m.caught_by), most=5)}"
        f" ({len(m.caught_by)} {'scenario' if len(m.caught_by) == 1 else 'scenarios'})."
        for m in found
    ]


EXERCISE_STATES = {
    "untouched": "exercise {stage} as generated, untouched",
    "solved": "exercise {stage} solved (stage {stage}'s own package in its place)",
    "hint": "exercise {stage} untouched, asked for a hint twice",
}


def run_exercise(stage: str, state: str) -> str:
    """The checker on exercise ``stage`` in a pristine copy: the commands and their output."""
    if state not in EXERCISE_STATES:
        raise DirectiveError(f"{state!r} is not one of {', '.join(EXERCISE_STATES)}")
    exercises = workshop("exercises")
    with tempfile.TemporaryDirectory(prefix="aioloop-docs-") as tmp:
        copy = Path(tmp) / "pytest-aioloop"
        skip = shutil.ignore_patterns("__pycache__", ".pytest_cache", "exercise")
        shutil.copytree(ROOT / "tests", copy / "tests", ignore=skip)
        shutil.copytree(ROOT / "stages", copy / "stages", ignore=skip)
        shutil.copy(ROOT / "pyproject.toml", copy)
        exercise = ROOT / "stages" / stage / "exercise"
        for path, text in exercises.exercise(stage).items():
            target = copy / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            if state == "solved":
                text = (ROOT / "stages" / stage / path.relative_to(exercise)).read_text()
            target.write_text(text)
        commands = [f"--exercise {stage}"] * (2 if state == "hint" else 1)
        if state == "hint":
            commands = [f"{c} --hint" for c in commands]
        out = []
        for args in commands:
            # The copy's own pytest cache (for --hint) goes with the copy.
            output, code = _pytest_run(args, copy, {"PYTEST_ADDOPTS": "-p no:aioloop"})
            wanted = 0 if state == "solved" else 1
            if code != wanted:
                raise DirectiveError(
                    f"`pytest {args}` on {EXERCISE_STATES[state].format(stage=stage)} exited"
                    f" with {code}, not {wanted}:\n{output}"
                )
            out.append(f"$ pytest {args}\n{output}")
    return "\n\n".join(out)


def directive_exercise_run(stage: str, state: str = "untouched") -> list[str]:
    text = output_of(("exercise-run", _exercise_stage(stage), state))
    what = EXERCISE_STATES[state].format(stage=stage)
    title_ = f"{what}: a fresh copy of the repository, made when this site was built"
    fence = fence_for(text)
    return [f'{fence}text title="{title_}"', *text.splitlines(), fence]


_RUNNERS["exercise-run"] = run_exercise
DIRECTIVES.update(
    {
        "exercise-scenarios": directive_exercise_scenarios,
        "exercise-hints": directive_exercise_hints,
        "exercise-mistakes": directive_exercise_mistakes,
        "exercise-run": directive_exercise_run,
    }
)
