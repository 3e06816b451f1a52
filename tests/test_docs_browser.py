"""The docs site as a reader sees it: built, served on 127.0.0.1, read in headless Chromium.

`mkdocs build --strict` cannot see what happens in a browser: a mermaid block
stays as its source text when the page cannot load mermaid (mkdocs-material
fetches it from a public CDN unless the site serves it, see
docs/hooks/offline.py), a diagram with a syntax error renders as an error
picture, the theme may ask other hosts for fonts. These tests build the site
once, serve it from a thread on an ephemeral port of 127.0.0.1, and drive
Debian's Chromium with Playwright (no browser download). Every request the
pages make is recorded; any request for another host is refused and fails
the test that caused it.

Screenshots of the home page and of a stage chapter, at a desktop and a phone
width, go to $DOCS_SCREENSHOTS (CI keeps them) or to a temporary folder.

Without Chromium the tests are skipped, except in CI (CI=true), where a
missing browser is a failure: .ci/run installs it.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright
from playwright.sync_api import Error as PlaywrightError

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# How these machines need Chromium launched (see ../shared/NOTES.md): headless,
# no sandbox (CI runs as root), and none of the background traffic a fresh
# browser starts on its own (it is not the site's, and there is no network).
# Playwright gives every launch a fresh, temporary user-data-dir.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Loading a page and drawing its diagrams takes well under a second here; a
# diagram that is still text after this long never becomes a picture.
RENDER_TIMEOUT_MS = 15_000
# The copy button mkdocs-material puts on a listing (9.7: the first; 9.8: the second).
COPY_BUTTON = "button.md-clipboard, button.md-code__button[data-md-type='copy']"

# Search queries, and what must find them: the chapter of the first stage
# whose plugin uses the word. A word that no stage uses yet is left out, so
# the list follows the stages as they land (loop_scope: stage 06).
SEARCH_TERMS = ["loop_scope", "pytest_pyfunc_call"]


# --------------------------------------------------------------------------
# The site: what the build produced
# --------------------------------------------------------------------------


def stage_of_chapter(path: Path) -> str | None:
    """docs/tutorial/03-async-tests.md is stage 03's chapter."""
    match = re.fullmatch(r"(\d\d)-.*\.md", path.name)
    return match[1] if match and path.parent.name == "tutorial" else None


def stage_chapters() -> dict[str, str]:
    """Each stage's chapter as a URL path of the site: {"03": "tutorial/03-async-tests/"}."""
    chapters = {}
    for source in sorted((ROOT / "docs" / "tutorial").glob("*.md")):
        stage = stage_of_chapter(source)
        if stage is not None:
            chapters[stage] = f"tutorial/{source.stem}/"
    return chapters


def first_stage_using(word: str) -> str | None:
    for plugin in sorted(ROOT.glob("stages/[0-9][0-9]/pytest_aioloop/plugin.py")):
        if word in plugin.read_text():
            return plugin.parent.parent.name
    return None


def search_cases() -> list[Any]:
    cases = []
    for word in SEARCH_TERMS:
        stage = first_stage_using(word)
        if stage is not None:
            cases.append(pytest.param(word, stage, id=f"{word}-stage{stage}"))
    return cases


def pages_with(site: Path, needle: str) -> list[str]:
    """URL paths of the built pages whose HTML contains ``needle``."""
    return sorted(
        str(html.parent.relative_to(site)).removeprefix(".") + "/" if html.parent != site else ""
        for html in site.rglob("index.html")
        if needle in html.read_text()
    )


def mermaid_blocks(site: Path, path: str) -> int:
    """How many mermaid blocks the page's HTML holds before any script runs."""
    return len(re.findall(r'<pre class="mermaid">', (site / path / "index.html").read_text()))


