"""Rules about migrations that must survive a second run, and statements nobody could read.

With refinery's sync drivers a migration's SQL commits in one transaction and its history row
in a second one (docs/refinery.md#transactions): a crash in between runs the migration again
on the next start, so every DDL statement must be written to succeed a second time. Whether
that window exists is the runner's answer (`Runner.crash_window`, in `FileState`): always
for refinery; for Flyway it depends on the database, `postgresql.transactional.lock` and
whether the script runs in a transaction (docs/flyway.md, section 4).
"""

from __future__ import annotations

from collections.abc import Iterator

from migration_gate.catalog import Rule
from migration_gate.diagnostics import Severity
from migration_gate.sql.rules.base import PG, FileState, Finding, Span, head_span, words_span
from migration_gate.sql.rules.registry import at_end, check
from migration_gate.sql.rules.statements import Stmt

W = Severity.WARNING

# Statement forms the rules understand from their words alone, even when sqlglot cannot parse.
TOKEN_UNDERSTOOD = frozenset({"REINDEX", "VACUUM", "CLUSTER", "LOCK", "BEGIN", "START", "COMMIT",
                              "ROLLBACK", "END", "ABORT", "SET", "RESET", "DO"})


PREFER_ROBUST_STMTS = Rule(
    "prefer-robust-stmts", W,
    "Non-defensive DDL: `CREATE TABLE/INDEX/SCHEMA/SEQUENCE` or `ADD COLUMN` without `IF NOT "
    "EXISTS`; `DROP ...` or `DROP COLUMN` without `IF EXISTS`.",
    needs="stmt", dialects=PG,
    why="With refinery's sync drivers the migration's SQL commits in one transaction and its "
    "history row is inserted in a second one (docs/refinery.md#transactions): a crash in "
    "between leaves the migration applied but unrecorded, so it runs again on the next start "
    "and fails on \"already exists\" / \"does not exist\", blocking every later migration "
    "until someone repairs the database by hand. The rule fires only where the runner has "
    "that window: refinery always; Flyway on PostgreSQL with `postgresql.transactional.lock="
    "true` (its default: the history row commits on a second connection after the migration), "
    "for a script it runs without a transaction (CONCURRENTLY, VACUUM...), and on MySQL (DDL "
    "commits at once), but not with `postgresql.transactional.lock=false`, where the history "
    "row is written in the migration's own transaction (docs/flyway.md, section 4).",
    example="ALTER TABLE users ADD COLUMN phone VARCHAR(20);",
    instead="ALTER TABLE users ADD COLUMN IF NOT EXISTS phone VARCHAR(20);",
    hint="use IF NOT EXISTS / IF EXISTS so that a re-run after a crash between "
    "refinery's two commits succeeds",
    fires=("ALTER TABLE users ADD COLUMN phone VARCHAR(20);", "CREATE TABLE t (a int);",
           "DROP INDEX CONCURRENTLY i;", "ALTER TABLE users DROP COLUMN legacy;"),
    passes=("ALTER TABLE users ADD COLUMN IF NOT EXISTS phone VARCHAR(20);",
            "CREATE TABLE IF NOT EXISTS t (a int);", "DROP SCHEMA IF EXISTS s CASCADE;",
            "CREATE TEMP TABLE ids AS SELECT id FROM users;",
            "DROP TABLE IF EXISTS t; CREATE TABLE t (a int);",
            "DROP INDEX IF EXISTS i; CREATE INDEX i ON t (a);"),
)


