"""The docs site: built once per session with `mkdocs build --strict`, then checked.

The generated parts (highlighted lines, stage diffs, the stage matrix, the
output under "Run it") come from docs/hooks/generate.py at build time; these
tests check the built HTML as a reader gets it.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import re
import subprocess
import sys
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
        "fixtures": set(re.findall(r"@pytest\.fixture[^\n]*\ndef (\w+)", source)),
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
    accepted = re.search(r"set\(mark\.kwargs\) - \{(.*?)\}", config)
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
    not_run = [name for name in examples if f"[% run-example {name}" not in pages]
    assert not not_run
