"""The workshop's "Common mistakes", as data that the pages and a test share.

Each entry is a mistake a learner makes in exercise NN, written as a change to
the solution, stage NN's own ``plugin.py``: the stage's lines, and what the
learner writes instead. The exercise's page lists the entries with the
scenarios that catch each one ("[% exercise-mistakes NN %]" in
docs/hooks/generate.py), and tests/test_workshop.py applies each change to a
temporary copy of the stage and runs the checker on it: exactly the scenarios
named here must fail, no more, no fewer. A page cannot then name a scenario
that the mistake leaves passing.

Python's standard library only: a workshop room has nothing else to install.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    """One mistake: what it is, the code that makes it, the scenarios that catch it."""

    exercise: str
    says: str  # Markdown, one or two sentences: the mistake and what it does
    stage_code: str  # lines of stages/NN/pytest_aioloop/plugin.py, exactly once there
    mistaken_code: str  # what the learner writes instead
    caught_by: tuple[str, ...]  # the scenarios that fail, and no others


MISTAKES: tuple[Mistake, ...] = (
    # -- exercise 02 -----------------------------------------------------------
    Mistake(
        "02",
        "`return loop` instead of `yield loop`: the test gets its loop, but nothing "
        "runs after the test, so nothing closes it.",
        "    yield loop\n",
        "    return loop\n",
        ("test_event_loop_fixture_closes_loop_after_failure",),
    ),
    Mistake(
        "02",
        '`@pytest.fixture(scope="module")`: one loop for the whole module, so a test '
        "inherits whatever the one before it left in the loop.",
        "@pytest.fixture\ndef event_loop",
        '@pytest.fixture(scope="module")\ndef event_loop',
        (
            "test_event_loop_fixture_is_fresh_per_test",
            "test_event_loop_fixture_closes_loop_after_failure",
        ),
    ),
    # -- exercise 03 -----------------------------------------------------------
    Mistake(
        "03",
        "Returning `True` for a test the hook did not run: pytest takes it as called, "
        'so an unmarked `async def` test, or a sync one, "passes" without running.',
        "        return None  # not ours: pytest itself fails an unmarked async def test\n",
        "        return True\n",
        (
            "test_event_loop_fixture_closes_loop_after_failure",
            "test_unmarked_async_test_fails_loudly",
            "test_unmarked_async_test_next_to_marked_one",
        ),
    ),
    Mistake(
        "03",
        "Passing all of `pyfuncitem.funcargs` to the test function: it also holds the "
        "autouse fixtures, which the function does not take (a `TypeError`).",
        "    coroutine = test_function(**_own_arguments(pyfuncitem))\n",
        "    coroutine = test_function(**pyfuncitem.funcargs)\n",
        ("test_fixtures_reach_async_tests",),
    ),
    Mistake(
        "03",
        "Closing the loop after `run_until_complete()` instead of in a `finally:`: a "
        "failing test raises past the `close()`, and its loop stays open.",
        "    try:\n"
        "        loop.run_until_complete(coroutine)\n"
        "    finally:\n"
        "        # The same promise as the fixture's: the loop is closed, pass or fail.\n"
        "        loop.close()\n",
        "    loop.run_until_complete(coroutine)\n    loop.close()\n",
        (
            "test_loop_closed_after_failing_async_test",
            "test_no_resource_warning_after_failing_async_test",
        ),
    ),
    Mistake(
        "03",
        "Catching the test's exception to report it yourself with "
        "`pytest.fail(..., pytrace=False)`: pytest reports an exception with its type "
        "and the user's failing line; that one-line report has neither.",
        "        loop.run_until_complete(coroutine)\n    finally:\n",
        "        loop.run_until_complete(coroutine)\n"
        "    except Exception as error:\n"
        '        pytest.fail(f"{pyfuncitem.name} failed: {error}", pytrace=False)\n'
        "    finally:\n",
        (
            "test_traceback_points_at_the_users_line",
            "test_exception_type_is_reported",
        ),
    ),
    Mistake(
        "03",
        "Warning about every sync test that `get_closest_marker()` finds: a module's "
        "`pytestmark` reaches its sync tests too, and those are fine.",
        '        if any(mark.name == "asyncio" for mark in pyfuncitem.own_markers):\n',
        "        if True:\n",
        ("test_module_mark_leaves_sync_tests_alone",),
    ),
    # -- exercise 04 -----------------------------------------------------------
    Mistake(
        "04",
        "Closing the test's loop at the end of `pytest_pyfunc_call`: the teardown of "
        "an async generator fixture comes later, and finds the loop closed.",
        "    _loop_of(pyfuncitem).run_until_complete(coroutine)\n",
        "    loop = _loop_of(pyfuncitem)\n"
        "    loop.run_until_complete(coroutine)\n"
        "    loop.close()\n",
        (
            "test_async_generator_fixture_runs_setup_then_teardown",
            "test_fixture_and_test_share_one_loop",
            "test_failing_teardown_is_an_error_and_others_still_run",
            "test_async_fixture_requests_sync_and_async_fixtures",
            "test_loop_bound_objects_cross_from_fixture_to_test",
            "test_no_resource_warning_from_async_fixtures",
        ),
    ),
    Mistake(
        "04",
        "A new loop for each fixture: what the fixture makes (a future, a task, a "
        "client) belongs to a loop that the test never runs in.",
        "    loop = _loop_of(request.node)\n",
        "    loop = asyncio.new_event_loop()\n",
        (
            "test_fixture_and_test_share_one_loop",
            "test_loop_bound_objects_cross_from_fixture_to_test",
            "test_no_resource_warning_from_async_fixtures",
        ),
    ),
    Mistake(
        "04",
        "Returning the fixture's value as it is: for a fixture whose value is `None`, "
        "pytest then calls its own implementation, which refuses an async fixture.",
        "    return value if value is not None else True\n",
        "    return value\n",
        ("test_fixture_and_test_share_one_loop", "test_autouse_async_fixture"),
    ),
    # -- exercise 05 -----------------------------------------------------------
    Mistake(
        "05",
        'A default of `"strict"` on `--asyncio-mode` too: the command line then always '
        '"wins", and the ini option is never read.',
        "        default=None,  # None: not given, so the ini option decides\n",
        '        default="strict",\n',
        (
            "test_auto_mode_from_ini",
            "test_auto_mode_marks_are_visible_to_m",
            "test_command_line_mode_wins_over_ini",
            "test_invalid_mode_in_ini_is_a_usage_error",
            # and every scenario of stage 04: their ini files set asyncio_mode = auto
            "test_async_fixture_method_in_a_test_class",
            "test_async_fixture_requests_sync_and_async_fixtures",
            "test_async_fixture_value_reaches_the_test",
            "test_async_generator_fixture_runs_setup_then_teardown",
            "test_async_generator_fixture_that_yields_twice",
            "test_autouse_async_fixture",
            "test_failing_teardown_is_an_error_and_others_still_run",
            "test_fixture_and_test_share_one_loop",
            "test_fixture_setup_error_is_reported",
            "test_loop_bound_objects_cross_from_fixture_to_test",
            "test_module_scoped_async_fixture_is_set_up_once",
            "test_no_resource_warning_from_async_fixtures",
            "test_parametrized_async_fixture",
            "test_skip_inside_async_fixture",
            "test_sync_test_gets_async_fixture_value",
            "test_teardown_runs_when_the_test_fails",
        ),
    ),
    Mistake(
        "05",
        "A decorator that drops pytest's arguments (`scope`, `params`, `name`...): "
        '`@pytest_aioloop.fixture(scope="module")` is then a function-scoped fixture.',
        "        return pytest.fixture(function, **kwargs)\n",
        "        return pytest.fixture(function)\n",
        (
            "test_fixture_decorator_takes_pytest_fixture_arguments",
            "test_async_fixtures_with_none_values",
            "test_failing_module_fixture_runs_once",
            "test_fixture_decorator_on_methods_and_sync_functions",
        ),
    ),
    Mistake(
        "05",
        "A decorator that works only called, `@fixture()`: used bare, `@fixture` "
        "replaces the fixture with the inner decorator.",
        "    return decorate if fixture_function is None else decorate(fixture_function)\n",
        "    return decorate\n",
        (
            "test_decorated_fixture_runs_in_strict_mode",
            "test_strict_mode_leaves_undecorated_fixtures_to_others",
            "test_strict_mode_coexists_with_another_async_plugin",
            "test_async_fixtures_with_none_values",
            "test_fixture_decorator_on_methods_and_sync_functions",
        ),
    ),
    # -- exercise 06 -----------------------------------------------------------
    Mistake(
        "06",
        "Checking the fixture against `request.node` instead of the test being set up: "
        "for a module-scoped fixture, `request.node` is the module, so a test in a "
        "wider loop goes unchecked.",
        "loop_scope, request.config.stash.get(_TEST, None))\n",
        "loop_scope, request.node)\n",
        ("test_wider_fixture_in_a_narrower_loop_than_its_test_is_an_error",),
    ),
    Mistake(
        "06",
        'Checking only the marker\'s keywords: `@pytest.mark.asyncio("module")` then '
        "runs silently in the default loop instead of stopping with an error.",
        '    if marker.args or set(marker.kwargs) - {"loop_scope"}:\n',
        '    if set(marker.kwargs) - {"loop_scope"}:\n',
        ("test_positional_marker_argument_names_the_test",),
    ),
    Mistake(
        "06",
        "Cancelling the pending tasks without running the loop once more: a cancelled "
        "task only stops when the loop runs it, so its `finally` never runs.",
        "    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))\n",
        "",
        (
            "test_loop_close_cancels_pending_tasks",
            "test_pending_tasks_cancelled_and_asyncgens_closed_at_scope_end",
        ),
    ),
)


def of(exercise: str) -> list[Mistake]:
    """The mistakes of exercise ``exercise``, in the order its page lists them."""
    return [m for m in MISTAKES if m.exercise == exercise]


def apply(mistake: Mistake, source: str) -> str:
    """``source`` (the stage's plugin.py) with the mistake made in it."""
    count = source.count(mistake.stage_code)
    if count != 1:
        raise ValueError(
            f"a mistake of exercise {mistake.exercise} changes code found {count} times in "
            f"stage {mistake.exercise}'s plugin.py (it must be there once): "
            f"{mistake.stage_code!r}"
        )
    return source.replace(mistake.stage_code, mistake.mistaken_code)
