"""final/'s virtual clock on a bare event loop, without pytest in between: plain tests.

Not scenarios (no ``aio`` fixture, no target): they import final/'s clock module
directly, as tests/test_final_runner.py does for the runner, and put
``sys.modules`` back afterwards. Each test makes a loop, applies the clock, and
runs one coroutine in it; real time is measured only to tell a jump (well under
a second) from a wait (at least the time the I/O takes).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from types import ModuleType
from typing import Any, TypeVar

import pytest
from conftest import ROOT

T = TypeVar("T")


@pytest.fixture
def clocks(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(ROOT / "final" / "src"))
    before = {name for name in sys.modules if name.startswith("pytest_aioloop")}
    assert not before, before
    import pytest_aioloop.clock

    yield pytest_aioloop.clock
    for name in [name for name in sys.modules if name.startswith("pytest_aioloop")]:
        del sys.modules[name]


@pytest.fixture
def run(clocks: ModuleType) -> Iterator[Callable[[Coroutine[Any, Any, T]], T]]:
    """Run a coroutine in a new loop with a virtual clock; the loop is closed afterwards."""
    loop = asyncio.new_event_loop()
    clocks.VirtualClock.apply(loop)

    def run(coroutine: Coroutine[Any, Any, T]) -> T:
        return loop.run_until_complete(coroutine)

    yield run
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


def test_an_hour_of_sleep_takes_no_real_time(run: Callable[..., Any]) -> None:
    async def sleep_an_hour() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.sleep(3600)
        return start, loop.time()

    began = time.monotonic()
    start, end = run(sleep_an_hour())
    assert time.monotonic() - began < 1
    assert (start, end) == (0.0, 3600.0)


def test_years_of_virtual_time_keep_timers_due(run: Callable[..., Any]) -> None:
    # Past 97 days, floats are further apart than asyncio's 1 ns clock resolution.
    year = 365 * 86400

    async def sleep_for_years() -> list[float]:
        loop = asyncio.get_running_loop()
        times = []
        for seconds in (year, 100 * year, 1, 0.5):
            await asyncio.sleep(seconds)
            times.append(loop.time())
        return times

    assert run(sleep_for_years()) == pytest.approx(
        [year, 101 * year, 101 * year + 1, 101 * year + 1.5], rel=0, abs=1e-5
    )


def test_timers_run_in_order_each_at_its_own_time(run: Callable[..., Any]) -> None:
    async def schedule() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        seen: list[tuple[str, float]] = []
        loop.call_later(3, lambda: seen.append(("call_later(3)", loop.time())))
        loop.call_at(1.5, lambda: seen.append(("call_at(1.5)", loop.time())))

        async def sleeper(seconds: float) -> None:
            await asyncio.sleep(seconds)
            seen.append((f"sleep({seconds})", loop.time()))

        await asyncio.gather(sleeper(2), sleeper(0.5), sleeper(86400 * 3))
        return seen

    assert run(schedule()) == [
        ("sleep(0.5)", 0.5),
        ("call_at(1.5)", 1.5),
        ("sleep(2)", 2.0),
        ("call_later(3)", 3.0),
        ("sleep(259200)", 259200.0),  # more than asyncio's longest select() of a day
    ]


def test_wait_for_timeouts_and_waits_expire_on_virtual_time(run: Callable[..., Any]) -> None:
    async def expire() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        seen: list[tuple[str, float]] = []

        async def expect_timeout(name: str, awaitable: Coroutine[Any, Any, Any], after: float):
            try:
                await asyncio.wait_for(awaitable, after)
            except asyncio.TimeoutError:
                seen.append((name, loop.time()))

        condition = asyncio.Condition()

        async def wait_on_condition() -> None:
            async with condition:
                await condition.wait()

        await asyncio.gather(
            expect_timeout("event", asyncio.Event().wait(), 30),
            expect_timeout("sleep", asyncio.sleep(60), 10),
            expect_timeout("condition", wait_on_condition(), 20),
        )
        return seen

    assert run(expire()) == [("sleep", 10.0), ("condition", 20.0), ("event", 30.0)]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout() is new in 3.11")
def test_asyncio_timeout_expires_on_virtual_time(run: Callable[..., Any]) -> None:
    async def expire() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        inner = None
        try:
            async with asyncio.timeout(5):
                await asyncio.sleep(3)  # within the deadline
                inner = loop.time()
                await asyncio.sleep(3)
        except TimeoutError:
            return inner, loop.time()
        raise AssertionError("asyncio.timeout(5) did not expire")

    assert run(expire()) == (3.0, 5.0)


def test_advance_runs_exactly_the_callbacks_that_fall_due(clocks: ModuleType) -> None:
    loop = asyncio.new_event_loop()
    clock = clocks.VirtualClock.apply(loop)
    clock.autojump = False
    seen: list[tuple[str, float]] = []

    async def ticker() -> None:
        while True:
            await asyncio.sleep(1)
            seen.append(("tick", loop.time()))

    async def step_by_step() -> None:
        task = asyncio.create_task(ticker())
        loop.call_later(2.5, lambda: seen.append(("2.5", loop.time())))
        loop.call_later(3.5, lambda: seen.append(("3.5", loop.time())))
        for _ in range(10):  # without autojump, nothing moves the time but advance()
            await asyncio.sleep(0)
        assert seen == []
        assert loop.time() == 0
        await clock.advance(3)
        assert seen == [("tick", 1), ("tick", 2), ("2.5", 2.5), ("tick", 3)]
        assert clock.time() == loop.time() == 3
        await clock.advance(0.25)
        assert len(seen) == 4
        assert loop.time() == 3.25
        await clock.advance(0.25)
        assert seen[4:] == [("3.5", 3.5)]
        task.cancel()

    loop.run_until_complete(step_by_step())
    loop.close()


def test_advance_stops_at_its_horizon_even_with_autojump(clocks: ModuleType) -> None:
    loop = asyncio.new_event_loop()
    clock = clocks.VirtualClock.apply(loop)
    assert clock.autojump

    async def late() -> float:
        await asyncio.sleep(100)
        return loop.time()

    async def advance() -> None:
        task = asyncio.create_task(late())
        await clock.advance(10)
        assert loop.time() == 10
        assert not task.done()
        assert await task == 100  # autojump does the rest

    loop.run_until_complete(advance())
    loop.close()


def test_advance_refuses_what_it_cannot_do(clocks: ModuleType) -> None:
    loop = asyncio.new_event_loop()
    clock = clocks.VirtualClock.apply(loop)

    async def misuse() -> None:
        for seconds in (-1, math.inf, math.nan):
            with pytest.raises(ValueError, match="finite number of seconds"):
                await clock.advance(seconds)
        clock.autojump = False
        first = asyncio.create_task(clock.advance(1))
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="already in progress"):
            await clock.advance(1)
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first
        await clock.advance(1)  # a cancelled advance() leaves nothing behind
        assert loop.time() == 1

    loop.run_until_complete(misuse())
    other = asyncio.new_event_loop()
    with pytest.raises(RuntimeError, match="loop whose clock it is"):
        other.run_until_complete(clock.advance(1))
    other.close()
    loop.close()


def test_an_executor_job_holds_the_clock(run: Callable[..., Any]) -> None:
    async def wait_for_a_thread() -> float:
        # Without the hold, the wait_for timer (the only one) would be jumped to
        # while the thread still sleeps: a TimeoutError after no real time.
        await asyncio.wait_for(asyncio.to_thread(time.sleep, 0.05), 10)
        return asyncio.get_running_loop().time()

    now = run(wait_for_a_thread())
    # Held, virtual time passes as the loop waits for real (not while it runs
    # callbacks, so on a loaded machine it may lag the thread's 0.05 s): it moved,
    # and never jumped to the wait_for timer.
    assert 0 < now < 10


def test_the_executor_shutdown_runs_no_leftover_timer(clocks: ModuleType) -> None:
    # As a loop's scope ends: the default executor is shut down by a thread that
    # the loop waits for. A timer a test left behind must not be jumped to then.
    loop = asyncio.new_event_loop()
    clocks.VirtualClock.apply(loop)
    ran: list[float] = []

    async def leave_a_timer() -> None:
        await asyncio.to_thread(time.sleep, 0)
        loop.call_later(3600, lambda: ran.append(loop.time()))

    loop.run_until_complete(leave_a_timer())
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
    assert ran == []


def test_a_subprocess_holds_the_clock(run: Callable[..., Any]) -> None:
    async def wait_for_a_process() -> int:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import time; time.sleep(0.1)"
        )
        return await asyncio.wait_for(process.wait(), 10)

    assert run(wait_for_a_process()) == 0


def test_a_pipe_holds_the_clock(run: Callable[..., Any]) -> None:
    async def read_a_pipe() -> bytes:
        loop = asyncio.get_running_loop()
        read_end, write_end = os.pipe()
        threading.Timer(0.05, os.write, (write_end, b"x")).start()
        arrived: asyncio.Future[bytes] = loop.create_future()
        loop.add_reader(read_end, lambda: arrived.set_result(os.read(read_end, 1)))
        try:
            return await asyncio.wait_for(arrived, 10)
        finally:
            loop.remove_reader(read_end)
            os.close(read_end)
            os.close(write_end)

    assert run(read_a_pipe()) == b"x"


@contextlib.contextmanager
def server_in_a_thread(delay: float) -> Iterator[tuple[str, int]]:
    """A TCP server outside the loop: it answers each line after ``delay`` real seconds."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with contextlib.suppress(OSError):
            connection, _ = listener.accept()
            with connection:
                line = connection.makefile("rb").readline()
                time.sleep(delay)
                connection.sendall(line)
                connection.recv(1)  # until the client closes

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()
    finally:
        listener.close()
        thread.join(5)


