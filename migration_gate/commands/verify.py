"""`migration-gate verify`: the database stage alone, with refinery's run options."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.commands._finish import default_format, finish, runner_shown
from migration_gate.commands.options import add_folder, add_report
from migration_gate.console import print_raw
from migration_gate.runners.model import RunnerName
from migration_gate.types import Dialect

if TYPE_CHECKING:
    from argparse import ArgumentParser

    from migration_gate.diagnostics import Diagnostic
    from migration_gate.pipeline import CheckContext


def add_arguments(parser: ArgumentParser) -> None:
    add_folder(parser)
    add_report(parser)
    parser.add_argument("--database-url", dest="database_url", metavar="URL",
                        help="Replay in a throwaway database on this server instead of an "
                        "embedded one.")
    parser.add_argument("--fake", action="store_true",
                        help="Only record the branch's migrations in the throwaway history, as "
                        "refinery -f.")
    parser.add_argument("--target", type=int, metavar="N",
                        help="Apply the branch up to version N.")
    parser.add_argument("--grouped", action="store_true",
                        help="Apply the branch's migrations in one transaction, as refinery -g.")


def verify(
    dir_flag: str | None, base_flag: str | None, dialect: Dialect | None,
    runner_flag: RunnerName | None, config_file: Path | None, fmt: str | None,
    output: Path | None, fail_on: str | None,
    database_url: str | None, fake: bool, target: int | None, grouped: bool,
) -> None:
    """Replay the base and the branch in a throwaway database, as refinery would run them.

    Prints refinery's log of the branch's run (`current version: 7`, `applying migration: ...`),
    then the findings: failures, refinery's divergent/missing verification, locks and rewrites.
    """
    from migration_gate.commands.check import project_contexts
    from migration_gate.dbcheck import DbOptions, run_database_check
    from migration_gate.diagnostics import GateError
    from migration_gate.pipeline import NoteCollector, Result

    note = NoteCollector()
    overrides = {"dialect": dialect, "fail_on": fail_on, "database_url": database_url}
    contexts = project_contexts(dir_flag, base_flag, config_file, overrides, False, True, note,
                                runner_flag)
    if len(contexts) != 1:
        names = ", ".join(c.folder for c in contexts)
        raise GateError(f"verify replays one project: pass --dir (projects: {names})")
    context = contexts[0]
    to_stdout = default_format(fmt) == "text"

    def log(line: str) -> None:
        from migration_gate.console import safe_text, write_err

        if to_stdout:
            print_raw(safe_text(line))
        else:
            write_err(line)

    options = DbOptions(fake=fake, target=target, grouped=grouped, log=log)
    diagnostics = merged(context, [*context.config_findings,
                                   *run_database_check(context, options)])
    if to_stdout:
        print_raw()
    result = Result(tuple(diagnostics), files_checked=len(context.local),
                    notes=tuple(note.notes), runner=runner_shown(context))
    finish(result, fmt=fmt, output=output, root=context.root,
           fail_on=context.config.fail_on, command="verify")


def merged(context: CheckContext, found: list[Diagnostic]) -> list[Diagnostic]:
    """One cause, one finding, as `check` reports it: the SQL rules run on the branch's
    migrations only to take in the replay's observations they predicted (`merge`); a static
    finding that took in none is `check`'s business, not the replay's."""
    from migration_gate.dbcheck import RULES
    from migration_gate.pipeline import finalize
    from migration_gate.stages import STAGES

    replay_rules = {rule.id for rule in RULES}
    static = list(STAGES["sql"](context)) if any(d.rule in replay_rules for d in found) else []
    untouched = {(d.rule, d.path, d.line, d.column, d.message) for d in static}
    return [d for d in finalize([*found, *static], context)
            if (d.rule, d.path, d.line, d.column, d.message) not in untouched
            or any(r.rule in replay_rules for r in d.related)]
