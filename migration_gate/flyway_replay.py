"""The replay of a Flyway project: its history table, its order, its rows, its fake mode.

What `flyway migrate` does, on the same throwaway databases as refinery's replay: the
`flyway_schema_history` table is created, the base's migrations are applied (versioned ones
in version order, then the repeatables by description), then the branch's pending ones --
versioned above the highest applied version, repeatables whose checksum changed. Each runs in
its own transaction unless Flyway detects a statement that cannot run in one; the text sent is
the file with its placeholders replaced; the row written is the one Flyway writes (signed
CRC32, description with spaces, `installed_rank` counting up). With `fake`, the branch's rows
are written without running their SQL (Flyway's `skipExecutingMigrations`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from migration_gate.diagnostics import Diagnostic, GateError, Severity
from migration_gate.runners.model import Kind, ParsedMigration

if TYPE_CHECKING:
    from migration_gate.dbcheck import DbOptions
    from migration_gate.migrations import MigrationFile
    from migration_gate.pipeline import CheckContext
    from migration_gate.replaysetup import SetupFile
    from migration_gate.runner import Database, DbError
    from migration_gate.runners.model import Runner


@dataclass(frozen=True)
class FlywayStep:
    """A migration Flyway would run: the file, its parsed name, the text it sends."""

    file: MigrationFile
    parsed: ParsedMigration
    sql: str
    script: str  # the path inside its location, as the history row records it

    @property
    def display(self) -> str:
        return self.parsed.display


def steps(context: CheckContext, files: Sequence[MigrationFile]) -> list[FlywayStep]:
    """Flyway's order: versioned migrations by version, then repeatables by description."""
    return runner_steps(context.runner, files)


def runner_steps(runner: Runner, files: Sequence[MigrationFile]) -> list[FlywayStep]:
    now = datetime.now()
    found = []
    for file in files:
        parsed = file.runs_as
        if parsed is None or parsed.kind not in (Kind.VERSIONED, Kind.REPEATABLE):
            continue
        if file.text is None:
            continue
        sql = runner.replace_placeholders(file.text, file.file_name, now).text
        found.append(FlywayStep(file, parsed, sql, file.rel))
    found.sort(key=lambda s: (s.parsed.version is None, s.parsed.version or 0,
                              s.parsed.description))
    return found


def replay(context: CheckContext, options: DbOptions, setup: tuple[SetupFile, ...] = ()
           ) -> list[Diagnostic]:
    """Replay the `replay.setup` files, the base, then the branch, on a throwaway database;
    findings of the branch."""
    from migration_gate.replaysetup import run_setup

    base = steps(context, context.base.files) if context.base is not None else []
    local = steps(context, context.local)
    url = options.database_url or context.config.database_url
    if url:
        from migration_gate.ephemeral.server import throwaway_database

        with throwaway_database(url) as db:
            run_setup(db, setup, shared_server=True)
            return replay_on(db, context, options, base, local)
    if context.config.dialect != "postgres":
        raise GateError(f"no throwaway {context.config.dialect} database to replay a Flyway "
                        "project on: pass --database-url, or skip it with --no-verify")
    from migration_gate.ephemeral import postgres
    from migration_gate.ephemeral.extensions import on_a_server_with_extensions

    def attempt(binaries: postgres.Binaries) -> list[Diagnostic]:
        with postgres.running_cluster(binaries) as cluster:
            connection = cluster.connect()
            try:
                db = postgres.PostgresDatabase(connection)
                run_setup(db, setup, shared_server=False)
                return replay_on(db, context, options, base, local, embedded=True)
            finally:
                connection.close()

    texts = [f.text for f in setup] + [step.sql for step in base]
    return on_a_server_with_extensions(context.config.postgres_bin_dir, attempt, context.note,
                                       texts)


def _table(context: CheckContext) -> str:
    settings = getattr(context.runner, "settings", None)
    return str(getattr(settings, "table", context.runner.history.default_name))


