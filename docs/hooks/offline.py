"""Serve mermaid from the site itself, so diagrams render with no network.

An mkdocs hook (``hooks:`` in ``mkdocs.yml``). mkdocs-material draws a
```` ```mermaid ```` block with the global ``mermaid`` object when the page
defines one, and otherwise fetches ``mermaid.min.js`` from a public CDN: with
no internet (a workshop room, a train, CI) the diagram stays as its source
text. ``extra_javascript`` in ``mkdocs.yml`` lists ``MERMAID_URL``; this hook
puts the file there, in every build and in ``mkdocs serve``.

The file comes from a Python package that the README's ``pip install --group
dev`` brings: ``mermaidx`` ships mermaid's own ``dist/mermaid.min.js``
(11.16.0 in mermaidx 0.10.1, byte for byte the npm release) as
``mermaidx/assets/mermaid.js``. Nothing is committed by hand and the docs
need no npm. tests/test_docs_browser.py checks in Chromium that every
diagram becomes an SVG and that no page asks another host for anything.
"""

from __future__ import annotations

import logging
import re
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files as package_files
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

MERMAID_URL = "assets/javascripts/mermaid.min.js"
CARRIER = "mermaidx"  # the PyPI package that ships the file
MERMAID_IN_CARRIER = "assets/mermaid.js"

log = logging.getLogger("mkdocs.hooks.offline")


def mermaid_source() -> str:
    """The path of the installed copy of mermaid.min.js."""
    try:
        carrier_version = version(CARRIER)
    except PackageNotFoundError:
        raise PluginError(
            f"the docs serve mermaid themselves and take it from the package {CARRIER!r}, "
            "which is not installed: run `pip install --group dev`"
        ) from None
    source = package_files(CARRIER)
    for part in MERMAID_IN_CARRIER.split("/"):
        source = source / part
    if not source.is_file():
        raise PluginError(
            f"{CARRIER} {carrier_version} has no {MERMAID_IN_CARRIER}: "
            "pin the version that pyproject.toml names"
        )
    text = source.read_text(encoding="utf-8")
    found = re.search(r'version:"(\d+\.\d+\.\d+)"', text)
    log.info("mermaid %s from %s %s", found[1] if found else "(unknown)", CARRIER, carrier_version)
    return str(source)


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, MERMAID_URL, abs_src_path=mermaid_source()))
    return files
