"""retry()'s back-off and timeouts, tested without waiting for them (see pytest.ini)."""

import asyncio

import pytest
from retry import retry

import pytest_aioloop


class FlakyService:
    """Fails its first ``failures`` calls, then answers "ok"; records when each call came."""

    def __init__(self, failures: int, *, hang: bool = False) -> None:
        self.failures = failures
        self.hang = hang  # fail by never answering, rather than by refusing
        self.calls: list[float] = []

    async def __call__(self) -> str:
        self.calls.append(asyncio.get_running_loop().time())
        if len(self.calls) > self.failures:
            return "ok"
        if self.hang:
            await asyncio.Event().wait()  # forever, unless a timeout cancels it
        raise ConnectionError("service unavailable")

    def schedule(self) -> list[float]:
        """When each call came, in seconds after the first."""
        return [when - self.calls[0] for when in self.calls]


# abs=0.1: on the real clock each sleep overshoots a little; on the virtual
# clock the times are exact.
async def test_backs_off_exponentially() -> None:
    service = FlakyService(failures=3)
    assert await retry(service) == "ok"
    assert service.schedule() == pytest.approx([0, 1, 3, 7], abs=0.1)


async def test_gives_up_after_the_last_attempt() -> None:
    service = FlakyService(failures=10)
    with pytest.raises(ConnectionError):
        await retry(service, attempts=4)
    assert service.schedule() == pytest.approx([0, 1, 3, 7], abs=0.1)


async def test_a_hanging_attempt_is_cut_by_its_timeout() -> None:
    service = FlakyService(failures=2, hang=True)
    assert await retry(service, timeout=10) == "ok"
    # 10 s for each attempt that hangs, then 1 s and 2 s of back-off.
    assert service.schedule() == pytest.approx([0, 11, 23], abs=0.1)


@pytest.mark.asyncio(clock="virtual")  # step by step needs the virtual clock, always
async def test_no_attempt_comes_early(aioloop_clock: pytest_aioloop.VirtualClock) -> None:
    aioloop_clock.autojump = False  # time moves only when the test says so
    service = FlakyService(failures=1)
    task = asyncio.create_task(retry(service, first_delay=5))
    await aioloop_clock.advance(4.999)
    assert len(service.calls) == 1
    await aioloop_clock.advance(0.001)
    assert len(service.calls) == 2
    assert await task == "ok"
