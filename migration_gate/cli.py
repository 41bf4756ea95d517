"""The command line: it composes stages, hands the result to a reporter, maps it to an exit code.

Exit codes: 0 clean, 1 findings at the failing severity, 2 usage or environment error (one line
on stderr, never a traceback). Commands of other modules are imported only when invoked, so
that a pre-commit run pays for nothing it does not use.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from migration_gate import __version__
from migration_gate.diagnostics import GateError, Severity

F = TypeVar("F", bound=Callable[..., Any])

#: Commands that live in other modules, imported on first use.
LAZY_COMMANDS: dict[str, str] = {
    "lint": "migration_gate.sql.command:lint",
    "verify": "migration_gate.dbcommands:verify",
    "status": "migration_gate.dbcommands:status",
    "install-hooks": "migration_gate.hookinstall:install_hooks",
}

#: The stages of `check`, in order: folder, history, SQL, database.
CHECK_STAGES: tuple[str, ...] = (
    "migration_gate.checks.folder:check_folder",
    "migration_gate.checks.history:check_history",
    "migration_gate.sql.stage:sql_stage",
    "migration_gate.dbcheck:db_stage",
)


def load_object(spec: str) -> Any:
    module_name, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


class GateGroup(click.Group):
    """A group that loads commands lazily and turns user errors into one line and exit 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            command: click.Command = load_object(LAZY_COMMANDS[cmd_name])
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GateError as error:
            from migration_gate.redaction import redact

            click.echo(f"migration-gate: error: {redact(str(error))}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("migration-gate: interrupted", err=True)
            ctx.exit(130)


@click.group(cls=GateGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="migration-gate")
def cli() -> None:
    """A quality gate for refinery SQL migrations.

    Checks file names, versions and history against the base branch, lints the SQL, and
    replays the migrations in a throwaway database. Exit codes: 0 clean, 1 findings,
    2 usage or environment error.
    """


def main() -> None:
    cli(prog_name="migration-gate")


# --- shared options ---------------------------------------------------------------------------


def folder_options(function: F) -> F:
    """--dir, --base, --dialect and --config: where the migrations are and what to compare with."""
    for decorator in reversed(
        (
            click.option("--dir", "dir_flag", metavar="DIR",
                         help="Migrations folder (default: configured `dir`, else `migrations`)."),
            click.option("--base", "base_flag", metavar="REF",
                         help="Base branch or commit; compared at the merge-base with HEAD."),
            click.option("--dialect", type=click.Choice(["postgres", "mysql", "sqlite", "mssql"]),
                         help="SQL dialect (default: refinery.toml's db_type, else postgres)."),
            click.option("--config", "config_file", type=click.Path(path_type=Path),
                         help="Configuration file (.migration-gate.yaml or a TOML file)."),
        )
    ):
        function = decorator(function)
    return function


def report_options(function: F) -> F:
    """--format, --output and --fail-on."""
    for decorator in reversed(
        (
            click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif"]),
                         help="Report format (default: text; github inside GitHub Actions)."),
            click.option("--output", type=click.Path(path_type=Path), metavar="FILE",
                         help="Write the report to FILE; the terminal still shows the text view."),
            click.option("--fail-on", type=click.Choice(["error", "warning"]),
                         help="Lowest severity that fails the run (default: error)."),
        )
    ):
        function = decorator(function)
    return function


def default_format(fmt: str | None) -> str:
    if fmt:
        return fmt
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


def finish(result: Any, *, fmt: str | None, output: Path | None, root: Path,
           fail_on: Severity, command: str) -> None:
    """Report `result` and exit 0 or 1."""
    from migration_gate.report import ReportOptions, emit, use_color

    options = ReportOptions(root=root, color=use_color(sys.stdout), command=command)
    emit(result, default_format(fmt), options, output)
    sys.exit(1 if result.failed(fail_on) else 0)


# --- check ------------------------------------------------------------------------------------


@cli.command()
@folder_options
@report_options
@click.option("--verify/--no-verify", "verify", default=None,
              help="Replay in an ephemeral database (default: when one can be had).")
@click.option("--all", "lint_all", is_flag=True,
              help="Lint every migration, not only those added or changed versus the base.")
@click.option("--database-url", metavar="URL",
              help="Replay in a throwaway database on this server instead of an embedded one.")
