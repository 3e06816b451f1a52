"""``mkdocs serve`` on a busy port stops at once and says how to serve elsewhere.

mkdocs builds the whole site before it binds its port, so on a taken port the
reader waited for a build that ended in an ``OSError`` traceback while another
server kept answering there (docs/hooks/serve.py). And the README and the
workshop say how to serve on another port, and to read the site rather than
the Markdown, whose directives only the build expands.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from conftest import ROOT


def test_mkdocs_serve_on_a_busy_port_stops_before_the_build():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    said = result.stdout + result.stderr
    assert result.returncode != 0, said
    assert "Traceback" not in said
    assert f"cannot serve on 127.0.0.1:{port}: Address already in use" in said
    assert f"mkdocs serve -a 127.0.0.1:{port + 1}" in said
    assert "Documentation built" not in said  # it stopped before building


def test_readme_and_workshop_say_how_to_serve_elsewhere_and_what_to_read():
    for page in ("README.md", "docs/workshop/index.md"):
        text = (ROOT / page).read_text()
        assert "mkdocs serve -a 127.0.0.1:8001" in text, page
        assert "directives" in text, f"{page}: say that the Markdown holds build directives"
