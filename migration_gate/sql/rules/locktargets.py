"""Which existing object a statement locks strongly: the lock table (`sql/locks.py`) applied.

The lock table says, per statement form, which *role* (the altered table, the table after
REFERENCES, the view replaced...) gets which mode. This module names the objects behind the
roles from the statement's words and keeps the locks that block writes (SHARE and stronger)
on an object that existed before the migration: what `require-lock-timeout` reports. Every
lock fact a rule states comes from that one table, so a row verified on PostgreSQL is what
every lock rule says.

ALTER TABLE actions the table has no row for (OWNER TO, SET SCHEMA, ENABLE ROW LEVEL
SECURITY, ...) keep the conservative reading of `statements.Action.lock` (ACCESS EXCLUSIVE,
which is what PostgreSQL takes for most of them).
"""

from __future__ import annotations

from typing import NamedTuple

from migration_gate.sql.lockforms import action_form, forms_of
from migration_gate.sql.locks import BY_NAME, LockTaken, Mode, Role, lock_table_mode, locks_for
from migration_gate.sql.rules.base import ACCESS_EXCLUSIVE, FileState, View
from migration_gate.sql.rules.statements import Stmt

#: The roles that are relations queries use (a new relation is not). A sequence is: every
#: INSERT that takes a serial or identity default calls nextval(), which waits for ALTER
#: SEQUENCE's SHARE ROW EXCLUSIVE (checked on PostgreSQL 15, docs/squawk-agreement.md).
_USED_ROLES = frozenset({Role.TABLE, Role.TABLE_INDEXES, Role.REFERENCED, Role.INDEX,
                         Role.INDEX_TABLE, Role.VIEW, Role.MATVIEW, Role.PARTITION,
                         Role.SEQUENCE})


class StrongLock(NamedTuple):
    """A lock that blocks writes on an object that existed before the migration."""

    form: str  # the lock table's form, e.g. "CREATE TABLE REFERENCES"
    mode: Mode
    target: str | None  # the object's name (None: not readable from the words, e.g. DROP INDEX)
    role: Role


def covered(stmt: Stmt) -> bool:
    """Whether the lock table has a row for `stmt` (for ALTER TABLE: for one of its actions)."""
    return bool(stmt.view.words) and bool(forms_of(stmt.keys))


def strong_locks(stmt: Stmt, state: FileState) -> list[StrongLock]:
    """Every write-blocking lock `stmt` takes on an existing object, strongest first (stable:
    on a tie, the statement's own table before the others)."""
    if not stmt.view.words:
        return []
    found: list[StrongLock] = []
    for form in forms_of(stmt.keys):
        if not BY_NAME[form].in_transaction:  # refinery cannot run it: another rule says so
            continue
        for lock in _blocking(stmt, form):
            for target in _targets(stmt, state, lock.role, form):
                found.append(StrongLock(form, lock.mode, target, lock.role))
    found += _unlisted_alter_actions(stmt, state)
    found.sort(key=lambda lock: -lock.mode.rank)
    return found


def _blocking(stmt: Stmt, form: str) -> list[LockTaken]:
    locks = locks_for(form)
    if form == "LOCK TABLE":  # IN <mode> MODE takes that mode
        mode = _lock_table_mode(stmt.view)
        locks = tuple(LockTaken(lock.role, mode) for lock in locks) if mode else ()
    return [lock for lock in locks if lock.role in _USED_ROLES and lock.mode.blocks_writes]


def _lock_table_mode(view: View) -> Mode | None:
    at = view.find(1, len(view.keys), "IN")
    if at < 0:
        return Mode.ACCESS_EXCLUSIVE
    end = view.find(at, len(view.keys), "MODE")
    return lock_table_mode(view.keys[at + 1 : end if end > 0 else len(view.keys)])


def _unlisted_alter_actions(stmt: Stmt, state: FileState) -> list[StrongLock]:
    """ALTER TABLE actions with no row in the lock table: their `Action.lock` reading."""
    alter = stmt.alter_table
    if alter is None or state.is_new(alter.table):
        return []
    found = []
    for action in alter.actions:
        if action.lock and action_form(stmt.keys[action.start : action.end]) is None:
            mode = Mode.ACCESS_EXCLUSIVE if action.lock == ACCESS_EXCLUSIVE else \
                Mode.SHARE_ROW_EXCLUSIVE
            found.append(StrongLock("ALTER TABLE", mode, alter.table, Role.TABLE))
    return found


