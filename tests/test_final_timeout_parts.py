"""The parts of final/'s timeouts on their own, without pytest in between.

Not scenarios (no ``aio`` fixture, no target): plain tests of the watchdog's
real-time alarms, of the await chains that a timeout's report shows (captured
on a bare event loop), and of the debugger detection, each importing final/'s
module directly (and putting ``sys.modules`` back afterwards, as
tests/test_final_runner.py does).
"""

from __future__ import annotations

import asyncio
import bdb
import gc
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from conftest import ROOT


@pytest.fixture
def final(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """final/'s package, with its watchdog, stacks and timeouts modules imported."""
    monkeypatch.syspath_prepend(str(ROOT / "final" / "src"))
    before = {name for name in sys.modules if name.startswith("pytest_aioloop")}
    assert not before, before
    import pytest_aioloop.stacks
    import pytest_aioloop.timeouts
    import pytest_aioloop.watchdog

    yield pytest_aioloop
    for name in [name for name in sys.modules if name.startswith("pytest_aioloop")]:
        del sys.modules[name]


# --------------------------------------------------------------------------
# The watchdog
# --------------------------------------------------------------------------


def test_alarms_run_in_the_loop_thread_in_deadline_order(final: ModuleType) -> None:
    watchdog = final.watchdog.Watchdog()
    loop = asyncio.new_event_loop()
    fired: list[tuple[str, threading.Thread]] = []

    def note(name: str) -> None:
        fired.append((name, threading.current_thread()))
        if len(fired) == 2:
            loop.stop()

    started = time.monotonic()  # before arming: the alarms are due 0.06 s after this at least
    watchdog.arm(0.06, loop, lambda: note("second"))
    watchdog.arm(0.02, loop, lambda: note("first"))  # armed later, due sooner
    loop.run_forever()
    elapsed = time.monotonic() - started
    loop.close()
    watchdog.close()
    assert [name for name, _ in fired] == ["first", "second"]
    assert all(thread is threading.main_thread() for _, thread in fired)
    assert 0.05 <= elapsed < 5


def test_a_disarmed_alarm_never_runs_even_once_handed_over(final: ModuleType) -> None:
    watchdog = final.watchdog.Watchdog()
    loop = asyncio.new_event_loop()
    fired: list[str] = []
    alarm = watchdog.arm(0, loop, lambda: fired.append("disarmed one ran"))
    time.sleep(0.05)  # the thread has handed it to the loop by now
    alarm.disarm()
    watchdog.arm(0, loop, loop.stop)
    loop.run_forever()
    loop.close()
    watchdog.close()
    assert fired == []


def test_an_alarm_of_a_closed_loop_leaves_the_watchdog_working(final: ModuleType) -> None:
    watchdog = final.watchdog.Watchdog()
    closed = asyncio.new_event_loop()
    closed.close()
    watchdog.arm(0, closed, lambda: None)
    loop = asyncio.new_event_loop()
    watchdog.arm(0.01, loop, loop.stop)
    loop.run_forever()  # returns: the thread survived the closed loop
    loop.close()
    watchdog.close()


def test_the_watchdog_thread_starts_with_the_first_alarm_and_ends_with_close(
    final: ModuleType,
) -> None:
    def watchdogs() -> int:
        return sum(t.name == "pytest-aioloop watchdog" for t in threading.enumerate())

    before = watchdogs()
    watchdog = final.watchdog.Watchdog()
    assert watchdogs() == before  # nothing until an alarm is armed
    loop = asyncio.new_event_loop()
    watchdog.arm(3600, loop, lambda: None)
    assert watchdogs() == before + 1
    watchdog.close()
    assert watchdogs() == before
    loop.close()
    with pytest.raises(RuntimeError, match="closed"):
        watchdog.arm(1, loop, lambda: None)


def test_disarmed_alarms_do_not_pile_up(final: ModuleType) -> None:
    """A long suite arms and disarms an alarm per test: the heap stays small."""
    watchdog = final.watchdog.Watchdog()
    loop = asyncio.new_event_loop()
    for _ in range(10_000):
        watchdog.arm(3600, loop, lambda: None).disarm()
    assert len(watchdog._heap) <= 2 * final.watchdog._COMPACT_AT
    watchdog.close()
    loop.close()


def test_a_disarmed_alarm_lets_go_of_its_loop_and_callback(final: ModuleType) -> None:
    """A disarmed alarm waits in the heap until its deadline, but keeps nothing alive.

    With a timeout, every test arms an alarm on a loop of its own: alarms that
    kept their loops (and their callbacks' steps and runners) until their
    deadline kept up to a thousand closed loops alive, which cost every
    garbage collection of the run.
    """
    watchdog = final.watchdog.Watchdog()
    loop = asyncio.new_event_loop()

    class Step:
        def time_out(self) -> None:
            pass

    step = Step()
    alarm = watchdog.arm(3600, loop, step.time_out)  # the callback holds the step
    alarm.disarm()
    loop.close()
    loop_ref, step_ref = weakref.ref(loop), weakref.ref(step)
    del loop, step
    gc.collect()
    assert alarm in [entry[2] for entry in watchdog._heap]  # still waiting in the heap
    assert loop_ref() is None
    assert step_ref() is None
    watchdog.close()


# --------------------------------------------------------------------------
# The await chains
# --------------------------------------------------------------------------


async def _wait_forever(event: asyncio.Event) -> None:
    await event.wait()


async def _helper(task: asyncio.Task[None]) -> None:
    await task


async def _test_body(task: asyncio.Task[None]) -> None:
    await _helper(task)


async def _fixture() -> object:
    await asyncio.Event().wait()
    yield None


async def _first_step(generator: object) -> None:
    __tracebackhide__ = True  # as the plugin's own frames are
    await generator.__anext__()  # type: ignore[attr-defined]


def _captured(final: ModuleType, make: object) -> tuple[list[object], dict[str, object]]:
    """Run ``make()`` in a loop, let its tasks reach their awaits, capture from a callback."""
    loop = asyncio.new_event_loop()
    tasks: dict[str, object] = {}
    found: list[object] = []

    def capture() -> None:
        found.extend(final.stacks.capture(loop, tasks.get("first")))
        loop.stop()

    async def start() -> None:
        tasks.update(make())  # type: ignore[operator]
        await asyncio.sleep(0.01)
        loop.call_soon(capture)

    starter = loop.create_task(start(), name="starter")  # done before the capture
    loop.run_forever()
    assert starter.done()
    for task in asyncio.all_tasks(loop):
        task.cancel()
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
    return found, tasks


def test_the_chain_goes_down_to_the_innermost_await_and_names_the_awaited_task(
    final: ModuleType,
) -> None:
    def make() -> dict[str, object]:
        helper = asyncio.create_task(_wait_forever(asyncio.Event()), name="helper")
        return {"first": asyncio.create_task(_test_body(helper), name="test"), "helper": helper}

    stacks, tasks = _captured(final, make)
    first, helper = stacks[0], stacks[1]
    assert first.task is tasks["first"]
    assert [f.name for f in first.frames] == ["_test_body", "_helper"]
    assert first.frames[0].source == "await _helper(task)"
    assert first.frames[0].filename == __file__
    assert first.awaiting is tasks["helper"]
    assert helper.task is tasks["helper"]
    # Into asyncio's own code, down to the future that Event.wait() awaits.
    assert helper.frames[0].name == "_wait_forever"
    assert helper.frames[-1].name.endswith("wait")
    assert helper.awaiting is None  # a plain future: the frame above says what it is


def test_the_chain_goes_through_an_async_generator_and_skips_hidden_frames(
    final: ModuleType,
) -> None:
    def make() -> dict[str, object]:
        return {"first": asyncio.create_task(_first_step(_fixture()), name="fixture")}

    stacks, _ = _captured(final, make)
    names = [f.name for f in stacks[0].frames]
    assert names[0] == "_fixture"  # _first_step hides itself, __anext__ leads into the generator
    assert "_first_step" not in names


def test_tasks_are_ordered_first_awaited_then_by_natural_name(final: ModuleType) -> None:
    def make() -> dict[str, object]:
        event = asyncio.Event()
        workers = {
            name: asyncio.create_task(_wait_forever(event), name=name)
            for name in ("worker-10", "worker-2", "worker-1")
        }
        helper = asyncio.create_task(_wait_forever(event), name="z-helper")
        return {"first": asyncio.create_task(_test_body(helper), name="test"), **workers}

    stacks, _ = _captured(final, make)
    order = [s.task.get_name() for s in stacks]
    assert order == ["test", "z-helper", "worker-1", "worker-2", "worker-10"]


def test_the_report_text_shows_paths_from_the_root_and_labels(final: ModuleType) -> None:
    def make() -> dict[str, object]:
        helper = asyncio.create_task(_wait_forever(asyncio.Event()), name="helper")
        not_started = asyncio.create_task(_wait_forever(asyncio.Event()), name="later")
        return {"first": asyncio.create_task(_test_body(helper), name="test"), "x": not_started}

    stacks, tasks = _captured(final, make)
    text = final.stacks.format_stacks(
        stacks, labels={tasks["first"]: "the test"}, root=Path(__file__).parent
    )
    lines = text.splitlines()
    assert lines[:5] == [
        "the test, in task 'test':",
        f"  {Path(__file__).name}:{_test_body.__code__.co_firstlineno + 1}: in _test_body",
        "      await _helper(task)",
        f"  {Path(__file__).name}:{_helper.__code__.co_firstlineno + 1}: in _helper",
        "      await task",
    ]
    assert "  awaiting task 'helper'" in lines
    # asyncio's own files are shown from the sys.path entry they come from.
    assert any(line.startswith("  asyncio/locks.py:") for line in lines)


def test_a_loop_with_very_many_tasks_gets_a_bounded_report(final: ModuleType) -> None:
    def make() -> dict[str, object]:
        event = asyncio.Event()
        return {
            f"worker-{number}": asyncio.create_task(_wait_forever(event), name=f"worker-{number}")
            for number in range(100)
        }

    stacks, _ = _captured(final, make)
    text = final.stacks.format_stacks(stacks)
    assert text.count("task 'worker-") == final.stacks.MAX_OTHER_TASKS + 1
    assert text.endswith(f"... and {100 - final.stacks.MAX_OTHER_TASKS - 1} more pending task(s)")


# --------------------------------------------------------------------------
# Debuggers, and the values a timeout takes
# --------------------------------------------------------------------------


def _coverage_like_tracer(frame: object, event: str, arg: object) -> None:
    return None


def test_a_debugger_trace_function_is_detected_and_a_coverage_one_is_not(
    final: ModuleType,
) -> None:
    debugger = bdb.Bdb()
    debugger.reset()
    previous = sys.gettrace()
    try:
        sys.settrace(debugger.trace_dispatch)
        pdb_like = final.timeouts.debugger_attached()
        sys.settrace(_coverage_like_tracer)
        coverage_like = final.timeouts.debugger_attached()
    finally:
        sys.settrace(previous)
    assert pdb_like is True
    assert coverage_like is False


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is new in 3.12")
def test_a_sys_monitoring_debugger_is_detected(final: ModuleType) -> None:
    monitoring = sys.monitoring
    if monitoring.get_tool(monitoring.DEBUGGER_ID) is not None:
        pytest.skip("a debugger is registered already")
    assert final.timeouts.debugger_attached() is False
    monitoring.use_tool_id(monitoring.DEBUGGER_ID, "a debugger")
    try:
        assert final.timeouts.debugger_attached() is True
    finally:
        monitoring.free_tool_id(monitoring.DEBUGGER_ID)


def test_entering_pdb_turns_timeouts_off_for_the_rest_of_the_run(final: ModuleType) -> None:
    debugging = final.timeouts.Debugging()
    assert not debugging.active()
    debugging.entered_pdb()
    assert debugging.active()
    assert debugging.off_because == "pytest entered pdb"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("2.5", 2.5), ("30", 30.0), (" 1 ", 1.0), ("0", None), ("none", None), ("None", None),
     ("", None), (None, None), (0, None), (0.25, 0.25), (3, 3.0)],
)  # fmt: skip
def test_timeout_values(final: ModuleType, value: object, seconds: float | None) -> None:
    assert final.timeouts.parse_seconds(value) == seconds


@pytest.mark.parametrize("value", ["-1", "abc", "inf", "nan", -0.5, True, [1]])
def test_bad_timeout_values(final: ModuleType, value: object) -> None:
    with pytest.raises(ValueError):
        final.timeouts.parse_seconds(value)
