"""A refinery-compatible runner: the history table, apply, fake, target and grouped modes.

It does what a refinery run does (docs/refinery.md#history-table, #how-a-run-decides and
#transactions) on any `Database`, with one difference that only adds information: each
migration is sent statement by statement inside the very transaction refinery would use, so
that an error (and, with an `Observer`, a lock) maps to one statement and one line of the file.

- default (the sync drivers): per migration, its SQL in one transaction, then the history row
  in a second one;
- grouped: every migration and every row in one transaction;
- fake: history rows only, in one transaction, no SQL;
- target: pending migrations up to that version, never a roll-back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from migration_gate import historytable, refinery
from migration_gate.historytable import HistoryRowError as HistoryRowError
from migration_gate.migrations import MigrationFile
from migration_gate.refinery import AppliedMigration, Migration, Plan
from migration_gate.types import Dialect

if TYPE_CHECKING:
    from migration_gate.sql.split import Statement


class DbError(Exception):
    """What the database said about a failed statement."""

    def __init__(
        self,
        message: str,
        *,
        sqlstate: str | None = None,
        hint: str | None = None,
        detail: str | None = None,
        position: int | None = None,  # 1-based character in the statement, from the server
    ) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.hint = hint
        self.detail = detail
        self.position = position


class Database(Protocol):
    """A connection in autocommit mode; transactions are sent as SQL, as refinery does."""

    dialect: Dialect

    def execute(self, sql: str) -> None:
        """Run one statement; raise `DbError` on failure."""

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query with `%s` placeholders; raise `DbError` on failure."""


_BEGIN = {"mysql": "START TRANSACTION", "mssql": "BEGIN TRANSACTION"}


def begin_statement(dialect: Dialect) -> str:
    return _BEGIN.get(dialect, "BEGIN")


@dataclass(frozen=True)
class Runnable:
    """A migration refinery would run: what it knows of it, its SQL, and where it lives."""

    migration: Migration
    sql: str
    path: str

    @property
    def display(self) -> str:
        return self.migration.display


def runnables(files: Iterable[MigrationFile]) -> list[Runnable]:
    """The files refinery's CLI runs: valid `.sql` names with UTF-8 content."""
    found = []
    for file in files:
        migration, text = file.as_refinery(), file.text
        if migration is not None and text is not None:
            found.append(Runnable(migration, text, file.path))
    return found


# --- the history table --------------------------------------------------------------------


def ensure_history_table(db: Database, table: str, *, int8: bool = False) -> None:
    """refinery's `CREATE TABLE IF NOT EXISTS`, in its own transaction."""
    _in_transaction(db, [refinery.history_table_ddl(db.dialect, table, int8=int8)])


def read_history(db: Database, table: str, *, int8: bool = False) -> list[AppliedMigration]:
    """The applied migrations, as refinery reads them (`ORDER BY version ASC`); a row refinery
    could not decode is a `HistoryRowError` naming its column and row."""
    return historytable.read_history(db, table, int8=int8)


def history_row(migration: Migration, applied_on: datetime | None = None) -> tuple[object, ...]:
    moment = applied_on or datetime.now(timezone.utc)
    return (
        migration.version, migration.name, refinery.format_applied_on(moment),
        str(migration.checksum),
    )


# --- observing statements (locks, rewrites) ---------------------------------------------------


class Observer(Protocol):
    """Told about each statement of the migrations it wants to watch."""

    def wants(self, step: Runnable) -> bool: ...

    def before_migration(self, db: Database, step: Runnable) -> None: ...

    def after_statement(self, db: Database, step: Runnable, statement: Statement) -> None: ...


# --- running ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """The statement that failed, where it is, and the database's error."""

    step: Runnable
    error: DbError
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None
    statement: str | None = None
    statement_offset: int | None = None  # where the statement starts in the file's text


