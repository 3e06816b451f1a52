"""final/'s collection caches on their own: what they give is what the uncached code gives.

Not scenarios (no ``aio`` fixture, no target): they import final/'s modules
directly, as tests/test_final_runner.py does, and put ``sys.modules`` back
afterwards so that the scenarios' in-process runs still import each target's
own package. The scenarios (tests/test_0*.py, tests/test_final_*.py) check the
plugin's behaviour with the caches in place.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
import types
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from conftest import ROOT


@pytest.fixture
def final_modules(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, ModuleType]]:
    monkeypatch.syspath_prepend(str(ROOT / "final" / "src"))
    before = {name for name in sys.modules if name.startswith("pytest_aioloop")}
    assert not before, before
    import pytest_aioloop.config
    import pytest_aioloop.items
    import pytest_aioloop.markers

    yield pytest_aioloop.items, pytest_aioloop.config
    for name in [name for name in sys.modules if name.startswith("pytest_aioloop")]:
        del sys.modules[name]


def _wrapper(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return wrapped


async def plain(a, b): ...  # type: ignore[no-untyped-def]
async def nothing(): ...  # type: ignore[no-untyped-def]
async def every_kind(a, /, b, *args, c, d=1, **kwargs): ...  # type: ignore[no-untyped-def]
async def keyword_only(*, c, d): ...  # type: ignore[no-untyped-def]
async def star_args(a, *rest): ...  # type: ignore[no-untyped-def]
async def star_kwargs(a, **rest): ...  # type: ignore[no-untyped-def]
async def with_locals(a, b):  # type: ignore[no-untyped-def]
    c = a + b
    return c


async def signed(a, b): ...  # type: ignore[no-untyped-def]


signed.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [inspect.Parameter("x", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
)


class Tests:
    async def method(self, a, *args, b, **kwargs): ...  # type: ignore[no-untyped-def]
    async def bare(self): ...  # type: ignore[no-untyped-def]
    async def star_self(*args): ...  # type: ignore[no-untyped-def]
    async def keyword_self(*, a): ...  # type: ignore[no-untyped-def]


FUNCTIONS = {
    "plain": plain,
    "no parameters": nothing,
    "every kind": every_kind,
    "keyword-only": keyword_only,
    "*args": star_args,
    "**kwargs": star_kwargs,
    "with locals": with_locals,
    "__signature__": signed,
    "a wrapper": _wrapper(every_kind),
    "a partial": functools.partial(every_kind, 1),
    "a bound method": Tests().method,
    "a bound method, self only": Tests().bare,
    "a bound method, *args only": Tests().star_self,
    "a method, unbound": Tests.method,
    "a lambda": lambda x, y=2: None,
}


@pytest.mark.parametrize("function", FUNCTIONS.values(), ids=FUNCTIONS.keys())
def test_parameter_names_are_the_signatures(
    final_modules: tuple[ModuleType, ModuleType], function: Callable[..., Any]
) -> None:
    items, _ = final_modules
    parameters = items.Parameters()
    expected = tuple(inspect.signature(function).parameters)
    assert parameters.of(function) == expected
    assert parameters.of(function) == expected  # from the cache


def test_a_bound_method_and_its_function_are_told_apart(
    final_modules: tuple[ModuleType, ModuleType],
) -> None:
    items, _ = final_modules
    parameters = items.Parameters()
    assert parameters.of(Tests.method) == ("self", "a", "args", "b", "kwargs")
    assert parameters.of(Tests().method) == ("a", "args", "b", "kwargs")
    assert parameters.of(Tests().method) == ("a", "args", "b", "kwargs")  # another instance
    assert parameters.of(Tests.method) == ("self", "a", "args", "b", "kwargs")


def test_a_bound_method_without_a_positional_self_gets_inspects_error(
    final_modules: tuple[ModuleType, ModuleType],
) -> None:
    items, _ = final_modules
    with pytest.raises(ValueError):
        inspect.signature(Tests().keyword_self)
    with pytest.raises(ValueError):
        items.Parameters().of(Tests().keyword_self)  # inspect's own error, not a guess


def _mark(**kwargs: object) -> Any:
    """What AsyncioMark.parse reads of a pytest.Mark (the suite's strict markers
    know no asyncio marker)."""
    return types.SimpleNamespace(name="asyncio", args=(), kwargs=kwargs)


def test_each_marker_is_parsed_once(final_modules: tuple[ModuleType, ModuleType]) -> None:
    _, config = final_modules
    marks = importlib.import_module("pytest_aioloop.markers").Marks()
    mark = _mark(loop_scope="module")
    parsed = marks.parse(mark, "test_a.py::test_one")
    assert parsed == config.AsyncioMark.parse(mark, "test_a.py::test_one")
    assert marks.parse(mark, "test_a.py::test_two") is parsed
    other = _mark(loop_scope="class")
    assert marks.parse(other, "test_a.py::test_three").loop_scope is config.LoopScope.CLASS


def test_a_marker_in_error_names_each_test_it_reaches(
    final_modules: tuple[ModuleType, ModuleType],
) -> None:
    _, config = final_modules
    marks = importlib.import_module("pytest_aioloop.markers").Marks()
    mark = _mark(loop_scope="modul")
    for nodeid in ("test_a.py::test_one", "test_a.py::test_two"):
        with pytest.raises(config.MarkError, match=f"^{nodeid}: loop_scope='modul'"):
            marks.parse(mark, nodeid)


def _sync(a): ...  # type: ignore[no-untyped-def]
async def _agen():  # type: ignore[no-untyped-def]
    yield 1


def _marked(): ...  # type: ignore[no-untyped-def]


def _sync_with_attribute(): ...  # type: ignore[no-untyped-def]


_sync_with_attribute.pytestmark = []  # type: ignore[attr-defined]

KINDS = {
    **FUNCTIONS,
    "sync": _sync,
    "sync, with an attribute": _sync_with_attribute,
    "an async generator": _agen,
    "a sync wrapper of an async generator": _wrapper(_agen),
    "a partial of a sync function": functools.partial(_sync, 1),
    "a partial of an async generator": functools.partial(_agen),
}
if hasattr(inspect, "markcoroutinefunction"):  # Python 3.12+
    KINDS["sync, marked a coroutine function"] = inspect.markcoroutinefunction(_marked)


@pytest.mark.parametrize("function", KINDS.values(), ids=KINDS.keys())
def test_a_functions_kind_is_what_inspect_says(
    final_modules: tuple[ModuleType, ModuleType], function: Callable[..., Any]
) -> None:
    """The fast path (a plain function's code flags) gives inspect's answers."""
    items, _ = final_modules
    expected = (
        items.ASYNC
        if inspect.iscoroutinefunction(function)
        else items.ASYNC_GENERATOR
        if inspect.isasyncgenfunction(function)
        else items.SYNC
    )
    assert items._kind(function) == expected


def test_tests_of_one_kind_share_one_description(
    final_modules: tuple[ModuleType, ModuleType],
) -> None:
    items, config = final_modules
    descriptions = items.Descriptions()
    fields = (config.LoopScope.MODULE, True, None, ("a",), False, None, config.Clock.REAL)
    first = descriptions.get(*fields, items.LeakMode.REPORT)
    assert descriptions.get(*fields, items.LeakMode.REPORT) is first
    other = descriptions.get(*fields, items.LeakMode.IGNORE)
    assert other is not first
    assert other.leaks is items.LeakMode.IGNORE
    assert first == items.AsyncTest(*fields, items.LeakMode.REPORT)
    factory = functools.partial(print)  # told apart by identity, not by equality
    assert (
        descriptions.get(config.LoopScope.MODULE, True, factory, *fields[3:], items.LeakMode.REPORT)
        is not first
    )


def _node(nodeid: str, parent: object, *marks: object) -> Any:
    """What the marker reader reads of a test item."""
    return types.SimpleNamespace(nodeid=nodeid, parent=parent, own_markers=list(marks), keywords={})


def _reader(final_modules: tuple[ModuleType, ModuleType], *, auto: bool) -> Any:
    markers = importlib.import_module("pytest_aioloop.markers")
    timeouts = importlib.import_module("pytest_aioloop.timeouts")
    leaks = importlib.import_module("pytest_aioloop.leaks")
    return markers.Reader(
        auto,
        timeouts.TimeoutSettings(None, None, timeouts.Debugging()),
        leaks.LeakSettings(leaks.LeakMode.REPORT),
    )


def test_a_set_of_markers_is_read_once_and_auto_mode_gives_one_marker(
    final_modules: tuple[ModuleType, ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, config = final_modules
    # The suite's strict markers know no asyncio marker: pytest.mark as outside a run.
    monkeypatch.setattr(pytest.mark, "_config", None)
    reader = _reader(final_modules, auto=True)
    module = types.SimpleNamespace(parent=None, iter_markers=lambda name: iter(()))
    first, second = _node("t.py::a", module), _node("t.py::b", module)
    marks = reader.of(first)
    second_marks = reader.of(second)
    assert second_marks is marks
    (mark,) = marks
    # As Node.add_marker puts it: in the item's own markers and keywords.
    assert first.own_markers == [mark]
    assert first.keywords == {"asyncio": mark}
    assert reader.read(marks, first) is reader.read(second_marks, second)
    assert reader.of(_node("t.py::c", module), add=False) is marks

    shared = _mark(loop_scope="module", timeout=3)
    third, fourth = _node("t.py::d", module, shared), _node("t.py::e", module, shared)
    third_marks = reader.of(third)
    reading = reader.read(third_marks, third)
    assert third_marks == (shared,)
    assert third.own_markers == [shared]
    assert reading.mark.loop_scope is config.LoopScope.MODULE
    assert reading.timeout is not None
    assert reading.timeout.seconds == 3
    assert reader.read(reader.of(fourth), fourth) is reading


def test_strict_mode_gives_no_marker(final_modules: tuple[ModuleType, ModuleType]) -> None:
    reader = _reader(final_modules, auto=False)
    module = types.SimpleNamespace(parent=None, iter_markers=lambda name: iter(()))
    node = _node("t.py::a", module)
    assert reader.of(node) == ()
    assert node.own_markers == []
    assert node.keywords == {}
