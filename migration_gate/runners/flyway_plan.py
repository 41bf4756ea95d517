"""What Flyway's `info`, `validate` and `migrate` decide from the history and the files.

Read off `MigrationInfoServiceImpl.refresh`, `BaseAppliedMigration.getState`,
`ResolvedMigration.getState`, `BaselineResolvedMigration.getState` and
`MigrationInfoImpl.validate` (see docs/flyway.md). Versioned rows are matched to files by
version (and type), repeatable rows by description; a repeatable whose checksum changed is
"outdated" and runs again; an applied migration without a file is "missing"; a file below the
current version that was never applied is "ignored" (an error unless `outOfOrder`). Cherry
picking, undo bookkeeping and Java migrations are not modelled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cmp_to_key

from migration_gate.runners.model import Version

SYNTHETIC_TYPES = frozenset({"SCHEMA", "BASELINE", "DELETE"})
BASELINE_TYPES = frozenset({"BASELINE", "SQL_BASELINE", "JDBC_BASELINE"})


class State(str, Enum):
    """`MigrationState`, by its display name."""

    PENDING = "Pending"
    ABOVE_TARGET = "Above Target"
    BELOW_BASELINE = "Below Baseline"
    BASELINE_IGNORED = "Ignored (Baseline)"
    BASELINE = "Baseline"
    IGNORED = "Ignored"
    MISSING_SUCCESS = "Missing"
    MISSING_FAILED = "Failed (Missing)"
    SUCCESS = "Success"
    FAILED = "Failed"
    OUT_OF_ORDER = "Out of Order"
    FUTURE_SUCCESS = "Future"
    FUTURE_FAILED = "Failed (Future)"
    OUTDATED = "Outdated"
    SUPERSEDED = "Superseded"
    DELETED = "Deleted"

    @property
    def failed(self) -> bool:
        return self in (State.FAILED, State.MISSING_FAILED, State.FUTURE_FAILED)


@dataclass(frozen=True)
class AppliedRow:
    """One row of Flyway's history table."""

    installed_rank: int
    version: Version | None
    description: str
    type: str
    script: str
    checksum: int | None
    success: bool = True


@dataclass(frozen=True)
class LocalMigration:
    """A resolved file: `checksum` after placeholders for repeatables, `equivalent_checksum`
    the raw one (`SqlMigrationResolver`), so that either matches an applied row."""

    version: Version | None
    description: str
    script: str
    checksum: int | None
    type: str = "SQL"
    equivalent_checksum: int | None = None

    def checksummatches_pattern(self, applied: int | None) -> bool:
        return applied == self.checksum or (
            self.equivalent_checksum is not None and applied == self.equivalent_checksum)


@dataclass(frozen=True)
class Entry:
    """One migration as Flyway's `info` lists it: its state, local file and applied row."""

    state: State
    local: LocalMigration | None
    applied: AppliedRow | None
    out_of_order: bool = False

    @property
    def version(self) -> Version | None:
        source = self.applied if self.applied is not None else self.local
        return source.version if source is not None else None

    @property
    def description(self) -> str:
        source = self.applied if self.applied is not None else self.local
        return source.description if source is not None else ""


class Verdict(str, Enum):
    DIVERGENT = "divergent"  # checksum, description or type changed since it was applied
    MISSING = "missing"  # applied, no file any more
    OUT_OF_ORDER = "out-of-order"  # a file below the current version, never applied
    FAILED = "failed"  # a failed row (non-transactional migration that broke half-way)
    PENDING = "pending"
    OUTDATED = "outdated"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Issue:
    """What Flyway's validation reports, with its error code and its own text."""

    verdict: Verdict
    code: str  # Flyway's `CoreErrorCode`
    message: str  # Flyway's own text
    entry: Entry | None = None


@dataclass(frozen=True)
class Plan:
    """What Flyway's `migrate` would do on a database: its entries, issues and migrations to
    apply."""

    current: Version | None
    entries: tuple[Entry, ...]  # in `info` order
    issues: tuple[Issue, ...]  # what `migrate`'s validation (validateOnMigrate) reports
    to_apply: tuple[Entry, ...]


def matches_pattern(pattern: str, versioned: bool, state: State) -> bool:
    """`ValidatePattern.matchesMigration` for a pattern `type:state`."""
    kind, _, wanted = (part.strip().lower() for part in pattern.partition(":"))
    if wanted not in ("*", state.value.lower()):
        return False
    return kind == "*" or kind == ("versioned" if versioned else "repeatable")


def ignores_state(patterns: Sequence[str], state: State) -> bool:
    """`ValidatePatternUtils.is*Ignored`: for both versioned and repeatable migrations."""
    return any(matches_pattern(p, True, state) for p in patterns) and any(
        matches_pattern(p, False, state) for p in patterns)


def _utf16_key(text: str) -> bytes:
    """Java's `String.compareTo` order (UTF-16 code units)."""
    return text.encode("utf-16-be", "surrogatepass")


