"""`migration-gate lint FILE...`: the SQL rules alone, on files that need not be in git.

This is what the pre-commit hook calls. Folders given are searched for `*.sql` files (not in
hidden folders such as `.git` or `.venv`); `-` reads one file from standard input.
Unreadable input is a finding (`non-utf8-migration`, `empty-migration`) or one clear line
with exit code 2 (a missing path), never a traceback.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from pathlib import Path

import click

from migration_gate.commands._finish import finish
from migration_gate.commands.options import dialect_option, report_options
from migration_gate.diagnostics import Diagnostic, GateError, Severity
from migration_gate.types import Dialect

#: The FILE that means standard input (`cat V1__x.sql | migration-gate lint -`).
STDIN = "-"


@click.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@dialect_option("SQL dialect (default: configured, else refinery.toml's db_type, else "
                "postgres).")
@click.option("--config", "config_file", type=click.Path(path_type=Path),
              help="Configuration file (.migration-gate.yaml or a TOML file).")
@report_options
@click.option("--no-cache", is_flag=True, help="Do not read or write the findings cache.")
def lint(files: tuple[Path, ...], dialect: Dialect | None, config_file: Path | None,
         fmt: str | None, output: Path | None, fail_on: str | None, no_cache: bool) -> None:
    """Lint SQL migration FILEs (or folders of them; `-` for standard input) with the SQL
    rules only."""
    from migration_gate.pipeline import Result, apply_config
    from migration_gate.sql.engine import LintJob, lint_many
    from migration_gate.workspace import load

    if not files:
        raise GateError("no file given: migration-gate lint FILE...")
    config, _repo_root = load(config_file=config_file,
                              overrides={"dialect": dialect, "fail_on": fail_on})
    cwd = Path.cwd()
    paths = [p for p in _expand(files) if not _excluded(p, cwd, config.project_dir,
                                                        config.exclude)]
    diagnostics: list[Diagnostic] = []
    jobs: list[LintJob] = []
    for path in paths:
        shown = _display(path, cwd)
        text, problem = _read(path, shown)
        if problem is not None:
            diagnostics.append(problem)
        elif text is not None:
            jobs.append(LintJob.for_config(shown, text, config))
    for found in lint_many(jobs, use_cache=not no_cache):
        diagnostics.extend(found)
    result = Result(tuple(apply_config(diagnostics, config)), files_checked=len(paths))
    finish(result, fmt=fmt, output=output, root=cwd, fail_on=config.fail_on, command="lint")


def _expand(files: tuple[Path, ...]) -> list[Path]:
    found: list[Path] = []
    for path in files:
        if str(path) == STDIN:
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(_sql_files(path)))
        elif path.is_file():
            found.append(path)
        elif path.exists():
            # a FIFO or a device would block the read forever
            raise GateError(f"not a regular file: {path}")
        elif any(char in str(path) for char in "*?["):
            # the shell passes a pattern that matched nothing through as it is
            raise GateError(f"no file matches {path}")
        else:
            raise GateError(f"file not found: {path}")
    return found


def _sql_files(folder: Path) -> list[Path]:
    """The `*.sql` files under `folder`, at any depth, outside hidden folders (`Path.rglob`
    recurses once per level: a deep enough folder raised `RecursionError`)."""
    from migration_gate.migrations import walk

    found: list[Path] = []
    for dirpath, _dirnames, filenames in walk(folder):
        here = Path(dirpath)
        for name in filenames:
            path = here / name
            if name.endswith(".sql") and path.is_file() and not _hidden(path.relative_to(folder)):
                found.append(path)
    return found


def _hidden(rel: Path) -> bool:
    """Inside a folder given, files under `.git`, `.venv`, `.tox`... are not migrations."""
    return any(part.startswith(".") for part in rel.parts[:-1])


def _display(path: Path, cwd: Path) -> str:
    """The path as the user named it, relative to `cwd` when it is inside (no symlink lookups:
    pre-commit passes thousands of relative paths)."""
    if not path.is_absolute():
        return os.path.normpath(path).replace(os.sep, "/")
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return path.as_posix()


def _excluded(path: Path, cwd: Path, project_dir: Path, patterns: tuple[str, ...]) -> bool:
    if not patterns:
        return False
    candidates = {_display(path, cwd), _display(path.absolute(), project_dir), path.as_posix()}
    return any(fnmatch.fnmatchcase(c, p) for c in candidates for p in patterns)


def _read_stdin() -> bytes:
    """Standard input's bytes; a closed one (`<&-`) is said, not a traceback."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise GateError("standard input is closed: nothing to read for `-`")
    data: bytes = stream.read()
    return data


def _read(path: Path, shown: str) -> tuple[str | None, Diagnostic | None]:
    """The file's text, or the finding that says why it cannot be linted."""
    from migration_gate.checks.folder import EMPTY_MIGRATION, NON_UTF8_MIGRATION, has_statement

    try:
        content = _read_stdin() if shown == STDIN else path.read_bytes()
    except OSError as error:
        raise GateError(f"cannot read {shown}: {error.strerror or error}") from None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, Diagnostic(
            NON_UTF8_MIGRATION.id, Severity.ERROR, shown,
            f"{path.name}: not valid UTF-8 (byte 0x{content[error.start]:02x} at offset "
            f"{error.start}); refinery refuses to read it",
            hint="re-save the file as UTF-8",
        )
    if not has_statement(text):
        return None, Diagnostic(
            EMPTY_MIGRATION.id, EMPTY_MIGRATION.severity, shown,
            f"{path.name}: the file holds no SQL statement",
            hint="write the migration, or delete the file before it is merged",
        )
    return text, None
