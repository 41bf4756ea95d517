"""What each statement establishes for the statements after it: the `FileState` bookkeeping.

Kept apart from the rules so that no rule depends on another having run: the lint runs every
check of a statement first, then `observe`s it. Tables created, indexes created on new tables,
constraints added `NOT VALID`, `lock_timeout` and session settings live here.
"""

from __future__ import annotations

from migration_gate.sql.rules.base import DDL_STARTS, FileState, View
from migration_gate.sql.rules.statements import Stmt
from migration_gate.sql.tokens import NAME, STRING, WORD

#: The first words of the statements this module reads (besides those calling set_config).
OBSERVED = frozenset({"CREATE", "ALTER", "DROP", "SET", "RESET"})
#: Statements in which a `set_config('lock_timeout', ...)` call is not looked for.
_NO_SET_CONFIG = frozenset({"CREATE", "DROP", "ALTER", "REINDEX", "VACUUM", "CLUSTER", "LOCK",
                            "TRUNCATE", "BEGIN", "START", "COMMIT", "ROLLBACK", "END", "ABORT",
                            "SET", "RESET"})


def observe(stmt: Stmt, state: FileState) -> None:
    """Record what `stmt` establishes (call it after the statement's checks)."""
    keys = stmt.keys
    if not keys:
        return
    first = keys[0]
    if first in DDL_STARTS:
        state.ddl_count += 1
    if not stmt.view.words:  # only its first word is known
        return
    if state.columns and first in ("CREATE", "ALTER", "DROP", "RENAME"):
        from migration_gate.sql.columns import apply_statement

        apply_statement(stmt, state.columns)
    if first == "CREATE":
        _created(stmt, state)
    elif first == "ALTER":
        _altered(stmt, state)
    elif first == "DROP":
        _dropped(stmt, state)
    elif first == "SET":
        _set(stmt.view, state)
    elif first == "RESET":
        _reset(stmt.view, state)
    elif first == "DELETE" and not stmt.view.at(1, "FROM"):
        return
    elif first not in _NO_SET_CONFIG and calls_set_config_lock_timeout(stmt.view):
        state.lock_timeout = True


def _created(stmt: Stmt, state: FileState) -> None:
    create = stmt.create
    view = _created_view(stmt.view)
    if view:
        state.new_views.add(view)
    if create is None or create.kind not in ("TABLE", "INDEX", "MATERIALIZED VIEW", "SEQUENCE"):
        return
    if create.kind == "INDEX":
        if state.is_new(create.table) and create.name:
            state.new_indexes.add(create.name)
    elif create.name:
        state.new_tables.add(create.name)
        if create.kind == "TABLE":
            state.table_made.setdefault(create.name, []).append(state.index)


def _dropped(stmt: Stmt, state: FileState) -> None:
    """DROP TABLE of tables that existed before the migration (for ban-drop-table), and what
    a `DROP ... IF EXISTS` clears for a re-run (for prefer-robust-stmts)."""
    drop = stmt.drop
    if drop is not None and drop.defensive:
        state.cleared.update((drop.kind, name) for name in drop.names)
    if drop is None or drop.kind != "TABLE":
        return
    old = tuple(n for n in drop.names if n not in state.new_tables)
    if old or not drop.names:
        state.table_drops.append((state.index, old))


def _created_view(view: View) -> str | None:
    """The view a `CREATE [OR REPLACE] [TEMP] [RECURSIVE] VIEW` creates, else None."""
    index = view.skip(1, "OR", "REPLACE")
    for word in ("TEMP", "TEMPORARY", "RECURSIVE"):
        index = view.skip(index, word)
    if not view.at(index, "VIEW"):
        return None
    return view.name_at(view.skip(index + 1, "IF", "NOT", "EXISTS"))[0]


def _altered(stmt: Stmt, state: FileState) -> None:
    alter = stmt.alter_table
    if alter is None:
        return
    for action in alter.actions:
        if action.kind == "RENAME TO":
            renamed = stmt.view.name_at(action.at + 1)[0]
            if renamed:
                state.table_made.setdefault(renamed, []).append(state.index)
        if action.kind == "ADD CONSTRAINT" and action.name and action.has("NOT", "VALID"):
            state.not_valid.add(action.name)


def setting_name(view: View, index: int) -> tuple[str | None, int]:
    """The (possibly dotted) setting name at `index` of a SET or RESET, and the index after."""
    keys = view.keys
    if view.at(index, "TIME", "ZONE"):
        return "timezone", index + 2
    if view.at(index, "SESSION", "AUTHORIZATION"):
        return "session_authorization", index + 2
    if index >= len(keys) or view.words[index].kind not in (WORD, NAME):
        return None, index
    parts = [view.words[index].name]
    index += 1
    while view.at(index, ".") and index + 1 < len(keys):
        parts.append(view.words[index + 1].name)
        index += 2
    return ".".join(parts), index


def _set(view: View, state: FileState) -> None:
    keys = view.keys
    if len(keys) < 2 or keys[1] in ("CONSTRAINTS", "TRANSACTION") or view.at(
        1, "SESSION", "CHARACTERISTICS"
    ):
        return
    local = keys[1] == "LOCAL"
    index = view.skip(view.skip(1, "LOCAL"), "SESSION") if not view.at(
        1, "SESSION", "AUTHORIZATION") else 1
    name, index = setting_name(view, index)
    if name is None:
        return
    value_index = view.skip(view.skip(index, "TO"), "=")
    value = view.words[value_index] if value_index < len(view.words) else None
    if name == "lock_timeout" and value is not None and value.text not in ("0", "DEFAULT"):
        state.lock_timeout = True
    if not local:
        state.pending_settings.setdefault(name, state.index)


def _reset(view: View, state: FileState) -> None:
    if view.at(1, "ALL"):
        state.pending_settings.clear()
    else:
        name, _ = setting_name(view, 1)
        if name is not None:
            state.pending_settings.pop(name, None)


def calls_set_config_lock_timeout(view: View) -> bool:
    for index, key in enumerate(view.keys):
        if key == "SET_CONFIG" and view.at(index + 1, "("):
            argument = view.words[index + 2] if index + 2 < len(view.words) else None
            if argument is not None and argument.kind == STRING and (
                argument.text.lower() == "lock_timeout"
            ):
                return True
    return False
