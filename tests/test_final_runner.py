"""final/'s LoopRunner on its own, without pytest in between: a plain object, plain tests.

Not scenarios (no ``aio`` fixture, no target): they import final/'s runner
module directly, and put ``sys.modules`` back afterwards so that the scenarios'
in-process runs still import each target's own package.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import sys
import threading
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest
from conftest import ROOT


@pytest.fixture
def runner_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(ROOT / "final" / "src"))
    before = {name for name in sys.modules if name.startswith("pytest_aioloop")}
    assert not before, before
    import pytest_aioloop.runner

    yield pytest_aioloop.runner
    for name in [name for name in sys.modules if name.startswith("pytest_aioloop")]:
        del sys.modules[name]


def test_every_step_runs_in_one_task_with_one_context(runner_module: ModuleType) -> None:
    runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=False)
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var")

    async def set_var() -> asyncio.Task[object] | None:
        var.set("set in step one")
        return asyncio.current_task()

    async def get_var() -> tuple[str, asyncio.Task[object] | None]:
        return var.get(), asyncio.current_task()

    first_task = runner.run(set_var())
    value, second_task = runner.run(get_var())
    runner.close()
    assert value == "set in step one"
    assert first_task is second_task


def test_a_step_outcome_is_returned_or_raised(runner_module: ModuleType) -> None:
    runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=False)

    async def fail() -> None:
        raise KeyError("missing")

    async def cancelled() -> None:
        raise asyncio.CancelledError

    async def answer() -> int:
        return 42

    with pytest.raises(KeyError, match="missing"):
        runner.run(fail())
    with pytest.raises(asyncio.CancelledError):
        runner.run(cancelled())
    assert runner.run(answer()) == 42  # the driver survives both
    runner.close()
    assert runner.loop.is_closed()


def test_close_cancels_tasks_and_finalizes_async_generators(runner_module: ModuleType) -> None:
    runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=True)
    events: list[str] = []

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            events.append("task cancelled")

    async def ticks() -> object:
        try:
            while True:
                yield 1
        finally:
            events.append("generator closed")

    async def leave_things_behind() -> bool:
        asyncio.get_running_loop().create_task(forever())
        generator = ticks()
        await generator.__anext__()
        await asyncio.sleep(0)
        return asyncio.get_running_loop().get_debug()

    assert runner.run(leave_things_behind()) is True
    runner.close()
    assert sorted(events) == ["generator closed", "task cancelled"]
    assert runner.loop.is_closed()
    runner.close()  # twice is harmless


def test_loop_factory_makes_the_loop(runner_module: ModuleType) -> None:
    class CustomLoop(asyncio.SelectorEventLoop):
        pass

    runner = runner_module.LoopRunner(CustomLoop, debug=False)

    async def loop_type() -> type:
        return type(asyncio.get_running_loop())

    assert runner.run(loop_type()) is CustomLoop
    runner.close()


def _interrupt() -> None:
    # What a signal handler does when Ctrl-C arrives while the loop waits in select().
    raise KeyboardInterrupt


def test_a_step_that_raises_keyboard_interrupt_ends_its_run(runner_module: ModuleType) -> None:
    """KeyboardInterrupt and SystemExit out of a step are outcomes like any other."""
    runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=False)

    async def interrupted() -> None:
        await asyncio.sleep(0)
        raise KeyboardInterrupt

    async def exits() -> None:
        raise SystemExit(3)

    async def answer() -> int:
        return 42

    with pytest.raises(KeyboardInterrupt):
        runner.run(interrupted())
    with pytest.raises(SystemExit):
        runner.run(exits())
    assert runner.run(answer()) == 42
    runner.close()
    assert runner.loop.is_closed()


def test_an_interrupt_from_outside_cancels_the_step(runner_module: ModuleType) -> None:
    """Interrupted in select(), the step is cancelled in its loop, and the loop still works."""
    runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=False)
    events: list[str] = []

    async def waits() -> None:
        asyncio.get_running_loop().call_later(0.01, _interrupt)
        try:
            await asyncio.sleep(3600)
            events.append("carried on")
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    async def answer() -> int:
        return 42

    with pytest.raises(KeyboardInterrupt):
        runner.run(waits())
    assert events == ["cancelled"]
    assert runner.lost is None
    assert runner.run(answer()) == 42
    runner.close()


def test_a_step_that_ignores_its_cancellation_loses_the_loop(runner_module: ModuleType) -> None:
    """After the grace period the loop is given up on: later runs say why; close() is quick."""
    runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=False, grace=0.05)

    async def stubborn() -> None:
        asyncio.get_running_loop().call_later(0.01, _interrupt)
        while True:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)

    async def answer() -> int:
        return 42

    with pytest.raises(KeyboardInterrupt):
        runner.run(stubborn(), "test_stubborn")
    assert runner.lost == (
        "test_stubborn did not finish within 0.05 s of being cancelled "
        "(does it catch CancelledError and carry on?)"
    )
    step = answer()
    with pytest.raises(runner_module.LoopLost, match="test_stubborn did not finish"):
        runner.run(step)
    assert step.cr_frame is None  # closed, never to be awaited
    runner.close()
    assert runner.loop.is_closed()


def test_a_step_that_stops_the_loop_is_cancelled(runner_module: ModuleType) -> None:
    runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=False)
    events: list[str] = []

    async def stops() -> None:
        asyncio.get_running_loop().stop()
        try:
            await asyncio.sleep(3600)
        finally:
            events.append("cancelled")

    async def stops_and_returns() -> int:
        asyncio.get_running_loop().stop()
        return 1

    async def answer() -> int:
        return 42

    with pytest.raises(runner_module.LoopStopped, match=r"loop.stop\(\) was called"):
        runner.run(stops(), "the test")
    assert events == ["cancelled"]
    # Stopped in the iteration that finished it: the step's outcome stands, and
    # the stop does not cut the next run short.
    assert runner.run(stops_and_returns()) == 1
    assert runner.run(answer()) == 42
    runner.close()


def test_close_gives_up_on_a_task_that_ignores_cancellation(runner_module: ModuleType) -> None:
    runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=False, grace=0.05)
    reported: list[str] = []
    runner.loop.set_exception_handler(lambda loop, context: reported.append(context["message"]))

    async def stubborn() -> None:
        while True:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)

    async def leave_it_behind() -> None:
        asyncio.get_running_loop().create_task(stubborn())
        await asyncio.sleep(0)

    runner.run(leave_it_behind())
    runner.close()
    assert runner.loop.is_closed()
    assert reported == [
        "1 task(s) did not finish within 0.05 s of being cancelled as their loop closed "
        "(do they catch CancelledError and carry on?); they were discarded"
    ]


# Timeouts: the runner's seam run(coroutine, what, timeout). The Timeout objects
# come from final/'s timeouts module, which the runner only calls back.


@pytest.fixture
def timeouts_module(runner_module: ModuleType) -> ModuleType:
    import pytest_aioloop.timeouts

    return pytest_aioloop.timeouts


def _timeout(timeouts_module: ModuleType, seconds: float, off_because: str | None = None) -> object:
    return timeouts_module.Timeout(
        seconds, "a test's limit", timeouts_module.Debugging(off_because)
    )


class StoppedClock(asyncio.SelectorEventLoop):
    """A loop whose clock never moves: call_later() never comes due (a virtual clock at worst)."""

    def time(self) -> float:
        return 0.0


def _in_a_thread(function: Callable[[], object], limit: float = 10) -> None:
    """Run ``function`` in a thread, and fail (rather than hang) if it takes over ``limit`` s."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            function()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), f"still running after {limit} s: it hangs"
    if errors:
        raise errors[0]


