"""The database stage: replay the base, verify like refinery, apply the branch, watch it.

1. the `replay.setup` files (`replaysetup`), then the base branch's migrations (at the
   merge-base) are applied with the refinery-compatible runner in a throwaway database -- on
   the embedded PostgreSQL, the resulting data folder is cached by the content of those
   files, so the next check of the same base starts from it, and a base that gained
   migrations since starts from the longest cached prefix (`ephemeral.basecache`). An
   extension the server lacks moves the replay to an installed server that has it
   (`ephemeral.extensions`); a base that still does not replay is not the branch's fault: a
   `replay-skipped` warning (`replayskip`), or exit 2 with `--verify`;
2. refinery's own verification, against the history the base produced, reports the branch as
   divergent or missing with refinery's texts;
3. the branch's pending migrations are applied statement by statement inside the transaction
   refinery would use: a failure is located at its statement (refined by the server's error
   position), and on PostgreSQL each statement of a new or changed migration is observed for
   the locks it took and the relations it rewrote (`migration_gate.trace`).

The whole replay runs under `replay.timeout` (`ephemeral.deadline`): a branch's statement still
running when the time is up is a `migration-failed` finding at that statement, never a hang and
never a skipped replay. The findings' texts live in `dbfindings`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from migration_gate.catalog import RuleDoc
from migration_gate.diagnostics import Diagnostic, GateError, Severity
from migration_gate.pipeline import CheckContext

E, W = Severity.ERROR, Severity.WARNING

MIGRATION_FAILED = RuleDoc(
    "migration-failed", E,
    "The migration fails when applied on top of the base branch's schema.",
    needs="db",
    why="refinery stops at the first failing migration and every later one waits behind it; on "
    "MySQL the statements before the failure are already committed. The replay runs each "
    "statement in the transaction refinery would use, so the error (message, SQLSTATE, hint) "
    "points at the failing statement.",
    example="CREATE INDEX CONCURRENTLY users_email_idx ON users (email);  -- 25001",
    instead="fix the statement; for CONCURRENTLY, see `migration-gate rules "
    "ban-concurrent-index-creation-in-transaction`",
)
REFINERY_DIVERGENT = RuleDoc(
    "refinery-divergent", E,
    "refinery's verification against the base's history reports an applied migration as "
    "different from the file.",
    needs="db",
    why="Every database that ran the base recorded that migration's name and checksum. refinery "
    "aborts with \"applied migration ... is different than filesystem one\" (library default, "
    "CLI `-d`), or silently never applies the change.",
    example="applied migration V3__create_users is different than filesystem one "
    "V3__create_users",
    instead="restore the merged file and put the change in a new migration",
)
REFINERY_MISSING = RuleDoc(
    "refinery-missing", E,
    "refinery's verification against the base's history reports a migration as missing.",
    needs="db",
    why="An applied migration without its file, or a new `V` file at or below the current "
    "version, is reported as \"missing from the filesystem\": refinery aborts (library "
    "default, CLI `-m`) or skips the file for ever.",
    example="migration V5__add_index is missing from the filesystem",
    instead="keep merged files; give new migrations a version above the base's highest",
)
LOCK_OBSERVED = RuleDoc(
    "lock-observed", W,
    "During the replay a statement took a lock that blocks writes (SHARE or stronger) on a "
    "relation that existed before the migration.",
    needs="db",
    why="refinery holds every lock until the migration's transaction commits. ACCESS EXCLUSIVE "
    "blocks every read and write of the table; SHARE, SHARE ROW EXCLUSIVE and EXCLUSIVE block "
    "writes. On a busy table, queries queue behind the migration (and behind its wait for the "
    "lock) and the application stalls. Observed in pg_locks, statement by statement.",
    example="ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
    instead="set a lock_timeout, split the change, or use the online variants (NOT VALID then "
    "VALIDATE, an index built before the constraint)",
    dialects=("postgres",),
)
REWRITE_OBSERVED = RuleDoc(
    "rewrite-observed", W,
    "A statement rewrote an existing table or index (its file node changed).",
    needs="db",
    why="A rewrite copies every row (and rebuilds every index) while holding an ACCESS EXCLUSIVE "
    "lock: on a large table that is minutes of downtime.",
    example="ALTER TABLE orders ALTER COLUMN amount TYPE numeric(12,2);",
    instead="add a new column, backfill it in batches, then switch over",
    dialects=("postgres",),
)

RULES = (MIGRATION_FAILED, REFINERY_DIVERGENT, REFINERY_MISSING, LOCK_OBSERVED, REWRITE_OBSERVED)

BASE_CACHE_PREFIX = "base-"


@dataclass(frozen=True)
class DbOptions:
    """How `check` or `verify` replays: a server URL, and refinery's run options."""

    database_url: str | None = None
    fake: bool = False
    target: int | None = None
    grouped: bool = False
    use_cache: bool = True
    log: Callable[[str], None] | None = field(default=None, compare=False)


