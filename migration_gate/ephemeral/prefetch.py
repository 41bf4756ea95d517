"""The cached base schema, restored before the database stage asks for it.

Why: on a warm check, copying the cached data folder (4,500 files for a 3,000-migration base:
0.3 s of a child process on the other core) only started once the database stage knew the
base's cache key -- after the gate had read the folder and the history and linted the branch,
0.25 s of work the copy could have run beside. The key cannot be had earlier: it hashes every
base migration's content, which is what that work reads. So the copy starts as soon as the
configuration says the replay runs on the embedded PostgreSQL, from a guess: the snapshot the
cache restored or stored last (its most recently used entry: the same base again, or the
prefix a base that gained migrations starts from).

The guess decides nothing. The database stage makes its own choice from the key and claims
the copy only when it is of that very entry, for the same server version and user
(`claim`); otherwise the copy is stopped and its folder deleted -- as on every other exit
path: the database stage not reached, an error, Ctrl-C (`atexit`), SIGTERM (a handler that
cleans up, then lets the signal end the gate as before), SIGKILL (the child gets a
parent-death signal; the folder, named after the gate's process, is swept by the next run).
The cache itself is only read.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from migration_gate.ephemeral.restorecopy import Owner, Restoring, pg_version_file

#: The cache entries of replayed bases: refinery's (`dbcheck`) and Flyway's (`flyway_replay`).
PREFIXES = ("base-", "flyway-base-")


@dataclass(frozen=True)
class Prefetched:
    """A copy of the cache entry `entry` under way into `workdir/data` (a cluster folder)."""

    entry: Path
    workdir: Path
    pg_version: str  # what the entry's PG_VERSION says
    owner: Owner | None
    restoring: Restoring

    def discard(self) -> None:
        """Stop the copy and delete its folder."""
        self.restoring.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


_pending: Prefetched | None = None
#: The SIGTERM handler before `_on_term` was installed (None: `_on_term` is not).
_previous_term: Callable[[int, FrameType | None], Any] | int | None = None


def most_recent(root: Path) -> Path | None:
    """The base snapshot of the cache restored or stored last (`basecache.restored_base`
    touches the entry it starts from; a stored entry's folder is as new as its manifest)."""
    best: tuple[int, Path] | None = None
    try:
        entries = list(os.scandir(root))
    except OSError:
        return None
    for entry in entries:
        if not entry.name.startswith(PREFIXES):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                stamp = entry.stat(follow_symlinks=False).st_mtime_ns
                if best is None or stamp > best[0]:
                    best = (stamp, Path(entry.path))
    return None if best is None else best[1]


def start(root: Path) -> None:
    """Start copying the most recent base snapshot of the cache `root` into a new cluster
    folder (once per process, from the main thread; nothing if the cache holds none)."""
    global _pending
    if _pending is not None or threading.current_thread() is not threading.main_thread():
        return
    entry = most_recent(root)
    if entry is None:
        return
    from migration_gate.diagnostics import GateError
    from migration_gate.ephemeral.workdir import make_workdir, parent_death_signal, server_user

    try:
        pg_version = (entry / "PG_VERSION").read_text(encoding="ascii").strip()
        run_as = server_user()
        workdir = make_workdir()
    except (OSError, UnicodeDecodeError, GateError):
        return  # the database stage meets (and reports) the same itself
    try:
        run_as.own(workdir)  # still empty: the copy gives each file to the server's user
        restoring = Restoring.start(entry, workdir / "data", pg_version, run_as.owner(),
                                    parent_death_signal(signal.SIGKILL))
    except OSError:
        shutil.rmtree(workdir, ignore_errors=True)
        return
    _pending = Prefetched(entry, workdir, pg_version, run_as.owner(), restoring)
    atexit.register(cancel)
    _guard_sigterm()


def claim(entry: Path | None, version: str, owner: Owner | None) -> Prefetched | None:
    """The copy under way if it is of `entry` for a server of `version` running as `owner`:
    the caller then owns it (stops it and deletes its folder on its exit paths). Any other
    copy is stopped and deleted."""
    global _pending
    found, _pending = _pending, None
    _unguard_sigterm()
    if found is None:
        return None
    if (entry is not None and found.entry == entry and found.owner == owner
            and found.pg_version == pg_version_file(version)):
        return found
    found.discard()
    return None


def cancel() -> None:
    """Stop the copy under way, if any, and delete its folder."""
    global _pending
    found, _pending = _pending, None
    _unguard_sigterm()
    if found is not None:
        found.discard()


def _guard_sigterm() -> None:
    global _previous_term
    with contextlib.suppress(ValueError, OSError):
        previous = signal.signal(signal.SIGTERM, _on_term)
        _previous_term = signal.SIG_DFL if previous is None else previous


def _unguard_sigterm() -> None:
    global _previous_term
    with contextlib.suppress(ValueError, OSError, TypeError):
        if signal.getsignal(signal.SIGTERM) is _on_term and _previous_term is not None:
            signal.signal(signal.SIGTERM, _previous_term)
            _previous_term = None


def _on_term(signum: int, _frame: FrameType | None) -> None:
    """Clean up the copy, then let SIGTERM do what it did before the copy was started."""
    previous = _previous_term if _previous_term is not None else signal.SIG_DFL
    cancel()
    signal.signal(signal.SIGTERM, previous)
    os.kill(os.getpid(), signum)
