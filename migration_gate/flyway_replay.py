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

from migration_gate.diagnostics import Diagnostic, FailureEvidence, GateError, Severity
from migration_gate.runners.model import Kind, ParsedMigration

if TYPE_CHECKING:
    from migration_gate.dbcheck import DbOptions
    from migration_gate.migrations import MigrationFile
    from migration_gate.pipeline import CheckContext
    from migration_gate.replaysetup import SetupFile
    from migration_gate.runner import Database, DbError
    from migration_gate.runners.model import Runner
    from migration_gate.trace import LockTracer


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

    @property
    def path(self) -> str:
        """The file's path (what the lock tracer and ignore comments key on)."""
        return self.file.path


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
    from migration_gate.ephemeral import basecache, postgres
    from migration_gate.ephemeral.extensions import on_a_server_with_extensions

    table = _table(context)

    def replay_base(db: Database, prefix_restored: bool) -> StepFailure | None:
        from migration_gate.runner import DbError

        if not prefix_restored:  # a restored prefix holds the setup's objects (in every key)
            run_setup(db, setup, shared_server=False)
        try:
            db.execute(context.runner.history_ddl(db.dialect, table))
        except DbError as error:  # restored from a cached prefix of the base: it is there
            if error.sqlstate != "42P07":
                raise
        broken = migrate(db, context, base, table, fake=False)
        return broken[0] if broken else None

    def attempt(binaries: postgres.Binaries) -> list[Diagnostic]:
        keys, tail = base_cache_keys(binaries.version, context, base, setup)
        with basecache.restored_base(
            binaries, keys, prefix=BASE_CACHE_PREFIX, tail=tail,
            cacheable=options.use_cache and bool(base), note=context.note,
            open_db=postgres.PostgresDatabase, replay_base=replay_base,
        ) as (db, base_done, broken):
            if broken is not None:
                _base_broken(context, broken, base, local)  # raises
            if not base_done:  # nothing cached or replayed yet: the setup has not run
                run_setup(db, setup, shared_server=False)
            return replay_on(db, context, options, base, local, base_done=base_done,
                             embedded=True)

    texts = [f.text for f in setup] + [step.sql for step in base]
    return on_a_server_with_extensions(context.config.postgres_bin_dir, attempt, context.note,
                                       texts)


#: The Flyway replay's base schemas in the cache (`ephemeral.basecache`), apart from refinery's.
BASE_CACHE_PREFIX = "flyway-base-"


def base_cache_keys(version: str, context: CheckContext, base: Sequence[FlywayStep],
                    setup: Sequence[SetupFile] = ()) -> tuple[list[str], str]:
    """One key per prefix of the base's versioned migrations (server version, history table,
    the settings that decide what runs, the `replay.setup` files, each migration's row and
    sent text), and the key of its repeatables (`basecache`: they run after all of them, so
    they are no prefix)."""
    from migration_gate.ephemeral import basecache
    from migration_gate.replaysetup import setup_key_parts

    settings = getattr(context.runner, "settings", None)
    header = ("migration-gate-flyway-base-1", version, _table(context),
              str(getattr(settings, "out_of_order", False)),
              *setup_key_parts(tuple(setup)))
    versioned = [s for s in base if s.parsed.version is not None]
    repeatable = [s for s in base if s.parsed.version is None]
    keys = basecache.chain(header, (
        (f"{s.script}\0{s.display}\0{s.file.runner_checksum}", s.sql) for s in versioned))
    tail = basecache.chain(("repeatables",), (
        (f"{s.script}\0{s.display}\0{s.file.runner_checksum}", s.sql) for s in repeatable))
    return keys, tail[-1][:12] if repeatable else ""


def _table(context: CheckContext) -> str:
    settings = getattr(context.runner, "settings", None)
    return str(getattr(settings, "table", context.runner.history.default_name))


@dataclass(frozen=True)
class StepFailure:
    """A migration that failed: the server's error and the line of its statement."""

    step: FlywayStep
    error: DbError
    line: int


def replay_on(db: Database, context: CheckContext, options: DbOptions,
              base: list[FlywayStep], local: list[FlywayStep], *,
              base_done: bool = False, embedded: bool = False) -> list[Diagnostic]:
    """The base (unless `base_done`: restored from the cache), then the branch -- past a
    failing migration, so that one replay reports each broken migration of the branch.

    A base that does not apply raises `ReplayUnavailable` (`replay-skipped`, or exit 2 with
    `--verify`); on the embedded server an extension the branch needs and the server lacks
    moves the replay to another server (`extensions.on_a_server_with_extensions`)."""
    from migration_gate.ephemeral.extensions import missing_extension
    from migration_gate.replayskip import ReplayUnavailable

    table = _table(context)
    if not base_done:
        db.execute(context.runner.history_ddl(db.dialect, table))
        broken = migrate(db, context, base, table, fake=False)
        if broken:
            _base_broken(context, broken[0], base, local)
    tracer = _tracer(context) if db.dialect == "postgres" else None
    failures = migrate(db, context, local, table, fake=options.fake, keep_going=True,
                       observer=tracer)
    found = [_failure_diagnostic(failure, failures[0] if index else None)
             for index, failure in enumerate(failures)]
    if tracer is not None:
        from migration_gate import dbfindings

        found.extend(dbfindings.observed_diagnostics(tracer, dbfindings.Ignores(db.dialect)))
    for failure in failures if embedded else ():
        error = failure.error
        name = missing_extension(error.message, error.sqlstate, error.detail)
        if name is not None:
            raise ReplayUnavailable(f"{failure.step.display} needs the extension {name}",
                                    extension=name, fallback=tuple(found))
    return found


