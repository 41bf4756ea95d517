"""One pipeline: a read-only context, stages that yield diagnostics, one result.

A stage is any `Callable[[CheckContext], Iterable[Diagnostic]]`. `check` runs the folder,
history, SQL and database stages in that order; `lint` runs the SQL stage alone. Severity
overrides and disabled rules from the configuration are applied here, once, for every stage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.burned import BurnedVersion
from migration_gate.config import Config
from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.gitbase import Base
from migration_gate.migrations import MigrationFile, infer_padding, max_version
from migration_gate.naming import RunnerVersionAllocator as RunnerVersionAllocator
from migration_gate.naming import VersionAllocator as VersionAllocator
from migration_gate.naming import format_version as format_version
from migration_gate.naming import normalise_description as normalise_description
from migration_gate.naming import suggest_file_name as suggest_file_name
from migration_gate.plan import Member, Plan, make_plan
from migration_gate.refinery import Prefix

if TYPE_CHECKING:
    from datetime import datetime

    from migration_gate.applied import Applied
    from migration_gate.runners.model import (
        NameProblem,
        ParsedMigration,
        Runner,
        RunnerChoice,
        Version,
    )


@dataclass(frozen=True)
class BaseSnapshot:
    """The base branch's migrations folder at the merge-base."""

    base: Base
    files: tuple[MigrationFile, ...]
    #: The base tip's files when the base moved on since the merge-base (names only, content not
    #: read): a version merged there meanwhile is taken, even though the merge-base lacks it.
    tip_files: tuple[MigrationFile, ...] = ()
    #: Versions the base's history once held and deleted since (`burned`): never reused.
    burned: tuple[BurnedVersion, ...] = ()
    #: The folder the base keeps these migrations in, when this branch moved the folder.
    moved_from: str | None = None


def _now_unless_refinery(runner: Runner) -> datetime | None:
    """The moment a plan's versions may be made of (Flyway's timestamps); None for refinery,
    whose versions are integers: a refinery check never imports `datetime`."""
    if runner.name == "refinery":
        return None
    from datetime import datetime

    return datetime.now()


def _stderr_note(message: str) -> None:
    from migration_gate.console import say
    from migration_gate.redaction import redact  # a note may quote a driver's error

    say(redact(message))