def replay_on(db: Database, context: CheckContext, options: DbOptions,
              base: list[FlywayStep], local: list[FlywayStep], *, embedded: bool = False
              ) -> list[Diagnostic]:
    """The base, then the branch. A base that does not apply raises `ReplayUnavailable`
    (`replay-skipped`, or exit 2 with `--verify`); on the embedded server an extension it
    lacks moves the replay to another server (`extensions.on_a_server_with_extensions`)."""
    from migration_gate.ephemeral.extensions import missing_extension
    from migration_gate.replayskip import ReplayUnavailable, Where, hint_for

    table = _table(context)
    db.execute(context.runner.history_ddl(db.dialect, table))
    failure = _migrate(db, context, base, table, fake=False)
    if failure is not None:
        step, error, line = failure
        code = f" (SQLSTATE {error.sqlstate})" if error.sqlstate else ""
        reason = (f"the base branch's {step.display} does not apply here "
                  f"({step.file.path}:{line}: {error.message}{code})")
        raise ReplayUnavailable(
            f"cannot replay the migrations: {reason}", where=Where(step.file.path, line),
            hint=hint_for(error.message, error.sqlstate),
            extension=missing_extension(error.message, error.sqlstate, error.detail))
    failure = _migrate(db, context, local, table, fake=options.fake)
    if failure is None:
        return []
    step, error, line = failure
    code = f" (SQLSTATE {error.sqlstate})" if error.sqlstate else ""
    hint = "; ".join(part for part in (error.detail, error.hint) if part) or None
    found = [Diagnostic("migration-failed", Severity.ERROR, step.file.path,
                        f"{step.display} fails: {error.message}{code}", line=line, hint=hint)]
    name = missing_extension(error.message, error.sqlstate, error.detail)
    if embedded and name is not None:
        raise ReplayUnavailable(f"{step.display} needs the extension {name}", extension=name,
                                fallback=tuple(found))
    return found


def applied_rows(db: Database, table: str) -> list[tuple[int, str | None, str, int | None]]:
    """(installed_rank, version, description, checksum) of every successful row."""
    rows = db.query(f'SELECT installed_rank, version, description, checksum FROM "{table}" '
                    "WHERE success ORDER BY installed_rank")
    return [(int(r[0]), r[1], str(r[2]), None if r[3] is None else int(r[3])) for r in rows]


def pending(runner: Runner, todo: list[FlywayStep],
            rows: list[tuple[int, str | None, str, int | None]]) -> Iterator[FlywayStep]:
    """What `migrate` runs: versions above the highest applied one (every unapplied one with
    `outOfOrder`), and repeatables never applied or whose latest checksum differs."""
    parsed = (runner.parse_version(v) for _, v, _, _ in rows if v is not None)
    applied = {v for v in parsed if v is not None}
    highest = max(applied, default=None)
    latest: dict[str, int | None] = {}
    for _, recorded, description, checksum in rows:
        if recorded is None:
            latest[description] = checksum
    out_of_order = bool(getattr(getattr(runner, "settings", None), "out_of_order", False))
    for step in todo:
        version = step.parsed.version
        if version is not None:
            if version in applied:
                continue
            if highest is None or version > highest or out_of_order:
                yield step
        elif step.parsed.description not in latest or (
                latest[step.parsed.description] != step.file.runner_checksum):
            yield step


def _migrate(db: Database, context: CheckContext, todo: list[FlywayStep], table: str, *,
             fake: bool) -> tuple[FlywayStep, DbError, int] | None:
    from migration_gate.runners.flyway_history import (
        history_row,
        insert_statement,
        next_installed_rank,
    )

    rows = applied_rows(db, table)
    ranks = [rank for rank, _, _, _ in rows]
    user = str(db.query("SELECT current_user")[0][0]) if db.dialect == "postgres" else "gate"
    for step in list(pending(context.runner, todo, rows)):
        if not fake:
            failed = _run(db, context, step)
            if failed is not None:
                return step, failed[0], failed[1]
        rank = next_installed_rank(ranks)
        ranks.append(rank)
        row = history_row(step.parsed, step.script, step.file.runner_checksum,
                          installed_rank=rank, installed_by=user)
        db.query(insert_statement(db.dialect, table), row.params())
    return None


def _run(db: Database, context: CheckContext, step: FlywayStep) -> tuple[DbError, int] | None:
    """One migration in the transaction Flyway uses for it; the error and its line."""
    from migration_gate.runner import DbError
    from migration_gate.sql.split import split_statements

    statements = split_statements(step.sql, db.dialect)
    decision = context.runner.script_transaction([s.text for s in statements], db.dialect)
    if decision.error is not None:
        return DbError(decision.error), 1
    if decision.in_transaction:
        db.execute("BEGIN")
    for statement in statements:
        try:
            db.execute(statement.text)
        except DbError as error:
            if decision.in_transaction:
                db.execute("ROLLBACK")
            return error, statement.line
    if decision.in_transaction:
        db.execute("COMMIT")
    return None
