"""A context variable that an async fixture sets is seen by the test and by its teardown."""

import contextvars
from collections.abc import AsyncIterator

import pytest

import pytest_aioloop

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


@pytest_aioloop.fixture
async def in_a_request() -> AsyncIterator[str]:
    token = request_id.set("req-42")
    yield request_id.get()
    # Resetting needs the context the token was made in: the fixture's setup
    # and its teardown must run in one task, with one context, for this to work.
    request_id.reset(token)


@pytest.mark.asyncio
async def test_sees_the_fixtures_context(in_a_request: str) -> None:
    assert request_id.get() == in_a_request == "req-42"
