"""A bound on the whole replay, enforced from outside the migration's reach.

Why from outside: a migration runs with the privileges of the replay's session, so anything it
can read it can also change -- `SET statement_timeout = 0` lifts a server-side limit, a PL/pgSQL
loop can catch the cancel it provokes. The deadline is a thread of the gate: when the time is up
it cancels the running statement (the clean error), and if the replay still has not come back
after a grace period it shuts the connection's socket down (the client stops waiting, whatever
the server does). The database adapters add a per-statement server-side limit under the same
deadline (`remaining_ms`), so that a statement usually stops with the server's own error first.
"""

from __future__ import annotations

import contextlib
import threading
import time
from types import TracebackType
from typing import Protocol

from migration_gate.runner import DbError

#: Seconds between the cancel and the forced disconnect.
GRACE = 2.0


class Interruptible(Protocol):
    """A database adapter the deadline can stop: `hard=False` asks nicely (a cancel request),
    `hard=True` cuts the connection."""

    def interrupt(self, *, hard: bool) -> None: ...


class ReplayDeadline:
    """`seconds` from the first database; use it as a context manager around the replay, and
    `watch` the database adapter in use."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end: float | None = None  # the clock starts with the first database (`watch`)
        self._expired = threading.Event()
        self._done = threading.Event()
        self._target: Interruptible | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def expired(self) -> bool:
        """Whether the deadline passed while the replay ran (its failures are timeouts)."""
        return self._expired.is_set()

    def expire(self) -> None:
        """The server stopped a statement at the limit the deadline gave it: the time is up,
        whichever of the server and the thread noticed first."""
        self._expired.set()

    def remaining(self) -> float:
        if self._end is None:
            return self.seconds
        return max(0.0, self._end - time.monotonic())

    def remaining_ms(self) -> int:
        """The budget left, for a server-side statement timeout (never 0: that means none)."""
        return max(1, int(self.remaining() * 1000))

    def watch(self, target: Interruptible) -> None:
        """Interrupt `target` when the time is up (it replaces the previous one). The first
        call starts the clock: what precedes the first database (initdb, a server's start, a
        connection) has bounds of its own, and a cold start must not eat the replay's time."""
        with self._lock:
            self._target = target
            if self._thread is None and not self._done.is_set():
                self._end = time.monotonic() + self.seconds
                self._thread = threading.Thread(target=self._run,
                                                name="migration-gate-deadline", daemon=True)
                self._thread.start()
        if self.expired:
            self._interrupt(hard=True)

    def __enter__(self) -> ReplayDeadline:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        with self._lock:
            self._done.set()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        if self._done.wait(self.remaining()):
            return
        self._expired.set()
        self._interrupt(hard=False)
        # until the replay comes back, cut whatever connection it uses (it may open a new one)
        while not self._done.wait(GRACE):
            self._interrupt(hard=True)

    def _interrupt(self, *, hard: bool) -> None:
        with self._lock:
            target = self._target
        if target is not None:
            with contextlib.suppress(Exception):  # best effort: the connection may be gone
                target.interrupt(hard=hard)


def stopped_by_deadline() -> DbError:
    """A statement that came back after the deadline passed (it swallowed the cancel): the time
    is up all the same, and this statement is where the replay stopped."""
    return DbError("the statement outlived the replay's time limit", sqlstate="57014")
