"""The docs site: built once per session with `mkdocs build --strict`, then checked.

The generated parts (highlighted lines, stage diffs, the stage matrix, the
output under "Run it") come from docs/hooks/generate.py at build time; these
tests check the built HTML as a reader gets it. The last part reads the pages'
Markdown sources instead, for what was typed by hand: a count of scenarios, a
version of pytest, a fact of the glossary (docs/reference/glossary.md) told
again in other words, the name of a test that does not exist.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urlsplit

import pytest
from conftest import ROOT, TARGETS

STAGES = [t.name for t in TARGETS if t.name != "final"]


@dataclass
class Page:
    """What the checks need from one built HTML page."""

    path: Path
    ids: set[str] = field(default_factory=set)
    links: list[str] = field(default_factory=list)  # href of <a>, src of <script>/<img>
    pre_texts: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)  # code block titles
    tab_labels: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)  # <dt> of definition lists
    # Each code block's lines, by block number: (text, highlighted).
    code_lines: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)
    text: str = ""


class _PageParser(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.pre_depth = 0
        self.pre_text: list[str] = []
        self.capture: list[str] | None = None
        self.capture_depth = 0
        self.capture_into: list[str] = []
        self.depth = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.depth += 1
        for key in ("id", "name"):
            if a.get(key):
                self.page.ids.add(a[key])
        if tag == "a" and "href" in a:
            self.page.links.append(a["href"])
        if tag in ("script", "img") and a.get("src"):
            self.page.links.append(a["src"])
        if tag == "link" and a.get("href") and a.get("rel") == "stylesheet":
            self.page.links.append(a["href"])
        classes = a.get("class", "").split()
        if tag == "pre":
            self.pre_depth += 1
            if self.pre_depth == 1:
                self.pre_text = []
        if self.capture is None:
            if tag == "span" and "filename" in classes:
                self._start_capture(self.page.titles)
            elif tag == "dt":
                self._start_capture(self.page.terms)
            elif tag == "label" and self._in_tabbed_labels:
                self._start_capture(self.page.tab_labels)
        if tag == "span" and (m := re.fullmatch(r"__span-(\d+)-\d+", a.get("id", ""))):
            self.line = (m[1], [], self.depth)
            self.line_hl = False
        elif tag == "span" and "hll" in classes and self.line is not None:
            self.line_hl = True
        if tag == "div" and "tabbed-labels" in classes:
            self._in_tabbed_labels = True
            self._labels_depth = self.depth

    _in_tabbed_labels = False
    _labels_depth = 0
    line: tuple[str, list[str], int] | None = None
    line_hl = False

    def _start_capture(self, into: list[str]) -> None:
        self.capture = []
        self.capture_depth = self.depth
        self.capture_into = into

    def handle_endtag(self, tag: str) -> None:
        if self.line is not None and self.depth == self.line[2]:
            block, parts, _ = self.line
            text = "".join(parts).removesuffix("\n")
            self.page.code_lines.setdefault(block, []).append((text, self.line_hl))
            self.line = None
        if self.capture is not None and self.depth == self.capture_depth:
            self.capture_into.append("".join(self.capture))
            self.capture = None
        if self._in_tabbed_labels and self.depth == self._labels_depth:
            self._in_tabbed_labels = False
        if tag == "pre" and self.pre_depth:
            self.pre_depth -= 1
            if self.pre_depth == 0:
                self.page.pre_texts.append("".join(self.pre_text))
        self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.line is not None:
            self.line[1].append(data)
        if self.pre_depth:
            self.pre_text.append(data)
        if self.capture is not None:
            self.capture.append(data)
        self.text.append(data)


def parse(path: Path) -> Page:
    page = Page(path)
    parser = _PageParser(page)
    parser.feed(path.read_text())
    parser.close()
    page.text = "".join(parser.text)
    return page


@dataclass
class Site:
    root: Path
    pages: dict[
        str, Page
    ]  # by path relative to the site root, e.g. "tutorial/03-async-tests/index.html"
    log: str


@pytest.fixture(scope="session")
def site(built_site) -> Site:
    out = built_site.root
    pages = {str(p.relative_to(out)): parse(p) for p in out.rglob("*.html")}
    return Site(out, pages, built_site.log)


def generator() -> ModuleType:
    """docs/hooks/generate.py, the build-time generator, imported by path."""
    spec = importlib.util.spec_from_file_location(
        "_aioloop_docs_generate", ROOT / "docs" / "hooks" / "generate.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def chapter_source(stage: str) -> Path:
    sources = sorted((ROOT / "docs" / "tutorial").glob(f"{stage}-*.md"))
    assert len(sources) == 1, f"stage {stage} needs exactly one chapter docs/tutorial/{stage}-*.md"
    return sources[0]


def chapter(site: Site, stage: str) -> Page:
    built = f"tutorial/{chapter_source(stage).stem}/index.html"
    assert built in site.pages, f"the chapter of stage {stage} was not built"
    return site.pages[built]


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_has_its_chapter_with_three_tabs(site, stage):
    page = chapter(site, stage)
    labels = page.tab_labels
    assert any(label.startswith("plugin.py") for label in labels), labels
    assert any(label.startswith("Diff from") for label in labels), labels
    assert "Example tests" in labels, labels
    assert f"stages/{stage}/pytest_aioloop/plugin.py" in page.titles
    examples = sorted(p.name for p in (ROOT / "stages" / stage).glob("test_*.py"))
    assert examples
    for name in examples:
        assert f"stages/{stage}/{name}" in page.titles
    # "Run it": the real output of the stage's run, ending with pytest's summary.
    runs = [t for t in page.pre_texts if t.startswith(f"$ pytest stages/{stage} -v\n")]
    assert len(runs) == 1, f"the chapter of stage {stage} must show `pytest stages/{stage} -v`"
    assert re.search(r"=+ .*\d+ passed.* in [\d.]+s =+\s*$", runs[0]), runs[0][-300:]


def test_chapters_follow_the_stages_in_the_nav(site):
    """The nav lists the chapters in stage order, and each links to the next (footer)."""
    nav = (ROOT / "mkdocs.yml").read_text()
    positions = [nav.find(f"tutorial/{chapter_source(stage).name}") for stage in STAGES]
    assert -1 not in positions, "a chapter is missing from mkdocs.yml's nav"
    assert positions == sorted(positions)
    for stage, following in itertools.pairwise(STAGES):
        target = f"../{chapter_source(following).stem}/"
        assert target in chapter(site, stage).links, f"no link from {stage} to {following}"


def test_final_has_its_chapter_after_the_last_stage(site):
    page = site.pages["tutorial/final/index.html"]
    modules = sorted((ROOT / "final" / "src" / "pytest_aioloop").glob("*.py"))
    for module in modules:
        assert f"final/src/pytest_aioloop/{module.name}" in page.titles
    assert "../final/" in chapter(site, STAGES[-1]).links


def test_no_page_has_an_empty_code_block(site):
    empty = [
        name for name, page in site.pages.items() for text in page.pre_texts if not text.strip()
    ]
    assert not empty, f"empty code blocks in: {sorted(set(empty))}"


def test_no_directive_is_left_unexpanded(site):
    # A directive is a line of its own: left unexpanded, it becomes a paragraph.
    left = [name for name, page in site.pages.items() if "<p>[%" in page.path.read_text()]
    assert not left
    snippets = [name for name, page in site.pages.items() if "--8<--" in page.text]
    assert not snippets


def _resolve(site: Site, page_name: str, link: str) -> tuple[str, str] | None:
    """The site file and the fragment an internal link points at, or None if external."""
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:")):
        return None
    base = Path(page_name).parent
    target = unquote(parts.path)
    if not target:
        return page_name, parts.fragment
    # 404.html links from the site root: it is served for any missing path.
    resolved = os.path.normpath(target.lstrip("/") if target.startswith("/") else base / target)
    if (site.root / resolved).is_dir():
        resolved = os.path.join(resolved, "index.html")
    return resolved, parts.fragment


def test_no_broken_internal_link(site):
    broken = []
    for name, page in site.pages.items():
        for link in page.links:
            resolved = _resolve(site, name, link)
            if resolved is None:
                continue
            file, fragment = resolved
            if not (site.root / file).is_file():
                broken.append(f"{name}: {link} (no {file})")
            elif fragment and file.endswith(".html") and fragment not in site.pages[file].ids:
                broken.append(f"{name}: {link} (no #{fragment} in {file})")
    assert not broken, "\n".join(broken)


def _gnu_diff_additions(old: Path | None, new: Path) -> list[str]:
    """The lines GNU diff marks as added to ``new``: an independent check of the highlights."""
    result = subprocess.run(
        ["diff", "-u", str(old) if old else "/dev/null", str(new)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return [
        line[1:]
        for line in result.stdout.splitlines()[2:]
        if line.startswith("+") and "8<-" not in line
    ]


def _is_subsequence(lines: list[str], of: list[str]) -> bool:
    remaining = iter(of)
    return all(any(line == other for other in remaining) for line in lines)


@pytest.mark.parametrize("stage", STAGES)
def test_highlighted_lines_are_the_lines_the_stage_adds(site, stage):
    """The listing is the file; every plain line was in the previous stage, in order; and
    no more lines are highlighted than GNU diff (an independent implementation) adds."""
    before = STAGES[STAGES.index(stage) - 1] if STAGES.index(stage) else None
    new = ROOT / "stages" / stage / "pytest_aioloop" / "plugin.py"
    old = ROOT / "stages" / before / "pytest_aioloop" / "plugin.py" if before else None
    new_lines = [x for x in new.read_text().splitlines() if "8<-" not in x]
    old_lines = [x for x in old.read_text().splitlines() if "8<-" not in x] if old else []
    listings = [
        lines
        for lines in chapter(site, stage).code_lines.values()
        if [text for text, _ in lines] == new_lines
    ]
    assert listings, f"the chapter does not show stages/{stage}/pytest_aioloop/plugin.py whole"
    lines = listings[0]
    plain = [text for text, highlighted in lines if not highlighted]
    assert _is_subsequence(plain, old_lines)
    assert len(lines) - len(plain) <= len(_gnu_diff_additions(old, new))


def test_the_generated_scenario_list_matches_a_real_collection():
    """The stage matrix reads the scenarios' declarations with ast: pytest must agree."""
    script = """
import json, sys, pytest

class Record:
    def pytest_collection_finish(self, session):
        found = {}
        for item in session.items:
            marker = item.get_closest_marker("since")
            if marker is not None:
                key = f"tests/{item.path.name}::{item.originalname}"
                found[key] = [marker.args[0], marker.kwargs.get("until")]
        print("SCENARIOS=" + json.dumps(found))

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
    collected = json.loads(line.removeprefix("SCENARIOS="))
    generated = {f"{s.file}::{s.name}": [s.since, s.until] for s in generator().scenarios()}
    assert generated == collected


def test_the_stage_matrix_lists_every_scenario(site):
    page = site.pages["reference/stage-matrix/index.html"]
    for scenario in generator().scenarios():
        assert scenario.name in page.text


def _declared_in_final() -> dict[str, set[str]]:
    """What final/src declares, found by reading its source (not by the generator's means)."""
    source = "\n".join(
        p.read_text() for p in (ROOT / "final" / "src" / "pytest_aioloop").glob("*.py")
    )
    package = (ROOT / "final" / "src" / "pytest_aioloop" / "__init__.py").read_text()
    all_names = re.search(r"__all__ = \[(.*?)\]", package, re.S)
    assert all_names, "final/'s __init__.py has no __all__"
    return {
        "ini options": set(re.findall(r"addini\(\s*\"(\w+)\"", source)),
        "command-line options": set(re.findall(r"addoption\(\s*\"(--[\w-]+)\"", source)),
        # (not the private ones, whose names start with "_": pytest --fixtures hides them)
        "fixtures": set(re.findall(r"@pytest\.fixture[^\n]*\ndef ([^_\W]\w*)", source)),
        "hooks": set(re.findall(r"@pytest\.hookspec[^\n]*\ndef (\w+)", source)),
        "public names": set(re.findall(r"\"(\w+)\"", all_names[1])),
    }


def test_the_reference_covers_every_option_of_final(site):
    page = site.pages["reference/index.html"]
    declared = _declared_in_final()
    assert declared["ini options"]
    assert declared["command-line options"]
    missing = {
        kind: sorted(n for n in names if n not in page.text) for kind, names in declared.items()
    }
    assert not any(missing.values()), missing
    # Each argument of the asyncio marker that final/ accepts has its entry.
    config = (ROOT / "final" / "src" / "pytest_aioloop" / "config.py").read_text()
    accepted = re.search(r"set\(mark\.kwargs\) - \{(.*?)\}", config, re.S)
    assert accepted, "where final/ lists the marker's arguments has moved: update this test"
    arguments = set(re.findall(r"\"(\w+)\"", accepted[1]))
    assert arguments <= set(page.terms), (arguments, page.terms)


def test_the_readmes_first_command_serves_this_site(site):
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"\[start:quickstart\] -->\n```bash\n(.*?)\n```", readme, re.S)
    assert block, "README.md's quickstart block (between its snippet markers) is gone"
    serve, test = block[1].splitlines()
    assert serve.endswith("&& .venv/bin/mkdocs serve")
    assert serve.rsplit("&&", 1)[0] == test.rsplit("&&", 1)[0], "the same set-up chain"
    assert serve in site.pages["index.html"].text  # the home page shows it


