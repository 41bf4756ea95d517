"""What the folder rules say for Flyway: its facts and its wording (`RunnerRules`).

Versions are Flyway's (`1` and `1.0` are one version, `V1_1` is `1.1`); a migration is told
apart by its version per kind, a repeatable by its description (`Found more than one
migration with version ...`, `MigrationResolver`); content is decoded in the configured
encoding. The messages quote Flyway's own where it has one.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from migration_gate.runners.model import (
    ContentProblem,
    Kind,
    NameIssue,
    NameProblem,
    ParsedMigration,
    Version,
)
from migration_gate.runners.rules_model import FolderView

if TYPE_CHECKING:
    from migration_gate.runners.flyway import FlywayRunner

_VERSIONED = (Kind.VERSIONED, Kind.UNDO, Kind.BASELINE)


@dataclass(frozen=True)
class FlywayRules:
    """The folder and history rules' Flyway facts and wording."""

    runner: FlywayRunner
    sorted_duplicates: bool = False
    plan_hints: bool = False
    naming_style: bool = False
    encoding_hint: str = "re-save the file in the configured encoding (UTF-8)"
    judges_applied: bool = False  # `checks.applied_order.flyway_below_applied` does
    burns_versions: bool = False
    groups_events: bool = False
    placeholders: bool = True
    judges_empty_base: bool = False
    content_claims: bool = False
    reuse_consequence: str = "databases that ran it fail Flyway's validation"

    def meant_as_migration(self, file_name: str, problem: NameProblem) -> bool:
        """A file Flyway does not read is only a finding if it was meant as a migration."""
        if problem.issue is not NameIssue.NOT_A_MIGRATION:
            return True
        suffixes = tuple(s.lower() for s in self.runner.settings.sql_migration_suffixes)
        return file_name.lower().endswith((".sql", *suffixes))

    def name_message(self, file_name: str, problem: NameProblem) -> str:
        said = f" (Flyway: \"{problem.runner_message}\")" if problem.runner_message else ""
        return f"{problem.reason}{said}"

    def name_fix(self, view: FolderView, path: str, rel: str, file_name: str,
                 problem: NameProblem) -> str:
        """The runner's own fix, with a free version."""
        fix = problem.fix
        if problem.suggestion is not None and (fix.version is None or fix.version not in {
                p.version for p in view.others(rel) if p.version}):
            return problem.suggestion
        if fix.kind is Kind.CALLBACK:
            return problem.suggestion or file_name
        version = None if fix.kind is Kind.REPEATABLE else view.take_version(path)
        return self.runner.file_name(fix.kind, version, fix.description)

    def identity(self, parsed: ParsedMigration) -> Hashable | None:
        """The version (per kind), a repeatable's description; callbacks are hooks."""
        if parsed.kind is Kind.CALLBACK:
            return None
        if parsed.kind in _VERSIONED and parsed.version is not None:
            return parsed.kind.value, parsed.version
        return parsed.kind.value, parsed.description

    def duplicate_message(self, own: ParsedMigration, group: Sequence[ParsedMigration],
                          names: str, identical: bool) -> str:
        parsed = group[0]
        if parsed.version is not None:
            what = f"version {parsed.version.display}"
            said = f"Found more than one migration with version {parsed.version.display}"
        else:
            what = f"the repeatable description \"{parsed.description}\""
            said = ("Found more than one repeatable migration with description "
                    f"{parsed.description}")
        return (f"{what} is used by {len(group)} files ({names}): Flyway refuses to "
                f"migrate (\"{said}\")")

    def duplicate_fix(self, view: FolderView, path: str, own: ParsedMigration,
                      keeper: str) -> str:
        if own.version is None:
            return "give it another description, or merge it into " + keeper
        version = view.take_version(path)
        return "rename to " + self.runner.file_name(own.kind, version, own.raw_description)

    def build_time_message(self, parsed: ParsedMigration) -> str | None:
        return None  # Flyway's SQL migrations are all scripts (Java ones are not read)

    def kind_problem(self, view: FolderView, path: str, rel: str,
                     parsed: ParsedMigration) -> tuple[str, str] | None:
        """A `U` file whose version no versioned migration has: refinery's, not Flyway's."""
        if parsed.kind is not Kind.UNDO:
            return None
        versions = {p.version for p in view.others(rel) if p.kind is Kind.VERSIONED}
        if parsed.version in versions:
            return None
        fix = self.runner.file_name(Kind.VERSIONED, view.take_version(path),
                                    parsed.raw_description)
        return (f"Flyway reads this as the undo of version "
                f"{parsed.version.display if parsed.version else '?'}, which no migration has: a "
                "refinery unversioned migration in a Flyway folder never runs",
                f"rename to {fix}")

    def decode(self, content: bytes) -> str | ContentProblem:
        from migration_gate.runners.flyway_checksum import decode

        return decode(content, str(self.runner.settings.encoding))

    # --- the history rules -------------------------------------------------------------------

    def same_migration(self, old: ParsedMigration, new: ParsedMigration) -> bool:
        """Moved: same name (Flyway does not mind the folder)."""
        return old.file_name == new.file_name

    def same_slot(self, old: ParsedMigration, new: ParsedMigration) -> bool:
        return old.version is not None and new.version == old.version and (
            new.kind is old.kind)

    def modification_matters(self, parsed: ParsedMigration | None, old_sum: int | None,
                             new_sum: int | None) -> bool:
        """Flyway re-runs a changed repeatable (that is what it is for), and its checksum reads
        lines: a change of line endings only is none."""
        if parsed is None or parsed.kind in (Kind.REPEATABLE, Kind.CALLBACK):
            return False
        return old_sum is None or old_sum != new_sum

    def modified_message(self, file_name: str, base_ref: str, old_sum: int | None,
                         new_sum: int | None) -> str:
        change = f" (Flyway checksum {old_sum} → {new_sum})" if old_sum is not None else ""
        return (f"{file_name} was merged on {base_ref} and has changed{change}: every "
                "database that applied it fails Flyway's validation (\"Migration checksum "
                "mismatch\")")

    def update_name(self, view: FolderView, path: str, parsed: ParsedMigration | None
                    ) -> str | None:
        if parsed is None or parsed.version is None:
            return None
        return self.runner.file_name(Kind.VERSIONED, view.take_version(path),
                                     f"update_{parsed.raw_description}")

    def deleted_consequence(self, parsed: ParsedMigration, base_ref: str,
                            unapplied: str | None) -> str:
        return ("every database that applied it fails Flyway's validation (\"Detected applied "
                f"migration not resolved locally: {parsed.display}\")")

    def renamed_consequence(self, old: ParsedMigration, new: ParsedMigration, base_ref: str,
                            unapplied: str | None) -> str:
        return ("databases that applied it fail Flyway's validation (its version or "
                "description changed)")

    def applies_below(self, version: Version, base_versions: Sequence[Version]) -> bool:
        """outOfOrder: Flyway applies a new version below the highest one."""
        return self.runner.settings.out_of_order and version not in base_versions

    def not_after_base_message(self, view: FolderView, file_name: str, highest: Version,
                               base_ref: str, since: Sequence[str]) -> str:
        return (f"{file_name} is at or below {highest.display}, the highest version on "
                f"{base_ref}: every database that ran {base_ref} ignores it (Flyway: "
                "\"Detected resolved migration not applied to database\") unless outOfOrder")

    def number_label(self, view: FolderView, number: int) -> str:
        return str(number)

    def renamed_fix(self, view: FolderView, path: str, parsed: ParsedMigration,
                    number: int | None = None) -> str:
        version = (view.take_version(path) if number is None
                   else self.runner.parse_version(str(number)))
        return self.runner.file_name(Kind.VERSIONED, version, parsed.raw_description)
