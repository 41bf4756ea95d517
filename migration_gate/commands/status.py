"""`migration-gate status`: a live database's history, read-only.

`status` compares a live history table with the folder the way refinery would before a run:
current version, applied, pending, divergent, missing and out-of-order migrations. It opens a
read-only transaction and never writes; it exits 1 when refinery would report a divergent or
missing migration.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from migration_gate.commands.options import add_config, add_runner, add_text_or_json
from migration_gate.console import print_raw
from migration_gate.diagnostics import GateError
from migration_gate.runners.model import RunnerName

if TYPE_CHECKING:
    from argparse import ArgumentParser

    from migration_gate.config import Config
    from migration_gate.refinery import AppliedMigration, Plan
    from migration_gate.runner import Runnable
    from migration_gate.runners.model import RunnerChoice


def read_dotenv(path: Path) -> dict[str, str]:
    """`KEY=value` lines of a `.env` file (quotes stripped, `export ` allowed, `#` comments)."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return values
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values


def refinery_toml_url(main: dict[str, str], project_dir: Path) -> str | None:
    """The URL refinery_cli builds from refinery.toml's `[main]`."""
    db_type = main.get("db_type")
    if db_type == "Sqlite":
        path = main.get("db_path")
        return f"sqlite://{(project_dir / path).as_posix()}" if path else None
    scheme = {"Postgres": "postgres", "Mysql": "mysql"}.get(db_type or "")
    if scheme is None:
        if db_type == "Mssql":
            raise GateError("refinery.toml: Mssql databases are not supported by `status`")
        return None
    user = quote(main.get("db_user", ""), safe="")
    password = main.get("db_pass")
    secret = f":{quote(password, safe='')}" if password else ""
    credentials = f"{user}{secret}@" if user or secret else ""
    host = main.get("db_host", "localhost")
    port = f":{main['db_port']}" if main.get("db_port") else ""
    return f"{scheme}://{credentials}{host}{port}/{quote(main.get('db_name', ''), safe='')}"


def status_url(flag: str | None, config: Config) -> str:
    """--database-url, else DATABASE_URL (environment, then `.env`), else refinery.toml."""
    if flag:
        return flag
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    for folder in dict.fromkeys((Path.cwd(), config.project_dir)):
        value = read_dotenv(folder / ".env").get("DATABASE_URL")
        if value:
            return value
    if config.database_url:
        return str(config.database_url)
    url = refinery_toml_url(dict(config.refinery_main), config.project_dir)
    if url:
        return url
    raise GateError(
        "no database to read: pass --database-url, set DATABASE_URL (or put it in .env), "
        "or describe it in refinery.toml"
    )


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--database-url", dest="database_url", metavar="URL",
                        help="The database (default: DATABASE_URL, .env, then refinery.toml).")
    parser.add_argument("--dir", dest="dir_flag", metavar="DIR", help="Migrations folder.")
    add_config(parser)
    parser.add_argument("--table-name", dest="table_name", metavar="NAME",
                        help="History table (default: configured).")
    add_text_or_json(parser)
    add_runner(parser)


