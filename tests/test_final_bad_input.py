"""final/ answers every bad input with one clear message: what is wrong, where, and the fix.

Options (ini and command line) are checked once, at configure time, and a
bad value is a usage error that names the option and the values it takes;
fixture and marker mistakes are reported once, on the fixture or test, with
the plugin's message alone: no traceback of the plugin's, no exception chain.
"""

import pytest

HEAD = """
import asyncio

import pytest

import pytest_aioloop
"""

# (how the option is given, the value, what the message must say)
BAD_OPTIONS = [
    ("ini", "asyncio_mode", "stric", "*asyncio_mode='stric' is not a valid mode*strict, auto*"),
    ("cli", "--asyncio-mode", "stric", "*asyncio_mode='stric' is not a valid mode*strict, auto*"),
    (
        "ini",
        "asyncio_default_fixture_loop_scope",
        "modul",
        "*asyncio_default_fixture_loop_scope='modul' is not one of*session, fixture-scope*",
    ),
    (
        "ini",
        "asyncio_default_test_loop_scope",
        "fixture-scope",
        "*asyncio_default_test_loop_scope='fixture-scope' is not one of*session*",
    ),
    ("ini", "asyncio_debug", "maybe", "*asyncio_debug: invalid truth value 'maybe'; use true*"),
    ("ini", "asyncio_leaks", "loud", "*asyncio_leaks='loud' is not one of report, warn, error*"),
    ("cli", "--asyncio-leaks", "loud", "*--asyncio-leaks='loud' is not one of report, warn*"),
]


@pytest.mark.since("final")
@pytest.mark.parametrize(
    ("how", "option", "value", "message"),
    BAD_OPTIONS,
    ids=[f"{how}-{option.lstrip('-')}" for how, option, _, _ in BAD_OPTIONS],
)
def test_bad_option_value_is_a_usage_error_naming_it(aio, how, option, value, message):
    aio.pytester.makepyfile("def test_nothing():\n    pass\n")
    if how == "ini":
        aio.pytester.makeini(f"[pytest]\n{option} = {value}\n")
        result = aio.run()
    else:
        result = aio.run(f"{option}={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


@pytest.mark.since("final")
def test_async_fixture_that_never_yields_is_reported_once(aio):
    """The message alone: no empty block, no "During handling of the above exception"."""
    aio.pytester.makepyfile(
        HEAD
        + """
@pytest_aioloop.fixture
async def never_yields():
    if False:
        yield

@pytest.mark.asyncio
async def test_uses(never_yields):
    pass

@pytest.mark.asyncio
async def test_next():
    await asyncio.sleep(0)
"""
    )
    result = aio.run()
    result.assert_outcomes(errors=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_uses _*",
            "async fixture 'never_yields' returned without yielding a value: an async generator "
            "fixture must yield exactly once*",
        ]
    )
    result.stdout.no_fnmatch_line("*During handling of the above exception*")


@pytest.mark.since("final")
def test_bad_fixture_loop_scope_is_reported_once(aio):
    aio.pytester.makepyfile(
        HEAD
        + """
@pytest_aioloop.fixture(loop_scope="modul")
async def connection():
    return "connection"
"""
    )
    result = aio.run()
    result.assert_outcomes(errors=1)
    full = "fixture 'connection': loop_scope='modul' is not one of function, class, module*"
    result.stdout.fnmatch_lines([full])
    lines = result.stdout.lines
    assert sum(line.startswith("fixture 'connection': loop_scope") for line in lines) == 1, lines
    result.stdout.no_fnmatch_line("*During handling of the above exception*")