def test_a_connection_to_a_peer_outside_the_loop_holds_the_clock(run: Callable[..., Any]) -> None:
    async def ask() -> bytes:
        with server_in_a_thread(delay=0.1) as (host, port):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(b"ping\n")
            try:
                return await asyncio.wait_for(reader.readline(), 10)
            finally:
                writer.close()
                await writer.wait_closed()

    assert run(ask()) == b"ping\n"


def test_a_connection_within_the_loop_does_not_hold_the_clock(run: Callable[..., Any]) -> None:
    async def echo_after_a_minute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        line = await reader.readline()
        await asyncio.sleep(60)
        writer.write(line)
        await writer.drain()
        writer.close()

    async def ask() -> tuple[bytes, float, float]:
        loop = asyncio.get_running_loop()
        server = await asyncio.start_server(echo_after_a_minute, "127.0.0.1", 0)
        host, port = server.sockets[0].getsockname()[:2]
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"ping\n")
        answer = await asyncio.wait_for(reader.readline(), 120)
        answered_at = loop.time()
        await asyncio.sleep(3600)  # an idle connection to our own server: still a jump
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return answer, answered_at, loop.time()

    began = time.monotonic()
    answer, answered_at, end = run(ask())
    assert time.monotonic() - began < 1
    assert answer == b"ping\n"
    assert answered_at == pytest.approx(60)  # the round trip itself takes no virtual time
    assert end == pytest.approx(3660)


