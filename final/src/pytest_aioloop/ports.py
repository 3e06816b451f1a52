"""Free localhost ports for test servers: ``unused_tcp_port`` and friends.

A port is "free" when the OS hands it out for a bind to port 0; nothing stops
the OS from handing the same port out again once the socket that asked for it
is closed, and it often does. So every port these fixtures give is recorded
for the rest of the run, per socket kind, and never given again, whichever
fixture asks: ``unused_tcp_port_factory()`` cannot return the port that
``unused_tcp_port`` gave the same test.

Under pytest-xdist each worker is a process of its own, with its own record;
the workers' ports are kept apart without any shared state: worker ``gwN`` of
``C`` takes only the ports whose share is ``N`` (the OS is asked again until it
offers one, about ``C`` binds on average). No two workers can then hand out the
same port in one run. A port's share is a multiplicative hash of it modulo
``C``, not ``port % C``: Linux hands out even ports to ``bind(port 0)`` (it
keeps odd ones for ``connect()``), so the plain remainder would leave one of
two workers with no port at all.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

import pytest


class Ports:
    """The ports handed out in one run, and the share of ports that is this process's."""

    def __init__(self, worker: str | None, workers: str | None) -> None:
        self._given: dict[socket.SocketKind, set[int]] = {
            socket.SOCK_STREAM: set(),
            socket.SOCK_DGRAM: set(),
        }
        count = int(workers) if workers and workers.isdigit() else 1
        index = int(worker[2:]) if worker and worker[2:].isdigit() else 0
        self._count, self._index = max(count, 1), index % max(count, 1)

    @classmethod
    def from_environment(cls) -> Ports:
        """This process's share, as pytest-xdist describes its workers in the environment."""
        return cls(
            os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("PYTEST_XDIST_WORKER_COUNT")
        )

    def take(self, kind: socket.SocketKind) -> int:
        """A port on 127.0.0.1 that is free now and that this run has not handed out before."""
        given = self._given[kind]
        for _ in range(_TRIES):
            port = _free_port(kind)
            if _share(port, self._count) == self._index and port not in given:
                given.add(port)
                return port
        raise RuntimeError(
            f"no free port left after {_TRIES} tries: this run has handed out {len(given)} "
            "ports already; reuse ports across tests (a session-scoped fixture) instead."
        )


#: Binds to port 0 before giving up: the OS offers a port of this process's share
#: about once in every ``C`` binds (``C`` workers), so this is never reached in practice.
_TRIES = 10_000


def _share(port: int, count: int) -> int:
    # Knuth's multiplicative hash: neighbouring ports (even ones too) spread evenly.
    return ((port * 0x9E3779B1) & 0xFFFFFFFF) * count >> 32


def _free_port(kind: socket.SocketKind) -> int:
    # Port 0 asks the OS for a free port; it stays free once the socket is closed,
    # unless someone else takes it first, which is as good as any plugin can do.
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


PORTS = pytest.StashKey[Ports]()


def _ports(config: pytest.Config) -> Ports:
    ports = config.stash.get(PORTS, None)
    if ports is None:
        ports = config.stash[PORTS] = Ports.from_environment()
    return ports


@pytest.fixture
def unused_tcp_port(pytestconfig: pytest.Config) -> int:
    """A TCP port on 127.0.0.1 that is free now; never the same port twice in a run."""
    return _ports(pytestconfig).take(socket.SOCK_STREAM)


@pytest.fixture
def unused_udp_port(pytestconfig: pytest.Config) -> int:
    """A UDP port on 127.0.0.1 that is free now; never the same port twice in a run."""
    return _ports(pytestconfig).take(socket.SOCK_DGRAM)


@pytest.fixture(scope="session")
def unused_tcp_port_factory(pytestconfig: pytest.Config) -> Callable[[], int]:
    """Call it for a free TCP port on 127.0.0.1; never the same port twice in a run."""
    ports = _ports(pytestconfig)
    return lambda: ports.take(socket.SOCK_STREAM)


@pytest.fixture(scope="session")
def unused_udp_port_factory(pytestconfig: pytest.Config) -> Callable[[], int]:
    """Call it for a free UDP port on 127.0.0.1; never the same port twice in a run."""
    ports = _ports(pytestconfig)
    return lambda: ports.take(socket.SOCK_DGRAM)