class NoteCollector:
    """A `note` that says each message on stderr at once and keeps it for the report."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def __call__(self, message: str) -> None:
        from migration_gate.redaction import redact

        message = redact(message)
        _stderr_note(message)
        self.notes.append(message)


@dataclass(frozen=True)
class CheckContext:
    """Everything a stage may look at. Stages never write to it."""

    config: Config
    root: Path  # diagnostics' paths are relative to this (the repository root, or the project)
    repo_root: Path | None
    folder: str  # the migrations folder relative to `root`
    local: tuple[MigrationFile, ...]
    base: BaseSnapshot | None = None
    lint_all: bool = False  # lint every migration, not only the added and changed ones
    verify: bool | None = None  # None: when an ephemeral database can be had
    #: Production's applied history (`--applied`): the history rules' reference when given.
    applied: Applied | None = None
    note: Callable[[str], None] = field(default=_stderr_note, compare=False)
    #: the runner and why it was chosen; None: refinery, the gate's original runner
    runner_choice: RunnerChoice | None = field(default=None, compare=False)

    @cached_property
    def runner(self) -> Runner:
        """The chosen runner; refinery with the configured `int8-versions` (its versions and
        checksums depend on it). Built once: the stages ask for it per file."""
        from migration_gate.runners import default_runner
        from migration_gate.runners.refinery import RefineryRunner

        runner = self.runner_choice.runner if self.runner_choice else default_runner("refinery")
        if isinstance(runner, RefineryRunner) and self.config.int8_versions != (
                runner.int8_versions):
            return RefineryRunner(self.config.int8_versions, runner.extensions,
                                  runner.postgres_major)
        return runner

    @cached_property
    def is_refinery(self) -> bool:
        """Whether the refinery rules apply (their behaviour predates the runner model)."""
        return self.runner.name == "refinery"
    #: `config-changed` findings: what the branch changes in the configuration the base governs
    config_findings: tuple[Diagnostic, ...] = ()

    @cached_property
    def base_by_rel(self) -> dict[str, MigrationFile]:
        return {m.rel: m for m in self.base.files} if self.base else {}

    @cached_property
    def base_files(self) -> tuple[MigrationFile, ...]:
        """The base's files at the merge-base and, names only, those merged on it since."""
        return (*self.base.files, *self.base.tip_files) if self.base else ()

    @cached_property
    def changed(self) -> tuple[MigrationFile, ...]:
        """Working-tree files added or modified versus the base (all of them without a base)."""
        if self.base is None:
            return self.local
        base = self.base_by_rel
        return tuple(
            m for m in self.local if m.rel not in base or (
                base[m.rel] is not m and base[m.rel].content != m.content)
        )  # `is`: a file git vouched for is the base's, its content never read

    @cached_property
    def added(self) -> tuple[MigrationFile, ...]:
        """Working-tree files whose path is not on the base (all of them without a base)."""
        if self.base is None:
            return self.local
        base = self.base_by_rel
        return tuple(m for m in self.local if m.rel not in base)

    @property
    def to_lint(self) -> tuple[MigrationFile, ...]:
        return self.local if self.lint_all else self.changed

    @cached_property
    def padding(self) -> int:
        if self.config.padding is not None:
            return self.config.padding
        reference = self.base.files if self.base and self.base.files else self.local
        return infer_padding(reference)

    @cached_property
    def allocator(self) -> VersionAllocator:
        """Shared by the stages of one run (the one piece of state they share): the plan's
        versions for the branch's new migrations, the next free ones for anything else."""
        plan = self.plan
        if plan is None:
            return VersionAllocator(self.highest_version)
        return VersionAllocator(plan.next_free.parts[0] - 1,
                                {m.path: m.new.parts[0] for m in plan.moves})

    @cached_property
    def runner_allocator(self) -> RunnerVersionAllocator:
        """The allocator of a non-refinery runner: versions in the project's own scheme."""
        from datetime import datetime

        taken = [m.runs_as.version for m in (*self.local, *self.base_files)
                 if m.runs_as is not None and m.runs_as.version is not None]
        plan = self.plan
        planned = {m.path: m.new for m in plan.moves} if plan is not None else {}
        return RunnerVersionAllocator(self.runner, [*taken, *planned.values()], datetime.now(),
                                      planned)

    @cached_property
    def highest_version(self) -> int:
        """The highest version taken: here, on the base, burned on the base, and after the
        plan's block (the next free version is one more)."""
        if self.plan is not None:
            return self.plan.next_free.parts[0] - 1
        return max(max_version(self.local), max_version(self.base_files))

    @cached_property
    def block(self) -> tuple[MigrationFile, ...]:
        """The branch's new versioned migrations, which move together (`plan`): added files
        that are not a base migration moved, renamed or merged on the base meanwhile."""
        if self.base is None:
            return ()
        if not self.is_refinery:
            return self._runner_block()
        local_rels = {m.rel for m in self.local}
        vanished = [m for m in self.base.files if m.rel not in local_rels and m.name]
        tip_identities = {(m.name.version, m.name.name) for m in self.base.tip_files if m.name}
        block = []
        for migration in self.added:
            name = migration.name
            if name is None or name.prefix is not Prefix.VERSIONED:
                continue
            if (name.version, name.name) in tip_identities:
                continue
            row = self.applied.row(name.version) if self.applied else None
            if row is not None and (row.name, row.checksum) == (name.name, migration.checksum):
                continue  # production's own migration, put back: it keeps its version
            if any(
                old.name is not None and (
                    old.name.version == name.version or old.content == migration.content
                )
                for old in vanished
            ):
                continue
            block.append(migration)
        return tuple(block)

    def _runner_block(self) -> tuple[MigrationFile, ...]:
        """`block` for a runner other than refinery: its added versioned migrations that are
        not a base migration moved, renamed or merged on the base meanwhile (repeatables have
        no version: they never move)."""
        from migration_gate.runners.model import Kind

        assert self.base is not None
        local_rels = {m.rel for m in self.local}
        vanished = [m for m in self.base.files if m.rel not in local_rels and m.runs_as]
        tip_names = {m.file_name for m in self.base.tip_files}
        block = []
        for migration in self.added:
            parsed = migration.runs_as
            if parsed is None or parsed.kind is not Kind.VERSIONED or parsed.version is None:
                continue
            if migration.file_name in tip_names or any(
                old.file_name == migration.file_name or old.content == migration.content
                or (old.runs_as is not None and old.runs_as.version == parsed.version)
                for old in vanished
            ):
                continue
            block.append(migration)
        return tuple(block)

    def taken_versions(self, block_files: Iterable[MigrationFile] | None = None
                       ) -> set[Version]:
        """Versions the block may not use: the base's (merge-base and tip), the burned ones,
        and the files here that are not part of the block."""
        from migration_gate.runners.refinery import padded_version

        block = {m.rel for m in (self.block if block_files is None else block_files)}
        if not self.is_refinery:
            return self._runner_taken(block)
        taken = {name.version for m in self.base_files if (name := m.name) is not None}
        taken |= {b.version for b in self.base.burned} if self.base else set()
        # a U file's version is a row of the history table too
        taken |= {
            name.version for m in self.local if m.rel not in block and (name := m.name) is not None
        }
        # production's rows (`--applied`): a version it ran is never free, whatever the base says
        taken |= {row.version for row in self.applied.rows if row.version >= 0} if (
            self.applied) else set()
        return {padded_version(v, self.padding) for v in taken | {0}}

    def _runner_taken(self, block: set[str]) -> set[Version]:
        from migration_gate.runners.model import Kind

        kinds = (Kind.VERSIONED, Kind.BASELINE, Kind.UNDO)
        files = [*self.base_files, *(m for m in self.local if m.rel not in block)]
        taken = {parsed.version for m in files if (parsed := m.runs_as) is not None
                 and parsed.kind in kinds and parsed.version is not None}
        for burned in self.base.burned if self.base else ():
            version = self.runner.parse_version(str(burned.version))
            if version is not None:
                taken.add(version)
        if self.applied is not None:
            taken |= set(self.applied.versions(self.runner))
        return taken

    def migration_of(self, migration: MigrationFile) -> ParsedMigration | None:
        """The file as the runner model sees it (refinery's `.rs` files included)."""
        if not self.is_refinery:
            return migration.runs_as
        return migration.refinery_migration

    def in_folder_style(self, version: Version) -> Version:
        """refinery's versions written with the folder's padding (`V4` in a `V003` folder is
        `004`), so that the versions after them are written that way too."""
        from migration_gate.runners.refinery import padded_version

        return padded_version(version.parts[0], self.padding) if self.is_refinery else version

    def name_problem_of(self, migration: MigrationFile) -> NameProblem | None:
        """Why the runner does not read the file's name, or None (refinery's `.rs` files
        included, as `migration_of`)."""
        from migration_gate.refinery import MigrationName
        from migration_gate.runners.refinery import RefineryRunner

        if not self.is_refinery:
            from migration_gate.runners.problems import NameProblem  # not built for refinery

            parsed = migration.runner_parsed
            return parsed if isinstance(parsed, NameProblem) else None
        own = migration.parsed
        if isinstance(own, MigrationName):
            return None
        return RefineryRunner().problem(migration.file_name, own)

    def recorded_checksum(self, migration: MigrationFile) -> int | None:
        """The checksum the runner records for the file (None: it has none)."""
        return migration.checksum if self.is_refinery else migration.runner_checksum

    def take_version(self, path: str) -> Version:
        """The next free version for `path` in the folder's style (`FolderView`)."""
        from migration_gate.runners.refinery import padded_version

        if self.is_refinery:
            return padded_version(self.allocator.take(path), self.padding)
        return self.runner_allocator.take(path)

    def others(self, rel: str) -> list[ParsedMigration]:
        """Every migration here and on the base except the file at `rel` (`FolderView`)."""
        return [parsed for other, parsed in self._every_migration if other != rel]

    @cached_property
    def _every_migration(self) -> tuple[tuple[str, ParsedMigration], ...]:
        """(rel, migration) of every file here and on the base, parsed once: `others` is
        asked once per misnamed file, and a folder may hold hundreds of them."""
        return tuple((m.rel, parsed) for m in (*self.local, *self.base_files)
                     if (parsed := self.migration_of(m)) is not None)

    def plan_with(self, extra_taken: Iterable[Version] = (),
                  block_files: Sequence[MigrationFile] | None = None) -> Plan | None:
        """The plan, counting `extra_taken` (other branches' versions) as taken too; for
        `block_files` when given (the migrations `renumber` was named), else for `block`."""
        if self.base is None:
            return None
        files = self.block if block_files is None else block_files
        members = [Member(m.path, self.in_folder_style(parsed.version)) for m in files
                   if (parsed := self.migration_of(m)) is not None and parsed.version is not None]
        taken = self.taken_versions(files) | set(extra_taken)
        return make_plan(members, taken, self.runner, _now_unless_refinery(self.runner))

    @cached_property
    def plan(self) -> Plan | None:
        """The one plan of this run (None without a base: nothing is known to be new)."""
        return self.plan_with()


