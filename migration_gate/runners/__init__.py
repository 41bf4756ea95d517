"""The migration runners the gate knows, behind one interface (`Runner`, in `model`).

    from migration_gate.runners import RUNNERS, detect_runner
    runner = RUNNERS["flyway"]               # Flyway's defaults
    runner = FlywayRunner(FlywaySettings(sql_migration_prefix="M"))   # a configured one
    runner.parse_name("V1.1__add users.sql") # ParsedMigration | NameProblem

Everything here is pure: no file system, no git, no clock (`now` is passed), no database.
"""

from __future__ import annotations

from migration_gate.runners.detect import detect_runner
from migration_gate.runners.flyway import FlywayRunner
from migration_gate.runners.flyway_settings import FlywaySettings
from migration_gate.runners.model import (
    RUNNER_NAMES,
    ContentProblem,
    CrashWindow,
    ExecutionModel,
    HistoryColumn,
    HistoryRowPlacement,
    HistoryTable,
    Kind,
    NameFix,
    NameIssue,
    NameProblem,
    NonTransactionalPolicy,
    ParsedMigration,
    PlaceholderIssue,
    PlaceholderProblem,
    PlaceholderResult,
    Runner,
    RunnerChoice,
    RunnerName,
    ScriptTransaction,
    ScriptVerdict,
    Version,
)
from migration_gate.runners.refinery import RefineryRunner

#: Each runner with its own defaults; configured runners are built from their classes.
RUNNERS: dict[RunnerName, Runner] = {
    "refinery": RefineryRunner(),
    "flyway": FlywayRunner(),
}

__all__ = [
    "RUNNERS",
    "RUNNER_NAMES",
    "ContentProblem",
    "CrashWindow",
    "ExecutionModel",
    "FlywayRunner",
    "FlywaySettings",
    "HistoryColumn",
    "HistoryRowPlacement",
    "HistoryTable",
    "Kind",
    "NameFix",
    "NameIssue",
    "NameProblem",
    "NonTransactionalPolicy",
    "ParsedMigration",
    "PlaceholderIssue",
    "PlaceholderProblem",
    "PlaceholderResult",
    "RefineryRunner",
    "Runner",
    "RunnerChoice",
    "RunnerName",
    "ScriptTransaction",
    "ScriptVerdict",
    "Version",
    "detect_runner",
]