def check(
    dir_flag: str | None, base_flag: str | None, dialect: str | None, config_file: Path | None,
    fmt: str | None, output: Path | None, fail_on: str | None, verify: bool | None,
    lint_all: bool, database_url: str | None,
) -> None:
    """Run every rule on the migrations folder: names, history, SQL and the database replay."""
    from migration_gate.pipeline import NoteCollector, Result, run_stages
    from migration_gate.workspace import build_context

    if database_url and verify is None:
        verify = True  # a server named on the command line is a replay asked for, not a maybe
    note = NoteCollector()

    context = build_context(
        dir_flag=dir_flag, base_flag=base_flag, config_file=config_file,
        overrides={"dialect": dialect, "fail_on": fail_on, "database_url": database_url},
        lint_all=lint_all, verify=verify, note=note,
    )
    stages = [load_object(spec) for spec in check_stages(verify)]
    diagnostics = run_stages(context, stages)
    result = Result(tuple(diagnostics), files_checked=len(context.local),
                    notes=tuple(note.notes))
    finish(result, fmt=fmt, output=output, root=context.root,
           fail_on=context.config.fail_on, command="check")


def check_stages(verify: bool | None) -> Iterable[str]:
    for spec in CHECK_STAGES:
        if spec.startswith("migration_gate.dbcheck") and verify is False:
            continue
        yield spec


# --- next-version, new, list ------------------------------------------------------------------


def _highest(context: Any, all_branches: bool) -> int:
    from migration_gate import gitbase
    from migration_gate.migrations import NamesOnly, discover, max_version
    from migration_gate.workspace import relative_to

    highest: int = context.highest_version
    if all_branches:
        if context.repo_root is None:
            raise GateError("--all-branches needs a git repository")
        folder = relative_to(context.root / context.folder, context.repo_root)
        for ref in gitbase.remote_tracking_refs(context.repo_root):
            tree = gitbase.GitTree(context.repo_root, ref, folder)
            files = discover(NamesOnly(tree), folder_path=folder,
                             exclude=context.config.exclude)
            highest = max(highest, max_version(files))
    return highest


def _local_context(dir_flag: str | None, base_flag: str | None, config_file: Path | None) -> Any:
    from migration_gate.workspace import build_context

    def quiet(_message: str) -> None:
        return None

    return build_context(
        dir_flag=dir_flag, base_flag=base_flag, config_file=config_file, overrides={},
        note=quiet, base_optional=True,
    )


def version_options(function: F) -> F:
    """--dir, --base, --config and --all-branches: where the next version is looked for."""
    for decorator in reversed(
        (
            click.option("--dir", "dir_flag", metavar="DIR", help="Migrations folder."),
            click.option("--base", "base_flag", metavar="REF",
                         help="Base branch (its versions count too)."),
            click.option("--config", "config_file", type=click.Path(path_type=Path)),
            click.option("--all-branches", is_flag=True,
                         help="Also count the versions on every remote-tracking branch."),
        )
    ):
        function = decorator(function)
    return function


def _next_file_name(context: Any, description: str, all_branches: bool) -> str:
    """`V009__add_profiles.sql` for "add profiles": the next free version, the folder's style."""
    from migration_gate.pipeline import normalise_description, suggest_file_name

    name = normalise_description(description)
    if not name:
        raise GateError(f"the description {description!r} has no letters or digits")
    return suggest_file_name(_highest(context, all_branches) + 1, name, context.padding)


@cli.command("next-version")
@click.argument("description", required=False)
@version_options
def next_version(description: str | None, dir_flag: str | None, base_flag: str | None,
                 config_file: Path | None, all_branches: bool) -> None:
    """Print the next free version (V009), or with DESCRIPTION the whole file name."""
    from migration_gate.pipeline import format_version

    context = _local_context(dir_flag, base_flag, config_file)
    if description is None:
        click.echo(format_version(_highest(context, all_branches) + 1, context.padding))
        return
    click.echo(_next_file_name(context, description, all_branches))


