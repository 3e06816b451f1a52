"""The ``event_loop_policy`` fixture, deprecated but honoured: is it overridden, and the warning.

pytest-asyncio's classic way to choose how loops are made (``return
uvloop.EventLoopPolicy()``). The plugin's own fixture (in
:mod:`pytest_aioloop.plugin`) gives asyncio's policy and changes nothing; an
override, anywhere a test can see it, makes every loop of that test with its
policy's ``new_event_loop()``, and is told once, at the override's own line,
that the loop-factories hook replaces it.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

#: The fixture's name, as pytest-asyncio gave it.
POLICY_FIXTURE = "event_loop_policy"

#: The module that defines the plugin's own fixture of that name.
_PLUGIN_MODULE = "pytest_aioloop.plugin"


def overridden(fixturedef: pytest.FixtureDef[Any] | None) -> bool:
    """Whether ``fixturedef`` (the closest ``event_loop_policy``) is another than the plugin's."""
    return fixturedef is not None and getattr(fixturedef.func, "__module__", None) != _PLUGIN_MODULE


def deprecate_override(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> None:
    """Warn, at the overriding fixture's own line, that overriding the policy is deprecated.

    Where the warning filters make it an error (``filterwarnings = error``), the
    test errors with its message alone, not with the plugin's frames.
    """
    warning = pytest.PytestDeprecationWarning(
        f'Overriding the "{POLICY_FIXTURE}" fixture is deprecated: implement the '
        "pytest_asyncio_loop_factories hook in a conftest.py to choose how event loops are made."
    )
    code = getattr(fixturedef.func, "__code__", None)
    try:
        if code is None:
            warnings.warn(warning, stacklevel=1)
        else:
            warnings.warn_explicit(warning, type(warning), code.co_filename, code.co_firstlineno)
        return
    except pytest.PytestDeprecationWarning:
        pass  # failed outside this block, so that the report holds no chained exception
    pytest.fail(
        f"{request.node.nodeid}: {warning} (This deprecation warning is an error in this "
        "run: a -W option or the filterwarnings setting makes it one.)",
        pytrace=False,
    )
