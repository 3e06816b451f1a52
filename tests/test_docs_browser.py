"""The docs site as a reader sees it: built, served on 127.0.0.1, read in headless Chromium.

`mkdocs build --strict` cannot see what happens in a browser: a mermaid block
stays as its source text when the page cannot load mermaid (mkdocs-material
fetches it from a public CDN unless the site serves it, see
docs/hooks/offline.py), a diagram with a syntax error renders as an error
picture, the theme may ask other hosts for fonts. These tests build the site
once, serve it from a thread on an ephemeral port of 127.0.0.1, and drive
Debian's Chromium with Playwright (no browser download). Every request the
pages make is recorded; any request for another host fails the test that
caused it (and the request itself fails: the browser is started with every
host name but 127.0.0.1 unresolvable, as on a machine with no network).

Screenshots of the home page, of a stage chapter and of a diagram, at a
desktop and a phone width, go to $DOCS_SCREENSHOTS (CI keeps them) or to a temporary folder.

Without Chromium the tests are skipped, except in CI (CI=true), where a
missing browser is a failure: .ci/run installs it.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Request, Response, sync_playwright
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
    # The machine offline, even where it has a network: every host name but
    # 127.0.0.1 resolves to nothing. Requests are still recorded, and fail.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Loading a page and drawing its diagrams takes well under a second here; a
# diagram that is still text after this long never becomes a picture.
RENDER_TIMEOUT_MS = 15_000
# The copy button mkdocs-material puts on a listing (9.7: the first; 9.8: the second).
COPY_BUTTON = "button.md-clipboard, button.md-code__button[data-md-type='copy']"

# Search queries, and what must find them: the chapter of the first stage
# whose plugin uses the word. A word whose stage or chapter has not landed yet
# is left out, so the list follows the stages as they land (loop_scope: stage
# 06); tests/test_docs.py is the one that requires a chapter for every stage.
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
    chapters = stage_chapters()
    cases = []
    for word in SEARCH_TERMS:
        stage = first_stage_using(word)
        if stage is not None and stage in chapters:
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
def site(chromium: str, built_site: Any) -> Path:
    """The site as `mkdocs build --strict` made it (tests/conftest.py builds it once per run).

    (Only where there is a browser to read it: ``chromium`` skips or fails first.)
    """
    return Path(built_site.root)


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


def leaves_the_machine(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != "127.0.0.1"


@dataclass
class Reader:
    """A browser tab, and a record of every request its pages (and their workers) make."""

    page: Page
    base: str
    requests: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)  # requests for another host
    broken: list[str] = field(default_factory=list)  # requests to the site that failed
    errors: list[str] = field(default_factory=list)  # uncaught errors in the pages' scripts

    def __post_init__(self) -> None:
        self.page.on("request", self._request)
        self.page.on("response", self._response)
        self.page.on("requestfailed", self._failed)
        self.page.on("pageerror", self._error)

    def close(self) -> None:
        self.page.remove_listener("request", self._request)
        self.page.remove_listener("response", self._response)
        self.page.remove_listener("requestfailed", self._failed)
        self.page.remove_listener("pageerror", self._error)

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)
        if leaves_the_machine(request.url):
            self.outside.append(f"{request.resource_type}: {request.url}")

    def _response(self, response: Response) -> None:
        if response.status >= 400 and not leaves_the_machine(response.url):
            self.broken.append(f"{response.status}: {response.url}")

    def _failed(self, request: Request) -> None:
        # ERR_ABORTED: the reader moved on to the next page before it arrived.
        if not leaves_the_machine(request.url) and request.failure != "net::ERR_ABORTED":
            self.broken.append(f"{request.failure}: {request.url}")

    def _error(self, error: Exception) -> None:
        self.errors.append(str(error))

    def open(self, path: str) -> None:
        self.page.goto(self.base + path, wait_until="load")

    def check_stayed_home(self) -> None:
        assert not self.outside, (
            "the pages asked another host for something (it fails offline):\n"
            + "\n".join(self.outside)
        )
        assert not self.broken, "requests to the site that failed:\n" + "\n".join(self.broken)
        assert not self.errors, "errors in the pages' scripts:\n" + "\n".join(self.errors)


@pytest.fixture(scope="module")
def tab(browser: Browser) -> Iterator[Page]:
    """One desktop tab for the whole module: mermaid (3.5 MB) is compiled once, not per test."""
    context = browser.new_context(
        viewport=DESKTOP, permissions=["clipboard-read", "clipboard-write"]
    )
    yield context.new_page()
    context.close()


@pytest.fixture
def reader(tab: Page, server: str) -> Iterator[Reader]:
    reader = Reader(tab, server)
    yield reader
    reader.close()


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


def test_no_request_leaves_the_machine(reader: Reader, chapter: str) -> None:
    """The home page and a stage chapter ask 127.0.0.1 only, fonts and search index included.

    (The pages with diagrams are checked the same way by the test above.)
    """
    for path in ["", chapter]:
        reader.open(path)
        reader.page.wait_for_load_state("networkidle")
    loaded = {urlsplit(url).path.rsplit("/", 1)[-1] for url in reader.requests}
    assert {"mermaid.min.js", "search_index.json"} <= loaded, sorted(loaded)  # recorded
    reader.check_stayed_home()


@pytest.mark.parametrize(("word", "stage"), search_cases())
def test_search_finds_the_chapter(reader: Reader, word: str, stage: str) -> None:
    """Typing a word into the search box lists the chapter of the stage that brings it."""
    reader.open("")
    box = reader.page.locator("input.md-search__input")
    box.click()
    box.press_sequentially(word)  # typed key by key: the theme searches as you type
    links = reader.page.locator(".md-search-result__item > a.md-search-result__link")
    links.first.wait_for(timeout=RENDER_TIMEOUT_MS)
    found = [urlsplit(links.nth(i).get_attribute("href") or "").path for i in range(links.count())]
    wanted = "/" + stage_chapters()[stage]
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


def test_code_blocks_have_copy_buttons(reader: Reader, chapter: str) -> None:
    """Every listing has a copy button, and pressing it puts the listing on the clipboard."""
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


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_screenshots(
    browser: Browser,
    tab: Page,
    site: Path,
    server: str,
    chapter: str,
    screenshots: Path,
    width: str,
) -> None:
    """The home page, a stage chapter and a diagram, as a desktop and a phone show them."""
    context = None
    if width == "phone":
        context = browser.new_context(
            viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
        )
    reader = Reader(context.new_page() if context else tab, server)
    try:
        diagrams = pages_with(site, '<pre class="mermaid">')
        shots = [("home", ""), ("chapter", chapter), *[("diagram", p) for p in diagrams[:1]]]
        for name, path in shots:
            reader.open(path)
            page = reader.page
            page.wait_for_function(
                "document.querySelectorAll('pre.mermaid').length === 0",
                timeout=RENDER_TIMEOUT_MS,
            )
            page.evaluate("document.fonts.ready.then(() => true)")
            # The layout follows the width: a sidebar on a desktop, a menu button on a phone.
            drawer = page.locator("label.md-header__button[for='__drawer']")
            assert drawer.is_visible() == (width == "phone"), f"/{path}: menu button at {width}"
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"/{path} is {overflow}px wider than the {width} screen"
            if name == "diagram":
                page.locator("div.mermaid").first.scroll_into_view_if_needed()
            page.screenshot(path=screenshots / f"{name}-{width}.png", animations="disabled")
        reader.check_stayed_home()
    finally:
        reader.close()
        if context is not None:
            context.close()
    print(f"screenshots in {screenshots}")
