"""What a refinery run does with a history table: the migrations it knows, the rows it reads,
and its verdicts (divergent, missing, out of order) with refinery's own message texts.

Split from `migration_gate.refinery`, which still exports every name here: a `check` without
the replay never builds these classes (each frozen dataclass costs its import ~0.5 ms, and
the gate runs on every commit).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from migration_gate.refinery import Prefix


@dataclass(frozen=True)
class Migration:
    """What refinery knows of a migration: prefix, version, name and checksum."""

    prefix: Prefix
    version: int
    name: str
    checksum: int

    @property
    def display(self) -> str:
        return f"{self.prefix.value}{self.version}__{self.name}"


@dataclass(frozen=True)
class AppliedMigration:
    """A row of the history table (applied rows are always shown with a `V`)."""

    version: int
    name: str
    checksum: int
    applied_on: str = ""

    @property
    def display(self) -> str:
        return f"V{self.version}__{self.name}"


class Verdict(str, Enum):
    DIVERGENT = "divergent"
    MISSING = "missing"  # applied, but no file with that version
    OUT_OF_ORDER = "out-of-order"  # a V file below the current version, never applied


@dataclass(frozen=True)
class VerificationIssue:
    """One divergent or missing migration, in refinery's own words."""

    verdict: Verdict
    version: int
    message: str


@dataclass(frozen=True)
class Plan:
    """What a refinery run would do: its findings and the migrations it would apply, in order."""

    current: int
    issues: tuple[VerificationIssue, ...]
    to_apply: tuple[Migration, ...]


def divergent_message(applied: AppliedMigration, local: Migration) -> str:
    return f"applied migration {applied.display} is different than filesystem one {local.display}"


def missing_message(display: str) -> str:
    return f"migration {display} is missing from the filesystem"


def plan_run(
    applied: Iterable[AppliedMigration],
    local: Iterable[Migration],
    *,
    target: int | None = None,
) -> Plan:
    """Decide what refinery applies, and what it reports as divergent or missing.

    Mirrors refinery's `get_migrations` / `verify_migrations`: applied rows without a file are
    missing, applied rows whose file has another name or checksum are divergent, unapplied `V`
    files at or below the current version are reported as missing (and skipped for ever),
    unapplied `U` files below it are applied out of order. `target` stops at that version.
    """
    applied_by_version = {row.version: row for row in applied}
    local_sorted = sorted(local, key=lambda m: m.version)
    local_by_version = {m.version: m for m in local_sorted}
    issues: list[VerificationIssue] = []
    for version, row in sorted(applied_by_version.items()):
        candidate = local_by_version.get(version)
        if candidate is None:
            issues.append(
                VerificationIssue(Verdict.MISSING, version, missing_message(row.display))
            )
        elif candidate.name != row.name or candidate.checksum != row.checksum:
            issues.append(
                VerificationIssue(Verdict.DIVERGENT, version, divergent_message(row, candidate))
            )
    current = max(applied_by_version, default=-1)
    to_apply: list[Migration] = []
    for migration in local_sorted:
        if migration.version in applied_by_version:
            continue
        if migration.version <= current and migration.prefix is Prefix.VERSIONED:
            issues.append(
                VerificationIssue(
                    Verdict.OUT_OF_ORDER, migration.version, missing_message(migration.display)
                )
            )
            continue
        if target is not None and migration.version > target:
            continue
        to_apply.append(migration)
    return Plan(current, tuple(issues), tuple(to_apply))
