"""Production's applied history, the reference the history rules judge against when given.

The base branch is only a proxy for what production ran: after a wrong renumbering on main, or
an edit of an applied migration merged by mistake, the branch that restores production's state
looks like a change of "what was merged". With the history table itself (`--applied FILE`:
what `migration-gate status --format json` prints, or the table exported as CSV/JSON with the
columns version,name,checksum; or `--applied-url URL`, read-only) the question becomes the
right one: does the folder still match what production applied?
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.diagnostics import GateError
from migration_gate.refinery import AppliedMigration

if TYPE_CHECKING:
    from migration_gate.runners.model import Runner, Version

#: a Flyway version with several parts (`1.1`, `2024_01_15`): no refinery version, but a row
_DOTTED = re.compile(r"[0-9]+(?:[._][0-9]+)+")


@dataclass(frozen=True)
class AppliedRow:
    """One row of production's history table.

    `text` is the version as the table holds it: refinery's integer, or a Flyway version
    (`1.1`, `2024.01.15`; empty for a repeatable), for which `version` is -1 (no refinery
    version is negative).
    """

    version: int
    name: str
    checksum: int
    text: str = ""

    @property
    def display(self) -> str:
        return f"V{self.version}__{self.name}"


@dataclass(frozen=True)
class Applied:
    """Production's history, by version, and where it was read from (for messages)."""

    rows: tuple[AppliedRow, ...]
    source: str

    def row(self, version: int) -> AppliedRow | None:
        for row in self.rows:
            if row.version == version:
                return row
        return None

    @property
    def highest(self) -> int:
        return max((row.version for row in self.rows), default=0)

    def versions(self, runner: Runner) -> list[Version]:
        """Every row's version as `runner` reads it (rows it cannot read are left out)."""
        found = [runner.parse_version(row.text) for row in self.rows if row.text]
        return [version for version in found if version is not None]


def parse_applied(text: str, source: str) -> Applied:
    """Rows from `status --format json`, a JSON list of rows, or CSV with a header."""
    stripped = text.lstrip("\ufeff").strip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(stripped)
        except ValueError as error:
            raise GateError(f"{source}: not valid JSON ({error})") from None
        rows = data.get("applied") if isinstance(data, Mapping) else data
        if not isinstance(rows, list):
            raise GateError(f"{source}: expected a list of applied rows or an `applied` key")
        return Applied(tuple(_row(r, source, i) for i, r in enumerate(rows, 1)), source)
    reader = csv.DictReader(io.StringIO(stripped))
    fields = {f.strip().lower() for f in reader.fieldnames or ()}
    if not {"version", "name", "checksum"} <= fields:
        raise GateError(f"{source}: a CSV export needs the columns version,name,checksum")
    return Applied(tuple(
        _row({k.strip().lower(): v for k, v in r.items() if k}, source, i)
        for i, r in enumerate(reader, 2)
    ), source)


def _row(row: object, source: str, number: int) -> AppliedRow:
    if not isinstance(row, Mapping):
        raise GateError(f"{source}: row {number} is not an object with version, name, checksum")
    try:
        raw = row["version"]
        text = "" if raw is None else str(raw).strip()
        # a Flyway repeatable's row has no version; a dotted one is not refinery's
        version = -1 if text == "" or _DOTTED.fullmatch(text) else int(text)
        return AppliedRow(version, str(row["name"]).strip(), int(str(row["checksum"]).strip()),
                          text)
    except (KeyError, ValueError):
        raise GateError(
            f"{source}: row {number} needs an integer version, a name and an integer checksum"
        ) from None


def load_applied(path: Path) -> Applied:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise GateError(f"cannot read the applied history {path}: {reason}") from None
    return parse_applied(text, str(path))


def read_applied_url(url: str, table: str) -> Applied:
    """The live history table, in a read-only transaction (as `status` reads it)."""
    from migration_gate.ephemeral.server import read_only, redact
    from migration_gate.runner import DbError, HistoryRowError, history_exists, read_history

    try:
        with read_only(url) as db:
            found = read_history(db, table) if history_exists(db, table) else []
    except HistoryRowError as error:
        raise GateError(f"{table} holds a row refinery cannot read: {error}") from None
    except DbError as error:
        raise GateError(f"cannot read {table}: {error.message}") from None
    return Applied(_from_history(found), f"{table} at {redact(url)}")


def _from_history(rows: Iterable[AppliedMigration]) -> tuple[AppliedRow, ...]:
    return tuple(AppliedRow(row.version, row.name, row.checksum, str(row.version))
                 for row in rows)
