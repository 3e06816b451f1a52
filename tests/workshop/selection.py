"""Which scenarios an exercise checks: one answer for the checker and for the pages.

Exercise NN is held to what stage NN must do: every scenario of the shared
suite whose first stage (``@pytest.mark.since("NN")``) is NN or earlier,
wherever it lives in ``tests/`` (``tests/test_03_async_tests.py`` holds most
of stage 03's, ``tests/test_final_loops.py`` one more). ``checked_by("03")`` is
that list; the checker (``pytest --exercise 03``, through tests/conftest.py)
collects the files it names, and the workshop pages list and count it
(docs/hooks/generate.py), so a page cannot promise what the checker does not
run. tests/test_workshop.py holds the checker's real collection to it.

The declarations are read from the source with ``ast``, as the docs do: no
test module is imported, so this works where pytest alone is installed and
before any plugin is loaded.

Python's standard library only: a workshop room has nothing else to install.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
STAGE = re.compile(r"\d\d")


@dataclass(frozen=True)
class Scenario:
    """One scenario of the shared suite, as its source declares it."""

    file: str  # tests/test_final_loops.py
    name: str  # test_asyncio_run_in_sync_test_after_async_tests
    since: str  # "03", or "final"
    until: str | None
    doc: str  # its docstring, on one line

    @property
    def summary(self) -> str:
        """The docstring's first paragraph, on one line: the checker's hint line."""
        return " ".join(self.doc.split("\n\n")[0].split())


def _declaration(node: ast.FunctionDef) -> tuple[str, str | None] | None:
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


def scenarios(root: Path = ROOT) -> list[Scenario]:
    """Every scenario of the suite under ``root``, in the order pytest collects them."""
    found = []
    for path in sorted((root / "tests").glob("test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and (declared := _declaration(node)):
                doc = ast.get_docstring(node) or ""
                found.append(Scenario(f"tests/{path.name}", node.name, *declared, doc))
    return found


def _position(stage: str) -> int:
    return int(stage) if STAGE.fullmatch(stage) else 100  # "final" comes last


def checked_by(exercise: str, root: Path = ROOT) -> list[Scenario]:
    """The scenarios ``pytest --exercise NN`` runs: those of stages up to NN, in order.

    A scenario that a later stage replaced (``until=``) is among them: the
    exercise must fail it, as its stage does.
    """
    return [s for s in scenarios(root) if _position(s.since) <= _position(exercise)]


def brought_by(exercise: str, root: Path = ROOT) -> list[Scenario]:
    """The scenarios of stage NN itself: what the learner of exercise NN makes pass."""
    return [s for s in checked_by(exercise, root) if s.since == exercise]


def files(exercise: str, root: Path = ROOT) -> list[str]:
    """The scenario files the checker collects for exercise NN (``tests/test_*.py``)."""
    return sorted({s.file for s in checked_by(exercise, root)})


def what_stage_brings(stage: str, root: Path = ROOT) -> str:
    """What stage NN adds, in one line: the first paragraph of its scenario file's docstring.

    Each stage has a file of its own, ``tests/test_NN_*.py``; scenarios of that
    stage kept in other files are reported under the same line.
    """
    for path in sorted((root / "tests").glob(f"test_{stage}_*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        return " ".join(doc.strip().split("\n\n")[0].split()).replace("``", "`")
    return f"The scenarios of stage {stage}."
