"""How a runner executes a migration: its history table, the transactions around a script and
its history row, and the crash window between them. Part of the runner model (`model`, which
still exports every name here).

A module of its own so that a `check` whose files all come from the lint cache never builds
these classes (each frozen dataclass costs its import ~0.5 ms, and the gate runs on every
commit): the lint, the replay and Flyway's modules import them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from migration_gate.runners.crash_window import CrashWindow as CrashWindow


@dataclass(frozen=True)
class HistoryColumn:
    """One column of the runner's history table."""

    name: str
    sql_type: str  # PostgreSQL spelling
    nullable: bool
    meaning: str


@dataclass(frozen=True)
class HistoryTable:
    """The table a runner records applied migrations in."""

    default_name: str
    columns: tuple[HistoryColumn, ...]
    checksum_type: str  # how the checksum is stored: "u64 decimal text", "int32"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


class HistoryRowPlacement(str, Enum):
    """Where the history row of a migration is written, relative to its SQL."""

    SAME_TRANSACTION = "same-transaction"  # a crash leaves neither
    SEPARATE_TRANSACTION = "separate-transaction"  # a crash in between re-runs the migration


class NonTransactionalPolicy(str, Enum):
    """What the runner does with a statement that cannot run inside a transaction."""

    FAILS = "fails"  # refinery: it runs it in the transaction anyway; the database says 25001
    RUNS_WITHOUT_TRANSACTION = "runs-without-transaction"  # Flyway: the whole script, if detected


@dataclass(frozen=True)
class ExecutionModel:
    """How the runner wraps a migration and its history row in transactions."""

    transaction_per_file: bool
    history_row: HistoryRowPlacement
    non_transactional: NonTransactionalPolicy
    notes: str


class ScriptVerdict(str, Enum):
    TRANSACTIONAL = "transactional"
    NON_TRANSACTIONAL = "non-transactional"
    MIXED = "mixed"


@dataclass(frozen=True)
class ScriptTransaction:
    """How a runner runs one script, given its statements.

    `verdict` is the runner's own view (Flyway: what its parser detects; refinery, which detects
    nothing: what the database refuses). `failing` are the statements the database will refuse
    with 25001 because they run inside a transaction anyway; `error` is the runner refusing the
    script before running it (Flyway: mixed statements without `mixed`).
    """

    verdict: ScriptVerdict
    in_transaction: bool
    non_transactional: tuple[int, ...]  # indexes the runner detects as non-transactional
    failing: tuple[tuple[int, str], ...]  # (index, why PostgreSQL refuses it in a transaction)
    error: str | None = None
    offending: int | None = None  # the statement `error` is about

