"""What the folder rules say for refinery: its facts and its wording (`RunnerRules`).

Every message and fix here is the one the folder rules gave before they asked the runner,
byte for byte (docs/refinery.md): a file name refinery's pattern skips or panics on, an `i32`
version, `U` migrations applied out of order, `.rs` migrations built at run time.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from migration_gate.runners.model import ParsedMigration, Version

if TYPE_CHECKING:  # imported where used: a clean folder never has a problem (issue 16)
    from migration_gate.runners.problems import ContentProblem, NameProblem
from migration_gate.runners.rules_model import FolderView

_SKIPPED = "so refinery silently skips this file"


def _printable(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def why_no_match(file_name: str, problem: NameProblem) -> str:
    """Why refinery's pattern does not take the name, the likeliest slip first."""
    from migration_gate.runners.problems import NameIssue

    if problem.issue is NameIssue.PIPE_PREFIX:
        return "a leading `|` matches refinery's `[U|V]` class and then makes refinery panic"
    if _printable(file_name) != file_name:
        return f"the file name is not valid UTF-8, {_SKIPPED}"
    if file_name[:1] in ("v", "u"):
        return f"the prefix must be an upper-case V or U, {_SKIPPED}"
    if not file_name.endswith((".sql", ".rs")):
        return f"the extension must be `.sql` (lower case), {_SKIPPED}"
    if file_name[:1] not in ("V", "U"):
        return f"the name must start with V{{version}}__, {_SKIPPED}"
    if "__" not in file_name:
        return f"the version must be followed by two underscores `__`, {_SKIPPED}"
    return f"{problem.reason}, {_SKIPPED}"


def _decode_error(content: bytes) -> str:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"byte 0x{content[error.start]:02x} at offset {error.start}"
    return "unknown"


