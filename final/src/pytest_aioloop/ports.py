"""Free localhost ports for test servers: ``unused_tcp_port`` and friends."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest


def _unused_port(kind: socket.SocketKind) -> int:
    # Port 0 asks the OS for a free port; it stays free once the socket is closed,
    # unless someone else takes it first, which is as good as any plugin can do.
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _factory(kind: socket.SocketKind) -> Callable[[], int]:
    produced: set[int] = set()

    def unused_port() -> int:
        """Return a free port on 127.0.0.1 that this factory has not returned before."""
        port = _unused_port(kind)
        while port in produced:
            port = _unused_port(kind)
        produced.add(port)
        return port

    return unused_port


@pytest.fixture
def unused_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    return _unused_port(socket.SOCK_STREAM)


@pytest.fixture
def unused_udp_port() -> int:
    """A UDP port on 127.0.0.1 that is free now."""
    return _unused_port(socket.SOCK_DGRAM)


@pytest.fixture(scope="session")
def unused_tcp_port_factory() -> Callable[[], int]:
    """Call it for a free TCP port on 127.0.0.1; never the same port twice in a session."""
    return _factory(socket.SOCK_STREAM)


@pytest.fixture(scope="session")
def unused_udp_port_factory() -> Callable[[], int]:
    """Call it for a free UDP port on 127.0.0.1; never the same port twice in a session."""
    return _factory(socket.SOCK_DGRAM)