def db_stage(context: CheckContext) -> Iterable[Diagnostic]:
    """The `check` stage: on when a database can be had (`--verify` makes it mandatory)."""
    options = DbOptions(database_url=context.config.database_url)
    return run_database_check(context, options)


def run_database_check(context: CheckContext, options: DbOptions) -> list[Diagnostic]:
    """Replay and verify; when the replay cannot run, a `replay-skipped` finding (auto) or a
    `GateError` (`--verify`). A `replay.setup` file that is missing or too large is a
    configuration error either way."""
    from migration_gate.replaysetup import load_setup
    from migration_gate.replayskip import skipped_diagnostic

    setup, changed = load_setup(context)
    if context.verify is True:
        return [*changed, *_guarded_replay(context, options, setup)]
    try:
        return [*changed, *_guarded_replay(context, options, setup)]
    except GateError as error:
        return [*changed, skipped_diagnostic(error, context.folder)]


def _guarded_replay(context: CheckContext, options: DbOptions, setup: Sequence[Any]
                    ) -> list[Diagnostic]:
    """`_replay` under the replay's deadline, with the environment's failures (disk, server
    crash) as one-line errors -- passwords masked, as everywhere."""
    from migration_gate import dbfindings
    from migration_gate.ephemeral.deadline import ReplayDeadline
    from migration_gate.redaction import redact
    from migration_gate.runner import DbError, HistoryRowError

    url = options.database_url or context.config.database_url
    deadline = ReplayDeadline(context.config.replay_timeout)
    try:
        with deadline:
            return _replay(context, options, deadline, tuple(setup))
    except HistoryRowError as error:
        raise GateError(f"the history table holds a row refinery cannot read: {error}") from None
    except DbError as error:
        if deadline.expired:
            reason = dbfindings.timeout_text(deadline.seconds)
            raise GateError(f"{reason} ({redact(error.message, url)})") from None
        raise GateError(f"the database failed outside a migration: "
                        f"{redact(error.message, url)}") from None
    except OSError as error:
        raise GateError(f"the throwaway database failed: {error}") from None
    except GateError as error:
        from migration_gate.replayskip import redacted

        raise redacted(error, url) from None
    except Exception as error:
        if type(error).__module__.split(".")[0] in ("psycopg", "pymysql", "sqlite3"):
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise GateError(f"the throwaway database failed: "
                            f"{redact(first, url) or type(error).__name__}") from None
        raise


# --- choosing the database --------------------------------------------------------------------


def _replay(context: CheckContext, options: DbOptions, deadline: Any, setup: tuple[Any, ...]
            ) -> list[Diagnostic]:
    if not context.is_refinery:  # Flyway: its own history table, order and rows
        from migration_gate.flyway_replay import replay as flyway_replay

        return flyway_replay(context, options, setup)
    base_steps, local_steps = _steps(context)
    url = options.database_url or context.config.database_url
    replay = _Replay(context, options, deadline, base_steps, local_steps, setup,
                     shared_server=bool(url))
    if url:
        from migration_gate.ephemeral.server import throwaway_database

        with throwaway_database(url, deadline=deadline) as db:
            return replay.check(db)
    dialect = context.config.dialect
    if dialect == "sqlite":
        from migration_gate.ephemeral.sqlite import memory_database

        with memory_database() as sqlite_db:
            deadline.watch(sqlite_db)
            return replay.check(sqlite_db)
    if dialect != "postgres":
        raise GateError(
            f"no throwaway {dialect} database to replay on: pass --database-url "
            f"({dialect}://user:password@host/any_db), or skip the replay with `check --no-verify`"
        )
    from migration_gate.ephemeral.extensions import on_a_server_with_extensions

    def attempt(binaries: Any) -> list[Diagnostic]:
        with _embedded_postgres(context, options, replay, binaries) as (db, done, broken):
            return replay.check(db, base_done=done, base_failure=broken)

    texts = [f.text for f in setup] + [step.sql for step in base_steps]
    return on_a_server_with_extensions(context.config.postgres_bin_dir, attempt, context.note,
                                       texts)