def test_every_example_project_is_run_by_a_page():
    """docs/examples/* are shown on pages; each must also be run there, so none goes stale."""
    pages = "\n".join(p.read_text() for p in (ROOT / "docs").rglob("*.md"))
    examples = sorted(p.name for p in (ROOT / "docs" / "examples").iterdir() if p.is_dir())
    assert examples
    not_run = [
        name
        for name in examples
        if f"[% run-example {name}" not in pages and f"[% run-failing-example {name}" not in pages
    ]
    assert not not_run


# --------------------------------------------------------------------------
# One account of every fact: what the pages say by hand
#
# The checks below read the pages' Markdown sources, as their authors wrote
# them: what a directive generates (a run, a scenario list, a count) or a
# snippet includes (a glossary entry) is not in the source, so whatever these
# checks find was typed by hand.
# --------------------------------------------------------------------------

GLOSSARY = "docs/reference/glossary.md"
# Where the entries of the glossary live: the glossary itself, and the README
# for what a reader meets there first (the glossary includes it from there).
FACT_HOMES = (GLOSSARY, "README.md")
SECTION = re.compile(r"-{1,}8<-{1,}\s*\[\s*(start|end)\s*:\s*([\w-]+)\s*\]")
INCLUDE = re.compile(r"^\s*-{1,}8<-{1,}\s*\"([^\"]+?)(?::([\w-]+))?\"\s*$")
DIRECTIVE_LINE = re.compile(r"^\s*\[%.*%\]\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def page_sources() -> list[str]:
    """Every page a reader gets, as a path from the repository root.

    The site's pages (docs/**/*.md, but the how-tos' example projects and the
    build hooks) and the README. Pages written later are checked as soon as
    they exist.
    """
    docs = ROOT / "docs"
    pages = [
        str(p.relative_to(ROOT))
        for p in sorted(docs.rglob("*.md"))
        if p.relative_to(docs).parts[0] not in ("examples", "hooks")
    ]
    return [*pages, "README.md"]


@dataclass(frozen=True)
class Prose:
    """One unit of a page's hand-written text: a sentence, a table cell, a code line."""

    where: str  # docs/tutorial/01-naive-loop.md:13
    text: str  # as written, lines joined, with its inline code
    code: bool  # a line of a fenced code block
    section: str | None  # the snippet section it is written in, if any
    block: str  # the whole paragraph, list item or table row it is part of
    title: bool = False  # a heading, or an admonition's title: it names, it tells nothing


def _blocks(lines: list[str]) -> Iterator[tuple[int, str, bool, str | None]]:
    """(line number, text, in a code fence, snippet section) of each block of a page.

    A block is a paragraph, a list item, a heading, a table row or one line of a
    fenced code block. Directive and snippet lines, and HTML comments, are left
    out: they are not prose, and what they bring in is not typed on the page.
    """
    fenced = False
    section: str | None = None
    current: list[str] = []
    start = 0
    for number, raw in enumerate(lines, 1):
        marker = SECTION.search(raw)
        if marker:
            yield from _flush(current, start, section)
            current = []
            section = marker[2] if marker[1] == "start" else None
            continue
        if FENCE.match(raw):
            yield from _flush(current, start, section)
            current = []
            fenced = not fenced
            continue
        if fenced:
            if not DIRECTIVE_LINE.match(raw) and not INCLUDE.match(raw):
                yield number, raw.strip(), True, section
            continue
        line = re.sub(r"<!--.*?-->", "", raw).strip()
        starts_block = re.match(r"([-*+]|\d+\.|#+|\||!!!|\?\?\?|===)\s", line + " ")
        if not line or DIRECTIVE_LINE.match(raw) or INCLUDE.match(raw) or starts_block:
            yield from _flush(current, start, section)
            current = []
            if not line or DIRECTIVE_LINE.match(raw) or INCLUDE.match(raw):
                continue
        if not current:
            start = number
        current.append(line)
    yield from _flush(current, start, section)


def _flush(
    current: list[str], start: int, section: str | None
) -> Iterator[tuple[int, str, bool, str | None]]:
    if current:
        yield start, " ".join(current), False, section


def _sentences(text: str) -> list[str]:
    if text.startswith("|"):  # a table row: each cell on its own
        return [cell.strip() for cell in text.strip("|").split("|") if cell.strip()]
    return re.split(r"(?<=[.!?:;])\s+(?=[A-Z`*\[(\"])", text)


def prose(page: str) -> list[Prose]:
    """A page's hand-written text, sentence by sentence (link targets left out)."""
    out = []
    for number, text, code, section in _blocks((ROOT / page).read_text().splitlines()):
        where = f"{page}:{number}"
        text = re.sub(r"\]\([^)]*\)", "]", text)  # [label](target): the label only
        if not code and (title := TITLE.match(text)):
            out.append(Prose(where, title[0].strip(), False, section, text, title=True))
            text = text[title.end() :]
            if not text:
                continue
        parts = [text] if code else _sentences(text)
        out += [Prose(where, s, code, section, text) for s in parts]
    return out


# A heading, or the first line of an admonition (`!!! tip "Title"`, `??? info`).
TITLE = re.compile(r"^#+\s.*$|^(?:!!!|\?\?\?\+?)\s+[\w-]+(?:\s+\"[^\"]*\")?\s*")


def scenario_docstrings() -> list[Prose]:
    """The scenarios' docstrings: the stage matrix and the chapters show them."""
    return [
        Prose(f"{s.file}::{s.name}", doc, False, None, s.doc)
        for s in generator().scenarios()
        for doc in _sentences(s.doc)
    ]


def _mask_code(text: str, keep_words: bool) -> str:
    """Inline code hidden: its digits only (keep_words), or all of it."""
    return re.sub(
        r"`+[^`]*`+", lambda m: re.sub(r"\d", "#", m[0]) if keep_words else "`code`", text
    )


def _report(found: list[str], rule: str) -> str:
    return rule + "\n" + "\n".join(f"  {line}" for line in found)


NUMBER_WORDS = [
    *("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven"),
    *("twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen"),
    *("nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty"),
    *("ninety", "hundred", "dozen"),
]
COUNT = rf"(?:(?<![\w.#-])(?:0|[1-9]\d*)(?!\w|\.\d)|\b(?:{'|'.join(NUMBER_WORDS)})\b)"
OUTCOME = r"(?:scenarios?|xfails?|xpass(?:es)?)\b"
SCENARIO_COUNTS = [
    # "twenty scenarios", "3 of 6 scenarios", "the three XFAIL lines", "95 are still xfail"
    re.compile(rf"{COUNT}(?:\W+[\w'\u2019]+){{0,3}}?\W+{OUTCOME}", re.I),
    # "scenarios pass: 3", "scenario count of 21"
    re.compile(rf"\b{OUTCOME}(?:\W+[\w'\u2019]+){{0,2}}?\W+{COUNT}", re.I),
]
RATIO = re.compile(rf"{COUNT}\s+(?:of|out of)\s+{COUNT}", re.I)
ABOUT_SCENARIOS = re.compile(rf"{OUTCOME}|--exercise", re.I)


def hand_typed_counts(units: list[Prose]) -> list[str]:
    found = []
    for unit in units:
        text = _mask_code(unit.text, keep_words=True)
        if any(p.search(text) for p in SCENARIO_COUNTS) or (
            RATIO.search(text) and ABOUT_SCENARIOS.search(text)
        ):
            found.append(f"{unit.where}: {unit.text}")
    return found


@pytest.mark.parametrize("page", page_sources())
def test_no_scenario_count_is_typed_by_hand(page):
    """Every count of scenarios (or of a run's xfails) on a page is generated.

    The shared suite changes: a number typed into prose about it goes stale
    without any error ("stage 03's twenty scenarios" while the suite has 21).
    Counts come from the directives (``[% scenarios-new 03 %]``, ``[% run ... %]``).

    The rule, on the page's source (what directives generate is not in it): a
    sentence, table cell or line of a code block fails when a count (digits,
    or a number word from "two" up: "one" is left out, as in "one scenario
    everywhere") stands within three words before or two words after
    "scenario", "xfail" or "xpass", or when "N of M" appears in a sentence
    about scenarios or the workshop's checker (``--exercise``). Not counts,
    and never flagged: numbers inside inline code (``--target 03``), stage
    names (zero-padded: "stage 03"), versions and decimals ("Python 3.10",
    "0.3 s"), and numbers in sentences about anything else ("2000 tests",
    "port 8000"). The scenarios' docstrings are checked too (the stage matrix
    shows them): see the next test.
    """
    found = hand_typed_counts(prose(page))
    assert not found, _report(
        found,
        "scenario counts typed by hand (generate them with a directive, or write no number):",
    )


def test_no_scenario_docstring_counts_scenarios():
    found = hand_typed_counts(scenario_docstrings())
    assert not found, _report(found, "scenario docstrings with a count of scenarios:")


# The one version of pytest-asyncio that pages may name anywhere: the one
# final/ is a drop-in alternative to.
MATCHED = ("pytest-asyncio", "1.5")
PRODUCT = re.compile(
    r"\b(pytest-asyncio|pytest_asyncio|pytest)\b[\s(]*(?:version\s+|v)?(\d+(?:\.(?:\d+|x))*)\b"
)
BARE_VERSION = re.compile(r"(?<![\w.])(\d+)\.(\d+|x)(?:\.\d+)*\b")
RELATIVE_VERSION = re.compile(
    r"\b(?:older|old|earlier|newer|recent|previous|later|future)\s+(?:versions?\s+of\s+)?"
    r"pytest(?:-asyncio)?\b|\bpytest(?:-asyncio)?\s+versions?\s+(?:before|after|older|newer)",
    re.I,
)
# After these words a bare version is still the version of what the paragraph
# names ("removed in 1.0"); after any other word, of that word ("mkdocs 1.6").
FUNCTION_WORDS = {
    *("in", "until", "since", "from", "before", "after", "to", "and", "or", "than", "of"),
    *("at", "by", "with", "on", "is", "was", "were", "as"),
}


def version_claims(unit: Prose) -> list[str]:
    """The versions of pytest and pytest-asyncio that a block states, as written."""
    text = _mask_code(unit.block, keep_words=False)
    names_pytest = re.search(r"\bpytest", text, re.I)
    claims = []
    spans = []
    for match in PRODUCT.finditer(text):
        spans.append(match.span(2))
        if (match[1].replace("_", "-"), match[2]) != MATCHED:
            claims.append(match[0])
    for match in BARE_VERSION.finditer(text):
        if any(a <= match.start() < b for a, b in spans) or match[1] == "3":  # Python 3.x
            continue
        before = re.search(r"([\w-]+)\W*$", text[: match.start()])
        word = before[1].lower() if before else ""
        if word and not word.isdigit() and word not in FUNCTION_WORDS:
            continue  # "Python 3.10", "mkdocs 1.6": another product's version
        if names_pytest and match[0] != MATCHED[1]:
            claims.append(match[0])
    claims += [m[0] for m in RELATIVE_VERSION.finditer(text)]
    return claims


@pytest.mark.parametrize("page", [p for p in page_sources() if p != GLOSSARY])
def test_versions_of_pytest_are_stated_in_the_glossary_only(page):
    """What changed between versions of pytest and pytest-asyncio is stated once, in the glossary.

    Which pytest refuses an async test, which one only warned, when
    pytest-asyncio dropped ``event_loop``: told from memory on several pages,
    such facts disagree ("warned and passed" here, "skipped it" there). A page
    includes the glossary's entry instead (``--8<-- "docs/reference/glossary.md:NAME"``).

    The rule, on the page's prose (code blocks and inline code are commands and
    listings, not claims): a block fails when it names a version of pytest or
    pytest-asyncio ("pytest 8.4", "pytest (8.4 and later)", "pytest-asyncio 1.x"),
    when it names pytest and holds a bare version after punctuation or a
    function word ("(8.4 deprecated it)", "removed in 1.0"), or when it speaks
    of "older pytest", "earlier versions of pytest" and the like. Allowed
    everywhere: pytest-asyncio 1.5, the version final/ matches; Python's
    versions (3.x, or after the word "Python"); other products' versions ("mkdocs 1.6").
    """
    found = [
        f"{unit.where}: {', '.join(claims)}: {unit.block}"
        for unit in _unique_blocks(prose(page))
        if not unit.code and (claims := version_claims(unit))
    ]
    assert not found, _report(
        found,
        f"versions of pytest or pytest-asyncio stated by hand (include the entry of {GLOSSARY}):",
    )


def test_no_scenario_docstring_states_a_version_of_pytest():
    found = [
        f"{unit.where}: {unit.block}"
        for unit in _unique_blocks(scenario_docstrings())
        if version_claims(unit)
    ]
    assert not found, _report(found, f"scenario docstrings with versions (see {GLOSSARY}):")


def _unique_blocks(units: list[Prose]) -> list[Prose]:
    seen: dict[tuple[str, str], Prose] = {}
    for unit in units:
        seen.setdefault((unit.where, unit.block), unit)
    return list(seen.values())


def _about_final(page: str, text: str) -> bool:
    names_final = re.search(r"final/|pytest-aioloop|pytest_aioloop\b(?!\.fixture)", text)
    if names_final:
        return True
    on_a_final_page = page.startswith(("docs/howto/", "docs/reference/")) or page == (
        "docs/tutorial/final.md"
    )
    names_another = re.search(r"\bstages? \d\d\b|pytest-asyncio|pytest_asyncio", text, re.I)
    return on_a_final_page and not names_another


@dataclass(frozen=True)
class Retelling:
    """How to recognise a page that retells one fact of the glossary in its own words."""

    pattern: re.Pattern[str]
    #: match the whole paragraph, not one sentence (the fact spans sentences)
    in_paragraph: bool = False
    #: only sentences about final/ (see _about_final)
    about_final: bool = False


# Facts of the glossary that pages tend to retell, and how to recognise a retelling.
RETOLD: dict[str, Retelling] = {
    "final-context-variables": Retelling(
        re.compile(r"context[\s-]*var\w*|contextvars?\b", re.I), about_final=True
    ),
    "one-process": Retelling(
        re.compile(
            r"\b(?:one|a|single|same|per|each)\s+(?:python\s+)?process(?:es)?\b"
            r"|\bonce per process\b|\bin-process\b",
            re.I,
        )
    ),
    "get-event-loop": Retelling(
        re.compile(r"get_event_loop\(\).*\b(?:deprecat\w*|raises?|3\.1\d)", re.I),
        in_paragraph=True,
    ),
    "unmarked-async-test": Retelling(
        re.compile(
            r"\bpass(?:es|ed)? regardless|\bwarned and (?:passed|reported)"
            r"|\bskipped (?:it |them )?with a warning",
            re.I,
        )
    ),
}


def retold_facts(page: str, units: list[Prose]) -> list[str]:
    found = []
    for unit in units:
        if unit.code or unit.title or (page in FACT_HOMES and unit.section is not None):
            continue
        if re.search(r"\bglossary\b", unit.text, re.I):
            continue  # points at the fact's home: a pointer, not a retelling
        for name, retelling in RETOLD.items():
            written = unit.block if retelling.in_paragraph else unit.text
            text = _mask_code(written, keep_words=True)
            if retelling.pattern.search(text) and (
                not retelling.about_final or _about_final(page, text)
            ):
                found.append(f"{unit.where}: [{name}] {written}")
    return sorted(set(found))


@pytest.mark.parametrize("page", [p for p in page_sources() if p != GLOSSARY])
def test_no_page_retells_a_glossary_fact(page):
    """A fact of the glossary is included where a page needs it, never retold.

    Some facts are recognisable without a version number: what ``final/`` does
    with context variables (a sentence that mentions context variables and is
    about final/: it names final/ or pytest-aioloop, or it is on a page about
    final/, a how-to, the reference or the final/ chapter, and names no stage
    and not pytest-asyncio); why one process can hold one stage but the whole
    suite ("one process", "once per process", "in-process"); what
    ``asyncio.get_event_loop()`` does on which Python; what older pytest did
    with an unmarked async test ("passes regardless", "skipped it with a
    warning"). ``RETOLD`` maps each to its glossary entry: a new such fact
    gets its entry there, and one line here. A fact's home (its section of the
    glossary, or of the README) is exempt, and so is a sentence that names the
    glossary: it points at the fact instead of telling it.
    """
    found = retold_facts(page, prose(page))
    assert not found, _report(found, f"facts retold by hand (include the entry of {GLOSSARY}):")


def fact_sections() -> dict[str, str]:
    """Each fact's snippet section, with the file it lives in.

    The glossary's own sections, and those it includes from another file (the
    README's "one-process"): the glossary lists every fact, wherever it lives.
    """
    text = (ROOT / GLOSSARY).read_text()
    found = {m[2]: GLOSSARY for m in SECTION.finditer(text) if m[1] == "start"}
    for line in text.splitlines():
        if (match := INCLUDE.match(line)) and match[2]:
            found[match[2]] = match[1]
    return found


def includes() -> list[tuple[str, str, str | None]]:
    """(page, file, section) of every snippet line of every page."""
    found = []
    for page in page_sources():
        for line in (ROOT / page).read_text().splitlines():
            if match := INCLUDE.match(line):
                found.append((page, match[1], match[2]))
    return found


def test_every_glossary_fact_is_included_where_it_is_needed():
    """Each fact has one home, and at least one page besides the glossary includes it.

    An entry no page includes is a fact no page states any more (or one that a
    page retells by hand): either way, the glossary has drifted from the pages.
    """
    sections = fact_sections()
    assert set(RETOLD) <= set(sections), "RETOLD names facts that have no glossary entry"
    assert {home for home in sections.values()} <= set(FACT_HOMES), "update FACT_HOMES"
    used = {(file, section) for page, file, section in includes() if page != GLOSSARY}
    unused = sorted(name for name, home in sections.items() if (home, name) not in used)
    assert not unused, f"glossary entries no page includes: {unused}"
    links = "\n".join((ROOT / page).read_text() for page in page_sources())
    assert "reference/glossary.md" in links.replace(GLOSSARY, ""), "no page links the glossary"


def test_the_glossary_states_the_pytest_that_final_requires():
    """The supported pytest, stated once, is the one final/ and the repository declare."""
    final = (ROOT / "final" / "pyproject.toml").read_text()
    required = re.search(r"\"pytest>=([\d.]+)\"", final)
    assert required, "final/pyproject.toml no longer requires pytest>=X: update this test"
    minversion = re.search(r"minversion = \"([\d.]+)\"", (ROOT / "pyproject.toml").read_text())
    assert minversion, "the root pyproject.toml has no pytest minversion"
    entry = re.search(
        r"\[start:supported-pytest\] -->\n(.*?)<!--", (ROOT / GLOSSARY).read_text(), re.S
    )
    assert entry, "the glossary has no supported-pytest entry"
    assert minversion[1] == required[1]
    assert f"pytest {required[1]} or later" in " ".join(entry[1].split())
    assert f"`pytest>={required[1]}`" in entry[1]


def _defined_test_names() -> set[str]:
    """Every ``test_*`` function of the repository: scenarios, stage examples, example projects."""
    names = set()
    for folder in ("tests", "stages", "docs/examples"):
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(re.findall(r"^\s*(?:async\s+)?def (test_\w+)", path.read_text(), re.M))
    return names


@pytest.mark.parametrize("page", page_sources())
def test_every_test_a_page_names_exists(page):
    """A scenario or example test named on a page (`` `test_...` ``) exists under that name.

    Pages point at scenarios by name ("`test_module_fixture_in_another_loop`
    keeps it as a strict xfail"): a renamed scenario must not leave a page
    pointing at nothing. Names in inline code that start with ``test_`` and are
    not a file name (``test_docs.py``) or a pattern (``test_*``) count.
    """
    defined = _defined_test_names()
    text = (ROOT / page).read_text()
    named = {
        name
        for span in re.findall(r"`([^`\n]+)`", text)
        for name in re.findall(r"(?<![\w/.])(test_\w+)(?![\w.*])", span)
    }
    missing = sorted(named - defined)
    assert not missing, f"{page} names tests that do not exist: {missing}"


def _expected_counts(target: str) -> tuple[int, int, int, int]:
    """(pass, still to come, replaced, all) on ``target``, from the harness's own rules."""
    pass_, to_come, replaced = 0, 0, 0
    harness = generator().harness()
    scenarios = generator().scenarios()
    for s in scenarios:
        if harness.expectation(s.since, s.until, target) is None:
            pass_ += 1
        elif harness.position(target) < harness.position(s.since):
            to_come += 1
        else:
            replaced += 1
    return pass_, to_come, replaced, len(scenarios)


@pytest.mark.parametrize("chapter_of", [t.name for t in TARGETS])
def test_a_chapters_scenario_counts_add_up(site, chapter_of):
    """What a chapter says passes, is still to come and was replaced makes the whole suite.

    Counted here from the harness's ``expectation()`` and ``position()``, apart
    from the generator's lists ("3 of 101 pass" and "95 are still strict
    xfails" on stage 01 left three scenarios out), and every scenario that does
    not pass on the target is named in the chapter.
    """
    target = chapter_of  # (`target` is the harness's fixture)
    source = "final" if target == "final" else chapter_source(target).stem
    text = " ".join(site.pages[f"tutorial/{source}/index.html"].text.split())
    title = "final/" if target == "final" else f"stage {target}"
    patterns = {
        "pass": rf"With {title}, (\d+) of the shared suite's \d+ scenarios pass",
        "to come": rf"(\d+) scenarios of the shared suite are still strict xfails on {title}",
        "replaced": rf"(\d+) scenarios passed on earlier stages and no longer do on {title}",
    }
    said = {k: int(m[1]) if (m := re.search(p, text)) else 0 for k, p in patterns.items()}
    counted = dict(zip(("pass", "to come", "replaced"), _expected_counts(target), strict=False))
    total = len(generator().scenarios())
    assert said == counted, f"the chapter of {title} says {said}, of {total}; the suite: {counted}"
    unnamed = [s.name for s in generator().scenarios() if not s.passes_on(target)]
    assert not [name for name in unnamed if name not in text], "left out of the chapter's lists"


def _unit(text: str) -> Prose:
    return Prose("example", text, False, None, text)


@pytest.mark.parametrize(
    ("sentence", "counts"),
    [
        ("None of stage 03's twenty scenarios does yet.", True),
        ("The untouched exercise passes the three scenarios of stage 01.", True),
        ("`pytest --exercise 02` and sees 3 of 6", True),
        ("The three `XFAIL` lines are part of the lesson.", True),
        ("With stage 01, 95 are still xfail.", True),
        ("The suite has scenarios: 101 of them.", True),
        ("One scenario everywhere: `pytest tests -k test_parametrize`.", False),
        ("The per-test overhead on 2000 trivial async tests, before and after.", False),
        ("Serve it on port 8000 with Python 3.10 or newer.", False),
        ("Run `pytest tests --target 03` to see stage 03's scenarios.", False),
        ("A scenario costs about 0.3 s in a subprocess.", False),
        ('Scenarios declared `since("02", until="05")` pass on stages 02 to 05.', False),
    ],
)
def test_the_count_rule(sentence, counts):
    """What the no-hand-typed-count rule takes for a count, and what it leaves alone."""
    assert bool(hand_typed_counts([_unit(sentence)])) is counts


@pytest.mark.parametrize(
    ("block", "claims"),
    [
        ("Write the test and pytest (8.4 and later) refuses it.", ["pytest (8.4"]),
        ("An error in pytest 9 (8.4 deprecated it).", ["pytest 9", "8.4"]),
        ("pytest-asyncio had this fixture, and it was removed in 1.0.", ["1.0"]),
        ("As in pytest-asyncio 1.x, there is none.", ["pytest-asyncio 1.x"]),
        ("Older pytest versions only warned.", ["Older pytest"]),
        ("A drop-in alternative to pytest-asyncio 1.5.", []),
        ("pytest-asyncio (1.5) makes the same decision; in 1.5 each loop is a Runner.", []),
        ("Python 3.10 to 3.13, with pytest installed.", []),
        ("Built with mkdocs 1.6 and pytest.", []),
        ("Run `pytest -n 2` on 2000 tests.", []),
    ],
)
def test_the_version_rule(block, claims):
    """What the versions-in-the-glossary-only rule takes for a claim, and what it leaves alone."""
    assert version_claims(_unit(block)) == claims