@cli.command()
@click.argument("description")
@version_options
def new(description: str, dir_flag: str | None, base_flag: str | None,
        config_file: Path | None, all_branches: bool) -> None:
    """Create the next migration file from a template and print its path."""
    from migration_gate import gitbase

    _start_folder(dir_flag, config_file)
    context = _local_context(dir_flag, base_flag, config_file)
    file_name = _next_file_name(context, description, all_branches)
    target = context.root / context.folder / file_name
    author = ""
    if context.repo_root is not None:
        user = gitbase.config_value(context.repo_root, "user.name")
        email = gitbase.config_value(context.repo_root, "user.email")
        author = " ".join(part for part in (user, f"<{email}>" if email else None) if part)
    # one line whatever the description holds: a newline would turn the rest into SQL
    # (and bytes that are not UTF-8, possible in arguments, become U+FFFD)
    shown = " ".join(description.split()).encode("utf-8", "surrogateescape")
    header = [f"-- {shown.decode('utf-8', 'replace')}"]
    if author:
        header.append(f"-- author: {author}")
    header.append(f"-- date: {date.today().isoformat()}")
    try:
        with target.open("x", encoding="utf-8") as handle:
            handle.write("\n".join(header) + "\n\n")
    except FileExistsError:
        raise GateError(f"{target} already exists") from None
    except OSError as error:
        raise GateError(f"cannot create {target}: {error.strerror}") from None
    click.echo(os.path.relpath(target))


def _start_folder(dir_flag: str | None, config_file: Path | None) -> None:
    """`new` in a project without migrations yet creates the configured (or default) folder,
    as `sqlx migrate add` and `dbmate new` do, instead of refusing the very first migration.
    An explicit `--dir` that does not exist stays an error: it is more likely a typo."""
    from migration_gate.workspace import load

    if dir_flag:
        return
    config, _repo_root = load(config_file=config_file)
    folder = config.migrations_path
    if folder.exists() or folder.is_symlink():
        return  # what is there (a file, a dangling link) is judged by the usual checks
    try:
        folder.mkdir(parents=True)
    except OSError as error:
        raise GateError(f"cannot create the migrations folder {folder}: {error.strerror}"
                        ) from None
    click.echo(f"migration-gate: created the migrations folder {os.path.relpath(folder)}",
               err=True)


@cli.command("list")
@click.option("--dir", "dir_flag", metavar="DIR", help="Migrations folder.")
@click.option("--config", "config_file", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def list_command(dir_flag: str | None, config_file: Path | None, fmt: str) -> None:
    """List the migrations refinery would see: version, name, path and checksum."""
    from migration_gate.gitbase import repository_root
    from migration_gate.migrations import versioned
    from migration_gate.workspace import load, migrations_folder, read_folder

    config, repo_root = load(config_file=config_file)
    folder = migrations_folder(config, dir_flag)
    if dir_flag:
        repo_root = repository_root(folder)  # paths relative to the folder's own repository
    files = read_folder(folder, repo_root or config.project_dir, config)
    rows = []
    ordered = sorted(versioned(files), key=lambda item: (item[1].version, item[0].path))
    for migration, name in ordered:
        rows.append({
            "version": name.version,
            "prefix": name.prefix.value,
            "name": name.name,
            "path": migration.path,
            "checksum": str(migration.checksum) if migration.checksum is not None else None,
        })
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("no migrations")
        return
    width = max(len(f"{r['prefix']}{r['version']}") for r in rows)
    name_width = max(len(str(r["name"])) for r in rows)
    for row in rows:
        label = f"{row['prefix']}{row['version']}"
        click.echo(f"{label:<{width}}  {row['name']:<{name_width}}  {row['checksum'] or '-':>20}  "
                   f"{row['path']}")


# --- rules ------------------------------------------------------------------------------------


@cli.command()
@click.argument("rule_id", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def rules(rule_id: str | None, fmt: str) -> None:
    """Show the rule catalogue, or one rule's documentation."""
    from migration_gate.catalog import all_rules

    catalogue = all_rules()
    if rule_id is not None:
        doc = catalogue.get(rule_id)
        if doc is None:
            import difflib

            close = difflib.get_close_matches(rule_id, list(catalogue), n=1)
            extra = f" (did you mean {close[0]}?)" if close else ""
            raise GateError(f"unknown rule {rule_id!r}{extra}; `migration-gate rules` lists them")
        if fmt == "json":
            click.echo(json.dumps(_rule_json(doc), indent=2))
        else:
            click.echo(doc.render(), nl=False)
        return
    if fmt == "json":
        click.echo(json.dumps([_rule_json(doc) for doc in catalogue.values()], indent=2))
        return
    width = max(len(rule) for rule in catalogue)
    click.echo(f"{'rule':<{width}}  {'severity':<8}  summary")
    for doc in catalogue.values():
        click.echo(f"{doc.id:<{width}}  {doc.severity.value:<8}  {doc.summary}")


def _rule_json(doc: Any) -> dict[str, Any]:
    return {
        "id": doc.id, "severity": doc.severity.value, "needs": doc.needs, "summary": doc.summary,
        "why": doc.why, "example": doc.example, "instead": doc.instead,
    }
