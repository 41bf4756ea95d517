"""The stages of `check`, by name and in the order they run: config, folder, history, SQL, database.

A stage is registered here with `@stage(name)`; `check` picks stages by these names. Each
registered function imports its stage's module only when it runs, so that a run without the
replay never imports the database code (nor psycopg), and start-up imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

from migration_gate.diagnostics import Diagnostic
from migration_gate.pipeline import CheckContext, Stage

StageName = Literal["config", "folder", "history", "sql", "database"]

#: Every stage by name, in registration (= run) order.
STAGES: dict[StageName, Stage] = {}


def stage(name: StageName) -> Callable[[Stage], Stage]:
    """Register the decorated function as the stage `name` (once: a second one is a bug)."""

    def register(function: Stage) -> Stage:
        if name in STAGES:
            raise RuntimeError(f"stage {name!r} registered twice")
        STAGES[name] = function
        return function

    return register


@stage("config")
def config_stage(context: CheckContext) -> Iterable[Diagnostic]:
    """What the branch changes in the configuration (the base's governs: baseconfig.py)."""
    return context.config_findings


@stage("folder")
def folder_stage(context: CheckContext) -> Iterable[Diagnostic]:
    """File names, versions, encodings: the folder as refinery would read it."""
    from migration_gate.checks.folder import check_folder

    return check_folder(context)


@stage("history")
def history_stage(context: CheckContext) -> Iterable[Diagnostic]:
    """The rules that compare the folder with the base branch's (needs git)."""
    from migration_gate.checks.history import check_history

    return check_history(context)


@stage("sql")
def sql_stage(context: CheckContext) -> Iterable[Diagnostic]:
    """The SQL rules on the added and changed migrations."""
    from migration_gate.sql.stage import sql_stage as lint_changed

    return lint_changed(context)


@stage("database")
def database_stage(context: CheckContext) -> Iterable[Diagnostic]:
    """The replay in a throwaway database."""
    from migration_gate.dbcheck import db_stage

    return db_stage(context)


def check_stages(verify: bool | None) -> tuple[StageName, ...]:
    """`check`'s stages: all of them, less the database one when the replay is turned off."""
    return tuple(name for name in STAGES if not (name == "database" and verify is False))


def stages_named(names: Iterable[StageName]) -> list[Stage]:
    return [STAGES[name] for name in names]
