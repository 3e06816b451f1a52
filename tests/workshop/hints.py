"""The workshop's hints, as data that the pages and the checker share.

Each exercise's scenarios are grouped into topics (one part of the plugin to
write), and each topic has three hints that go from the idea to the code:

1. **the idea**: which part of pytest (or asyncio) is involved, and why;
2. **what to look up**: the hook's contract, a pytest or Python page, the
   concept page of this site;
3. **close to the code**: what the code does, the names it uses; only this one
   comes near the line to write.

The exercise pages show them one at a time, as collapsed boxes ("[% exercise-hints
NN %]" in docs/hooks/generate.py); the checker shows the next one for the
failing scenario on request (``pytest --exercise NN --hint``,
tests/workshop/progress.py), so a learner who works from a terminal, or reads
the Markdown sources, also gets them one at a time. tests/test_workshop.py
checks that every scenario of every exercise has exactly one topic.

Links are written ``<https://...>``: a Markdown link on the site, shown bare in
a terminal.

Python's standard library only: a workshop room has nothing else to install.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PYTEST = "https://docs.pytest.org/en/stable"
HOOKS = f"{PYTEST}/reference/reference.html#std-hook-"
PYTHON = "https://docs.python.org/3"
WRITING_HOOKS = f"{PYTEST}/how-to/writing_hook_functions.html"
LEVELS = ("The idea", "What to look up", "Close to the code")


@dataclass(frozen=True)
class Topic:
    """One part of an exercise: the scenarios it makes pass, and three hints about it."""

    exercise: str
    title: str
    scenarios: tuple[str, ...]
    idea: str
    look_up: str
    code: str

    @property
    def key(self) -> str:
        """Where the checker keeps its place in these hints: ``03/running-a-marked-coroutine``."""
        return f"{self.exercise}/{re.sub(r'[^a-z0-9]+', '-', self.title.lower()).strip('-')}"

    @property
    def hints(self) -> tuple[tuple[str, str], ...]:
        """(title, text) of the three hints, in the order they are given."""
        return tuple(zip(LEVELS, (self.idea, self.look_up, self.code), strict=True))


def _text(*sentences: str) -> str:
    return " ".join(sentences)


TOPICS: tuple[Topic, ...] = (
    # -- exercise 02 ------------------------------------------------------------
    Topic(
        "02",
        "A fixture that hands out a loop",
        (
            "test_event_loop_fixture_runs_coroutines",
            "test_event_loop_fixture_is_fresh_per_test",
        ),
        _text(
            "pytest gives a test the value of every fixture named among its arguments,",
            "and calls a fixture function again for each test that needs it (unless its",
            "scope says otherwise). So the plugin needs no hook here: `event_loop` only",
            "has to become a fixture that makes a loop nobody else uses.",
        ),
        _text(
            f"pytest's page on fixtures, <{PYTEST}/how-to/fixtures.html>: \"Requesting",
            'fixtures" and "Fixture scopes". In asyncio\'s event loop page,',
            f"<{PYTHON}/library/asyncio-eventloop.html>, the function that makes a new",
            "loop without touching the current one.",
        ),
        _text(
            "`@pytest.fixture` above `def event_loop()`, with the default (function)",
            "scope; the loop comes from `asyncio.new_event_loop()`, not",
            "`asyncio.get_event_loop()`, which may hand out a loop shared with other",
            "tests.",
        ),
    ),
    Topic(
        "02",
        "Closing the loop after the test",
        ("test_event_loop_fixture_closes_loop_after_failure",),
        _text(
            "A loop must be closed once its test is done, passed or failed, or it leaks.",
            "A fixture can run code after its test: its teardown. The fixture has to hand",
            "the loop over and get control back when the test is finished.",
        ),
        _text(
            f'"Teardown/Cleanup" and "yield fixtures" in <{PYTEST}/how-to/fixtures.html>;',
            "look for what pytest does with the exception of a failing test: is it",
            "thrown into the fixture?",
        ),
        _text(
            "Make `event_loop` a generator: `yield loop` hands the loop to the test, and",
            "the line after the `yield` runs after the test, whatever its outcome: close",
            "the loop there (no `try` needed: pytest does not throw the test's exception",
            "into the fixture).",
        ),
    ),
    # -- exercise 03 ------------------------------------------------------------
    Topic(
        "03",
        "Registering the marker",
        ("test_marker_is_registered_for_strict_markers",),
        _text(
            "pytest must know a marker before any test uses it: `--strict-markers`",
            "refuses unknown ones, and `pytest --markers` lists the known ones with a",
            "line about each. A plugin registers its markers once, when pytest is",
            "configured, through a hook.",
        ),
        _text(
            f'"Registering marks" in <{PYTEST}/how-to/mark.html>, the hook',
            f"`pytest_configure` in the hook reference (<{HOOKS}pytest_configure>), and",
            "`Config.addinivalue_line` in the API reference.",
        ),
        _text(
            'In `pytest_configure(config)`, add one line to the `"markers"` ini value:',
            '`"asyncio: "` and what the marker does, with `config.addinivalue_line`.',
        ),
    ),
    Topic(
        "03",
        "Running a marked coroutine",
        (
            "test_marked_async_test_passes",
            "test_marked_async_test_really_runs",
            "test_failing_async_test_fails",
            "test_exception_type_is_reported",
            "test_running_loop_inside_async_test",
            "test_fresh_loop_per_async_test",
            "test_parametrize",
            "test_methods_of_a_test_class",
            "test_pytestmark_on_a_module",
            "test_mark_on_a_class",
            "test_skip_on_async_test",
            "test_xfail_on_async_test",
            "test_asyncio_run_in_sync_test_after_async_tests",
        ),
        _text(
            "pytest calls each test function through a hook, and a plugin may answer",
            "that hook before pytest does. Calling an `async def` function only creates",
            "a coroutine, which does nothing until an event loop runs it. So the plugin",
            "calls the test itself, runs the coroutine to its end in a loop of the",
            "test's own, and tells pytest that the test has been called.",
        ),
        _text(
            "The contract of `pytest_pyfunc_call`: what it receives, and what a",
            f"non-`None` result means (<{HOOKS}pytest_pyfunc_call>, or offline:",
            '`python -c "import _pytest.hookspec as h; help(h.pytest_pyfunc_call)"`).',
            f'"firstresult" and "Hook function ordering" in <{WRITING_HOOKS}>;',
            "`Node.get_closest_marker` in pytest's API reference;",
            f"`loop.run_until_complete` in <{PYTHON}/library/asyncio-eventloop.html>.",
        ),
        _text(
            '`pyfuncitem.get_closest_marker("asyncio")` (which also sees a class\'s or a',
            "module's `pytestmark`) and `inspect.iscoroutinefunction(pyfuncitem.obj)` pick",
            "your tests. For those: call `pyfuncitem.obj` with the test's arguments, run",
            "the coroutine it returns with `run_until_complete` on",
            "`asyncio.new_event_loop()`, and return `True`. `@pytest.hookimpl(tryfirst=True)`",
            "puts the hook before pytest's own, whatever order the plugins came in.",
        ),
    ),
    Topic(
        "03",
        "When the test fails",
        (
            "test_loop_closed_after_failing_async_test",
            "test_no_resource_warning_after_failing_async_test",
            "test_traceback_points_at_the_users_line",
        ),
        _text(
            "A failing test raises its exception out of the loop's run. Two things must",
            "still hold: the loop is closed (an open one leaks, and Python warns about it",
            "later, in some other test), and the exception reaches pytest as it is,",
            "because pytest reports it with its type and the user's failing line.",
        ),
        _text(
            f'"Defining Clean-up Actions" in Python\'s tutorial, <{PYTHON}/tutorial/errors.html>;',
            f"how pytest reports a failure, <{PYTEST}/how-to/assert.html>: it needs the",
            "exception itself, not a message about it.",
        ),
        _text(
            "A `try:` around the `run_until_complete(...)` call, `loop.close()` in its",
            "`finally:`, and no `except` at all: the exception goes on to pytest.",
        ),
    ),
    Topic(
        "03",
        "Tests that are not yours",
        (
            "test_unmarked_async_test_next_to_marked_one",
            "test_module_mark_leaves_sync_tests_alone",
            "test_marker_on_sync_test_warns",
        ),
        _text(
            "Only marked `async def` tests are the plugin's. For every other test pytest",
            "must go on as if the hook were not there: an unmarked coroutine still fails",
            "loudly, a sync test runs as usual. A sync test with the marker on itself is",
            "a mistake of its author's, worth a warning that names it.",
        ),
        _text(
            "`pytest_pyfunc_call`'s contract again: what pytest does when an",
            "implementation returns `None`. `Function.own_markers` versus",
            "`get_closest_marker()` in pytest's API reference; warnings from plugins in",
            f"<{PYTEST}/how-to/capture-warnings.html>.",
        ),
        _text(
            "Return `None` for unmarked tests and for sync ones. Before that, when a",
            "mark named `asyncio` is in `pyfuncitem.own_markers` of a sync test,",
            "`warnings.warn(pytest.PytestWarning(...))` with a message that names",
            "`pyfuncitem.nodeid` and the fix.",
        ),
    ),
    Topic(
        "03",
        "The test's arguments",
        ("test_fixtures_reach_async_tests",),
        _text(
            "A test function takes its fixtures as arguments. pytest has set them up",
            "before it calls the hook, and keeps the value of every fixture of the test,",
            "autouse ones included, which the function may not take.",
        ),
        _text(
            "`Function.funcargs` in pytest's API reference;",
            f"`inspect.signature` in <{PYTHON}/library/inspect.html>.",
        ),
        _text(
            "The names in `inspect.signature(item.obj).parameters`, each with its value",
            "from `item.funcargs`: a dict to call the function with.",
        ),
    ),
    # -- exercise 04 ------------------------------------------------------------
    Topic(
        "04",
        "Setting up an async fixture",
        (
            "test_async_fixture_value_reaches_the_test",
            "test_async_fixture_requests_sync_and_async_fixtures",
            "test_parametrized_async_fixture",
            "test_async_fixture_method_in_a_test_class",
            "test_autouse_async_fixture",
            "test_fixture_setup_error_is_reported",
            "test_skip_inside_async_fixture",
        ),
        _text(
            "pytest sets up each fixture through a hook, and its own implementation",
            "refuses coroutine functions. The plugin answers that hook first for async",
            "fixtures: it gathers the fixture's arguments, runs the fixture in a loop,",
            "and records its value (or its error) where pytest looks for it.",
        ),
        _text(
            f"The contract of `pytest_fixture_setup` (<{HOOKS}pytest_fixture_setup>, or",
            '`python -c "import _pytest.hookspec as h; help(h.pytest_fixture_setup)"`):',
            "firstresult, and what its result means. `FixtureDef.argnames` and",
            "`FixtureRequest.getfixturevalue` in pytest's API reference. The comments",
            "above the given helpers `_cache()` and `_bound_to_the_test_instance()`.",
        ),
        _text(
            "Return `None` for a sync fixture. Otherwise: the value of each name in",
            "`fixturedef.argnames` from `request.getfixturevalue`, the fixture run to",
            "its end in the loop, `_cache()` of the value, or of the error before you",
            "re-raise it, and a result that is not `None` even when the value is.",
        ),
    ),
    Topic(
        "04",
        "One loop for the test and its fixtures",
        (
            "test_fixture_and_test_share_one_loop",
            "test_loop_bound_objects_cross_from_fixture_to_test",
            "test_sync_test_gets_async_fixture_value",
            "test_module_scoped_async_fixture_is_set_up_once",
            "test_no_resource_warning_from_async_fixtures",
        ),
        _text(
            "What a fixture makes (a future, a task, a connection) belongs to the loop",
            "that made it. So a test and its function-scoped fixtures share one loop, and",
            "that loop must live until the last teardown: it belongs to a node of",
            "pytest's tree (the test, the module), not to one call of a hook.",
        ),
        _text(
            f"`Node.stash` and `pytest.StashKey` (<{PYTEST}/reference/reference.html#stash>),",
            "`Node.addfinalizer` and the order finalizers run in, and this site's",
            '"How pytest runs a test" (docs/concepts/test-lifecycle.md).',
        ),
        _text(
            "`_loop_of(node)` looks in `node.stash` under `_LOOP`; when there is no loop",
            "yet, it makes one and registers with `node.addfinalizer` a function that",
            "removes it from the stash and closes it. The fixture's loop is then",
            "`_loop_of(request.node)`, and the test's `_loop_of(pyfuncitem)`.",
        ),
    ),
    Topic(
        "04",
        "The half after the yield",
        (
            "test_async_generator_fixture_runs_setup_then_teardown",
            "test_teardown_runs_when_the_test_fails",
            "test_failing_teardown_is_an_error_and_others_still_run",
            "test_async_generator_fixture_that_yields_twice",
        ),
        _text(
            "An async generator fixture runs up to its `yield` at set-up, and from there",
            "to its end after the last test that uses it, even when that test failed.",
            "pytest calls the functions a fixture registers at its teardown: the rest of",
            "the generator must run then, in the same loop.",
        ),
        _text(
            "`FixtureRequest.addfinalizer` in pytest's API reference; the async",
            "generator protocol, `anext()` and `StopAsyncIteration`, in",
            f"<{PYTHON}/reference/expressions.html#asynchronous-generator-functions>.",
        ),
        _text(
            "At set-up, `run_until_complete(anext(generator))` gives the value; register",
            "with `request.addfinalizer` a call of `_tear_down(loop, generator, name)`,",
            "which runs one more `anext()` and expects `StopAsyncIteration`: a second",
            "yield is `pytest.fail(..., pytrace=False)` naming the fixture.",
        ),
    ),
    # -- exercise 05 ------------------------------------------------------------
    Topic(
        "05",
        "Two options, one mode",
        (
            "test_help_lists_the_mode_options",
            "test_auto_mode_from_the_command_line",
            "test_command_line_mode_wins_over_ini",
            "test_invalid_mode_on_command_line_is_a_usage_error",
            "test_invalid_mode_in_ini_is_a_usage_error",
        ),
        _text(
            "The mode is a setting: an ini option for the project, a command-line option",
            "for one run, which wins. pytest must hear of both before it parses the",
            "command line; the plugin then settles the mode once, at configuration, and",
            "a bad value stops the run before anything is collected.",
        ),
        _text(
            f"`pytest_addoption` (<{HOOKS}pytest_addoption>), `Parser.addini`,",
            "`Parser.addoption`, `Config.getoption`, `Config.getini` and",
            '`pytest.UsageError` in pytest\'s API reference; "Writing plugins",',
            f"<{PYTEST}/how-to/writing_plugins.html>.",
        ),
        _text(
            '`addini("asyncio_mode", ..., default="strict")`, and `addoption("--asyncio-mode",',
            'dest="asyncio_mode", default=None)`: `None` means "not given", so',
            "`getoption(...) or getini(...)` lets the command line win. Check it",
            "against `MODES` in `pytest_configure` and keep it in `config.stash[_MODE]`.",
        ),
    ),
    Topic(
        "05",
        "The fixture decorator",
        (
            "test_decorated_fixture_runs_in_strict_mode",
            "test_fixture_decorator_takes_pytest_fixture_arguments",
            "test_fixture_decorator_on_methods_and_sync_functions",
            "test_async_fixtures_with_none_values",
            "test_failing_module_fixture_runs_once",
        ),
        _text(
            "In strict mode an async fixture is the plugin's only if it says so. The",
            "opt-in is a decorator that behaves exactly like `pytest.fixture`, bare or",
            "with arguments, and leaves a mark on the function that",
            "`pytest_fixture_setup` can look for.",
        ),
        _text(
            "`pytest.fixture` in pytest's API reference: its arguments, and how it works",
            "both as `@pytest.fixture` and as `@pytest.fixture(scope=...)`. A decorator",
            f'with optional arguments: "decorator" in <{PYTHON}/glossary.html>.',
        ),
        _text(
            "An inner `decorate(function)` sets `_OURS` on the function and returns",
            "`pytest.fixture(function, **kwargs)`; `fixture()` returns `decorate` itself",
            "when it is called without a function, and `decorate(fixture_function)`",
            "otherwise.",
        ),
    ),
    Topic(
        "05",
        "Strict mode and other plugins' fixtures",
        (
            "test_undecorated_async_fixture_in_strict_mode_names_the_fix",
            "test_strict_mode_leaves_undecorated_fixtures_to_others",
            "test_strict_mode_coexists_with_another_async_plugin",
        ),
        _text(
            "In strict mode an undecorated async fixture may belong to another plugin",
            "(trio's, anyio's): leave it alone by not answering the hook. A test marked",
            "`asyncio` that requests one most likely forgot the decorator: say so.",
        ),
        _text(
            "What a `None` from `pytest_fixture_setup` means",
            f"(<{HOOKS}pytest_fixture_setup>); `pytest.PytestWarning` and",
            f"<{PYTEST}/how-to/capture-warnings.html>.",
        ),
        _text(
            "After the sync-fixture check: in strict mode, for a function without the",
            "`_OURS` mark (`getattr(function, _OURS, False)`), warn when `request.node`",
            "is marked `asyncio` (name the test, the fixture and the fix), then return",
            "`None`.",
        ),
    ),
    Topic(
        "05",
        "Auto mode",
        (
            "test_auto_mode_from_ini",
            "test_auto_mode_marks_are_visible_to_m",
            "test_doctests_and_async_tests_in_auto_mode",
            "test_isolated_asyncio_test_case_untouched",
        ),
        _text(
            "In auto mode every `async def` test is the plugin's, marked or not. Rather",
            "than teach every hook about the mode, mark those tests once, right after",
            'collection: everything downstream already asks "is it marked?", and',
            "`-m asyncio` selects them too.",
        ),
        _text(
            f"`pytest_collection_modifyitems` (<{HOOKS}pytest_collection_modifyitems>):",
            "when it runs and what it may change; `Node.add_marker` in pytest's API",
            f'reference; "Hook function ordering" in <{WRITING_HOOKS}>.',
        ),
        _text(
            "In auto mode only, for each item that is a `pytest.Function` whose `obj` is",
            "a coroutine function and that has no `asyncio` marker:",
            "`item.add_marker(pytest.mark.asyncio)`. `@pytest.hookimpl(tryfirst=True)`",
            "runs it before pytest's own, which applies `-m`.",
        ),
    ),
    # -- exercise 06 ------------------------------------------------------------
    Topic(
        "06",
        "A loop per node",
        (
            "test_module_loop_scope_shares_one_loop",
            "test_class_loop_scope",
            "test_pytestmark_sets_the_loop_scope",
            "test_session_loop_scope_spans_modules",
            "test_package_loop_scope",
            "test_event_loop_fixture_is_gone",
        ),
        _text(
            "Every node of pytest's collection tree (the session, a package, a module, a",
            "class, a test) can own a loop, made when first needed and closed when the",
            "node is torn down: stage 04's `_loop_of` already does that for any node. A",
            "scope names a node: find it from the test, up the tree.",
        ),
        _text(
            'This site\'s "Collectors and loop scopes" (docs/concepts/loop-scopes.md);',
            "`Node.getparent`, `pytest.Class`, `pytest.Module`, `pytest.Package` and",
            "`Node.session` in pytest's API reference; how pytest's own class- and",
            'package-scoped fixtures fall back outside a class or a package ("Fixture',
            f'scopes" in <{PYTEST}/how-to/fixtures.html>).',
        ),
        _text(
            "`_node_for(node, scope)` climbs with `node.getparent(...)` for class, module",
            "and package, falls back to the test itself (class) or the session (module,",
            "package), and returns `node.session` for session. In `pytest_pyfunc_call`",
            "the loop is that node's `_loop_of`, for the test's scope, taken before the",
            "test function is called.",
        ),
    ),
    Topic(
        "06",
        "The test's loop scope",
        (
            "test_default_test_loop_scope_from_ini",
            "test_invalid_marker_loop_scope_names_the_test",
            "test_positional_marker_argument_names_the_test",
            "test_invalid_default_loop_scope_in_ini_is_a_usage_error",
        ),
        _text(
            "A test says which loop it runs in on its marker, `loop_scope=`, and a",
            "project says it for every test in an ini option. Both are written by",
            "people: check them, and name the test (or the option) and the fix when one",
            "is wrong.",
        ),
        _text(
            f"`pytest.Mark` (`args`, `kwargs`) in <{PYTEST}/reference/reference.html>;",
            "`Parser.addini`",
            "and `Config.getini`; the difference between `pytest.fail(...,",
            "pytrace=False)`, which fails one test, and `pytest.UsageError`, which stops",
            "the run.",
        ),
        _text(
            "`_test_loop_scope(item)`: refuse positional arguments and unknown keywords",
            'on `item.get_closest_marker("asyncio")`, take its `loop_scope`, else',
            '`getini("asyncio_default_test_loop_scope")`, and check it against `SCOPES`.',
            "The two ini defaults are declared in `pytest_addoption` and checked in",
            "`pytest_configure`.",
        ),
    ),
    Topic(
        "06",
        "The fixture's loop scope",
        (
            "test_module_fixture_works_across_module_loop_tests",
            "test_fixture_loop_scope_is_independent_of_its_scope",
            "test_default_fixture_loop_scope_from_ini",
            "test_invalid_fixture_loop_scope_names_the_fixture",
            "test_no_event_loop_policy_call",
        ),
        _text(
            "A fixture's loop is not always that of its caching scope: a",
            "function-scoped fixture may run in the module's loop to serve module-loop",
            "tests. The decorator records the loop scope on the function, and",
            "`pytest_fixture_setup` chooses: the decorator's, else the ini default, else",
            "the fixture's own scope.",
        ),
        _text(
            "`FixtureDef.scope` in pytest's API reference; stage 05's decorator and its",
            "`_OURS` mark, the model for one more attribute; keyword-only parameters,",
            f'"Special parameters" in <{PYTHON}/tutorial/controlflow.html>.',
        ),
        _text(
            "`fixture(fixture_function=None, *, loop_scope=None, **kwargs)`: a",
            "`ValueError` naming the fixture for a scope not in `SCOPES`, and",
            "`setattr(function, _LOOP_SCOPE, loop_scope)` beside `_OURS`. In the hook,",
            "`getattr(function, _LOOP_SCOPE, None)`, the ini option, `fixturedef.scope`,",
            "the first that is set; the loop is that of `_node_for(request.node, ...)`.",
        ),
    ),
    Topic(
        "06",
        "Scopes that do not fit",
        (
            "test_fixture_loop_narrower_than_the_tests_is_an_error",
            "test_wider_fixture_in_a_narrower_loop_than_its_test_is_an_error",
            "test_fixture_loop_narrower_than_its_scope_is_an_error",
        ),
        _text(
            "Two mismatches would break silently: a fixture cached longer than its loop",
            "lives (its value outlives the loop), and a fixture in a narrower loop than",
            "its test's (its objects belong to another loop). Both must be errors that",
            "name the fixture, the test and the fix; and the test is not the fixture's",
            "`request.node` once the fixture is wider than a function.",
        ),
        _text(
            f"`pytest_runtest_setup` (<{HOOKS}pytest_runtest_setup>): when it runs,",
            "compared with the test's fixtures; `Config.stash` in pytest's API",
            "reference. `SCOPES` is ordered from narrow to wide.",
        ),
        _text(
            "`pytest_runtest_setup` keeps `item` in `item.config.stash[_TEST]`.",
            "`_check_loop_scope(fixturedef, loop_scope, test)` compares",
            "`SCOPES.index(loop_scope)` with the fixture's `scope` and, for a marked",
            "async test, with `_test_loop_scope(test)`; `pytest.fail(..., pytrace=False)`",
            "when the loop is narrower.",
        ),
    ),
    Topic(
        "06",
        "Closing a loop as asyncio.run() does",
        (
            "test_loop_close_cancels_pending_tasks",
            "test_loop_close_shuts_down_async_generators",
            "test_pending_tasks_cancelled_and_asyncgens_closed_at_scope_end",
            "test_a_loop_closes_only_once_its_executor_jobs_and_callbacks_are_done",
        ),
        _text(
            "A wide loop outlives its tests, so it meets what they leave behind: tasks",
            "still pending, async generators not finished. Closed bare, the loop",
            'destroys them unfinished ("Task was destroyed but it is pending");',
            "`asyncio.run()` shows the orderly way.",
        ),
        _text(
            "How `asyncio.run()` cleans up: the `asyncio.runners` module of your Python",
            '(`python -c "import asyncio.runners as r, inspect; print(inspect.getsource(r))"`);',
            "`loop.shutdown_asyncgens()` and `loop.shutdown_default_executor()` in",
            f"<{PYTHON}/library/asyncio-eventloop.html>.",
        ),
        _text(
            "In `close()`: cancel every task of `asyncio.all_tasks(loop)` and run them",
            "to their end with `gather(..., return_exceptions=True)` (only if there are",
            "any), report other exceptions with `loop.call_exception_handler`, then run",
            "the two `shutdown_*` coroutines, and `loop.close()` in a `finally`.",
        ),
    ),
)


def of(exercise: str) -> list[Topic]:
    """The topics of exercise ``exercise``, in the order its page shows them."""
    return [t for t in TOPICS if t.exercise == exercise]


def for_scenario(exercise: str, scenario: str) -> Topic | None:
    """The topic whose hints help with ``scenario`` in exercise ``exercise``."""
    return next((t for t in of(exercise) if scenario in t.scenarios), None)


LINK = re.compile(r"<(https?://[^>\s]+)>")


def plain(text: str) -> str:
    """A hint for a terminal: links shown bare."""
    return LINK.sub(r"\1", text)
