"""`migration-gate list`: the migrations refinery would see, with their checksums."""

from __future__ import annotations

import json
from pathlib import Path

import click

from migration_gate.console import echo, visible


@click.command("list")
@click.option("--dir", "dir_flag", metavar="DIR", help="Migrations folder.")
@click.option("--config", "config_file", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def list_(dir_flag: str | None, config_file: Path | None, fmt: str) -> None:
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
        echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        echo("no migrations")
        return
    rows = [{key: visible(value) if isinstance(value, str) else value
             for key, value in row.items()} for row in rows]
    width = max(len(f"{r['prefix']}{r['version']}") for r in rows)
    name_width = max(len(str(r["name"])) for r in rows)
    for row in rows:
        label = f"{row['prefix']}{row['version']}"
        echo(f"{label:<{width}}  {row['name']:<{name_width}}  {row['checksum'] or '-':>20}  "
             f"{row['path']}")