def _dual_stack_listener() -> socket.socket:
    if not socket.has_dualstack_ipv6():
        pytest.skip("no dual-stack IPv6 here")
    return socket.create_server(("::", 0), family=socket.AF_INET6, dualstack_ipv6=True)


SERVERS = {
    # how the test's server listens -> where its client connects
    "loopback": lambda tmp: ({"host": "127.0.0.1", "port": 0}, None),
    "wildcard": lambda tmp: ({"host": "0.0.0.0", "port": 0}, "127.0.0.1"),
    "dual-stack": lambda tmp: ({"sock": _dual_stack_listener()}, "127.0.0.1"),
    "unix": lambda tmp: ({"path": str(tmp / "server.sock")}, None),
}


@pytest.mark.parametrize("kind", SERVERS)
def test_an_open_connection_within_the_loop_lets_the_clock_jump(
    run: Callable[..., Any], kind: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # A short directory: a Unix socket's path has a length limit of about 100.
    listen, connect_to = SERVERS[kind](tmp_path_factory.mktemp("s", numbered=True))

    served = asyncio.Event()

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readline())
        await reader.read()  # until the client closes
        writer.close()
        await writer.wait_closed()
        served.set()

    async def talk_then_sleep() -> float:
        if "path" in listen:
            server = await asyncio.start_unix_server(echo, **listen)
            reader, writer = await asyncio.open_unix_connection(listen["path"])
        else:
            server = await asyncio.start_server(echo, **listen)
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection(connect_to or listen["host"], port)
        writer.write(b"ping\n")
        assert await reader.readline() == b"ping\n"
        began = time.monotonic()
        await asyncio.sleep(5)  # the connection stays open, idle, at both ends
        slept = time.monotonic() - began
        writer.close()
        await writer.wait_closed()
        await served.wait()  # both ends closed: no socket left for the collector
        server.close()
        await server.wait_closed()
        return slept

    assert run(talk_then_sleep()) < 2


