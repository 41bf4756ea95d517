"""Rules about the locks a migration takes on tables that already hold data.

refinery holds every lock until the migration's transaction commits, so a strong lock on a
busy table (SHARE blocks writes, ACCESS EXCLUSIVE blocks everything) stalls the application
for as long as the migration runs, and queues every query behind it while it waits.
"""

from __future__ import annotations

from collections.abc import Iterator

from migration_gate.catalog import Rule
from migration_gate.diagnostics import Severity
from migration_gate.sql.locks import Role, locks_for, strongest
from migration_gate.sql.rules.base import (
    ACCESS_EXCLUSIVE,
    PG,
    SHARE,
    SHARE_ROW_EXCLUSIVE,
    FileState,
    Finding,
    View,
    head_span,
    words_span,
)
from migration_gate.sql.rules.locktargets import covered, strong_locks
from migration_gate.sql.rules.registry import check
from migration_gate.sql.rules.statements import Stmt

W = Severity.WARNING

_OUTSIDE = (
    "refinery runs every migration inside a transaction, so the CONCURRENTLY form cannot be "
    "part of a migration. Run it as an operations step outside refinery (psql in the deploy "
    "job, before the migration), and keep the defensive form in the migration so that it is a "
    "no-op once the operations step has run. Flyway runs a migration whose statements are all "
    "`CREATE/DROP INDEX CONCURRENTLY` without a transaction: there, give the CONCURRENTLY form "
    "a migration of its own (docs/flyway.md, section 4b)."
)


def _own_migration(state: FileState, statement: str) -> str | None:
    """The hint for a runner that runs a script of CONCURRENTLY statements without a
    transaction itself (Flyway, docs/flyway.md §4b); None: the rule's hint (refinery's)."""
    if state.script is None:
        return None
    return (f"{statement} in a migration of its own, which {state.runner.capitalize()} runs "
            "without a transaction (write IF [NOT] EXISTS: such a script is re-run after a "
            "crash), or accept the lock after SET LOCAL lock_timeout")


def _mode(form: str, role: Role) -> str:
    """The strongest mode `form` takes on `role`, from the lock table (`sql/locks.py`)."""
    mode = strongest(locks_for(form), role)
    return mode.words if mode else "no"


REQUIRE_CONCURRENT_INDEX_CREATION = Rule(
    "require-concurrent-index-creation", W,
    "`CREATE INDEX` without `CONCURRENTLY` on a table that already exists.",
    needs="context", dialects=PG,
    why="`CREATE INDEX` takes a SHARE lock on the table for the whole build: every INSERT, "
    "UPDATE and DELETE waits until the index is built, minutes on a large table. Tables created "
    "earlier in the same migration (or by another migration added on the same branch) are "
    "exempt: nobody uses them yet. " + _OUTSIDE,
    example="CREATE INDEX users_email_idx ON users (email);",
    instead="-- operations step, outside refinery:\n"
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\n"
    "-- the migration (a no-op once the index exists):\n"
    "SET LOCAL lock_timeout = '5s';\n"
    "CREATE INDEX IF NOT EXISTS users_email_idx ON users (email);",
    hint="build it with CREATE INDEX CONCURRENTLY in an operations "
    "step outside refinery, keep CREATE INDEX IF NOT EXISTS here (a no-op then), or accept the "
    "lock after SET LOCAL lock_timeout",
    instead_passes=False,
    fires=(
        "CREATE INDEX users_email_idx ON users (email);",
        "CREATE UNIQUE INDEX IF NOT EXISTS u ON public.accounts USING btree (lower(name));",
        "CREATE INDEX ON ONLY measurements (logdate);",
    ),
    passes=(
        "CREATE TABLE users (id bigint); CREATE INDEX users_id_idx ON users (id);",
        "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
        "CREATE TABLE IF NOT EXISTS t (a int);\nCREATE INDEX IF NOT EXISTS t_a ON t (a);",
    ),
)


