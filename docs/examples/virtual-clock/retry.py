"""Retry an async operation with exponential back-off, each attempt bounded by a timeout."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def retry(
    operation: Callable[[], Awaitable[T]],
    *,
    attempts: int = 5,
    first_delay: float = 1.0,
    factor: float = 2.0,
    timeout: float | None = None,
    retry_on: tuple[type[BaseException], ...] = (ConnectionError, asyncio.TimeoutError),
) -> T:
    """Await ``operation()`` until it succeeds, at most ``attempts`` times.

    After the first failure it waits ``first_delay`` seconds, then ``factor``
    times longer after each further one. Each attempt is cancelled after
    ``timeout`` seconds (None: no limit), which counts as a failure. The last
    attempt's failure is the caller's.
    """
    delay = first_delay
    for _ in range(attempts - 1):
        try:
            return await asyncio.wait_for(operation(), timeout)
        except retry_on:
            await asyncio.sleep(delay)
            delay *= factor
    return await asyncio.wait_for(operation(), timeout)