def test_a_step_past_its_timeout_is_cancelled_in_its_loop_and_reported(
    runner_module: ModuleType, timeouts_module: ModuleType
) -> None:
    runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=False)
    events: list[str] = []

    async def hangs() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            events.append("cancelled")

    async def answer() -> int:
        return 42

    with pytest.raises(runner_module.TimedOut) as caught:
        runner.run(hangs(), "the test", _timeout(timeouts_module, 0.05))
    message = str(caught.value)
    assert message.startswith(
        "the test timed out after 0.05 s (a test's limit) and was cancelled in its event loop."
    )
    # The function's qualified name on 3.11+ (co_qualname), its name on 3.10.
    assert "hangs\n      await asyncio.Event().wait()" in message
    assert events == ["cancelled"]
    assert runner.lost is None
    assert runner.run(answer(), "the next test", _timeout(timeouts_module, 5)) == 42
    runner.close()


def test_a_step_that_swallows_its_timeout_loses_the_loop(
    runner_module: ModuleType, timeouts_module: ModuleType
) -> None:
    runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=False, grace=0.05)

    async def stubborn() -> None:
        while True:
            with contextlib.suppress(asyncio.CancelledError):  # and carry on
                await asyncio.sleep(3600)

    async def answer() -> int:
        return 42

    with pytest.raises(runner_module.TimedOut, match=r"did not finish within 0\.05 s"):
        runner.run(stubborn(), "the test", _timeout(timeouts_module, 0.05))
    assert runner.lost == (
        "the test timed out after 0.05 s and did not finish within 0.05 s of being cancelled "
        "(does it catch CancelledError and carry on?)"
    )
    with pytest.raises(runner_module.LoopLost, match=r"given up on.*timed out after 0\.05 s"):
        runner.run(answer())
    runner.close()