def test_a_socketpair_holds_the_clock(run: Callable[..., Any]) -> None:
    async def read_the_pair() -> bytes:
        ours, theirs = socket.socketpair()  # two unnamed ends: no telling where the other is
        threading.Timer(0.05, theirs.send, (b"x",)).start()
        ours.setblocking(False)
        try:
            return await asyncio.wait_for(asyncio.get_running_loop().sock_recv(ours, 1), 10)
        finally:
            ours.close()
            theirs.close()

    assert run(read_the_pair()) == b"x"


@pytest.mark.skipif(sys.platform != "linux", reason="Linux drops SYNs to a full accept queue")
def test_a_connection_in_progress_holds_the_clock(run: Callable[..., Any]) -> None:
    # A listener outside the loop with a full accept queue: the kernel drops the
    # loop's SYN and sends it again a second later, once a thread made room.
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    address = listener.getsockname()
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(address)
        fillers.append(filler)
    time.sleep(0.05)

    def make_room() -> None:
        time.sleep(0.05)
        listener.settimeout(3)
        with contextlib.suppress(OSError):
            for _ in range(len(fillers) + 1):
                listener.accept()[0].close()

    async def connect() -> None:
        with socket.socket() as sock:
            sock.setblocking(False)
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, address), 10)

    thread = threading.Thread(target=make_room)
    thread.start()
    try:
        run(connect())
    finally:
        for sock in [*fillers, listener]:
            sock.close()
        thread.join()


@pytest.mark.parametrize("mode", ["spinning", "racing ahead", "blocked"])
def test_a_call_from_another_thread_runs_at_the_next_turn(
    run: Callable[..., Any], mode: str
) -> None:
    # What a real-time deadline (a test timeout's watchdog thread) relies on:
    # call_soon_threadsafe() wakes the loop however its virtual time moves.
    async def wait_for_the_thread() -> float:
        loop = asyncio.get_running_loop()
        called = asyncio.Event()
        began = time.monotonic()
        threading.Timer(0.05, loop.call_soon_threadsafe, (called.set,)).start()
        if mode == "blocked":
            await called.wait()  # nothing scheduled: the loop waits in its selector
        while not called.is_set():
            # spinning: virtual time never moves; racing ahead: it jumps a day a turn
            await asyncio.sleep(0 if mode == "spinning" else 86400)
        return time.monotonic() - began

    assert 0.05 <= run(wait_for_the_thread()) < 1


def test_only_selector_loops_get_a_virtual_clock(clocks: ModuleType) -> None:
    uvloop = pytest.importorskip("uvloop")  # in the dev group
    loop = uvloop.new_event_loop()
    with pytest.raises(clocks.UnsupportedLoop, match=r"a uvloop\.Loop is not an asyncio selector"):
        clocks.VirtualClock.apply(loop)
    loop.close()

    loop = asyncio.new_event_loop()
    clocks.VirtualClock.apply(loop)
    with pytest.raises(RuntimeError, match="new loop"):
        clocks.VirtualClock.apply(loop)
    loop.close()


def test_a_virtual_clock_stays_with_its_loop(clocks: ModuleType) -> None:
    virtual = asyncio.new_event_loop()
    real = asyncio.new_event_loop()
    clock = clocks.VirtualClock.apply(virtual)

    async def times() -> float:
        await asyncio.sleep(0.01)
        return asyncio.get_running_loop().time()

    assert run_once(virtual, times()) == 0.01
    assert run_once(real, times()) == pytest.approx(time.monotonic(), abs=1)
    assert clocks.VirtualClock.of(virtual) is clock
    assert clocks.VirtualClock.of(real) is None
    assert (clocks.clock_of(virtual).value, clocks.clock_of(real).value) == ("virtual", "real")
    assert type(virtual).time is type(real).time  # nothing changed on the class
    assert time.monotonic() > 1  # nor time itself
    virtual.close()
    real.close()


def run_once(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T]) -> T:
    return loop.run_until_complete(coroutine)
