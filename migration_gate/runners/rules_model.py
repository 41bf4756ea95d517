"""What the folder and history rules ask a runner beyond its grammar: the facts and wording
that differ between runners, so that each rule has one body (`checks/folder.py`,
`checks/history.py`) and each runner's answers live in its own module
(`runners/refinery_rules.py`, `runners/flyway_rules.py`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Protocol

from migration_gate.runners.model import ParsedMigration, Version

if TYPE_CHECKING:
    from migration_gate.runners.problems import ContentProblem, NameProblem


class FolderView(Protocol):
    """What a runner's rule wording may ask of the run (a `CheckContext`): versions are handed
    out by the run, so that one run's findings suggest distinct fixes."""

    def take_version(self, path: str) -> Version:
        """The next free version for the file at `path` (the plan's, when it moves it)."""

    def others(self, rel: str) -> list[ParsedMigration]:
        """Every migration here and on the base except the file at `rel`."""

    def in_folder_style(self, version: Version) -> Version:
        """`version` written the way the folder writes versions (refinery's padding)."""


class RunnerRules(Protocol):
    """What the folder rules say differently per runner: the facts (which files are meant as
    migrations, what tells two migrations apart, how content is decoded) and the wording (the
    runner's own messages, the fix of a name problem). The rules have one body that asks this;
    `Runner.rules` gives it."""

    @property
    def sorted_duplicates(self) -> bool:
        """Duplicates are reported by identity order (refinery: by version) rather than by
        the folder's order."""

    @property
    def plan_hints(self) -> bool:
        """A duplicate the branch's plan moves gets the plan's hint (the whole block)."""

    @property
    def naming_style(self) -> bool:
        """`naming-style` (padding, `name-pattern`) applies to this runner's names."""

    @property
    def encoding_hint(self) -> str:
        """The fix of a file the runner cannot decode."""

    def meant_as_migration(self, file_name: str, problem: NameProblem) -> bool:
        """Whether a misnamed file was meant as a migration (a finding) or is not one."""

    def name_message(self, file_name: str, problem: NameProblem) -> str:
        """Why the name is wrong, in the runner's terms (after `file_name: `)."""

    def name_fix(self, view: FolderView, path: str, rel: str, file_name: str,
                 problem: NameProblem) -> str:
        """The file name a misnamed file should have."""

    def identity(self, parsed: ParsedMigration) -> Hashable | None:
        """What the runner tells migrations apart by (two files with one identity are
        duplicates); None: never a duplicate (a callback)."""

    def duplicate_message(self, own: ParsedMigration, group: Sequence[ParsedMigration],
                          names: str, identical: bool) -> str:
        """`own`'s message when the files `names` share its identity; `identical`: same
        description and checksum."""

    def duplicate_fix(self, view: FolderView, path: str, own: ParsedMigration,
                      keeper: str) -> str:
        """The hint of a duplicate that is not `keeper` (the file that keeps the identity)."""

    def build_time_message(self, parsed: ParsedMigration) -> str | None:
        """Why a migration whose SQL only exists when the program runs cannot be checked, or
        None when it is a plain script."""

    def kind_problem(self, view: FolderView, path: str, rel: str,
                     parsed: ParsedMigration) -> tuple[str, str] | None:
        """(message, hint) when the migration's kind runs differently than its author meant
        (refinery `U`: out of order; Flyway `U` without its `V`: never forward)."""

    def decode(self, content: bytes) -> str | ContentProblem:
        """The content as the runner reads it, or why it cannot."""

    # --- the history rules (`checks/history.py`) ---------------------------------------------

    @property
    def judges_applied(self) -> bool:
        """Production's rows (`--applied`) are judged by version, name and checksum inside the
        history rules (refinery); otherwise by the runner's own out-of-order rules
        (`checks.applied_order`)."""

    @property
    def burns_versions(self) -> bool:
        """A version the base deleted is never reused (`version-reused`)."""

    @property
    def groups_events(self) -> bool:
        """Many deletions or renames of one commit are one finding (`checks.events`)."""

    @property
    def placeholders(self) -> bool:
        """The runner replaces placeholders in a migration's text before it sends it (Flyway's
        `${...}`, some of which read the clock); without them the text runs as written, and
        neither the replacement nor the clock is asked for (a refinery check never imports
        `datetime`)."""

    @property
    def content_claims(self) -> bool:
        """An added file holding a vanished base file's exact content is that file's, never
        another one's by version alone."""

    @property
    def judges_empty_base(self) -> bool:
        """New versions are judged even when the base has none: refinery's history starts at
        0, so the first version is expected to be 1; Flyway's may start anywhere (a
        baseline)."""

    @property
    def reuse_consequence(self) -> str:
        """What the runner does with a file that reuses a burned version."""

    def same_migration(self, old: ParsedMigration, new: ParsedMigration) -> bool:
        """`new` is `old` moved (the runner sees no change)."""

    def same_slot(self, old: ParsedMigration, new: ParsedMigration) -> bool:
        """`new` takes `old`'s place in the history (renamed, same version)."""

    def modification_matters(self, parsed: ParsedMigration | None, old_sum: int | None,
                             new_sum: int | None) -> bool:
        """A changed file the runner will notice (not a repeatable, not line endings only)."""

    def modified_message(self, file_name: str, base_ref: str, old_sum: int | None,
                         new_sum: int | None) -> str:
        """A merged migration changed content."""

    def update_name(self, view: FolderView, path: str, parsed: ParsedMigration | None
                    ) -> str | None:
        """The name of the new migration that should carry a change instead."""

    def deleted_consequence(self, parsed: ParsedMigration, base_ref: str,
                            unapplied: str | None) -> str:
        """What a deleted merged migration does to the databases that ran the base."""

    def renamed_consequence(self, old: ParsedMigration, new: ParsedMigration, base_ref: str,
                            unapplied: str | None) -> str:
        """What a renamed merged migration does to the databases that ran the base."""

    def applies_below(self, version: Version, base_versions: Sequence[Version]) -> bool:
        """A new version below the base's highest is applied anyway (Flyway's outOfOrder)."""

    def not_after_base_message(self, view: FolderView, file_name: str, highest: Version,
                               base_ref: str, since: Sequence[str]) -> str:
        """A new version at or below the base's highest; `since`: files merged there since."""

    def number_label(self, view: FolderView, number: int) -> str:
        """A version number as the gap findings show it (`V008`, `8`)."""

    def renamed_fix(self, view: FolderView, path: str, parsed: ParsedMigration,
                    number: int | None = None) -> str:
        """`parsed` renamed to version `number`, or to the next free one."""