def test_timeouts_and_grace_periods_run_on_real_time_whatever_the_loop_clock(
    runner_module: ModuleType, timeouts_module: ModuleType
) -> None:
    """On a loop whose clock is stopped, a timeout and a grace period still end (no hang)."""

    def check() -> None:
        runner = runner_module.LoopRunner(StoppedClock, debug=False, grace=0.05)

        async def sleeps() -> None:
            await asyncio.sleep(1)  # never comes due on this clock

        async def interrupted_and_stubborn() -> None:
            asyncio.get_running_loop().call_soon(_interrupt)
            while True:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.sleep(1)

        with pytest.raises(runner_module.TimedOut):
            runner.run(sleeps(), "the test", _timeout(timeouts_module, 0.05))
        # The grace period of an interrupted step (it was loop.call_later() once).
        with pytest.raises(KeyboardInterrupt):
            runner.run(interrupted_and_stubborn(), "the test")
        assert runner.lost is not None
        runner.close()

    _in_a_thread(check)


def test_no_timeout_while_a_debugger_is_active(
    runner_module: ModuleType, timeouts_module: ModuleType
) -> None:
    runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=False)

    async def slow() -> str:
        await asyncio.sleep(0.1)
        return "done"

    assert runner.run(slow(), "the test", _timeout(timeouts_module, 0.01, "--pdb")) == "done"
    runner.close()


def test_an_interrupted_timed_step_gets_its_whole_grace_period(
    runner_module: ModuleType, timeouts_module: ModuleType
) -> None:
    """Once a step is interrupted, its timeout is off: it must not cut the grace period short."""
    runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=False, grace=2)
    events: list[str] = []

    async def slow_to_clean_up() -> None:
        asyncio.get_running_loop().call_later(0.01, _interrupt)
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(0.3)  # past the step's timeout, well within the grace period
            events.append("cleaned up")
            raise

    with pytest.raises(KeyboardInterrupt):
        runner.run(slow_to_clean_up(), "the test", _timeout(timeouts_module, 0.1))
    assert events == ["cleaned up"]
    assert runner.lost is None
    runner.close()


def test_a_timed_out_step_that_fails_once_cancelled_says_so(
    runner_module: ModuleType, timeouts_module: ModuleType
) -> None:
    runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=False)

    async def breaks_its_clean_up() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise ValueError("the clean-up broke") from None

    with pytest.raises(runner_module.TimedOut) as caught:
        runner.run(breaks_its_clean_up(), "the test", _timeout(timeouts_module, 0.05))
    assert "\n\nOnce cancelled, it raised ValueError: the clean-up broke\n\n" in str(caught.value)
    assert runner.lost is None
    runner.close()


def test_each_driver_has_its_own_task_and_a_copy_of_the_callers_context(
    runner_module: ModuleType,
) -> None:
    """A driver's steps share its task; its context is a copy of the caller's at its first step."""
    runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=False)
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def set_var(value: str) -> asyncio.Task[object] | None:
        var.set(value)
        return asyncio.current_task()

    async def get_var() -> tuple[str, asyncio.Task[object] | None]:
        return var.get(), asyncio.current_task()

    token = var.set("the caller's")
    first = runner.driver(what="first")
    task = runner.run(set_var("first's"), driver=first)
    assert runner.run(get_var(), driver=first) == ("first's", task)
    other = runner.driver(what="other")
    value, other_task = runner.run(get_var(), driver=other, last=True)
    assert (value, other_task is task) == ("the caller's", False)
    assert other.ended
    step = get_var()
    with pytest.raises(runner_module.StepError, match="the task of other has ended"):
        runner.run(step, driver=other)
    assert step.cr_frame is None  # closed, never to be awaited
    assert runner.run(get_var(), driver=first, last=True) == ("first's", task)
    var.reset(token)
    assert var.get() == "unset"
    runner.close()


def test_a_driver_cancelled_between_steps_charges_the_running_step(
    runner_module: ModuleType,
) -> None:
    """The driver's unwind runs in its task; the step running elsewhere fails with its error."""
    runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=False)
    events: list[str] = []
    seen: list[tuple[str, str | None]] = []

    async def unwind(cancelled: asyncio.CancelledError, running: str | None) -> BaseException:
        seen.append((type(cancelled).__name__, running))
        await asyncio.sleep(0)  # it may take its time: the charged step waits for it
        return ValueError("what the fixture's TaskGroup raised")

    async def cancel_me_later() -> None:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().call_later(0.01, task.cancel)

    async def waits() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            events.append("the running step was cancelled")
            raise

    async def answer() -> int:
        return 42

    fixture = runner.driver(what="fixture 'group'", unwind=unwind)
    runner.run(cancel_me_later(), "fixture 'group'", driver=fixture)
    with pytest.raises(ValueError, match="what the fixture's TaskGroup raised"):
        runner.run(waits(), "the test", driver=runner.driver(what="test"), last=True)
    assert seen == [("CancelledError", "the test")]
    assert events == ["the running step was cancelled"]
    # The driver goes on: its next step (the fixture's teardown) runs as usual.
    assert runner.run(answer(), "fixture 'group''s teardown", driver=fixture, last=True) == 42
    runner.close()