@dataclass
class RunReport:
    plan: Plan
    applied: list[Runnable] = field(default_factory=list)
    failure: Failure | None = None  # the first one: where refinery itself would stop
    log: list[str] = field(default_factory=list)
    #: Every failure, when the run went on past the first one (`keep_going`).
    failures: list[Failure] = field(default_factory=list)
    #: The migrations never tried: after a failure the run did not go on from.
    not_run: list[Runnable] = field(default_factory=list)


def run(
    db: Database,
    local: Sequence[Runnable],
    *,
    table: str = refinery.DEFAULT_TABLE,
    int8: bool = False,
    target: int | None = None,
    fake: bool = False,
    grouped: bool = False,
    observer: Observer | None = None,
    log: Callable[[str], None] | None = None,
    keep_going: Callable[[Failure], bool] | None = None,
) -> RunReport:
    """One refinery run of `local` on `db`: create the history table, plan, apply (or fake).

    Divergent and missing migrations are reported in the plan and never applied, as with the
    CLI's defaults. The run stops at the first failing migration, as refinery does -- unless
    `keep_going(failure)` says to go on: the failed migration is rolled back and the next
    ones run, each in its own transaction, as they would once the failed one is fixed (so one
    replay reports every broken migration of a branch, not only the first).
    """
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        if log is not None:
            log(line)

    ensure_history_table(db, table, int8=int8)
    applied = read_history(db, table, int8=int8)
    plan = refinery.plan_run(applied, [r.migration for r in local], target=target)
    report = RunReport(plan, log=lines)
    if applied:
        say(f"current version: {plan.current}")
    else:
        say("schema history table is empty, going to apply all migrations")
    by_key = {(r.migration.version, r.migration.name, r.migration.checksum): r for r in local}
    steps = [by_key[(m.version, m.name, m.checksum)] for m in plan.to_apply]
    if not steps:
        say("no migrations to apply")
        return report
    if fake:
        for step in steps:
            say(f"applying migration: {step.display}")
        say("not going to apply any migration as fake flag is enabled.")
        statements = [(refinery.history_insert(table), history_row(s.migration)) for s in steps]
        _in_transaction(db, [], rows=statements)
        report.applied.extend(steps)
        return report
    if grouped:
        say("going to apply batch migrations in single transaction.")
    begin = begin_statement(db.dialect)
    if grouped:
        db.execute(begin)
    for index, step in enumerate(steps):
        say(f"applying migration: {step.display}")
        failure = _apply(db, step, begin, table, grouped=grouped, observer=observer)
        if failure is None:
            report.applied.append(step)
            continue
        _rollback(db)
        report.failures.append(failure)
        report.failure = report.failure or failure
        # grouped: the rollback took every earlier migration with it; nothing to go on from
        if grouped or keep_going is None or not keep_going(failure):
            report.not_run = list(steps[index + 1:])
            return report
    if grouped:
        try:
            _commit(db, steps[-1])
        except _StepFailed as failed:
            _rollback(db)
            report.failure = failed.failure
            report.failures.append(failed.failure)
    return report


def _apply(db: Database, step: Runnable, begin: str, table: str, *, grouped: bool,
           observer: Observer | None) -> Failure | None:
    """One migration, then its history row, in refinery's transactions; its failure (the
    transaction is left for the caller to roll back)."""
    try:
        if not grouped:
            _execute_as(db, step, begin)
        failure = _run_statements(db, step, observer)
        if failure is not None:
            return failure
        if not grouped:
            _commit(db, step)  # deferred constraints are checked here
            db.execute(begin)
        # two files with one version fail here, their SQL already committed
        _execute_as(db, step, refinery.history_insert(table), history_row(step.migration))
        if not grouped:
            _commit(db, step)
    except _StepFailed as failed:
        return failed.failure
    return None


class _StepFailed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.error.message)
        self.failure = failure