@check(REQUIRE_CONCURRENT_INDEX_CREATION, "CREATE")
def _index_creation(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    create = stmt.create
    if create is None or create.kind != "INDEX" or create.concurrently:
        return
    if not state.is_new(create.table):
        yield Finding(REQUIRE_CONCURRENT_INDEX_CREATION,
                      f"CREATE INDEX on existing table {create.table} takes a "
                      f"{_mode('CREATE INDEX', Role.TABLE)} lock: "
                      "writes wait for the whole build", head_span(stmt.view, "INDEX"),
                      _own_migration(state, "build it with CREATE INDEX CONCURRENTLY"))


REQUIRE_CONCURRENT_INDEX_DELETION = Rule(
    "require-concurrent-index-deletion", W,
    "`DROP INDEX` without `CONCURRENTLY`.",
    needs="context", dialects=PG,
    why="`DROP INDEX` takes an ACCESS EXCLUSIVE lock on the index's table: reads and writes "
    "wait, and so does everything queued behind the drop. " + _OUTSIDE,
    example="DROP INDEX users_email_idx;",
    instead="-- operations step, outside refinery:\nDROP INDEX CONCURRENTLY IF EXISTS "
    "users_email_idx;\n-- the migration:\nSET LOCAL lock_timeout = '5s';\n"
    "DROP INDEX IF EXISTS users_email_idx;",
    hint="drop it with DROP INDEX CONCURRENTLY outside refinery "
    "and keep DROP INDEX IF EXISTS here, or accept the lock after SET LOCAL lock_timeout",
    instead_passes=False,
    fires=(
        "DROP INDEX users_email_idx;",
        "DROP INDEX IF EXISTS public.users_email_idx;",
        "drop index a_idx, b_idx cascade;",
    ),
    passes=(
        "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;",
        "CREATE TABLE t (a int); CREATE INDEX IF NOT EXISTS tmp_idx ON t (a);\n"
        "DROP INDEX IF EXISTS tmp_idx;",
        "DROP TABLE IF EXISTS old_things;",
    ),
)


def _drops_old_index(stmt: Stmt, state: FileState) -> bool:
    """A non-concurrent DROP INDEX of an index not created earlier in this migration."""
    drop = stmt.drop
    return (drop is not None and drop.kind == "INDEX" and not drop.concurrently
            and (not drop.names or not all(n in state.new_indexes for n in drop.names)))


@check(REQUIRE_CONCURRENT_INDEX_DELETION, "DROP")
def _index_deletion(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    if stmt.drop is not None and _drops_old_index(stmt, state):
        yield Finding(REQUIRE_CONCURRENT_INDEX_DELETION,
                      f"DROP INDEX {', '.join(stmt.drop.names)} takes an "
                      f"{_mode('DROP INDEX', Role.INDEX_TABLE)} lock on its table",
                      hint=_own_migration(state, "drop it with DROP INDEX CONCURRENTLY"))


REQUIRE_CONCURRENT_REINDEX = Rule(
    "require-concurrent-reindex", W,
    "`REINDEX` without `CONCURRENTLY`.",
    needs="stmt", dialects=PG,
    why="`REINDEX` takes an ACCESS EXCLUSIVE lock on the index (and SHARE on its table) for the "
    "whole rebuild. The CONCURRENTLY form cannot run inside refinery's transaction.",
    example="REINDEX INDEX users_email_idx;",
    instead="-- an operations step, outside refinery:\nREINDEX INDEX CONCURRENTLY users_email_idx;",
    hint="run REINDEX ... CONCURRENTLY as an operations step outside "
    "refinery",
    fires=("REINDEX INDEX users_email_idx;", "REINDEX TABLE users;", "reindex (verbose) table t;"),
    passes=(
        "REINDEX INDEX CONCURRENTLY users_email_idx;",
        "SELECT 'REINDEX TABLE users';",
        "ANALYZE users;",
    ),
)


@check(REQUIRE_CONCURRENT_REINDEX, "REINDEX")
def _reindex(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    if "CONCURRENTLY" not in stmt.keys:
        yield Finding(REQUIRE_CONCURRENT_REINDEX,
                      f"REINDEX locks the index {_mode('REINDEX INDEX', Role.INDEX)} (and its "
                      f"table {_mode('REINDEX INDEX', Role.INDEX_TABLE)}) for the whole rebuild")


BAN_VACUUM_FULL_OR_CLUSTER = Rule(
    "ban-vacuum-full-or-cluster", W,
    "`VACUUM FULL`, `CLUSTER` or an explicit `LOCK TABLE` (and any `VACUUM`, which fails).",
    needs="context", dialects=PG,
    why="`VACUUM FULL` and `CLUSTER` rewrite the table under an ACCESS EXCLUSIVE lock for the "
    "whole operation; `LOCK TABLE` takes (by default) ACCESS EXCLUSIVE and holds it until "
    "refinery commits the migration. `VACUUM` of any kind cannot even run inside refinery's "
    "transaction (25001). Flyway runs a script holding `VACUUM` without a transaction: alone "
    "it is fine there, mixed with transactional statements Flyway refuses the migration unless "
    "`mixed=true` (docs/flyway.md, section 4).",
    example="VACUUM FULL users;\nCLUSTER users USING users_pkey;",
    instead="-- maintenance belongs to an operations step outside refinery, e.g. pg_repack",
    hint="run maintenance (VACUUM, CLUSTER, pg_repack) outside refinery; "
    "do not lock tables explicitly in a migration",
    fires=("VACUUM FULL users;", "CLUSTER users USING users_pkey;",
           "LOCK TABLE users IN ACCESS EXCLUSIVE MODE;"),
    passes=("ANALYZE users;", "CREATE TABLE t (a int); LOCK TABLE t;",
            "SELECT 'VACUUM FULL';"),
)


def _clustered(view: View) -> str | None:
    """The table a CLUSTER names (None: every clustered table of the database)."""
    index = view.skip(1, "VERBOSE")
    if view.at(index, "("):
        index = view.closing(index) + 1
    return view.name_at(index)[0]


def _locked(view: View, state: FileState) -> tuple[list[str], str]:
    """The existing tables a LOCK TABLE names, and the lock mode it asks for."""
    index = view.skip(view.skip(1, "TABLE"), "ONLY")
    stop = view.find(index, len(view.keys), "IN")
    names = [view.name_at(a)[0] for a, _ in view.split(index, stop if stop >= 0 else
                                                        len(view.keys))]
    mode = ACCESS_EXCLUSIVE
    if stop >= 0:
        mode_end = view.find(stop, len(view.keys), "MODE")
        mode = " ".join(view.keys[stop + 1 : mode_end if mode_end > 0 else len(view.keys)])
    return [n for n in names if n and n not in state.new_tables], mode


@check(BAN_VACUUM_FULL_OR_CLUSTER, "VACUUM", "CLUSTER", "LOCK")
def _maintenance(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    first = stmt.keys[0]
    if first == "VACUUM" and state.script is not None:  # the runner decides (Flyway)
        from migration_gate.sql.rules.transactions import runner_refusal

        judged = runner_refusal(state, "VACUUM")
        if "FULL" in stmt.keys:
            message = "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE"
            yield Finding(BAN_VACUUM_FULL_OR_CLUSTER,
                          message + (f"; {judged[0]}" if judged else ""),
                          hint=judged[1] if judged else None)
        elif judged is not None:
            yield Finding(BAN_VACUUM_FULL_OR_CLUSTER, judged[0], hint=judged[1])
    elif first == "VACUUM":
        if "FULL" in stmt.keys:
            yield Finding(BAN_VACUUM_FULL_OR_CLUSTER,
                          "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE, and VACUUM "
                          "cannot run inside refinery's transaction at all (25001)")
        else:
            yield Finding(BAN_VACUUM_FULL_OR_CLUSTER,
                          "VACUUM cannot run inside refinery's transaction: the migration fails "
                          "with 25001")
    elif first == "CLUSTER":
        table = _clustered(stmt.view)
        if not state.is_new(table):
            yield Finding(BAN_VACUUM_FULL_OR_CLUSTER,
                          f"CLUSTER rewrites {table or 'the tables'} under ACCESS EXCLUSIVE")
    else:
        old, mode = _locked(stmt.view, state)
        if old:
            yield Finding(BAN_VACUUM_FULL_OR_CLUSTER,
                          f"LOCK TABLE {', '.join(old)} holds {mode} until refinery commits the "
                          "migration")


REQUIRE_LOCK_TIMEOUT = Rule(
    "require-lock-timeout", W,
    "A statement taking ACCESS EXCLUSIVE or SHARE (ROW EXCLUSIVE) on an existing table or view "
    "with no `SET lock_timeout` earlier in the migration.",
    needs="context", dialects=PG,
    why="A strong lock request waits behind every running query on the table (a long report, "
    "an idle transaction), and while it waits every new query queues behind it: a short "
    "`ALTER TABLE` becomes an outage. `lock_timeout` makes the migration fail fast instead; "
    "refinery then reports the failure and the deploy can be retried. Reported once per "
    "migration, at the first such statement. Which statement takes which lock on which object "
    "is the lock table of docs/locks.md (verified against PostgreSQL's pg_locks): a new table "
    "whose REFERENCES name an existing one locks that one SHARE ROW EXCLUSIVE, `DROP TRIGGER` "
    "locks its table and `CREATE OR REPLACE VIEW`/`DROP VIEW` the view ACCESS EXCLUSIVE.",
    example="ALTER TABLE users ADD COLUMN IF NOT EXISTS phone text;",
    instead="SET LOCAL lock_timeout = '5s';  -- scoped to refinery's transaction\n"
    "ALTER TABLE users ADD COLUMN IF NOT EXISTS phone text;",
    hint="start the migration with SET LOCAL lock_timeout = '5s'",
    fires=(
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS phone text;",
        "CREATE INDEX IF NOT EXISTS i ON users (email);",
        "TRUNCATE users;",
        "CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES users (id));",
        "DROP TRIGGER users_audit ON users;",
        "CREATE OR REPLACE VIEW active_users AS SELECT id FROM users WHERE active;",
    ),
    passes=(
        "SET LOCAL lock_timeout = '5s'; ALTER TABLE users ADD COLUMN IF NOT EXISTS phone text;",
        "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (a_id int REFERENCES a (id));",
        "CREATE VIEW v AS SELECT 1 AS x; CREATE OR REPLACE VIEW v AS SELECT 2 AS x;",
        "CREATE TABLE IF NOT EXISTS t (a int); ALTER TABLE t ADD COLUMN IF NOT EXISTS b int;",
        "SELECT set_config('lock_timeout', '2s', true); DROP INDEX IF EXISTS i;",
    ),
)


def strong_lock(stmt: Stmt, state: FileState) -> tuple[str | None, str, str] | None:
    """(object or None, lock mode, what) for a statement taking SHARE or a stronger lock on an
    existing table or view, else None. The lock table (`sql/locks.py`) decides for every form
    it has a row for; the reading below only serves the statements it has none for."""
    if covered(stmt):
        found = strong_locks(stmt, state)
        if not found:
            return None
        top = found[0]
        return top.target, top.mode.words, _what(top.form)
    return _unlisted_strong_lock(stmt, state)


def _what(form: str) -> str:
    """How a finding names the statement: `ALTER TABLE`, `REINDEX`, or the form itself."""
    for short in ("ALTER TABLE", "REINDEX"):
        if form.startswith(short):
            return short
    return form


def _unlisted_strong_lock(stmt: Stmt, state: FileState) -> tuple[str | None, str, str] | None:
    """Statements with no row in the lock table (`REINDEX (VERBOSE) ...`, ALTER TABLE with
    only unlisted actions): SHARE or stronger on an existing table, read from the words."""
    first = stmt.keys[0]
    create, drop, alter = stmt.create, stmt.drop, stmt.alter_table
    if create is not None:
        if create.kind == "INDEX" and not create.concurrently and not state.is_new(create.table):
            return create.table, SHARE, "CREATE INDEX"
    elif drop is not None:
        if _drops_old_index(stmt, state):
            return None, ACCESS_EXCLUSIVE, "DROP INDEX"
        if drop.kind == "TABLE":
            old = [n for n in drop.names if n not in state.new_tables]
            if old or not drop.names:
                return old[0] if old else None, ACCESS_EXCLUSIVE, "DROP TABLE"
    elif alter is not None:
        strong: str | None = None
        for action in alter.actions:
            if action.lock and (strong is None or action.lock == ACCESS_EXCLUSIVE):
                strong = action.lock
        if strong and not state.is_new(alter.table):
            return alter.table, strong, "ALTER TABLE"
    elif first == "REINDEX" and "CONCURRENTLY" not in stmt.keys:
        return None, ACCESS_EXCLUSIVE, "REINDEX"
    elif first == "CLUSTER":
        table = _clustered(stmt.view)
        if not state.is_new(table):
            return table, ACCESS_EXCLUSIVE, "CLUSTER"
    elif first == "LOCK":
        old, mode = _locked(stmt.view, state)
        if old and mode in (ACCESS_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, "EXCLUSIVE"):
            return old[0], mode, "LOCK TABLE"
    elif first == "TRUNCATE":
        index = stmt.view.skip(stmt.view.skip(1, "TABLE"), "ONLY")
        names = [stmt.view.name_at(a)[0] for a, _ in stmt.view.split(index, len(stmt.keys))]
        old = [n for n in names if n and n not in state.new_tables]
        if old:
            return old[0], ACCESS_EXCLUSIVE, "TRUNCATE"
    return None


@check(REQUIRE_LOCK_TIMEOUT, "CREATE", "DROP", "ALTER", "REINDEX", "CLUSTER", "LOCK",
       "TRUNCATE", "REFRESH")
def _lock_timeout(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    """Once per migration, at the first strong lock taken without a lock_timeout."""
    if state.lock_timeout or REQUIRE_LOCK_TIMEOUT.id in state.reported:
        return  # asked first: reading the locks was a tenth of a cold lint's rule time
    lock = strong_lock(stmt, state)
    if lock is None:
        return
    table, mode, what = lock
    if state.is_new(table):
        return
    state.reported.add(REQUIRE_LOCK_TIMEOUT.id)
    target = f" on {table}" if table else ""
    yield Finding(REQUIRE_LOCK_TIMEOUT,
                  f"{what} takes {mode}{target} with no `SET lock_timeout` before it: it waits "
                  "behind running queries and blocks every query queued after it",
                  words_span(stmt.view, 0, min(len(what.split()), len(stmt.view.words))))