def _tracer(context: CheckContext) -> LockTracer:
    """Locks and rewrites of the branch's changed migrations, as refinery's replay observes
    them (`trace.LockTracer`), so `lock-observed`/`rewrite-observed` judge Flyway projects too."""
    from migration_gate.trace import LockTracer

    changed = {m.path for m in context.changed}
    return LockTracer(lambda step: step.path in changed)


def _base_broken(context: CheckContext, failure: StepFailure, base: list[FlywayStep],
                 local: list[FlywayStep]) -> None:
    """Not the branch's fault: raised as `ReplayUnavailable` (a `replay-skipped` finding at
    the base's migration, or exit 2 with `--verify`), naming what was not replayed."""
    from migration_gate import dbfindings
    from migration_gate.ephemeral.extensions import missing_extension
    from migration_gate.replayskip import ReplayUnavailable, Where, hint_for

    step, error = failure.step, failure.error
    code = f" (SQLSTATE {error.sqlstate})" if error.sqlstate else ""
    reason = (f"the base branch's {step.display} does not apply here "
              f"({step.file.path}:{failure.line}: {error.message}{code})")
    in_base = {(s.file.path, s.file.runner_checksum) for s in base}
    branch = [s for s in local if (s.file.path, s.file.runner_checksum) not in in_base]
    later = len(base) - 1 - base.index(step)
    skipped = dbfindings.not_replayed_after_base(step.display, branch, later)
    raise ReplayUnavailable(
        f"cannot replay the migrations: {reason}; {skipped}",
        where=Where(step.file.path, failure.line), hint=hint_for(error.message, error.sqlstate),
        extension=missing_extension(error.message, error.sqlstate, error.detail))


def _failure_diagnostic(failure: StepFailure, after: StepFailure | None) -> Diagnostic:
    from migration_gate.dbfindings import consequence

    error = failure.error
    code = f" (SQLSTATE {error.sqlstate})" if error.sqlstate else ""
    hint = "; ".join(part for part in (error.detail, error.hint) if part) or None
    reason = f"{error.message}{code}"
    return Diagnostic("migration-failed", Severity.ERROR, failure.step.file.path,
                      f"{failure.step.display} fails: {reason}{consequence(failure, after)}",
                      line=failure.line, hint=hint,
                      evidence=FailureEvidence(reason, error.sqlstate))


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


def migrate(db: Database, context: CheckContext, todo: list[FlywayStep], table: str, *,
            fake: bool, keep_going: bool = False, observer: LockTracer | None = None
            ) -> list[StepFailure]:
    """`flyway migrate` of `todo`'s pending migrations; the failures. Flyway stops at the
    first one; with `keep_going` the next ones run too (the failed one without a row), as they
    would once it is fixed."""
    from migration_gate.runners.flyway_history import (
        history_row,
        insert_statement,
        next_installed_rank,
    )

    rows = applied_rows(db, table)
    ranks = [rank for rank, _, _, _ in rows]
    user = str(db.query("SELECT current_user")[0][0]) if db.dialect == "postgres" else "gate"
    failures: list[StepFailure] = []
    for step in list(pending(context.runner, todo, rows)):
        if not fake:
            failed = _run(db, context, step, observer)
            if failed is not None:
                failures.append(StepFailure(step, failed[0], failed[1]))
                if not keep_going:
                    break
                continue
        rank = next_installed_rank(ranks)
        ranks.append(rank)
        row = history_row(step.parsed, step.script, step.file.runner_checksum,
                          installed_rank=rank, installed_by=user)
        db.query(insert_statement(db.dialect, table), row.params())
    return failures


def _run(db: Database, context: CheckContext, step: FlywayStep,
         observer: LockTracer | None = None) -> tuple[DbError, int] | None:
    """One migration in the transaction Flyway uses for it; the error and its line. With an
    `observer` that wants the migration, its locks and rewrites are traced statement by
    statement (inside the transaction, as refinery's replay does)."""
    from migration_gate.runner import DbError
    from migration_gate.sql.split import split_statements

    statements = split_statements(step.sql, db.dialect)
    decision = context.runner.script_transaction([s.text for s in statements], db.dialect)
    if decision.error is not None:
        return DbError(decision.error), 1
    if decision.in_transaction:
        db.execute("BEGIN")
    watching = observer is not None and observer.wants(step)
    for index, statement in enumerate(statements):
        try:
            if watching and observer is not None and index == 0:
                observer.before_migration(db, step)
            db.execute(statement.text)
            if watching and observer is not None:
                observer.after_statement(db, step, statement)
        except DbError as error:
            if decision.in_transaction:
                db.execute("ROLLBACK")
            return error, statement.line
    if decision.in_transaction:
        db.execute("COMMIT")
    return None