# --------------------------------------------------------------------------
# Fixtures: one build, one server, one browser for the whole module
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    path = os.environ.get("DOCS_CHROMIUM") or shutil.which("chromium")
    if path:
        return path
    reason = (
        "no chromium on PATH: the browser test needs Debian's chromium (apt-get install chromium)"
    )
    if IN_CI:
        pytest.fail(f"CI=true and {reason}; .ci/run installs it", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site as `mkdocs build --strict` makes it, in a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"mkdocs build failed:\n{result.stdout}{result.stderr}"
    return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    """The built site over HTTP on 127.0.0.1, as `mkdocs serve` or any web server would."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("DOCS_SCREENSHOTS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Reader:
    """One browser tab, with a record of every request it made."""

    page: Page
    base: str
    requests: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # requests for another host
    broken: list[str] = field(default_factory=list)  # local requests that failed
    errors: list[str] = field(default_factory=list)  # uncaught errors in page scripts

    def open(self, path: str) -> None:
        self.page.goto(self.base + path, wait_until="load")

    def check_stayed_home(self) -> None:
        assert not self.refused, (
            "the pages asked another host for something (refused, so it failed offline):\n"
            + "\n".join(self.refused)
        )
        assert not self.broken, "requests to the site that failed:\n" + "\n".join(self.broken)
        assert not self.errors, "errors in the pages' scripts:\n" + "\n".join(self.errors)


def open_reader(browser: Browser, base: str, viewport: dict[str, int], **options: Any) -> Reader:
    context = browser.new_context(viewport=viewport, **options)
    reader = Reader(context.new_page(), base)

    def route(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            reader.refused.append(f"{route.request.resource_type}: {url}")
            route.abort("blockedbyclient")

    # Every request of every page and worker of the context goes through here.
    context.route("**/*", route)
    context.on("request", lambda request: reader.requests.append(request.url))
    context.on(
        "response",
        lambda response: (
            reader.broken.append(f"{response.status}: {response.url}")
            if response.status >= 400 and urlsplit(response.url).hostname == "127.0.0.1"
            else None
        ),
    )
    reader.page.on("pageerror", lambda error: reader.errors.append(str(error)))
    return reader


@pytest.fixture
def reader(browser: Browser, server: str) -> Iterator[Reader]:
    reader = open_reader(browser, server, DESKTOP)
    yield reader
    reader.page.context.close()


@pytest.fixture(scope="module")
def chapter() -> str:
    """A stage chapter for the checks that need one: the last stage's."""
    chapters = stage_chapters()
    assert chapters, "docs/tutorial/ has no stage chapter (NN-title.md)"
    return chapters[max(chapters)]


# --------------------------------------------------------------------------
# What a reader sees
# --------------------------------------------------------------------------


def rendered_diagrams(page: Page) -> list[str]:
    """What each drawn diagram on the page is: its SVG's aria-roledescription.

    mkdocs-material draws each diagram inside a *closed* shadow root of a
    ``div.mermaid`` that replaces the ``pre.mermaid``: scripts and selectors
    cannot look inside, the DevTools protocol can (``pierce``).
    """
    cdp = page.context.new_cdp_session(page)
    try:
        root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
    finally:
        cdp.detach()

    def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield node
        for child in node.get("children", []) + node.get("shadowRoots", []):
            yield from walk(child)

    def attributes(node: dict[str, Any]) -> dict[str, str]:
        flat = node.get("attributes", [])
        return dict(zip(flat[::2], flat[1::2], strict=True))

    kinds = []
    for node in walk(root):
        if node.get("nodeName") == "DIV" and "mermaid" in attributes(node).get("class", "").split():
            svgs = [
                n
                for shadow in node.get("shadowRoots", [])
                for n in walk(shadow)
                if n.get("nodeName", "").lower() == "svg"
            ]
            kinds.append(attributes(svgs[0]).get("aria-roledescription", "?") if svgs else "none")
    return kinds


def test_every_diagram_becomes_a_picture(site: Path, reader: Reader) -> None:
    """Every mermaid block of every page is drawn as an SVG, from the site's own mermaid."""
    pages = pages_with(site, '<pre class="mermaid">')
    assert pages, "no page of the site has a mermaid diagram: the concepts pages should"
    problems = []
    for path in pages:
        expected = mermaid_blocks(site, path)
        reader.open(path)
        try:
            reader.page.wait_for_function(
                "document.querySelectorAll('pre.mermaid').length === 0",
                timeout=RENDER_TIMEOUT_MS,
            )
        except PlaywrightError:
            left = reader.page.locator("pre.mermaid").count()
            problems.append(f"/{path}: {left} of {expected} diagrams still shown as text")
            continue
        kinds = rendered_diagrams(reader.page)
        drawn = [kind for kind in kinds if kind not in ("none", "error")]
        if len(drawn) != expected:
            problems.append(
                f"/{path}: {len(drawn)} of {expected} diagrams drawn as SVG"
                f" (what each became: {kinds or 'nothing'})"
            )
    assert not problems, "\n".join(problems)
    assert any(url.endswith("/assets/javascripts/mermaid.min.js") for url in reader.requests)
    reader.check_stayed_home()


def test_no_request_leaves_the_machine(site: Path, reader: Reader, chapter: str) -> None:
    """Home, a stage chapter and every page with a diagram ask 127.0.0.1 only: fonts included."""
    for path in ["", chapter, *pages_with(site, '<pre class="mermaid">')]:
        reader.open(path)
        reader.page.wait_for_load_state("networkidle")
    assert len(reader.requests) > 10, reader.requests  # the recording works
    reader.check_stayed_home()


@pytest.mark.parametrize(("word", "stage"), search_cases())
def test_search_finds_the_chapter(reader: Reader, word: str, stage: str) -> None:
    """Typing a word into the search box lists the chapter of the stage that brings it."""
    chapters = stage_chapters()
    assert stage in chapters, f"stage {stage} has no chapter in docs/tutorial/"
    reader.open("")
    box = reader.page.locator("input.md-search__input")
    box.click()
    box.press_sequentially(word)  # typed key by key: the theme searches as you type
    links = reader.page.locator(".md-search-result__item > a.md-search-result__link")
    links.first.wait_for(timeout=RENDER_TIMEOUT_MS)
    found = [urlsplit(links.nth(i).get_attribute("href") or "").path for i in range(links.count())]
    wanted = "/" + chapters[stage]
    assert wanted in found, f"searching {word!r} did not list {wanted}: {found}"
    reader.check_stayed_home()


def test_content_tabs_switch(reader: Reader, chapter: str) -> None:
    """Clicking a tab's label shows that tab's listing and hides the others."""
    reader.open(chapter)
    tabs = reader.page.locator(".tabbed-set").first
    labels = tabs.locator(":scope > .tabbed-labels > label")
    blocks = tabs.locator(":scope > .tabbed-content > .tabbed-block")
    assert labels.count() >= 2, f"/{chapter}: its first tab set has {labels.count()} tabs"
    assert blocks.nth(0).is_visible()
    assert not blocks.nth(1).is_visible()
    labels.nth(1).click()
    blocks.nth(1).wait_for(state="visible", timeout=RENDER_TIMEOUT_MS)
    assert not blocks.nth(0).is_visible()
    labels.nth(0).click()
    blocks.nth(0).wait_for(state="visible", timeout=RENDER_TIMEOUT_MS)
    assert not blocks.nth(1).is_visible()
    reader.check_stayed_home()


def test_code_blocks_have_copy_buttons(browser: Browser, server: str, chapter: str) -> None:
    """Every listing has a copy button, and pressing it puts the listing on the clipboard."""
    reader = open_reader(
        browser, server, DESKTOP, permissions=["clipboard-read", "clipboard-write"]
    )
    try:
        reader.open(chapter)
        page = reader.page
        listings = page.locator("pre > code")
        buttons = page.locator(COPY_BUTTON)
        assert listings.count() > 0, f"/{chapter} has no code listing"
        assert buttons.count() == listings.count(), (
            f"/{chapter}: {listings.count()} listings, {buttons.count()} copy buttons"
        )
        listing = page.locator("pre:visible").filter(has=page.locator(COPY_BUTTON)).first
        listing.hover()
        listing.locator(COPY_BUTTON).click()
        copied = page.evaluate("navigator.clipboard.readText()")
        code = listing.locator("code").text_content() or ""
        assert code.strip()
        assert copied.strip() == code.strip()
        reader.check_stayed_home()
    finally:
        reader.page.context.close()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_screenshots(
    browser: Browser, server: str, chapter: str, screenshots: Path, width: str
) -> None:
    """The home page and a stage chapter, as a desktop and a phone show them."""
    if width == "desktop":
        reader = open_reader(browser, server, DESKTOP)
    else:
        reader = open_reader(
            browser, server, PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
        )
    try:
        for name, path in [("home", ""), ("chapter", chapter)]:
            reader.open(path)
            reader.page.wait_for_load_state("networkidle")
            page = reader.page
            # The layout follows the width: a sidebar on a desktop, a menu button on a phone.
            drawer = page.locator("label.md-header__button[for='__drawer']")
            assert drawer.is_visible() == (width == "phone"), f"/{path}: menu button at {width}"
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"/{path} is {overflow}px wider than the {width} screen"
            page.screenshot(path=screenshots / f"{name}-{width}.png")
        reader.check_stayed_home()
    finally:
        reader.page.context.close()
    print(f"screenshots in {screenshots}")
