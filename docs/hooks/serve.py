"""``mkdocs serve`` on a port that is taken: stop before the build, and say so.

mkdocs 1.6 builds the whole site before it binds its port
(``mkdocs/commands/serve.py``: the initial ``builder(config)``, then
``LiveReloadServer.serve()``, whose ``server_bind()`` is the first to touch the
socket). On a busy port the build runs to its end (here, a minute: every run a
page shows is made), and only then ``serve`` dies with an ``OSError``
traceback, while whatever holds the port keeps answering there. That is often
an earlier ``mkdocs serve`` of another copy of these pages: a reader can read
the wrong site without knowing.

This hook (listed first under ``hooks:`` in ``mkdocs.yml``) binds the
address itself, the way the server will, the first time ``mkdocs serve`` loads
the configuration, before any page is read; if that fails, the build stops
with one line that names the address, the reason and the fix.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import click
from mkdocs.exceptions import PluginError

_checked: list[bool] = []  # once per process: a rebuild finds the port ours


def _bind_error(host: str, port: int) -> OSError | None:
    """Why the server could not bind ``host:port``, or None if it could."""
    family = socket.AF_INET
    try:
        if isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address):
            family = socket.AF_INET6  # as mkdocs's LiveReloadServer chooses
    except ValueError:
        pass  # a name, such as localhost
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # http.server's servers set SO_REUSEADDR: a port in TIME_WAIT is free to
        # them, and a port someone listens on is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return error
    return None


def _serving() -> bool:
    """Whether this is ``mkdocs serve`` (any of its build types), not ``mkdocs build``."""
    context = click.get_current_context(silent=True)
    return context is not None and context.info_name == "serve"


def on_config(config: Any) -> Any:
    if _checked or not _serving():
        return config
    _checked.append(True)
    host, port = config.dev_addr
    error = _bind_error(host, port)
    if error is not None:
        reason = error.strerror or str(error)
        raise PluginError(
            f"mkdocs serve: cannot serve on {host}:{port}: {reason}. Whatever holds that "
            "address (another `mkdocs serve`?) keeps answering there, perhaps with another "
            f"copy of this site. Stop it, or serve on another port: "
            f"mkdocs serve -a {host}:{port + 1}"
        )
    return config