def status(database_url: str | None, dir_flag: str | None, config_file: Path | None,
           table_name: str | None, fmt: str, runner_flag: RunnerName | None) -> None:
    """Compare a live history table with the folder (read-only): applied, pending, divergent,
    missing. Exits 1 when refinery would report a divergent or missing migration."""
    import sys

    from migration_gate import refinery
    from migration_gate.ephemeral.server import read_only, redact
    from migration_gate.runner import HistoryRowError, history_exists, read_history, runnables
    from migration_gate.workspace import choose_runner, load, migrations_folder, read_folder

    config, repo_root = load(config_file=config_file,
                             overrides={"table_name": table_name} if table_name else None)
    url = status_url(database_url, config)
    folder = migrations_folder(config, dir_flag)
    choice = choose_runner(folder, repo_root or config.project_dir, config, runner_flag)
    if choice.name != "refinery":
        _runner_status(url, table_name, folder, repo_root or config.project_dir, config, choice,
                       fmt)
        return
    local = runnables(read_folder(folder, repo_root or config.project_dir, config))
    table = config.table_name
    from migration_gate.runner import DbError

    try:
        with read_only(url) as db:
            exists = history_exists(db, table)
            applied = read_history(db, table, int8=config.int8_versions) if exists else []
    except HistoryRowError as error:
        raise GateError(f"{table} holds a row refinery cannot read (it would panic): "
                        f"{error}") from None
    except DbError as error:
        raise GateError(f"cannot read {table}: {error.message}") from None
    plan = refinery.plan_run(applied, [step.migration for step in local])
    summary = _status_summary(redact(url), table, exists, applied, plan, local)
    if fmt == "json":
        print_raw(json.dumps(summary, indent=2))
    else:
        from migration_gate.console import echo

        echo(_status_text(summary))  # names from the database and the folder: made safe
    bad = summary["divergent"] or summary["missing"] or summary["out_of_order"]
    sys.exit(1 if bad else 0)


def _runner_status(url: str, table_name: str | None, folder: Path, root: Path, config: Config,
                   choice: RunnerChoice, fmt: str) -> None:
    """`status` for a Flyway project: its own history table and verdicts."""
    import sys

    from migration_gate.commands._flyway_status import flyway_status
    from migration_gate.ephemeral.server import redact
    from migration_gate.workspace import non_refinery, read_folder

    runner = choice.runner
    settings = getattr(runner, "settings", None)
    table = table_name or str(getattr(settings, "table", runner.history.default_name))
    files = read_folder(folder, root, config, non_refinery(choice))
    summary = flyway_status(url, redact(url), table, runner, files)
    if fmt == "json":
        print_raw(json.dumps(summary, indent=2))
    else:
        from migration_gate.console import echo

        # names from the database and the folder: made safe, as the refinery path does
        echo(f"runner: {choice.name} ({choice.reason})")
        echo(_status_text(summary))
    sys.exit(1 if summary["divergent"] or summary["missing"] else 0)


def _status_summary(url: str, table: str, exists: bool, applied: list[AppliedMigration],
                    plan: Plan, local: list[Runnable]) -> dict[str, Any]:
    from migration_gate.refinery import Verdict

    path_by_version = {step.migration.version: step.path for step in local}
    issues = {verdict: [i for i in plan.issues if i.verdict is verdict] for verdict in Verdict}

    def issue_rows(verdict: Verdict) -> list[dict[str, Any]]:
        return [{"version": i.version, "message": i.message,
                 "path": path_by_version.get(i.version)} for i in issues[verdict]]

    return {
        "database": url,
        "table": table,
        "table_exists": exists,
        "current_version": plan.current if applied else None,
        "applied": [{"version": a.version, "name": a.name, "applied_on": a.applied_on,
                     "checksum": str(a.checksum)} for a in applied],
        "pending": [{"version": m.version, "name": m.name, "display": m.display,
                     "path": path_by_version.get(m.version)} for m in plan.to_apply],
        "divergent": issue_rows(Verdict.DIVERGENT),
        "missing": issue_rows(Verdict.MISSING),
        "out_of_order": issue_rows(Verdict.OUT_OF_ORDER),
    }


def _status_text(summary: dict[str, Any]) -> str:
    lines = [f"database: {summary['database']} (table {summary['table']})"]
    if not summary["table_exists"]:
        lines.append("history table not found: nothing applied yet")
    current = summary["current_version"]
    lines.append(f"current version: {current if current is not None else '(none)'}")
    counts = ", ".join(f"{len(summary[key])} {key.replace('_', '-')}" for key in
                       ("applied", "pending", "divergent", "missing", "out_of_order"))
    lines.append(counts)
    for key in ("divergent", "missing", "out_of_order"):
        for row in summary[key]:
            lines.append(f"  {key.replace('_', '-')}: {row['message']}")
    for row in summary["pending"]:
        where = f"  ({row['path']})" if row["path"] else ""
        lines.append(f"  pending: {row['display']}{where}")
    return "\n".join(lines)