def _steps(context: CheckContext) -> tuple[list[Any], list[Any]]:
    """What refinery runs of the base and of the branch. The branch's copy of a base file is
    the same file (equal path and content): its step is the base's, and its checksum -- pure
    Python, 35 us a file, 0.1 s over a 3,000-migration base -- is not computed twice."""
    from migration_gate.runner import runnables

    base_steps: list[Any] = []
    known: dict[Any, list[Any]] = {}
    for file in context.base.files if context.base is not None else ():
        known[file] = runnables([file])
        base_steps.extend(known[file])
    local_steps = [step for file in context.local
                   for step in (known[file] if file in known else runnables([file]))]
    return base_steps, local_steps


def base_cache_keys(version: str, context: CheckContext, base_steps: Sequence[Any],
                    setup: Sequence[Any] = ()) -> list[str]:
    """The replayed base's cache keys, one per prefix (`basecache.chain`): what a snapshot
    depends on -- server version, runner settings, the `replay.setup` files' text (run before
    the first migration, so part of every prefix), and each file, in the order it runs."""
    from migration_gate.ephemeral import basecache
    from migration_gate.replaysetup import setup_key_parts

    config = context.config
    # -4: keyed by prefix
    header = ("migration-gate-base-4", version, config.table_name, str(config.int8_versions),
              *setup_key_parts(tuple(setup)))
    return basecache.chain(header, ((f"{s.path}\0{s.migration.checksum}", s.sql)
                                    for s in base_steps))


@contextlib.contextmanager
def _embedded_postgres(
    context: CheckContext, options: DbOptions, replay: _Replay, binaries: Any
) -> Iterator[tuple[Any, bool, Any]]:
    """The embedded cluster, started from the longest cached prefix of the base; what it
    lacks is replayed here and the base's data folder saved for the next run
    (`ephemeral.basecache`).

    Yields the database, whether the base is applied in it, and the base's failure if it
    was replayed here and failed (so that it is not replayed twice)."""
    from migration_gate.ephemeral import basecache, postgres

    base_steps, deadline = replay.base_steps, replay.deadline

    def replay_base(db: Any, prefix_restored: bool) -> Any:
        # a restored prefix already holds the setup's objects (the setup is in every key)
        return replay.prepare(db, setup=not prefix_restored)

    with basecache.restored_base(
        binaries, base_cache_keys(binaries.version, context, base_steps, replay.setup),
        prefix=BASE_CACHE_PREFIX, cacheable=options.use_cache and bool(base_steps),
        note=context.note, open_db=lambda connection: postgres.PostgresDatabase(
            connection, deadline),
        replay_base=replay_base,
    ) as found:
        yield found


