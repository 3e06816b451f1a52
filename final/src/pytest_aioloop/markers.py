"""What each test's ``asyncio`` markers ask for, read once however many tests they reach.

A test's asyncio markers are its own, then its class's, its module's and its
package's (closest first, as ``iter_markers`` gives them); auto mode gives an
unmarked async test one. What they ask for -- the loop scope, loop factories
and clock of the closest one, the timeout and the leaks mode of the closest
that gives one -- is read at collection, for ``pytest_generate_tests`` (the
definition of each test function) and ``pytest_collection_modifyitems`` (each
of its items).

Most tests of a suite share their markers, the same objects: a module's
``pytestmark``, a class's marker, a function's for each of its
parametrizations, auto mode's one for the whole run. So each piece is worked
out once: the collectors' markers once per collector (:meth:`Marks.of`), each
marker's parse once per marker (:meth:`Marks.parse`), each set of markers'
reading once per set (:meth:`Reader.read`, by the markers' identities), and
auto mode's reading once per run. A marker in error is not kept: each test
it reaches reports it, naming that test.

Collection keeps a whole suite's objects alive, and each object it keeps brings
the next garbage collection forward: nothing here makes an object per test.
The caches are keyed by identity (a node's hash is a Python call, its node
id's), each key's object kept with its value so that the identity cannot be
reused while the entry lives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import pytest

from pytest_aioloop.config import AsyncioMark
from pytest_aioloop.leaks import LeakMode, LeakSettings
from pytest_aioloop.timeouts import Timeout, TimeoutSettings


class Marks:
    """Each collector's asyncio markers walked once, each marker parsed once."""

    def __init__(self) -> None:
        self._parsed: dict[int, tuple[pytest.Mark, AsyncioMark]] = {}
        self._inherited: dict[
            int, tuple[pytest.Item | pytest.Collector, tuple[pytest.Mark, ...]]
        ] = {}

    def of(self, node: pytest.Item | pytest.Collector) -> tuple[pytest.Mark, ...]:
        """``tuple(node.iter_markers("asyncio"))``: the node's own, then its collectors'.

        What the collectors above a test have is the same for all of its
        siblings: it is walked once per collector and kept until
        :meth:`forget_collectors` (collection adds no marker to a collector
        once its tests are being classified).
        """
        own_markers = node.own_markers
        own = tuple(m for m in own_markers if m.name == "asyncio") if own_markers else ()
        parent = node.parent
        if parent is None:
            return own
        known = self._inherited.get(id(parent))
        if known is None or known[0] is not parent:
            known = self._inherited[id(parent)] = (parent, tuple(parent.iter_markers("asyncio")))
        return own + known[1] if own else known[1]

    def forget_collectors(self) -> None:
        """Walk the collectors' markers anew from now on."""
        self._inherited.clear()

    def parse(self, mark: pytest.Mark, nodeid: str) -> AsyncioMark:
        """:meth:`AsyncioMark.parse`, once per marker."""
        known = self._parsed.get(id(mark))
        if known is not None and known[0] is mark:
            return known[1]
        parsed = AsyncioMark.parse(mark, nodeid)
        self._parsed[id(mark)] = (mark, parsed)
        return parsed


class Reading(NamedTuple):
    """What a test's asyncio markers ask for."""

    #: the closest marker's loop scope, loop factories and clock.
    mark: AsyncioMark
    #: the timeout of the closest marker that gives one, else the run's.
    timeout: Timeout | None
    #: the leaks mode of the closest marker that gives one, else the run's.
    leaks: LeakMode


class Reader:
    """Each test's asyncio markers, and what they ask for, for one run's settings.

    ``auto``: an unmarked test gets auto mode's marker (else it has none, and
    is not the plugin's to run).
    """

    def __init__(self, auto: bool, timeouts: TimeoutSettings, leaks: LeakSettings) -> None:
        self.marks = Marks()
        self._auto = auto
        self._timeouts = timeouts
        self._leaks = leaks
        self._read: dict[tuple[int, ...], tuple[tuple[pytest.Mark, ...], Reading]] = {}
        # Auto mode's marker, made at its first use (pytest.mark checks a marker's
        # name against the run's markers only once the run's collection has begun),
        # and its reading, the same for every test it is given to.
        self._auto_marker: pytest.MarkDecorator | None = None
        self._auto_marks: tuple[pytest.Mark, ...] = ()
        self._auto_reading: Reading | None = None

    def of(
        self, node: pytest.Item | pytest.Collector, *, add: bool = True
    ) -> tuple[pytest.Mark, ...]:
        """The node's asyncio markers, closest first; auto mode marks an unmarked one.

        ``add=False``: auto mode's marker is in the result, not added to the node
        (a function's definition, whose items get it at the end of collection).
        """
        marks = self.marks.of(node)
        if marks or not self._auto:
            return marks
        marker = self._auto_marker
        if marker is None:
            marker = self._auto_marker = pytest.mark.asyncio
            self._auto_marks = (marker.mark,)
        if add:
            # What Node.add_marker does (its keywords, for -k; its own markers, for
            # -m and iter_markers), without the import it makes on every call.
            mark = marker.mark
            node.keywords[mark.name] = mark
            node.own_markers.append(mark)
        return self._auto_marks

    def read(self, marks: Sequence[pytest.Mark], node: pytest.Item) -> Reading:
        """What ``marks`` (a test's asyncio markers, closest first) ask for.

        Raises :class:`~pytest_aioloop.config.MarkError`, naming ``node``, for a
        marker the plugin cannot honour.
        """
        if marks is self._auto_marks:
            reading = self._auto_reading
            if reading is None:
                reading = self._auto_reading = self._reading(marks, node.nodeid)
            return reading
        key = tuple(map(id, marks))
        known = self._read.get(key)
        if known is not None:
            return known[1]
        reading = self._reading(marks, node.nodeid)
        self._read[key] = (tuple(marks), reading)  # (the markers kept: their ids stay theirs)
        return reading

    def _reading(self, marks: Sequence[pytest.Mark], nodeid: str) -> Reading:
        return Reading(
            self.marks.parse(marks[0], nodeid),
            self._timeouts.for_test(marks, nodeid),
            self._leaks.for_test(marks, nodeid),
        )

    def forget_collectors(self) -> None:
        """Walk the collectors' markers anew from now on (see :meth:`Marks.of`)."""
        self.marks.forget_collectors()
