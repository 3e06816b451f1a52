"""final/'s LoopRunner on its own, without pytest in between: a plain object, plain tests.

Not scenarios (no ``aio`` fixture, no target): they import final/'s runner
module directly, and put ``sys.modules`` back afterwards so that the scenarios'
in-process runs still import each target's own package.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Iterator
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
