"""Which statements run outside a transaction: as Flyway's parser sees them, and as PostgreSQL
decides.

Flyway (`Parser.getNextStatement` + `PostgreSQLParser.detectCanExecuteInTransaction`) builds a
"simplified statement" from a statement's first keywords -- words made only of letters and `_`,
outside parentheses, upper-cased, at most ten -- and after each keyword tests it against a few
patterns that must match it whole. A script with one statement it marks non-transactional runs
entirely without a transaction; mixed with transactional statements it is refused unless
`mixed` is set. Whatever Flyway does not detect still runs inside a transaction, where
PostgreSQL refuses some statements with SQLSTATE 25001: `postgres_refusal` says which.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from migration_gate.runners.model import CrashWindow, ScriptTransaction, ScriptVerdict
from migration_gate.runners.transactions import refusals, tokens, verdict_of
from migration_gate.types import Dialect

CUTOFF = 10  # `Parser.getTransactionalDetectionCutoff()`

#: `PostgreSQLParser`: patterns the whole simplified statement must match (`matches()`)
_PG_FLYWAY = tuple(
    re.compile(p) for p in (
        r"(CREATE|DROP) (DATABASE|TABLESPACE|SUBSCRIPTION)",
        r"ALTER SYSTEM",
        r"(CREATE|DROP)( UNIQUE)? INDEX CONCURRENTLY",
        r"REINDEX( VERBOSE)? (SCHEMA|DATABASE|SYSTEM)",
        r"VACUUM",
        r"DISCARD ALL",
    )
)
_PG_FLYWAY_BEFORE_12 = re.compile(r"ALTER TYPE( .*)? ADD VALUE")


def flyway_in_transaction(statement: str, dialect: Dialect = "postgres", postgres_major: int = 16
                          ) -> bool:
    """Whether Flyway's parser lets this statement run inside a transaction."""
    if dialect not in ("postgres", "sqlite"):
        return True  # MySQL & co.: `Parser.detectCanExecuteInTransaction` is always true
    keywords = 0
    simplified = ""
    for token in tokens(statement):
        if token.kind != "keyword" or token.depth != 0:
            continue
        keywords += 1
        if keywords > CUTOFF:
            return True
        simplified = f"{simplified} {token.text.upper()}".strip()
        if _flyway_refuses(simplified, dialect, postgres_major):
            return False
    return True


def _flyway_refuses(simplified: str, dialect: Dialect, postgres_major: int) -> bool:
    if dialect == "sqlite":
        return simplified == "PRAGMA FOREIGN_KEYS"  # `SQLiteParser`
    if any(pattern.fullmatch(simplified) for pattern in _PG_FLYWAY):
        return True
    return postgres_major < 12 and bool(_PG_FLYWAY_BEFORE_12.fullmatch(simplified))


def flyway_script_transaction(
    statements: Sequence[str],
    *,
    dialect: Dialect = "postgres",
    mixed: bool = False,
    execute_in_transaction: bool = True,
    script_override: bool | None = None,
    postgres_major: int = 16,
) -> ScriptTransaction:
    """How Flyway runs a script (`ParserSqlScript.parse` / `executeInTransaction`).

    `script_override` is the script's own `executeInTransaction` (a `.sql.conf` file): it wins,
    and with it the mixed check is off. `failing` lists what PostgreSQL will refuse because it
    runs inside a transaction all the same.
    """
    outside = [not flyway_in_transaction(s, dialect, postgres_major) for s in statements]
    verdict = verdict_of(outside)
    detected = tuple(index for index, flag in enumerate(outside) if flag)
    error, offending = None, None
    if verdict is ScriptVerdict.MIXED and not mixed and script_override is None \
            and execute_in_transaction:
        offending = _first_mixed(outside)
        marker = "" if not outside[offending] else " [non-transactional]"
        error = ("Detected both transactional and non-transactional statements within the same "
                 f"migration (even though mixed is false). Offending statement #{offending + 1}: "
                 f"{statements[offending].strip()}{marker}")
    in_transaction = script_override if script_override is not None else (
        not detected and execute_in_transaction)
    failing = refusals(statements, postgres_major) if in_transaction and dialect == "postgres" \
        else ()
    return ScriptTransaction(verdict, in_transaction, detected, failing, error, offending)


def _first_mixed(outside: Sequence[bool]) -> int:
    """The statement at which Flyway has seen both kinds (where it throws)."""
    seen: set[bool] = set()
    for index, flag in enumerate(outside):
        seen.add(flag)
        if len(seen) == 2:
            return index
    return len(outside) - 1


_RERUN = "fails when Flyway re-runs the migration after a crash"
_ROBUST = "use IF NOT EXISTS / IF EXISTS so that a re-run succeeds"


def flyway_crash_window(in_transaction: bool, dialect: Dialect = "postgres",
                        transactional_lock: bool = True) -> CrashWindow | None:
    """Whether Flyway can have committed a migration's SQL and not its history row
    (docs/flyway.md, section 4): the history row is written by `DbMigrate.doMigrateGroup` on the
    main connection, inside the migration's transaction template.

    PostgreSQL: `useSingleConnection()` is `!isTransactionalLock()`. With the lock (the default)
    the migration runs on a second connection and commits before the main connection's
    advisory-lock transaction, which holds the history row; without it both share one
    transaction. MySQL: `supportsDdlTransactions()` is false, every DDL statement commits at
    once. SQLite: one connection (`useSingleConnection()` true) and transactional DDL. A script
    Flyway runs without a transaction commits statement by statement on every database.
    """
    if not in_transaction:
        return CrashWindow(
            f"{_RERUN}: Flyway runs this script without a transaction (it holds a statement "
            "Flyway's parser marks non-transactional), each statement commits before the "
            "history row is written",
            f"{_ROBUST}: a script Flyway runs without a transaction runs again from its first "
            "statement after a crash (and after a failure, once `flyway repair` removed its "
            "failed row)",
        )
    if dialect == "postgres":
        if not transactional_lock:
            return None
        return CrashWindow(
            f"{_RERUN} between its two commits (postgresql.transactional.lock=true, the "
            "default: the history row commits on Flyway's lock connection after the "
            "migration's own transaction)",
            f"{_ROBUST}, or set flyway.postgresql.transactional.lock=false: Flyway then writes "
            "the history row in the migration's own transaction",
        )
    if dialect == "mysql":
        return CrashWindow(
            f"{_RERUN}: MySQL commits each DDL statement at once, before Flyway writes the "
            "history row",
            f"{_ROBUST}: MySQL cannot roll DDL back, so a half-applied migration runs again",
        )
    if dialect == "sqlite":
        return None
    return CrashWindow(  # not modelled: assume the history row's own transaction
        f"{_RERUN} between the migration's commit and its history row's",
        _ROBUST,
    )
