"""`migration-gate list`: the migrations refinery would see, with their checksums."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migration_gate.commands.options import add_config, add_runner, add_text_or_json
from migration_gate.console import echo, visible
from migration_gate.runners.model import RunnerName

if TYPE_CHECKING:
    from argparse import ArgumentParser

    from migration_gate.migrations import MigrationFile


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--dir", dest="dir_flag", metavar="DIR", help="Migrations folder.")
    add_config(parser)
    add_text_or_json(parser)
    add_runner(parser)


def list_(dir_flag: str | None, config_file: Path | None, fmt: str,
          runner_flag: RunnerName | None) -> None:
    """List the migrations the runner would see: version, name, path and checksum."""
    from migration_gate.gitbase import repository_root
    from migration_gate.migrations import versioned
    from migration_gate.workspace import (
        choose_runner,
        load,
        migrations_folder,
        non_refinery,
        read_folder,
    )

    config, repo_root = load(config_file=config_file)
    folder = migrations_folder(config, dir_flag)
    if dir_flag:
        repo_root = repository_root(folder)  # paths relative to the folder's own repository
    root = repo_root or config.project_dir
    choice = choose_runner(folder, root, config, runner_flag)
    runner = non_refinery(choice)
    files = read_folder(folder, root, config, runner)
    if runner is not None:
        _list_runner(files, fmt, choice.name)
        return
    rows: list[dict[str, Any]] = []
    ordered = sorted(versioned(files), key=lambda item: (item[1].version, item[0].path))
    for migration, name in ordered:
        rows.append({
            "version": name.version,
            "prefix": name.prefix.value,
            "name": name.name,
            "path": migration.path,
            "checksum": str(migration.checksum) if migration.checksum is not None else None,
        })
    _print_rows(rows, fmt, checksum_width=20)


def _list_runner(files: tuple[MigrationFile, ...], fmt: str, runner: str) -> None:
    """A non-refinery runner's migrations in its order (versioned by version, then
    repeatables by description), each with the checksum it records (Flyway's signed CRC32)."""
    from migration_gate.runners.model import Kind

    found = [(m, m.runs_as) for m in files if m.runs_as is not None
             and m.runs_as.kind is not Kind.CALLBACK]
    found.sort(key=lambda item: (item[1].version is None, item[1].version or 0,
                                 item[1].description, item[0].path))
    rows = [{
        "version": parsed.version.display if parsed.version is not None else None,
        "type": parsed.kind.value,
        "prefix": parsed.prefix,
        "name": parsed.description,
        "path": migration.path,
        "checksum": _recorded_checksum(migration),
        "runner": runner,
    } for migration, parsed in found]
    _print_rows(rows, fmt, checksum_width=11)


def _print_rows(rows: list[dict[str, Any]], fmt: str, *, checksum_width: int) -> None:
    """The listing as JSON, or as aligned columns with the repository's names made visible
    (refinery's u64 checksums need 20 columns, Flyway's signed CRC32 11)."""
    if fmt == "json":
        echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        echo("no migrations")
        return
    rows = [{key: visible(value) if isinstance(value, str) else value
             for key, value in row.items()} for row in rows]
    labels = [f"{r['prefix']}{r['version'] if r['version'] is not None else ''}" for r in rows]
    width = max(len(label) for label in labels)
    name_width = max(len(str(r["name"])) for r in rows)
    for label, row in zip(labels, rows, strict=True):
        checksum = row["checksum"] if row["checksum"] is not None else "-"
        echo(f"{label:<{width}}  {row['name']:<{name_width}}  {checksum:>{checksum_width}}  "
             f"{row['path']}")


def _recorded_checksum(migration: MigrationFile) -> int | None:
    """What the runner stores: Flyway checksums a repeatable after placeholder replacement."""
    from datetime import datetime

    from migration_gate.runners.flyway import FlywayRunner
    from migration_gate.runners.flyway_placeholders import builtin_placeholders
    from migration_gate.runners.model import Kind

    runner, parsed = migration.runner, migration.runs_as
    if isinstance(runner, FlywayRunner) and parsed is not None and migration.content is not None \
            and parsed.kind is Kind.REPEATABLE:
        builtins = builtin_placeholders(runner.settings, file_name=migration.file_name,
                                        now=datetime.now())
        value = runner.repeatable_checksum(parsed, migration.content, builtins)
        return value if isinstance(value, int) else None
    return migration.runner_checksum
