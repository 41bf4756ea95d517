"""`status` for a Flyway project: `flyway_schema_history` read (never written) and compared
with the folder the way `flyway info` / `validate` would: applied, pending, checksum
mismatches (divergent) and applied migrations without their file (missing)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from migration_gate.diagnostics import GateError

if TYPE_CHECKING:
    from migration_gate.migrations import MigrationFile
    from migration_gate.runners.model import Runner


def flyway_status(url: str, shown_url: str, table: str, runner: Runner,
                  files: tuple[MigrationFile, ...]) -> dict[str, Any]:
    from migration_gate.ephemeral.server import read_only
    from migration_gate.flyway_replay import applied_rows, pending, runner_steps
    from migration_gate.runner import DbError, history_exists

    local = runner_steps(runner, files)
    try:
        with read_only(url) as db:
            exists = history_exists(db, table)
            rows = applied_rows(db, table) if exists else []
    except DbError as error:
        raise GateError(f"cannot read {table}: {error.message}") from None
    by_version = {s.parsed.version: s for s in local if s.parsed.version is not None}
    divergent: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    for _rank, version_text, _description, checksum in rows:
        if version_text is None:
            continue  # a repeatable: a new checksum is a pending re-run, not an error
        version = runner.parse_version(version_text)
        step = by_version.get(version) if version is not None else None
        if step is None:
            missing.append({"version": version_text, "path": None, "message":
                            f"Detected applied migration not resolved locally: {version_text}"})
        elif step.file.runner_checksum != checksum:
            divergent.append({"version": version_text, "path": step.file.path, "message":
                              f"Migration checksum mismatch for migration version "
                              f"{version_text}: applied {checksum}, resolved locally "
                              f"{step.file.runner_checksum}"})
    versions = [runner.parse_version(v) for _, v, _, _ in rows if v is not None]
    current = max((v for v in versions if v is not None), default=None)
    return {
        "database": shown_url,
        "table": table,
        "table_exists": exists,
        "runner": runner.name,
        "current_version": current.display if current is not None else None,
        "applied": [{"installed_rank": rank, "version": v, "description": d, "checksum": c}
                    for rank, v, d, c in rows],
        "pending": [{"version": s.parsed.version.display if s.parsed.version else None,
                     "name": s.parsed.description, "display": s.display, "path": s.file.path}
                    for s in pending(runner, local, rows)],
        "divergent": divergent,
        "missing": missing,
        "out_of_order": [],
    }
