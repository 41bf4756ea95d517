"""Flyway as a `Runner`: its grammar, versions, checksum, history table, transactions and
placeholders, each read off Flyway's own source (docs/flyway.md names the files).

The pieces live in `flyway_*` modules; this one binds them to one `FlywaySettings`. They are
imported on first use: the registry builds a `FlywayRunner` on every run, refinery projects
included, and the gate's start-up time is paid on every commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from migration_gate.runners.flyway_settings import FlywaySettings
from migration_gate.runners.model import (
    ContentProblem,
    CrashWindow,
    ExecutionModel,
    HistoryRowPlacement,
    HistoryTable,
    Kind,
    NameProblem,
    NonTransactionalPolicy,
    ParsedMigration,
    PlaceholderResult,
    RunnerName,
    ScriptTransaction,
    Version,
)
from migration_gate.types import Dialect

if TYPE_CHECKING:
    from migration_gate.runners.rules_model import RunnerRules

_KINDS = frozenset({Kind.VERSIONED, Kind.REPEATABLE, Kind.UNDO, Kind.BASELINE, Kind.CALLBACK})


@dataclass(frozen=True)
class FlywayRunner:
    """Flyway as a `Runner`, with the settings of the project's configuration."""

    settings: FlywaySettings = field(default_factory=FlywaySettings)
    #: names already parsed: the working tree's and the base's files share most names
    _parsed: dict[str, ParsedMigration | NameProblem] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False)

    @property
    def name(self) -> RunnerName:
        return "flyway"

    @property
    def kinds(self) -> frozenset[Kind]:
        return _KINDS

    @property
    def execution(self) -> ExecutionModel:
        """`DbMigrate.applyMigrations`: each migration in its own transaction (unless it holds a
        statement Flyway detects as non-transactional), the history row written after it."""
        placement = (
            HistoryRowPlacement.SEPARATE_TRANSACTION
            if self.settings.postgresql_transactional_lock
            else HistoryRowPlacement.SAME_TRANSACTION
        )
        return ExecutionModel(
            transaction_per_file=not self.settings.group,
            history_row=placement,
            non_transactional=NonTransactionalPolicy.RUNS_WITHOUT_TRANSACTION,
            notes=(
                "PostgreSQL with postgresql.transactional.lock (the default): the history row "
                "is inserted on Flyway's main connection, inside its advisory-lock transaction, "
                "after the migration's own transaction on a second connection has committed, "
                "so a crash in between re-runs the migration; without that lock Flyway uses one "
                "connection and both share a transaction. MySQL commits DDL implicitly; SQLite "
                "uses one connection (see crash_window). A script Flyway runs without a "
                "transaction autocommits each statement, and a failure there is recorded as a "
                "row with success = false."
            ),
        )

    @property
    def history(self) -> HistoryTable:
        from migration_gate.runners import flyway_history

        return flyway_history.HISTORY_TABLE

    @property
    def rules(self) -> RunnerRules:
        """The folder rules' Flyway facts and wording (`flyway_rules`)."""
        from migration_gate.runners.flyway_rules import FlywayRules

        return FlywayRules(self)

    def parse_name(self, file_name: str) -> ParsedMigration | NameProblem:
        found = self._parsed.get(file_name)
        if found is None:
            from migration_gate.runners import flyway_names

            found = self._parsed[file_name] = flyway_names.parse_file_name(
                file_name, self.settings)
        return found

    def parse_version(self, text: str) -> Version | None:
        from migration_gate.runners import flyway_version

        return flyway_version.parse_version(text)

    def next_version(self, versions: Iterable[Version], now: datetime | None) -> Version:
        from migration_gate.runners import flyway_version

        return flyway_version.next_version(versions, now if now is not None else datetime.now())

    def file_name(self, kind: Kind, version: Version | None, description: str) -> str:
        from migration_gate.runners import flyway_names

        if kind is Kind.UNVERSIONED:
            kind = Kind.VERSIONED  # Flyway has no refinery-style `U`: a versioned migration
        text = version.text if version is not None else None
        return flyway_names.file_name(kind, text, description, self.settings)

    def renamed(self, migration: ParsedMigration, version: Version) -> str:
        """The description exactly as written (`-`, spaces, any script) and the suffix's own
        case: only the version changes."""
        separator = self.settings.sql_migration_separator
        return (f"{migration.prefix}{version.text}{separator}{migration.raw_description}"
                f"{migration.suffix}")

    def checksum(self, migration: ParsedMigration, content: bytes) -> int | ContentProblem:
        """The raw file's checksum. A repeatable's recorded checksum is taken after placeholder
        replacement: use `repeatable_checksum` for those."""
        from migration_gate.runners import flyway_checksum

        return flyway_checksum.checksum(content, self.settings.encoding)

    def repeatable_checksum(
        self, migration: ParsedMigration, content: bytes, builtins: Mapping[str, str | None]
    ) -> int | ContentProblem:
        """`SqlMigrationResolver.getChecksumForLoadableResource`: a repeatable migration with
        placeholder replacement is checksummed after replacement (so `${flyway:timestamp}`
        re-runs it every time); anything else as written."""
        from migration_gate.runners import flyway_checksum, flyway_placeholders

        text = flyway_checksum.decode(content, self.settings.encoding)
        if isinstance(text, ContentProblem):
            return text
        if migration.kind is Kind.REPEATABLE and self.settings.placeholder_replacement:
            text = flyway_placeholders.replace_placeholders(text, self.settings, builtins).text
        return flyway_checksum.checksum_text(text)

    def history_ddl(self, dialect: Dialect, table: str | None = None) -> str:
        from migration_gate.runners import flyway_history

        return flyway_history.history_ddl(dialect, table or self.settings.table,
                                          self.settings.default_schema_name())

    def script_transaction(
        self, statements: Sequence[str], dialect: Dialect = "postgres"
    ) -> ScriptTransaction:
        from migration_gate.runners import flyway_transactions

        return flyway_transactions.flyway_script_transaction(
            statements,
            dialect=dialect,
            mixed=self.settings.mixed,
            execute_in_transaction=self.settings.execute_in_transaction,
            postgres_major=self.settings.postgres_major,
        )

    def crash_window(self, in_transaction: bool, dialect: Dialect = "postgres"
                     ) -> CrashWindow | None:
        """Per database and `postgresql.transactional.lock` (`flyway_crash_window`)."""
        from migration_gate.runners import flyway_transactions

        return flyway_transactions.flyway_crash_window(
            in_transaction, dialect, self.settings.postgresql_transactional_lock)

    def replace_placeholders(
        self, text: str, file_name: str, now: datetime, values: Mapping[str, str] | None = None
    ) -> PlaceholderResult:
        """`values` are what only a database knows, keyed by built-in name (`user`,
        `database`, `current_schema`, `working_directory`); without them Flyway's own
        replacement for a value it cannot get (nothing) is used."""
        from migration_gate.runners import flyway_placeholders

        known = dict(values or {})
        builtins = flyway_placeholders.builtin_placeholders(
            self.settings,
            file_name=file_name,
            now=now,
            user=known.get("user"),
            database=known.get("database"),
            current_schema=known.get("current_schema"),
            working_directory=known.get("working_directory"),
        )
        return flyway_placeholders.replace_placeholders(text, self.settings, builtins)