# --- the replay itself ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Replay:
    """One replay: the base, then the branch, judged."""

    context: CheckContext
    options: DbOptions
    deadline: Any  # migration_gate.ephemeral.deadline.ReplayDeadline
    base_steps: Sequence[Any]
    local_steps: Sequence[Any]
    setup: tuple[Any, ...] = ()  # replaysetup.SetupFile
    shared_server: bool = False  # server mode: what the setup may do is limited

    def prepare(self, db: Any, *, setup: bool = True) -> Any:
        """The `replay.setup` files (unless already applied), then the base's migrations (the
        runner skips those the history table holds); the base's failure or None (a setup that
        fails raises `ReplayUnavailable`)."""
        from migration_gate.replaysetup import run_setup
        from migration_gate.runner import run

        if setup:
            run_setup(db, self.setup, shared_server=self.shared_server)
        if not self.base_steps:
            return None
        config = self.context.config
        return run(db, self.base_steps, table=config.table_name,
                   int8=config.int8_versions).failure

    def check(self, db: Any, *, base_done: bool = False, base_failure: Any = None
              ) -> list[Diagnostic]:
        from migration_gate import dbfindings
        from migration_gate.runner import run
        from migration_gate.trace import LockTracer

        context, options = self.context, self.options
        table, int8 = context.config.table_name, context.config.int8_versions
        broken = base_failure or (None if base_done else self.prepare(db))
        if broken is not None:
            self._base_broken(broken)  # raises: `replay-skipped`, or exit 2 with --verify
        changed = {m.path for m in context.changed}
        tracer = (LockTracer(lambda step: step.path in changed) if db.dialect == "postgres"
                  else None)
        report = run(
            db, self.local_steps, table=table, int8=int8, target=options.target,
            fake=options.fake, grouped=options.grouped, observer=tracer, log=options.log,
            keep_going=lambda _failure: not self.deadline.expired,
        )
        diagnostics = list(dbfindings.verification_diagnostics(
            report.plan.issues, self.base_steps, self.local_steps))
        ignores = dbfindings.Ignores(db.dialect)
        for failure in report.failures:
            if not ignores.covers(failure.step, failure.statement_offset, "migration-failed"):
                diagnostics.append(self._failure_diagnostic(failure, report.failures))
        if report.not_run and report.failure is not None:
            context.note(dbfindings.not_replayed_note(
                report.not_run, report.failure, self._stop_reason(report.failure)))
        if tracer is not None:
            diagnostics.extend(dbfindings.observed_diagnostics(tracer, ignores))
        for failure in () if self.shared_server else report.failures:
            self._maybe_elsewhere(failure, diagnostics)
        return diagnostics

    def _maybe_elsewhere(self, failure: Any, diagnostics: list[Diagnostic]) -> None:
        """A branch's `CREATE EXTENSION` of an extension this server lacks: the replay moves
        to a server that has it (`extensions.on_a_server_with_extensions`), else these
        findings stand."""
        from migration_gate.ephemeral.extensions import missing_extension
        from migration_gate.replayskip import ReplayUnavailable

        error = failure.error
        name = missing_extension(error.message, error.sqlstate, error.detail)
        if name is not None and not self.deadline.expired:
            raise ReplayUnavailable(f"{failure.step.display} needs the extension {name}",
                                    extension=name, fallback=tuple(diagnostics))

    def _base_broken(self, broken: Any) -> None:
        """Not this branch's fault (an extension the throwaway server lacks, a role or schema
        production has, SQL of another dialect, a base slower than the replay's time limit):
        the replay cannot judge the branch on a schema it lacks. Raised: `--verify` fails,
        the automatic replay reports `replay-skipped` at the base's migration."""
        from migration_gate import dbfindings
        from migration_gate.ephemeral.extensions import missing_extension
        from migration_gate.replayskip import ReplayUnavailable, Where, hint_for

        where = f"{broken.step.path}:{broken.line}"
        place = Where(broken.step.path, broken.line, broken.column)
        skipped = self._not_replayed_after_base(broken)
        if self.deadline.expired:
            reason = (f"{dbfindings.timeout_text(self.deadline.seconds)}: the base branch's "
                      f"{broken.step.display} was still running ({where})")
            raise ReplayUnavailable(f"cannot replay the migrations: {reason}; {skipped}",
                                    where=place, hint="raise `replay.timeout` (at most 3000 s)")
        error = broken.error
        code = f" (SQLSTATE {error.sqlstate})" if error.sqlstate else ""
        reason = (f"the base branch's {broken.step.display} does not apply here "
                  f"({where}: {self._redact(error.message)}{code})")
        raise ReplayUnavailable(
            f"cannot replay the migrations: {reason}; {skipped}", where=place,
            hint=hint_for(error.message, error.sqlstate),
            extension=missing_extension(error.message, error.sqlstate, error.detail))

    def _not_replayed_after_base(self, broken: Any) -> str:
        from migration_gate import dbfindings

        in_base = {(s.path, s.migration.checksum) for s in self.base_steps}
        branch = [s for s in self.local_steps if (s.path, s.migration.checksum) not in in_base]
        later = len(self.base_steps) - 1 - list(self.base_steps).index(broken.step)
        return dbfindings.not_replayed_after_base(broken.step.display, branch, later)

    def _redact(self, text: str) -> str:
        from migration_gate.redaction import redact

        return redact(text, self.options.database_url or self.context.config.database_url)

    def _failure_diagnostic(self, failure: Any, failures: Sequence[Any]) -> Diagnostic:
        """A failure; the one the time limit stopped (always the last), or one after an
        earlier failure (which it may follow from)."""
        from migration_gate import dbfindings

        if self.deadline.expired and failure is failures[-1]:
            return dbfindings.timeout_diagnostic(failure, self.deadline.seconds)
        first = failures[0]
        return dbfindings.failure_diagnostic(
            failure, self._redact, after=None if failure is first else first)

    def _stop_reason(self, failure: Any) -> str:
        """Why the branch's run did not go on past `failure`."""
        from migration_gate import dbfindings

        if self.deadline.expired:
            return dbfindings.timeout_text(self.deadline.seconds)
        return (f"{failure.step.display} failed in the grouped run: its rollback undid the "
                "whole batch")