def _execute_as(db: Database, step: Runnable, sql: str, params: Sequence[object] = ()) -> None:
    """Run refinery's own statement (COMMIT, the history row) for `step`; its failure is the
    migration's, located at the file's start."""
    try:
        if params:
            db.query(sql, params)
        else:
            db.execute(sql)
    except DbError as error:
        raise _StepFailed(Failure(step, error, 1, 1, statement=sql)) from None


def _commit(db: Database, step: Runnable) -> None:
    _execute_as(db, step, "COMMIT")


def _in_transaction(
    db: Database, statements: Sequence[str], *, rows: Sequence[tuple[str, tuple[object, ...]]] = ()
) -> None:
    db.execute(begin_statement(db.dialect))
    try:
        for statement in statements:
            db.execute(statement)
        for sql, params in rows:
            db.query(sql, params)
    except BaseException:
        _rollback(db)
        raise
    db.execute("COMMIT")


def _rollback(db: Database) -> None:
    with contextlib.suppress(DbError):
        db.execute("ROLLBACK")


def _run_statements(db: Database, step: Runnable, observer: Observer | None) -> Failure | None:
    """Send the migration piece by piece, each piece being a statement with the text before
    it (`pieces.replay_pieces`): joined, the pieces are the text refinery sends in one go, so
    the server sees a byte-order mark, a stray `DELIMITER` line or an unterminated comment
    exactly as it would under refinery."""
    from migration_gate.sql.pieces import replay_pieces
    from migration_gate.sql.split import Positions

    nul = step.sql.find("\0")
    if nul >= 0:
        return _nul_failure(step, nul)
    watching = observer is not None and observer.wants(step)
    if watching and observer is not None:
        try:
            observer.before_migration(db, step)
        except DbError as error:
            return Failure(step, _observer_error(error), 1, 1)
    for piece in replay_pieces(step.sql, db.dialect):
        statement, sent = piece.statement, step.sql[piece.start : piece.end]
        try:
            db.execute(sent)
        except DbError as error:
            line, column = statement.line, statement.column
            if error.position is not None and 0 < error.position <= len(sent):
                line, column = Positions(step.sql).at(piece.start + error.position - 1)
            return Failure(step, error, line, column, statement.end_line, statement.end_column,
                           statement.text, statement.start_offset)
        if watching and observer is not None:
            try:
                observer.after_statement(db, step, statement)
            except DbError as error:
                # what the migration did broke the observation (or the replay's deadline
                # passed): its failure, never a replay that silently stops judging
                return Failure(step, _observer_error(error), statement.line, statement.column,
                               statement.end_line, statement.end_column, statement.text,
                               statement.start_offset)
    return None


def _nul_failure(step: Runnable, offset: int) -> Failure:
    """A file with a NUL character: refinery's PostgreSQL driver refuses to send it, and what
    the other drivers send stops at it; the replay sends nothing and fails at the NUL (Python's
    drivers would silently cut the text there)."""
    from migration_gate.sql.split import Positions

    line, column = Positions(step.sql).at(offset)
    error = DbError("the migration contains a NUL character (U+0000): refinery's PostgreSQL "
                    "driver refuses to send it, and no database reads SQL text past it")
    return Failure(step, error, line, column, line, column)


def _observer_error(error: DbError) -> DbError:
    return DbError(f"the replay could not observe the statement's effects: {error.message}",
                   sqlstate=error.sqlstate, hint=error.hint, detail=error.detail)


def history_exists(db: Database, table: str) -> bool:
    """Whether the history table exists, asked without writing and without an error (an error
    would abort a PostgreSQL transaction)."""
    if db.dialect == "postgres":
        rows = db.query("SELECT pg_catalog.to_regclass(%s) IS NOT NULL", (table,))
    elif db.dialect == "sqlite":
        rows = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", (table,))
        return bool(rows)
    else:
        rows = db.query(
            "SELECT COUNT(*) FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name = %s", (table,),
        )
    return bool(rows and rows[0][0])
