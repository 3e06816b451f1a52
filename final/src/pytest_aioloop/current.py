"""The current event loop: what sync code of an async test gets from ``asyncio.get_event_loop()``.

Code older than ``asyncio.get_running_loop()`` looks the loop up with
``asyncio.get_event_loop()``: a sync fixture that builds a client, a library
that binds a queue at construction. With pytest-asyncio 1.5 such code, run by
an async test, gets the test's loop. So it does here, with
``asyncio.set_event_loop()`` alone (not deprecated on any Python; no event loop
policy is asked for or installed):

* **set-up:** the test's loop becomes the current loop as the first fixture of
  the test is set up (:meth:`CurrentLoop.enter`, then :meth:`CurrentLoop.due`
  in ``pytest_fixture_setup``): the loop is opened there if it is not open yet,
  in its scope's collector, as any loop is. Every sync fixture of the test, of
  any scope, sees it; an async test without fixtures changes nothing in its
  set-up (its coroutine runs in the loop, where ``get_event_loop()`` is the
  running loop);
* **teardown:** it is made current again before the test's teardown, if it is
  still open (the test may have unset it, or run ``asyncio.run()``), so sync
  teardowns see it too, wider-scoped ones included;
* **afterwards:** the loop that was current before the test's set-up is current
  again (:meth:`CurrentLoop.leave`), whatever the test did to it: the next
  test, sync or async, starts from there.

Reading the current loop must not make one. On Python 3.12 and later,
``asyncio.get_event_loop()`` warns (``DeprecationWarning``) *before* it makes a
loop where none is set: with that warning an error, it raises instead, and
nothing is made. On 3.10 and 3.11 it makes and sets one silently (a loop that
nobody closes): there, whether a loop is set at all is read first from
asyncio's default policy's own state (its thread-local ``_loop``; private, and
read, not called: nothing there is deprecated on those Pythons), and
``get_event_loop()`` is asked only when one is set.
"""

from __future__ import annotations

import asyncio
import sys
import warnings


def current_loop() -> asyncio.AbstractEventLoop | None:
    """asyncio's current loop of this thread, or None; never a new loop on Python 3.12+."""
    if sys.version_info < (3, 12):
        # See the module's docstring: never ask where asyncio would make a loop.
        policy = getattr(asyncio.events, "_event_loop_policy", None)
        if policy is None:
            return None  # no policy yet, so no loop was ever set in this process
        local = getattr(policy, "_local", None)
        if local is not None and getattr(local, "_loop", None) is None:
            return None  # none set in this thread (never, or set to None)
        try:
            return asyncio.get_event_loop()
        except RuntimeError:
            return None
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        try:
            return asyncio.get_event_loop()
        except (RuntimeError, DeprecationWarning):  # none set; or none, and it would make one
            return None


class CurrentLoop:
    """The current loop around one async test: its loop while it runs, the previous one after."""

    __slots__ = ("_changed", "_previous", "pending")

    def __init__(self) -> None:
        #: the test's loop is to be made current at the next fixture set-up.
        self.pending = False
        #: the current loop before the test; restored by leave() if _changed.
        self._previous: asyncio.AbstractEventLoop | None = None
        self._changed = False

    def enter(self) -> None:
        """An async test's set-up begins: remember the current loop, make the test's due."""
        if self._changed:  # a teardown that never ended (an interrupted run)
            self.leave()
        self._previous = current_loop()
        self.pending = True

    def due(self, loop: asyncio.AbstractEventLoop) -> None:
        """Make the test's ``loop`` current (its first fixture is being set up)."""
        self.pending = False
        self.make_current(loop)

    def make_current(self, loop: asyncio.AbstractEventLoop) -> None:
        self._changed = True
        asyncio.set_event_loop(loop)

    def leave(self) -> None:
        """The test is over: the loop that was current before it is current again."""
        self.pending = False
        if self._changed:
            self._changed = False
            previous, self._previous = self._previous, None
            asyncio.set_event_loop(previous)
