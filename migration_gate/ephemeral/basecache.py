"""Replayed base schemas, cached by the ordered prefix of base migrations they hold.

Why a prefix and not one hash of the whole base: `main` gains a migration every few merges, and
a key over every base file then misses each time -- the next check replays thousands of base
migrations from scratch. Here each snapshot is named by a hash chain over the base's migrations
in the order they run (key_0 over the server version and the runner's settings, key_n =
H(key_{n-1}, name_n, content_n)): the snapshot of the first n migrations has the name key_n.
A check computes the chain of its base (cheap: one hash per file), restores the longest prefix
in the cache, lets the runner apply only what is new (the restored history table says what is
applied), and stores the new snapshot. The cache keeps a bounded number of snapshots, each
validated before use (`pgcache`).

Flyway runs its repeatable migrations after every versioned one, so they cannot be part of an
ordered prefix: its chain covers the versioned migrations, and the repeatables are the `tail`
of a snapshot's name. A snapshot with other repeatables is still a prefix to start from: Flyway
itself (`flyway_replay.pending`) re-runs a repeatable whose checksum differs from its last row.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

#: How many replayed base schemas the cache keeps (per runner).
KEEP = 5

Db = TypeVar("Db")
Failed = TypeVar("Failed")


def chain(header: Iterable[str], migrations: Iterable[tuple[str, str]]) -> list[str]:
    """`[key_0, key_1, ... key_n]`: key_0 over `header`, key_i over key_{i-1} and the i-th
    migration's (name, content) -- a key names one exact ordered prefix of the base."""
    digest = hashlib.sha256()
    for part in header:
        digest.update(part.encode("utf-8") + b"\0")
    keys = [digest.hexdigest()[:24]]
    for name, content in migrations:
        step = hashlib.sha256(keys[-1].encode("ascii") + b"\0")
        step.update(name.encode("utf-8", "surrogatepass") + b"\0")
        step.update(content.encode("utf-8", "surrogatepass"))
        keys.append(step.hexdigest()[:24])
    return keys


def entry_name(prefix: str, key: str, tail: str = "") -> str:
    """A snapshot's folder name: its prefix key, then what it holds beyond the ordered chain
    (Flyway's repeatables, applied after every versioned migration)."""
    return f"{prefix}{key}-{tail}" if tail else f"{prefix}{key}"


def longest_cached(root: Path, prefix: str, keys: Sequence[str], tail: str = ""
                   ) -> tuple[int, str | None]:
    """The cached snapshot to start from: the exact one (all of `keys`, the same `tail`),
    else the one holding the longest prefix (n >= 1 migrations, any tail: what it lacks or
    holds in other versions is applied on top), else (0, None)."""
    try:
        names = sorted(entry.name for entry in root.iterdir())
    except OSError:
        return 0, None
    exact = entry_name(prefix, keys[-1], tail)
    if (len(keys) > 1 or tail) and exact in names:
        return len(keys) - 1, exact
    by_key: dict[str, str] = {}
    for name in names:
        if name.startswith(prefix):
            by_key.setdefault(name[len(prefix):].split("-")[0], name)
    for count in range(len(keys) - 1, 0, -1):
        if keys[count] in by_key:
            return count, by_key[keys[count]]
    return 0, None


@contextlib.contextmanager
def restored_base(
    binaries: Any, keys: Sequence[str], *, prefix: str, cacheable: bool,
    note: Callable[[str], None] | None, open_db: Callable[[Any], Db],
    replay_base: Callable[[Db, bool], Failed | None], tail: str = "",
) -> Iterator[tuple[Db, bool, Failed | None]]:
    """The embedded cluster, started from the longest cached prefix of the base (`keys`, from
    `chain`); what the prefix lacks is applied by `replay_base(db, prefix_restored)` and the
    whole base stored as a new snapshot for the next run.

    Yields the database (`open_db(connection)`), whether the base is applied in it, and the
    base's failure if `replay_base` ran and failed (so that it is not replayed twice). Not
    `cacheable` (no base, or the cache turned off): an empty cluster, the base not applied."""
    from migration_gate.ephemeral import postgres

    root = postgres.cache_root()
    _count, name = longest_cached(root, prefix, keys, tail) if cacheable else (0, None)
    seed = root / name if name is not None else None
    if seed is not None:  # checked (and discarded if damaged) by running_cluster
        with contextlib.suppress(OSError):
            os.utime(seed)  # recently used: pruned last
    with postgres.running_cluster(binaries, seed=seed, note=note) as cluster:
        connection = cluster.connect()
        saving = None
        try:
            complete = cluster.seeded and seed is not None and seed.name == entry_name(
                prefix, keys[-1], tail)
            if complete or not cacheable:
                yield open_db(connection), complete, None
                return
            # the runner skips what is applied; True: a prefix (and what ran before it) is
            broken = replay_base(open_db(connection), cluster.seeded)
            if broken is not None:
                yield open_db(connection), False, broken
                return
            connection.close()
            saving = postgres.snapshot_data_dir(
                cluster, root / entry_name(prefix, keys[-1], tail),
                like=cluster.origin)  # a prefix, or the initdb template
            connection = cluster.connect()
            yield open_db(connection), True, None
        finally:
            connection.close()
            if saving is not None:
                saving.join()
                postgres.prune_cache(prefix, KEEP)
