"""refinery as a `Runner`: a thin adapter over `migration_gate.refinery`.

Every answer is the existing module's (docs/refinery.md): the same parse results, checksums and
DDL, byte for byte; this file only translates them into the runner model's types. The fixes
it suggests are the ones the folder rules already give (`checks.folder.corrected_name`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from migration_gate import refinery
from migration_gate.runners.model import (
    Kind,
    ParsedMigration,
    PlaceholderResult,
    RunnerName,
    Version,
)
from migration_gate.types import Dialect

if TYPE_CHECKING:
    from datetime import datetime

    from migration_gate.runners.execution import (
        CrashWindow,
        ExecutionModel,
        HistoryTable,
        ScriptTransaction,
    )
    from migration_gate.runners.problems import ContentProblem, NameIssue, NameProblem
    from migration_gate.runners.rules_model import RunnerRules



@functools.cache
def _issues() -> dict[refinery.NameIssue, NameIssue]:
    """refinery's name issues in the runner model's terms (built when a name has one)."""
    from migration_gate.runners.problems import NameIssue

    return {
        refinery.NameIssue.NO_MATCH: NameIssue.NOT_A_MIGRATION,
        refinery.NameIssue.INVALID_VERSION: NameIssue.INVALID_VERSION,
        refinery.NameIssue.PIPE_PREFIX: NameIssue.PIPE_PREFIX,
    }


_KINDS = {refinery.Prefix.VERSIONED: Kind.VERSIONED, refinery.Prefix.UNVERSIONED: Kind.UNVERSIONED}
#: `prefix.value` without the enum's property lookup, once per file of both sides
_PREFIX_TEXTS = {prefix: prefix.value for prefix in refinery.Prefix}
if TYPE_CHECKING:  # built on first use (`__getattr__`)
    HISTORY_TABLE: HistoryTable
    EXECUTION: ExecutionModel
    #: docs/refinery.md#transactions: the sync drivers commit the SQL, then insert the history
    #: row in a second transaction, whatever the script holds (the wording predates the runner
    #: model).
    CRASH_WINDOW: CrashWindow


@functools.cache
def _history_table() -> HistoryTable:
    from migration_gate.runners.execution import HistoryColumn, HistoryTable

    return HistoryTable(
        refinery.DEFAULT_TABLE,
        (
            HistoryColumn("version", "int4", False, "the version (int8 with int8-versions)"),
            HistoryColumn("name", "VARCHAR(255)", True, "the name after `__`"),
            HistoryColumn("applied_on", "VARCHAR(255)", True, "UTC RFC 3339 text"),
            HistoryColumn("checksum", "VARCHAR(255)", True, "SipHash-1-3, u64 as decimal text"),
        ),
        "u64 as decimal text",
    )


@functools.cache
def _execution() -> ExecutionModel:
    from migration_gate.runners.execution import (
        ExecutionModel,
        HistoryRowPlacement,
        NonTransactionalPolicy,
    )

    return ExecutionModel(
        transaction_per_file=True,
        history_row=HistoryRowPlacement.SEPARATE_TRANSACTION,
        non_transactional=NonTransactionalPolicy.FAILS,
        notes=(
            "The sync drivers (postgres, rusqlite, mysql; the CLI) commit a migration's SQL, "
            "then insert its history row in a second transaction: a crash in between re-runs "
            "it, which is why non-defensive DDL matters (prefer-robust-stmts). Async drivers "
            "and grouped mode use one transaction. Nothing runs outside a transaction "
            "(docs/refinery.md#transactions)."
        ),
    )


@functools.cache
def _crash_window() -> CrashWindow:
    from migration_gate.runners.crash_window import CrashWindow

    return CrashWindow(
        "fails when refinery re-runs the migration after a crash between its two commits",
        "use IF NOT EXISTS / IF EXISTS so that a re-run after a crash between refinery's two "
        "commits succeeds",
    )


#: The runner's constants, built on first use: their classes (`runners.execution`) are not
#: imported by a `check` that never lints nor replays a file.
_CONSTANTS: dict[str, Callable[[], object]] = {
    "HISTORY_TABLE": _history_table, "EXECUTION": _execution, "CRASH_WINDOW": _crash_window,
}


def __getattr__(name: str) -> object:
    build = _CONSTANTS.get(name)
    if build is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = build()
    return value


@functools.lru_cache(maxsize=16384)
def refinery_version(number: int, text: str | None = None) -> Version:
    """refinery's version `number`, written `text` in the file name (`008`). Built once per
    run and shared (a `Version` is frozen): a check asks for every version of both sides twice
    (the file's migration, the versions taken), 10,000 objects on 5,000 files."""
    return Version((number,), text if text is not None else str(number), str(number))


def padded_version(number: int, padding: int) -> Version:
    """refinery's version `number` as the folder writes it (`V008` with padding 3)."""
    return refinery_version(number, f"{number:0{padding}d}" if padding else str(number))


def parsed_from_name(name: refinery.MigrationName, file_name: str) -> ParsedMigration:
    """A name refinery read (`.rs` included) as the runner model's migration."""
    return ParsedMigration(
        kind=_KINDS[name.prefix],
        version=refinery_version(name.version, name.version_text),
        description=name.name,
        raw_description=name.name,
        prefix=_PREFIX_TEXTS[name.prefix],
        suffix=f".{name.extension}",
        file_name=file_name,
    )


@dataclass(frozen=True)
class RefineryRunner:
    """refinery as a `Runner`, with the settings that change its answers."""

    int8_versions: bool = False
    #: `("sql",)` for the CLI and `load_sql_migrations`, `("rs", "sql")` for `embed_migrations!`
    extensions: tuple[str, ...] = ("sql",)
    #: the target server's major version: `ALTER TYPE ... ADD VALUE` fails in a transaction
    #: before PostgreSQL 12
    postgres_major: int = 16

    @property
    def name(self) -> RunnerName:
        return "refinery"

    @property
    def kinds(self) -> frozenset[Kind]:
        return frozenset({Kind.VERSIONED, Kind.UNVERSIONED})

    @property
    def execution(self) -> ExecutionModel:
        return _execution()

    @property
    def history(self) -> HistoryTable:
        return _history_table()

    @property
    def rules(self) -> RunnerRules:
        """The folder rules' refinery facts and wording (`refinery_rules`)."""
        from migration_gate.runners.refinery_rules import RULES

        return RULES

    def parse_name(self, file_name: str) -> ParsedMigration | NameProblem:
        parsed = refinery.parse_file_name(
            file_name, extensions=self.extensions, int8_versions=self.int8_versions
        )
        if isinstance(parsed, refinery.MigrationName):
            return parsed_from_name(parsed, file_name)
        return self.problem(file_name, parsed)

    def problem(self, file_name: str, parsed: refinery.NameProblem) -> NameProblem:
        """refinery's name problem in the runner model's terms."""
        from migration_gate.checks.folder import corrected_name
        from migration_gate.runners.problems import NameFix, NameProblem

        # the folder rules' fix with a stand-in version; the caller allocates the real one
        fixed = corrected_name(file_name, 1, 0)
        kind = Kind.UNVERSIONED if fixed.startswith("U") else Kind.VERSIONED
        description = fixed.split("__", 1)[1][: -len(".sql")]
        fails = parsed.issue is not refinery.NameIssue.NO_MATCH
        message = "migration version must be a valid integer" if (
            parsed.issue is refinery.NameIssue.INVALID_VERSION) else None
        return NameProblem(
            _issues()[parsed.issue], parsed.reason, NameFix(kind, None, description),
            runner_fails=fails, runner_message=message,
        )

    def parse_version(self, text: str) -> Version | None:
        limit = refinery.INT64_MAX if self.int8_versions else refinery.INT32_MAX
        if not (text.isascii() and text.isdigit()) or int(text) > limit:
            return None
        return refinery_version(int(text), text)

    def next_version(self, versions: Iterable[Version], now: datetime | None) -> Version:
        """The highest version + 1, zero-padded like it (`V008` -> `009`). `now` is unused:
        refinery versions are plain integers."""
        highest = max(versions, default=None)
        if highest is None:
            return refinery_version(1)
        number = highest.parts[0] + 1
        width = len(highest.text) if highest.text.startswith("0") else 0
        return refinery_version(number, f"{number:0{width}d}")

    def file_name(self, kind: Kind, version: Version | None, description: str) -> str:
        from migration_gate.pipeline import normalise_description

        if kind not in (Kind.VERSIONED, Kind.UNVERSIONED):
            raise ValueError(f"refinery has no {kind.value} migrations")
        if version is None:
            raise ValueError(f"a {kind.value} migration needs a version")
        prefix = "U" if kind is Kind.UNVERSIONED else "V"
        name = normalise_description(description) or "migration"
        return f"{prefix}{version.text}__{name}.sql"

    def renamed(self, migration: ParsedMigration, version: Version) -> str:
        return f"{migration.prefix}{version.text}__{migration.raw_description}{migration.suffix}"

    def checksum(self, migration: ParsedMigration, content: bytes) -> int | ContentProblem:
        if migration.version is None:
            from migration_gate.runners.problems import ContentProblem

            return ContentProblem("a refinery migration always has a version")
        return refinery.checksum(
            migration.raw_description, migration.version.parts[0], content,
            int8_versions=self.int8_versions,
        )

    def history_ddl(self, dialect: Dialect, table: str | None = None) -> str:
        return refinery.history_table_ddl(
            dialect, table or refinery.DEFAULT_TABLE, int8=self.int8_versions
        )

    def script_transaction(
        self, statements: Sequence[str], dialect: Dialect = "postgres"
    ) -> ScriptTransaction:
        """refinery detects nothing and runs everything in the transaction; on PostgreSQL the
        statements that cannot run there fail with 25001."""
        from migration_gate.runners import transactions
        from migration_gate.runners.execution import ScriptTransaction

        refused = (
            transactions.refusals(statements, self.postgres_major) if dialect == "postgres" else ()
        )
        indexes = {index for index, _ in refused}
        verdict = transactions.verdict_of([i in indexes for i in range(len(statements))])
        return ScriptTransaction(verdict, True, (), refused)

    def crash_window(self, in_transaction: bool, dialect: Dialect = "postgres"
                     ) -> CrashWindow | None:
        """Always: refinery's sync drivers commit a migration and its history row in two
        transactions, on every database (docs/refinery.md#transactions)."""
        return _crash_window()

    def replace_placeholders(
        self, text: str, file_name: str, now: datetime, values: Mapping[str, str] | None = None
    ) -> PlaceholderResult:
        """refinery has no placeholders: the text runs as written."""
        return PlaceholderResult(text)
