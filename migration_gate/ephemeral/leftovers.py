"""Throwaway databases on the user's server: names that say who made them, and a sweep of those
a killed gate left behind.

A gate drops its database on every exit path it can see (success, error, Ctrl-C, SIGTERM), but
not after SIGKILL, an OOM kill or a lost machine. So each database is named
`migration_gate_<pid>_<unix time>_<random>` and carries a `COMMENT ON DATABASE` marker repeating
the pid and time with the host name. The next run drops a database only when all of this holds:

- its name has exactly that form and its marker agrees with the name (a database someone else
  named `migration_gate_...`, or one without the marker, is never touched);
- it is older than `STALE_AFTER` (a live replay is bounded by `replay.timeout`, at most
  `config.MAX_REPLAY_TIMEOUT`, well below it);
- its gate is gone: the marker names this host and that pid is not running, or it names
  another host (where the pid cannot be checked: the age alone decides).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any

from migration_gate.ephemeral.processes import pid_alive

PREFIX = "migration_gate_"
#: Age after which a marked throwaway database of a gone gate is swept.
STALE_AFTER = 3600
_NAME = re.compile(r"migration_gate_(\d{1,10})_(\d{1,12})_[0-9a-f]{8}")
_MARKER = re.compile(r"migration-gate throwaway database: pid=(\d+) created=(\d+) host=(\S*)")

#: Our databases with their comments. Qualified names and explicit operators, as everywhere the
#: gate queries a server a migration may have touched.
_LIST = r"""
SELECT d.datname, pg_catalog.shobj_description(d.oid, 'pg_database')
FROM pg_catalog.pg_database d
WHERE d.datname OPERATOR(pg_catalog.~~) 'migration\_gate\_%'
"""


@dataclass(frozen=True)
class Throwaway:
    """A throwaway database: its name and what its marker says."""

    pid: int
    created: int  # unix time
    host: str
    token: str = ""

    @property
    def name(self) -> str:
        return f"{PREFIX}{self.pid}_{self.created}_{self.token}"

    @property
    def marker(self) -> str:
        return (f"migration-gate throwaway database: pid={self.pid} created={self.created} "
                f"host={self.host}")


def this_host() -> str:
    """The host name as a marker holds it (no spaces, no quotes)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()) or "unknown"


def new_throwaway() -> Throwaway:
    return Throwaway(os.getpid(), int(time.time()), this_host(), secrets.token_hex(4))


def recognise(name: str, comment: str | None) -> Throwaway | None:
    """The throwaway database `name` is, if its name and its marker agree; else None."""
    named = _NAME.fullmatch(name)
    marked = _MARKER.fullmatch(comment or "")
    if named is None or marked is None:
        return None
    if named.groups() != marked.groups()[:2]:
        return None
    return Throwaway(int(marked[1]), int(marked[2]), marked[3], name.rsplit("_", 1)[1])


def is_stale(found: Throwaway, *, now: float, host: str) -> bool:
    if now - found.created <= STALE_AFTER:
        return False
    return found.host != host or not pid_alive(found.pid)


def mark_postgres(admin: Any, made: Throwaway) -> None:
    """`COMMENT ON DATABASE` with the marker (the values are digits and a sanitised host)."""
    admin.execute(f"COMMENT ON DATABASE \"{made.name}\" IS '{made.marker}'")


def sweep_postgres(admin: Any, drop: Any) -> list[str]:
    """Drop this gate's stale throwaway databases on the server of `admin` (a `Database`);
    `drop(admin, name)` drops one. Returns the names dropped. Never fails: a database another
    role owns, or one being dropped by another gate right now, is left alone."""
    from migration_gate.runner import DbError

    try:
        rows = admin.query(_LIST)
    except DbError:
        return []
    now, host, dropped = time.time(), this_host(), []
    for name, comment in rows:
        found = recognise(str(name), comment)
        if found is None or not is_stale(found, now=now, host=host):
            continue
        with contextlib.suppress(DbError):
            drop(admin, str(name))
            dropped.append(str(name))
    return dropped