@dataclass(frozen=True)
class RefineryRules:
    """The folder and history rules' refinery facts and wording."""

    sorted_duplicates: bool = True
    plan_hints: bool = True
    naming_style: bool = True
    encoding_hint: str = "re-save the file as UTF-8"
    judges_applied: bool = True
    burns_versions: bool = True
    groups_events: bool = True
    placeholders: bool = False
    judges_empty_base: bool = True
    content_claims: bool = True
    reuse_consequence: str = ("databases that ran it keep it in their history and refinery "
                              "reports the new file as divergent or never applies it")

    def meant_as_migration(self, file_name: str, problem: NameProblem) -> bool:
        """A `.sql` file (any case), or a `.rs` file named like a migration, is meant to run."""
        from migration_gate.checks.folder import looks_like_migration

        return looks_like_migration(file_name)

    def name_message(self, file_name: str, problem: NameProblem) -> str:
        from migration_gate.runners.problems import NameIssue

        if problem.issue is NameIssue.INVALID_VERSION:
            return ("migration version must be a valid integer (a whole number that fits in 32 "
                    "bits): refinery stops before applying anything")
        return why_no_match(file_name, problem)

    def name_fix(self, view: FolderView, path: str, rel: str, file_name: str,
                 problem: NameProblem) -> str:
        """An invalid version keeps the name as written; any other slip gets refinery's clean
        name (`checks.folder.corrected_name`)."""
        from migration_gate.runners.problems import NameIssue

        version = view.take_version(path).text
        if problem.issue is NameIssue.INVALID_VERSION:
            stem_name = file_name.split("__", 1)[1].rsplit(".", 1)[0]
            return f"V{version}__{stem_name}.sql"
        from migration_gate.checks.folder import corrected_name

        fixed = corrected_name(file_name, 1, 0)  # `V1__name.sql`: the real version goes in
        return f"{fixed[0]}{version}{fixed[2:]}"

    def identity(self, parsed: ParsedMigration) -> Hashable | None:
        """refinery's history table is keyed by version alone (`V` and `U` share it)."""
        return parsed.version.parts[0] if parsed.version is not None else None

    def duplicate_message(self, own: ParsedMigration, group: Sequence[ParsedMigration],
                          names: str, identical: bool) -> str:
        from migration_gate import refinery

        if identical:
            return refinery.duplicate_message(own.display) + f" ({names})"
        version = own.version.parts[0] if own.version is not None else 0
        return (f"version {version} is used by {len(group)} files ({names}): refinery applies "
                "each, and the second fails on the history table's primary key")

    def duplicate_fix(self, view: FolderView, path: str, own: ParsedMigration,
                      keeper: str) -> str:
        return f"rename to V{view.take_version(path).text}__{own.raw_description}.sql"

    def build_time_message(self, parsed: ParsedMigration) -> str | None:
        if parsed.suffix != ".rs":
            return None
        return ("a Rust migration's SQL only exists at run time; it cannot be linted or "
                "checksummed, and refinery's CLI ignores it")

    def kind_problem(self, view: FolderView, path: str, rel: str,
                     parsed: ParsedMigration) -> tuple[str, str] | None:
        """A `U` file: its own version when it is already the newest (V005 for U5), else the
        next free one."""
        from migration_gate.runners.model import Kind

        if parsed.kind is not Kind.UNVERSIONED or parsed.version is None:
            return None
        highest = max((p.version.parts[0] for p in view.others(rel) if p.version is not None),
                      default=0)
        version = (view.in_folder_style(parsed.version) if parsed.version.parts[0] > highest
                   else view.take_version(path))
        return ("refinery applies U migrations out of order, so their position differs "
                "between databases",
                f"make it versioned: rename to V{version.text}__{parsed.raw_description}.sql")

    def decode(self, content: bytes) -> str | ContentProblem:
        """UTF-8: refinery reads migrations as Rust strings."""
        try:
            return content.decode("utf-8")
        except UnicodeDecodeError:
            from migration_gate.runners.problems import ContentProblem

            return ContentProblem(
                f"not valid UTF-8 ({_decode_error(content)}); refinery refuses to read it")

    # --- the history rules -------------------------------------------------------------------

    def same_migration(self, old: ParsedMigration, new: ParsedMigration) -> bool:
        """refinery identifies a migration by version and name, never by path."""
        return (old.version, old.description) == (new.version, new.description)

    def same_slot(self, old: ParsedMigration, new: ParsedMigration) -> bool:
        return old.version == new.version

    def modification_matters(self, parsed: ParsedMigration | None, old_sum: int | None,
                             new_sum: int | None) -> bool:
        return True  # the checksum covers every byte

    def modified_message(self, file_name: str, base_ref: str, old_sum: int | None,
                         new_sum: int | None) -> str:
        change = (f" (refinery checksum {old_sum} → {new_sum})"
                  if old_sum is not None and new_sum else "")
        return (f"{file_name} was merged on {base_ref} and has changed{change}: every "
                "database that applied it aborts as divergent")

    def update_name(self, view: FolderView, path: str, parsed: ParsedMigration | None
                    ) -> str | None:
        if parsed is None:
            return None
        return f"V{view.take_version(path).text}__update_{parsed.raw_description}.sql"

    def deleted_consequence(self, parsed: ParsedMigration, base_ref: str,
                            unapplied: str | None) -> str:
        if unapplied:
            return (f"production ({unapplied}) never applied it, but any other database that "
                    f"ran {base_ref} reports \"migration {parsed.display} is missing\"")
        return (f"every database that applied it reports \"migration {parsed.display} is "
                "missing from the filesystem\"")

    def renamed_consequence(self, old: ParsedMigration, new: ParsedMigration, base_ref: str,
                            unapplied: str | None) -> str:
        return (
            f"production ({unapplied}) never applied it; other databases that ran {base_ref} "
            "see a " if unapplied else "databases that applied it see a "
        ) + (
            "different name (divergent)" if old.version == new.version
            else "missing version and run its SQL again"
        )

    def applies_below(self, version: Version, base_versions: Sequence[Version]) -> bool:
        return False  # no refinery setting applies a V migration out of order

    def not_after_base_message(self, view: FolderView, file_name: str, highest: Version,
                               base_ref: str, since: Sequence[str]) -> str:
        merged = f" ({', '.join(since)} was merged there since this branch started)" if (
            since) else ""
        return (f"{file_name} is at or below {self.number_label(view, highest.parts[0])}, the "
                f"highest version on {base_ref}{merged}: every database that ran {base_ref} "
                "reports it as missing and never applies it")

    def number_label(self, view: FolderView, number: int) -> str:
        from migration_gate.runners.refinery import refinery_version

        return f"V{view.in_folder_style(refinery_version(number)).text}"

    def renamed_fix(self, view: FolderView, path: str, parsed: ParsedMigration,
                    number: int | None = None) -> str:
        from migration_gate.runners.refinery import refinery_version

        version = (view.take_version(path) if number is None
                   else view.in_folder_style(refinery_version(number)))
        return f"V{version.text}__{parsed.raw_description}.sql"


RULES = RefineryRules()