def test_a_driver_cancelled_while_nothing_runs_fails_its_own_next_step(
    runner_module: ModuleType,
) -> None:
    """With no step to charge (the loop closing aside), the driver's next step gets the error."""
    runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=False)

    async def unwind(cancelled: asyncio.CancelledError, running: str | None) -> BaseException:
        return ValueError(f"unwound while {running} ran")

    async def cancelled_soon() -> None:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().call_soon(task.cancel)

    async def answer() -> int:
        return 42

    fixture = runner.driver(what="fixture 'group'", unwind=unwind)
    runner.run(cancelled_soon(), driver=fixture)
    # The cancellation lands once the setup step is over, while nothing runs.
    assert runner.run(answer(), driver=runner.driver(), last=True) == 42
    step = answer()
    with pytest.raises(ValueError, match="unwound while None ran"):
        runner.run(step, "the teardown", driver=fixture, last=True)
    assert step.cr_frame is None
    runner.close()


def test_close_unwinds_a_driver_left_between_steps(runner_module: ModuleType) -> None:
    """A fixture never torn down (an interrupted session): closing the loop unwinds it, quickly."""
    runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=False, grace=5)
    reported: list[str] = []
    runner.loop.set_exception_handler(
        lambda loop, context: reported.append(repr(context.get("exception")))
    )
    unwound: list[str | None] = []

    async def unwind(cancelled: asyncio.CancelledError, running: str | None) -> BaseException:
        unwound.append(running)
        return ValueError("raised by the fixture as its loop closed")

    async def setup() -> None:
        pass

    runner.run(setup(), driver=runner.driver(what="fixture 'left'", unwind=unwind))
    # Nothing but the runner holds the waiting driver (a loop's references to its
    # tasks are weak): a garbage collection must not take it before it unwinds.
    gc.collect()
    runner.close()
    assert runner.loop.is_closed()
    assert unwound == [None]
    assert reported == ["ValueError('raised by the fixture as its loop closed')"]


def test_driver_tasks_are_told_from_the_tasks_of_the_code_under_test(
    runner_module: ModuleType,
) -> None:
    runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=False)

    async def start_one() -> tuple[asyncio.Task[None], asyncio.Task[object] | None]:
        return asyncio.get_running_loop().create_task(asyncio.sleep(3600)), asyncio.current_task()

    started, driver_task = runner.run(start_one(), driver=runner.driver(what="fixture 'x'"))
    assert driver_task is not None
    assert runner_module.is_driver(driver_task)
    assert not runner_module.is_driver(started)
    runner.close()


@pytest.mark.parametrize("tracked", [False, True], ids=["untracked", "leaks tracked"])
def test_a_closed_loop_is_freed_without_a_garbage_collection(
    runner_module: ModuleType, tracked: bool
) -> None:
    """Nothing of a closed loop is left in a reference cycle, for a later collection to free.

    A loop per test would otherwise leave its runner, drivers, tasks and a
    fixture's async generator to the garbage collector (and to asyncio's list
    of every task), whose collections then cost more the longer the run.
    """
    import gc
    import weakref

    from pytest_aioloop.tracker import Tracker

    async def fixture() -> object:
        yield "value"

    async def noop() -> None:
        pass

    async def first(generator: object) -> object:
        return await generator.__anext__()  # type: ignore[attr-defined]

    async def last(generator: object) -> None:
        with contextlib.suppress(StopAsyncIteration):
            await generator.__anext__()  # type: ignore[attr-defined]

    gc.collect()
    gc.disable()
    try:
        runner = runner_module.LoopRunner(asyncio.new_event_loop, debug=False)
        if tracked:
            Tracker(runner, lambda owner, finding: None)
        generator = fixture()
        driver = runner.driver(what="fixture 'resource'")
        assert runner.run(first(generator), driver=driver) == "value"
        runner.run(noop(), driver=runner.driver(what="the test"), last=True)
        runner.run(last(generator), driver=driver, last=True)
        loop, generator_ref = weakref.ref(runner.loop), weakref.ref(generator)
        del generator, driver
        runner.close()
        del runner
        assert loop() is None
        assert generator_ref() is None
    finally:
        gc.enable()
