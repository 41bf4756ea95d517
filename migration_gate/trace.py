"""Per-statement observation on PostgreSQL: the locks a statement took, the relations it rewrote.

Why observe rather than predict: the SQL rules guess from the text; the server knows. Inside the
migration's transaction, after each statement, the backend's own `pg_locks` rows are diffed with
those held before it (a transaction only accumulates locks, so a new row belongs to the
statement just run), and each relation's file node is compared with the one it had before (a
new file node means every row was copied: a rewrite). Only relations that existed before the
migration count: locking a table the migration itself created blocks nobody.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from migration_gate.runner import Database

if TYPE_CHECKING:
    from migration_gate.sql.split import Statement

class Runnable(Protocol):
    """A migration as the tracer needs it, whichever runner runs it (refinery's
    `runner.Runnable`, the Flyway replay's `FlywayStep`): where it is and the text sent."""

    @property
    def path(self) -> str: ...

    @property
    def sql(self) -> str: ...


#: Lock modes that block writes (SHARE and up), strongest last.
BLOCKING_MODES = ("ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock")
_MODE_RANK = {mode: rank for rank, mode in enumerate(BLOCKING_MODES)}
#: Relation kinds that a lock finding names (indexes, sequences and TOAST follow their table).
_TABLE_KINDS = {"r": "table", "p": "table", "m": "materialized view", "v": "view",
                "f": "foreign table"}
_STORAGE_KINDS = {"r": "table", "m": "materialized view", "i": "index"}
FIRST_NORMAL_OID = 16384

#: The gate's own queries run inside the migration's transaction, after its statements: every
#: relation, function, type and operator is qualified with pg_catalog, so that nothing the
#: migration did -- a temporary view named pg_locks, `SET search_path`, a function or operator
#: of its own in public -- can blind or mislead the observation.
_SNAPSHOT = """
SELECT c.oid, c.relkind, n.nspname, c.relname, pg_catalog.pg_relation_filenode(c.oid),
       COALESCE(i.indrelid, 0::pg_catalog.oid)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
LEFT JOIN pg_catalog.pg_index i ON i.indexrelid OPERATOR(pg_catalog.=) c.oid
WHERE c.oid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid
  AND n.nspname OPERATOR(pg_catalog.<>) 'information_schema'::pg_catalog.name
  AND n.nspname OPERATOR(pg_catalog.!~~) 'pg\\_%%'::pg_catalog.text
"""
_LOCKS = """
SELECT l.relation, l.mode FROM pg_catalog.pg_locks l
WHERE l.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()
  AND l.locktype OPERATOR(pg_catalog.=) 'relation'::pg_catalog.text AND l.granted
  AND l.relation OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid
"""
_FILENODES = """
SELECT c.oid, pg_catalog.pg_relation_filenode(c.oid) FROM pg_catalog.pg_class c
WHERE c.oid OPERATOR(pg_catalog.=) ANY(%s::pg_catalog.oid[])
"""


def mode_words(mode: str) -> str:
    """`AccessExclusiveLock` → `ACCESS EXCLUSIVE`."""
    name = mode[:-4] if mode.endswith("Lock") else mode
    return " ".join(re.findall(r"[A-Z][a-z]*", name)).upper()


@dataclass(frozen=True)
class Relation:
    oid: int
    kind: str
    schema: str
    name: str
    filenode: int | None
    table_oid: int  # an index's table, else 0

    @property
    def display(self) -> str:
        return self.name if self.schema == "public" else f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class LockSeen:
    step: Runnable
    statement: Statement
    relation: Relation
    mode: str  # pg_locks' name, e.g. AccessExclusiveLock


@dataclass(frozen=True)
class RewriteSeen:
    step: Runnable
    statement: Statement
    relation: Relation
    indexes: tuple[str, ...] = ()  # the relation's indexes rewritten with it


@dataclass
class LockTracer:
    """An `Observer` for `runner.run` that records locks and rewrites, statement by statement."""

    watch: Callable[[Runnable], bool]
    locks: list[LockSeen] = field(default_factory=list)
    rewrites: list[RewriteSeen] = field(default_factory=list)
    _relations: dict[int, Relation] = field(default_factory=dict)
    _held: set[tuple[int, str]] = field(default_factory=set)

    def wants(self, step: Runnable) -> bool:
        return self.watch(step)

    def before_migration(self, db: Database, step: Runnable) -> None:
        self._relations = {
            int(oid): Relation(int(oid), str(kind), str(schema), str(name),
                               int(node) if node else None, int(table))
            for oid, kind, schema, name, node, table in db.query(_SNAPSHOT)
        }
        self._held = self._current_locks(db)

    def _current_locks(self, db: Database) -> set[tuple[int, str]]:
        return {(int(oid), str(mode)) for oid, mode in db.query(_LOCKS)}

    def after_statement(self, db: Database, step: Runnable, statement: Statement) -> None:
        if not self._relations:
            return
        current = self._current_locks(db)
        new, self._held = current - self._held, current
        self._record_locks(step, statement, new)
        self._record_rewrites(db, step, statement)

    def _record_locks(self, step: Runnable, statement: Statement,
                      new: set[tuple[int, str]]) -> None:
        strongest: dict[int, str] = {}
        for oid, mode in new:
            relation = self._relations.get(oid)
            if relation is None or relation.kind not in _TABLE_KINDS or mode not in _MODE_RANK:
                continue
            if oid not in strongest or _MODE_RANK[mode] > _MODE_RANK[strongest[oid]]:
                strongest[oid] = mode
        for oid, mode in sorted(strongest.items(), key=lambda item: self._relations[item[0]].name):
            self.locks.append(LockSeen(step, statement, self._relations[oid], mode))

    def _record_rewrites(self, db: Database, step: Runnable, statement: Statement) -> None:
        with_storage = [r.oid for r in self._relations.values()
                        if r.filenode is not None and r.kind in _STORAGE_KINDS]
        if not with_storage:
            return
        # TRUNCATE swaps in an empty file on purpose: nothing is copied, it is no rewrite
        truncating = statement.text.lstrip()[:8].upper() == "TRUNCATE"
        changed: list[Relation] = []
        for oid, node in db.query(_FILENODES, (with_storage,)):
            before = self._relations[int(oid)]
            if node and before.filenode is not None and int(node) != before.filenode:
                changed.append(before)
                self._relations[int(oid)] = Relation(
                    before.oid, before.kind, before.schema, before.name, int(node),
                    before.table_oid,
                )
        if truncating:
            return
        tables = {r.oid for r in changed if r.kind != "i"}
        for relation in sorted(changed, key=lambda r: r.name):
            if relation.kind == "i" and relation.table_oid in tables:
                continue
            indexes = tuple(sorted(
                r.display for r in changed if r.kind == "i" and r.table_oid == relation.oid
            ))
            self.rewrites.append(RewriteSeen(step, statement, relation, indexes))


def kind_name(relation: Relation) -> str:
    return _TABLE_KINDS.get(relation.kind) or _STORAGE_KINDS.get(relation.kind) or "relation"
