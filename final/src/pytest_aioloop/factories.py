"""The loop factories a test runs with: the ``pytest_asyncio_loop_factories`` hook, checked.

The hook (:mod:`pytest_aioloop.hooks`) is a first-result hook: the first
implementation that returns something other than None wins. What it returns is
checked here, once per test function at collection, so that a wrong result is
one clear error naming the test and what was returned, instead of a failure
deep in a loop's creation. When no conftest or plugin implements it, nothing
is asked: no walk of the module's conftests per test. The test is then
parametrized over the factories its marker names (:func:`factory_params`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_aioloop.runner import LoopFactory


class HookResultError(ValueError):
    """What pytest_asyncio_loop_factories returned cannot be used."""


def loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, LoopFactory] | None:
    """The factories the hook names for ``item``; None: no implementation, the default loop."""
    if not config.hook.pytest_asyncio_loop_factories.get_hookimpls():
        return None  # no conftest or plugin has one: no need for the module's conftests
    hook = item.ihook.pytest_asyncio_loop_factories
    if not hook.get_hookimpls():
        return None
    result = hook(config=config, item=item)
    if result is None:
        raise HookResultError(
            f"{item.nodeid}: every pytest_asyncio_loop_factories hook returned None; the "
            "first one that returns a mapping of names to loop factories is used, e.g. "
            "{'asyncio': asyncio.new_event_loop}: return one for this test."
        )
    if (
        not isinstance(result, Mapping)
        or not result
        or not all(isinstance(name, str) and name and callable(f) for name, f in result.items())
    ):
        raise HookResultError(
            f"{item.nodeid}: pytest_asyncio_loop_factories returned {result!r}; it must "
            "return a non-empty mapping of names to loop factories, "
            "e.g. {'asyncio': asyncio.new_event_loop}."
        )
    return dict(result)


def factory_params(
    factories: Mapping[str, LoopFactory], names: Sequence[str]
) -> list[pytest.ParameterSet]:
    """The parameters of a test over the loop factories ``names``, with the names as ids.

    A name that the hook did not give is a skipped parameter that lists the
    ones it gave (the test runs wherever that factory exists). A single
    factory adds no id to the test's name (pytest 9's ``HIDDEN_PARAM``).
    """
    params = [
        pytest.param(factories[name], id=name)
        if name in factories
        else pytest.param(
            None,
            id=name,
            marks=pytest.mark.skip(
                reason=f"loop factory {name!r} is not available; the factories are: "
                f"{', '.join(factories)}"
            ),
        )
        for name in names
    ]
    if len(params) == 1 and hasattr(pytest, "HIDDEN_PARAM"):
        params = [pytest.param(*params[0].values, id=pytest.HIDDEN_PARAM, marks=params[0].marks)]
    return params
