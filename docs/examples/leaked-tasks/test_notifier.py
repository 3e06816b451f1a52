import asyncio
import contextlib

import pytest


class Notifier:
    """Sends queued messages from a background task, once started."""

    def __init__(self):
        self.queue = asyncio.Queue()
        self.sent = []
        self._task = None

    def start(self):
        self._task = asyncio.create_task(self._run(), name="notifier")

    async def stop(self):
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self):
        while True:
            message = await self.queue.get()
            self.sent.append(message)


@pytest.fixture
async def notifier():
    notifier = Notifier()
    notifier.start()
    yield notifier
    await notifier.stop()  # the fixture stops what it started: no leak


async def test_sends_a_message(notifier):
    await notifier.queue.put("hello")
    await asyncio.sleep(0)
    assert notifier.sent == ["hello"]


async def test_forgets_to_stop():
    notifier = Notifier()
    notifier.start()  # started here, never stopped: a leak of this test
    await notifier.queue.put("hello")
    await asyncio.sleep(0)
    assert notifier.sent == ["hello"]


async def test_fire_and_forget():
    async def audit():
        raise ConnectionError("audit service unreachable")

    asyncio.create_task(audit())  # noqa: RUF006 -- nobody awaits it: its error goes unseen
    await asyncio.sleep(0.01)