def _targets(stmt: Stmt, state: FileState, role: Role, form: str) -> list[str | None]:
    """The existing objects behind `role` in `stmt` (None: an existing one, name unknown)."""
    view, keys = stmt.view, stmt.keys
    if role is Role.REFERENCED:
        names = [view.name_at(i + 1)[0] for i, key in enumerate(keys) if key == "REFERENCES"]
        return _existing([n for n in names if n], state)
    if role in (Role.INDEX, Role.INDEX_TABLE):  # DROP/REINDEX INDEX: its table is not named
        drop = stmt.drop
        new = drop is not None and drop.names and all(n in state.new_indexes
                                                       for n in drop.names)
        return [] if new else [None]
    if role is Role.VIEW:
        return [n for n in _existing(_view_names(stmt), state) if n not in state.new_views]
    if role is Role.MATVIEW:  # REFRESH ... [CONCURRENTLY] mv, DROP ... [IF EXISTS] mv
        return _existing([view.name_at(view.skip(view.skip(3, "CONCURRENTLY"), "IF", "EXISTS"))[0]],
                         state)
    if role is Role.SEQUENCE:  # ALTER SEQUENCE [IF EXISTS] s
        return _existing([view.name_at(view.skip(2, "IF", "EXISTS"))[0]], state)
    if role is Role.PARTITION:
        at = view.find(3, len(keys), "PARTITION")
        return _existing([view.name_at(at + 1)[0]] if at >= 0 else [], state)
    return _table(stmt, state, form)


def _existing(names: list[str | None], state: FileState) -> list[str | None]:
    return [n for n in names if n is not None and not state.is_new(n)]


def _view_names(stmt: Stmt) -> list[str | None]:
    view = stmt.view
    if stmt.drop is not None:
        return list(stmt.drop.names)
    index = view.find(1, len(view.keys), "VIEW")
    return [view.name_at(view.skip(index + 1, "IF", "EXISTS"))[0]] if index >= 0 else []


def _table(stmt: Stmt, state: FileState, form: str) -> list[str | None]:
    """The TABLE role (and its indexes): the altered, indexed, truncated, locked... table."""
    view, keys = stmt.view, stmt.keys
    first = keys[0]
    if form == "CREATE RULE":  # CREATE RULE r AS ON INSERT TO t
        return _existing([view.name_at(view.find(1, len(keys), "TO") + 1)[0]], state)
    if stmt.alter_table is not None:
        return _existing([stmt.alter_table.table], state)
    if stmt.create is not None and stmt.create.kind == "INDEX":
        return _existing([stmt.create.table], state)
    if stmt.drop is not None and stmt.drop.kind == "TABLE":
        old = [n for n in stmt.drop.names if not state.is_new(n)]
        return [old[0]] if old else ([] if stmt.drop.names else [None])
    if form in ("CREATE TRIGGER", "DROP TRIGGER", "CREATE POLICY"):  # ... ON table
        return _existing([view.name_at(view.find(1, len(keys), "ON") + 1)[0]], state)
    if first in ("TRUNCATE", "LOCK"):
        return _listed_tables(view, state)
    if first == "CLUSTER":
        index = view.skip(1, "VERBOSE")
        if view.at(index, "("):
            index = view.closing(index) + 1
        table = view.name_at(index)[0]
        return [] if state.is_new(table) else [table]
    if first == "REINDEX":
        table = view.name_at(view.find(1, len(keys), "TABLE") + 1)[0]
        return [] if state.is_new(table) else [table]
    return []


def _listed_tables(view: View, state: FileState) -> list[str | None]:
    """TRUNCATE / LOCK TABLE's tables that existed before the migration (the first one)."""
    index = view.skip(view.skip(1, "TABLE"), "ONLY")
    stop = view.find(index, len(view.keys), "IN")
    names = [view.name_at(a)[0] for a, _ in view.split(index, stop if stop >= 0 else
                                                        len(view.keys))]
    old = _existing(names, state)
    return old[:1]
