"""The migration runners the gate knows, behind one interface (`Runner`, in `model`).

    from migration_gate.runners import RUNNERS
    runner = RUNNERS["refinery"]
    runner.parse_name("V1__add_users.sql")   # ParsedMigration | NameProblem

Everything here is pure: no file system, no git, no clock (`now` is passed), no database.
"""

from __future__ import annotations

from migration_gate.runners.model import (
    RUNNER_NAMES,
    ContentProblem,
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
    RunnerName,
    ScriptTransaction,
    ScriptVerdict,
    Version,
)
from migration_gate.runners.refinery import RefineryRunner

#: Each runner with its own defaults; configured runners are built from their classes.
RUNNERS: dict[RunnerName, Runner] = {
    "refinery": RefineryRunner(),
}

__all__ = [
    "RUNNERS",
    "RUNNER_NAMES",
    "ContentProblem",
    "ExecutionModel",
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
    "RunnerName",
    "ScriptTransaction",
    "ScriptVerdict",
    "Version",
]
