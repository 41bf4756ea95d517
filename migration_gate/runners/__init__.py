"""The migration runners the gate knows, behind one interface (`Runner`, in `model`).

    from migration_gate.runners import RUNNERS, detect_runner
    runner = RUNNERS["flyway"]               # Flyway's defaults
    runner = FlywayRunner(FlywaySettings(sql_migration_prefix="M"))   # a configured one
    runner.parse_name("V1.1__add users.sql") # ParsedMigration | NameProblem

Everything here is pure: no file system, no git, no clock (`now` is passed), no database.

The names below are imported on first use (PEP 562 `__getattr__`): importing `runners.model`
imports this package first, and a refinery project's `check` on every commit must not pay for
Flyway's modules (and their frozen dataclasses) it never uses. `default_runner` builds only the
runner asked for.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    RUNNERS: dict[RunnerName, Runner]

#: Where each public name lives (its module under this package).
_WHERE = {
    "detect_runner": "detect",
    "FlywayRunner": "flyway",
    "FlywaySettings": "flyway_settings",
    "RefineryRunner": "refinery",
    **{name: "model" for name in (
        "RUNNER_NAMES", "ContentProblem", "CrashWindow", "ExecutionModel", "HistoryColumn",
        "HistoryRowPlacement", "HistoryTable", "Kind", "NameFix", "NameIssue", "NameProblem",
        "NonTransactionalPolicy", "ParsedMigration", "PlaceholderIssue", "PlaceholderProblem",
        "PlaceholderResult", "Runner", "RunnerChoice", "RunnerName", "ScriptTransaction",
        "ScriptVerdict", "Version",
    )},
}

_DEFAULTS: dict[str, Runner] = {}


def default_runner(name: RunnerName) -> Runner:
    """The runner `name` with its own defaults, built once per process (the same object as
    `RUNNERS[name]`), importing that runner's module alone."""
    runner = _DEFAULTS.get(name)
    if runner is None:
        if name == "flyway":
            from migration_gate.runners.flyway import FlywayRunner

            runner = FlywayRunner()
        elif name == "refinery":
            from migration_gate.runners.refinery import RefineryRunner

            runner = RefineryRunner()
        else:
            raise KeyError(name)  # as `RUNNERS[name]`
        runner = _DEFAULTS.setdefault(name, runner)
    return runner


def __getattr__(name: str) -> object:
    if name == "RUNNERS":
        value: object = {"refinery": default_runner("refinery"),
                         "flyway": default_runner("flyway")}
    elif name in _WHERE:
        value = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


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
    "default_runner",
    "detect_runner",
]