Stage = Callable[[CheckContext], Iterable[Diagnostic]]


@dataclass(frozen=True)
class Result:
    """What a run found, for the reporters."""

    diagnostics: tuple[Diagnostic, ...]
    files_checked: int
    notes: tuple[str, ...] = ()
    #: (runner name, why it was chosen), shown by the reports; None where no folder was read
    runner: tuple[str, str] | None = None
    #: A monorepo run: each project checked, `folder (dialect, runner)`; empty for one project
    projects: tuple[str, ...] = ()
    #: What ran, for the terminal (runner, base, replay): `run_header`.
    header: str | None = None

    def failed(self, fail_on: Severity) -> bool:
        return any(d.severity.rank >= fail_on.rank for d in self.diagnostics)

    def counts(self) -> dict[str, int]:
        errors = sum(1 for d in self.diagnostics if d.severity is Severity.ERROR)
        warnings = sum(1 for d in self.diagnostics if d.severity is Severity.WARNING)
        return {"errors": errors, "warnings": warnings, "files": self.files_checked}


def apply_config(diagnostics: Iterable[Diagnostic], config: Config) -> list[Diagnostic]:
    """Per-rule severity overrides (`off` drops the finding), in report order."""
    from migration_gate.merge import report_order

    kept = []
    for diagnostic in diagnostics:
        severity = config.severity_for(diagnostic.rule, diagnostic.severity)
        if severity is Severity.OFF:
            continue
        kept.append(diagnostic.with_severity(severity))
    return report_order(kept)


def finalize(diagnostics: Iterable[Diagnostic], context: CheckContext) -> list[Diagnostic]:
    """The configuration, then one finding per cause (`migration_gate.merge`), in report order.

    Merging comes after the configuration so that a rule turned off never absorbs anything."""
    from migration_gate.merge import merge, statement_ranges

    kept = apply_config(diagnostics, context.config)
    # the texts of the files with findings: decoding every file of a large folder cost more
    paths = {d.path for d in kept}
    texts = {m.path: m.text for m in context.local if m.path in paths and m.text is not None}
    return merge(kept, texts,
                 statement_ranges(context.config.dialect))


def run_stages(context: CheckContext, stages: Sequence[Stage]) -> list[Diagnostic]:
    collected: list[Diagnostic] = []
    for stage in stages:
        collected.extend(stage(context))
    return finalize(collected, context)