@check(PREFER_ROBUST_STMTS, "CREATE", "DROP", "ALTER")
def _robust(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    window = state.crash_window
    if window is None:  # the runner commits the migration and its history row together
        return
    rerun, hint = window.consequence, None if state.runner == "refinery" else window.hint
    for message, span in _not_robust(stmt, state):
        yield Finding(PREFER_ROBUST_STMTS, f"{message} {rerun}", span, hint)


def _not_robust(stmt: Stmt, state: FileState) -> Iterator[tuple[str, Span | None]]:
    """(what is not defensive, the words it points at) for each DDL a re-run would fail on."""
    create, drop, alter = stmt.create, stmt.drop, stmt.alter_table
    if create is not None:
        if create.defensive or create.temporary:  # a re-run's new session has no temp table
            return
        if create.name is not None and (create.kind, create.name) in state.cleared:
            return  # `DROP ... IF EXISTS` of it ran first: a re-run drops it and creates it
        if create.kind == "TABLE":
            yield (f"CREATE TABLE {create.name or ''} without IF NOT EXISTS",
                   head_span(stmt.view, "TABLE"))
        elif create.kind in ("INDEX", "SCHEMA", "SEQUENCE"):
            yield f"CREATE {create.kind} without IF NOT EXISTS", head_span(stmt.view, create.kind)
    elif drop is not None:
        if not drop.defensive and drop.kind.isupper():
            yield (f"DROP {drop.kind} without IF EXISTS",
                   head_span(stmt.view, drop.kind.split()[-1]))
    elif alter is not None:
        for action in alter.actions:
            if action.defensive:
                continue
            if action.kind == "ADD COLUMN":
                yield (f"ADD COLUMN {action.name or ''} without IF NOT EXISTS",
                       words_span(stmt.view, action.start, max(action.at, action.start + 1)))
            elif action.kind == "DROP CONSTRAINT" and action.word == "CONSTRAINT":
                yield "DROP CONSTRAINT without IF EXISTS", None
            elif action.kind == "DROP COLUMN":
                yield (f"DROP COLUMN {action.name or ''} without IF EXISTS",
                       words_span(stmt.view, action.start, action.end))


SYNTAX_ERROR = Rule(
    "syntax-error", W,
    "sqlglot cannot parse a statement (it is reported, never skipped).",
    needs="stmt",
    why="A statement the parser does not understand may simply be wrong. sqlglot is asked "
    "about the statements this check covers: those of unusual kinds (not the usual DDL or DML), "
    "those whose words look wrong (unbalanced parentheses, `FROM WHERE`, a clause with nothing "
    "after it, `(a,,b)`) and those our lexer cannot read (a `${placeholder}`...); a usual "
    "statement whose words are well formed is not parsed (sqlglot's import alone would cost a "
    "one-file lint most of its time). Statements that sqlglot only passes through (`DO`, "
    "`REINDEX`, `VACUUM`, `LOCK`, `CLUSTER`...) are checked from their tokens and are not "
    "reported. The ephemeral database run (`check --verify`) is the judge of every statement.",
    example="SELECT * FROM WHERE id = 1;",
    instead="fix the statement, or `-- migration-gate: ignore syntax-error` before a statement "
    "that PostgreSQL accepts",
    hint="fix the statement; if your database accepts it, add "
    "`-- migration-gate: ignore syntax-error` before it",
    instead_passes=False,
    fires=("SELECT * FROM WHERE id = 1;", "CREATE TABLE (;", "UPDATE SET x = 1;"),
    passes=("SELECT 1;", "VACUUM FULL users;", "CLUSTER users USING users_pkey;"),
)


@check(SYNTAX_ERROR)
def _unparsed_statement(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    if stmt.error is not None and not (stmt.keys and stmt.keys[0] in TOKEN_UNDERSTOOD):
        yield Finding(SYNTAX_ERROR,
                      f"sqlglot cannot parse this statement ({state.dialect}): {stmt.error}")


@at_end(SYNTAX_ERROR)
def _unparsed_file(state: FileState) -> Iterator[tuple[int, Finding]]:
    if not state.parsed and state.statements:
        yield 0, Finding(SYNTAX_ERROR,
                         f"not parsed with sqlglot: the file has {state.chars:,} characters; the "
                         "rules ran on its tokens only")