def entries(
    applied: Iterable[AppliedRow],
    local: Iterable[LocalMigration],
    *,
    out_of_order: bool = False,
    target: Version | None = None,
) -> tuple[list[Entry], Version | None, Version | None]:
    """Every migration with its state in `info` order, the current version and the highest
    applied baseline."""
    rows = sorted(applied, key=lambda r: r.installed_rank)
    files = list(local)
    by_key: dict[tuple[Version | None, str], LocalMigration] = {
        (m.version, m.type): m for m in files if m.version is not None}
    repeatables = {m.description: m for m in files if m.version is None}
    last_resolved = max((m.version for m in files if m.version is not None), default=None)
    deleted: set[int] = set()
    versioned_rows: list[AppliedRow] = []
    for row in rows:
        if row.version is None:
            continue
        if row.type == "DELETE" and row.success:
            for earlier in reversed(versioned_rows):
                if earlier.type not in SYNTHETIC_TYPES and earlier.version == row.version:
                    deleted.add(earlier.installed_rank)
                    break
            continue
        versioned_rows.append(row)
    applied_baseline = max((r.version for r in versioned_rows if r.type in BASELINE_TYPES
                            and r.version is not None), default=None)
    last_applied: Version | None = None
    late: set[int] = set()
    for row in versioned_rows:
        assert row.version is not None
        if last_applied is None or row.version > last_applied:
            if row.installed_rank not in deleted:
                last_applied = row.version
        else:
            late.add(row.installed_rank)
    result: list[Entry] = []
    taken: set[tuple[Version | None, str]] = set()
    for row in versioned_rows:
        match = by_key.get((row.version, row.type))
        if match is not None and row.installed_rank not in deleted:
            taken.add((row.version, row.type))
        result.append(Entry(_applied_state(row, match, last_resolved, deleted, late), match, row,
                            row.installed_rank in late))
    pending = [m for m in files if m.version is not None and (m.version, m.type) not in taken]
    pending_baseline = max((m.version for m in pending
                            if m.type in BASELINE_TYPES and m.version is not None), default=None)
    reference = pending_baseline if last_applied is None else applied_baseline
    has_history = applied_baseline is not None or last_applied is not None
    for migration in pending:
        state = _pending_state(migration, reference, target, last_applied, out_of_order)
        if migration.type in BASELINE_TYPES:
            if state is State.PENDING and has_history:
                state = State.IGNORED
            elif state is State.BASELINE_IGNORED and migration.version == pending_baseline:
                state = State.BASELINE_IGNORED if has_history else State.PENDING
        result.append(Entry(state, migration, None))
    repeatable_rows = [r for r in rows if r.version is None and r.type != "DELETE"]
    latest = {r.description: r.installed_rank for r in repeatable_rows}
    current_runs: set[str] = set()
    for row in repeatable_rows:
        match = repeatables.get(row.description)
        is_latest = latest[row.description] == row.installed_rank
        if match is not None and is_latest and match.checksummatches_pattern(row.checksum):
            current_runs.add(row.description)
        if match is None and is_latest:
            state = State.MISSING_SUCCESS if row.success else State.MISSING_FAILED
        elif not row.success:
            state = State.FAILED
        elif not is_latest:
            state = State.SUPERSEDED
        else:
            assert match is not None
            state = State.SUCCESS if match.checksummatches_pattern(row.checksum) else State.OUTDATED
        result.append(Entry(state, match, row))
    for description, migration in repeatables.items():
        if description not in current_runs:
            result.append(Entry(State.PENDING, migration, None))
    result.sort(key=cmp_to_key(_info_order))
    return result, last_applied, applied_baseline


def _applied_state(row: AppliedRow, match: LocalMigration | None, last_resolved: Version | None,
                   deleted: set[int], late: set[int]) -> State:
    if row.installed_rank in deleted:
        return State.DELETED
    if row.type in BASELINE_TYPES:
        return State.BASELINE
    if match is None and row.type != "SCHEMA":
        assert row.version is not None
        below = last_resolved is not None and row.version < last_resolved
        if below:
            return State.MISSING_SUCCESS if row.success else State.MISSING_FAILED
        return State.FUTURE_SUCCESS if row.success else State.FUTURE_FAILED
    if not row.success:
        return State.FAILED
    return State.OUT_OF_ORDER if row.installed_rank in late else State.SUCCESS


def _pending_state(migration: LocalMigration, reference: Version | None, target: Version | None,
                   last_applied: Version | None, out_of_order: bool) -> State:
    version = migration.version
    assert version is not None
    if reference is not None and version < reference:
        return State.BELOW_BASELINE
    if reference is not None and version == reference:
        return State.BASELINE_IGNORED
    if target is not None and version > target:
        return State.ABOVE_TARGET
    if last_applied is not None and version < last_applied and not out_of_order:
        return State.IGNORED
    return State.PENDING


def _info_order(first: Entry, second: Entry) -> int:
    """`MigrationInfoImpl.compareTo`: applied rows by rank, then pending versioned migrations by
    version (a baseline or undo one after the regular one), then repeatables by description
    (Java's `String.compareTo`, i.e. UTF-16 code units)."""
    if first.applied is not None or second.applied is not None:
        if first.applied is None or second.applied is None:
            return -1 if first.applied is not None else 1
        return _sign(first.applied.installed_rank - second.applied.installed_rank)
    one, two = first.local, second.local
    assert one is not None and two is not None
    if one.version is not None and two.version is not None:
        if one.version != two.version:
            return -1 if one.version < two.version else 1
        return _sign(_after(one) - _after(two))
    if one.version is not None or two.version is not None:
        return -1 if one.version is not None else 1
    key_one, key_two = _utf16_key(one.description), _utf16_key(two.description)
    return (key_one > key_two) - (key_one < key_two)


def _after(migration: LocalMigration) -> int:
    return 1 if migration.type in BASELINE_TYPES or migration.type.startswith("UNDO") else 0


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)
