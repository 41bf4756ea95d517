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
from migration_gate.plan import Member, Plan, make_plan
from migration_gate.refinery import Prefix

if TYPE_CHECKING:
    from datetime import datetime

    from migration_gate.applied import Applied
    from migration_gate.runners.model import Runner, RunnerChoice, Version


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

    @property
    def runner(self) -> Runner:
        from migration_gate.runners import RUNNERS

        return self.runner_choice.runner if self.runner_choice else RUNNERS["refinery"]

    @property
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
            m for m in self.local if m.rel not in base or base[m.rel].content != m.content
        )

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
        return VersionAllocator(plan.next_free - 1, {m.path: m.new for m in plan.moves})

    @cached_property
    def runner_allocator(self) -> RunnerVersionAllocator:
        """The allocator of a non-refinery runner: versions in the project's own scheme."""
        from datetime import datetime

        taken = [m.runs_as.version for m in (*self.local, *self.base_files)
                 if m.runs_as is not None and m.runs_as.version is not None]
        return RunnerVersionAllocator(self.runner, taken, datetime.now())

    @cached_property
    def highest_version(self) -> int:
        """The highest version taken: here, on the base, burned on the base, and after the
        plan's block (the next free version is one more)."""
        if self.plan is not None:
            return self.plan.next_free - 1
        return max(max_version(self.local), max_version(self.base_files))

    @cached_property
    def block(self) -> tuple[MigrationFile, ...]:
        """The branch's new versioned migrations, which move together (`plan`): added files
        that are not a base migration moved, renamed or merged on the base meanwhile."""
        if self.base is None:
            return ()
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

    def taken_versions(self, block_files: Iterable[MigrationFile] | None = None) -> set[int]:
        """Versions the block may not use: the base's (merge-base and tip), the burned ones,
        and the files here that are not part of the block."""
        block = {m.rel for m in (self.block if block_files is None else block_files)}
        taken = {name.version for m in self.base_files if (name := m.name) is not None}
        taken |= {b.version for b in self.base.burned} if self.base else set()
        # a U file's version is a row of the history table too
        taken |= {
            name.version for m in self.local if m.rel not in block and (name := m.name) is not None
        }
        return taken

    def plan_with(self, extra_taken: Iterable[int] = (),
                  block_files: Sequence[MigrationFile] | None = None) -> Plan | None:
        """The plan, counting `extra_taken` (other branches' versions) as taken too; for
        `block_files` when given (the migrations `renumber` was named), else for `block`."""
        if self.base is None:
            return None
        files = self.block if block_files is None else block_files
        members = [Member(m.path, m.name.version) for m in files if m.name is not None]
        return make_plan(members, self.taken_versions(files) | set(extra_taken))

    @cached_property
    def plan(self) -> Plan | None:
        """The one plan of this run (None without a base: nothing is known to be new)."""
        return self.plan_with()


Stage = Callable[[CheckContext], Iterable[Diagnostic]]


def format_version(version: int, padding: int) -> str:
    return f"V{version:0{padding}d}" if padding else f"V{version}"


def normalise_description(description: str) -> str:
    """`"Add profiles!"` → `add_profiles`: lower case, every run of characters refinery's `\\w`
    rejects (and `_`) → one `_`.

    Words are judged by refinery's (Rust's) `\\w`, not Python's, which accepts `²` and rejects
    combining marks: a suggested name must be one refinery reads. Accented and compatibility
    forms fold to ASCII (`Café` → `cafe`, `x²` → `x2`) so the name fits the default naming
    pattern too; words of other scripts are kept as they are.
    """
    import unicodedata

    from migration_gate.refinery import is_rust_word_char

    words: list[str] = []
    current: list[str] = []
    for char in unicodedata.normalize("NFKC", description).lower():
        if char != "_" and is_rust_word_char(char):
            current.append(char)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return "_".join(_fold_to_ascii(word) for word in words)


def _fold_to_ascii(word: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", word)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return folded if folded.isascii() and folded.isalnum() else word


def suggest_file_name(version: int, name: str, padding: int) -> str:
    return f"{format_version(version, padding)}__{name}.sql"


class VersionAllocator:
    """Hands out the next free versions, one per file, so that the findings of one run suggest
    distinct fixes and a file named by two findings gets the same fix in both."""

    def __init__(self, highest: int, planned: dict[str, int] | None = None) -> None:
        self._next = highest + 1
        self._planned = dict(planned or {})
        self._given: dict[str, int] = dict(self._planned)

    def planned(self, path: str) -> int | None:
        """The plan's version for one of the branch's new migrations, else None."""
        return self._planned.get(path)

    def take(self, path: str) -> int:
        if path not in self._given:
            self._given[path] = self._next
            self._next += 1
        return self._given[path]


class RunnerVersionAllocator:
    """`VersionAllocator` for any runner: the next versions in the folder's own scheme
    (`V3`, `V1.3`, a timestamp), one per file, each after the one handed out before."""

    def __init__(self, runner: Runner, taken: Iterable[Version], now: datetime) -> None:
        self._runner, self._now = runner, now
        self._next = runner.next_version(taken, now)
        self._given: dict[str, Version] = {}

    def take(self, path: str) -> Version:
        if path not in self._given:
            self._given[path] = self._next
            self._next = self._runner.next_version([self._next], self._now)
        return self._given[path]


@dataclass(frozen=True)
class Result:
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


def run_header(context: CheckContext, stages: Sequence[str], notes: Sequence[str]) -> str:
    """One line saying what this run compared and replayed: the runner, the base by its
    branch name, and what the database stage did (or why it did not)."""
    runner = context.runner.name
    if context.base is None:
        base = "no base (history rules skipped)"
    else:
        base = f"base {context.base.base.ref} (merge-base {context.base.base.merge_base[:9]})"
    changed = len(context.changed)
    if "database" not in stages:
        replay = "replay off"
    elif any(note.startswith("database replay skipped") for note in notes):
        replay = "replay skipped (see the note above)"
    else:
        where = ("the server of --database-url" if context.config.database_url
                 else "in-memory SQLite" if context.config.dialect == "sqlite"
                 else "the embedded PostgreSQL")
        base_count = len(context.base.files) if context.base else 0
        replay = (f"replayed {base_count} base migration{'s' if base_count != 1 else ''}, then "
                  f"the branch ({changed} new or changed) on {where}")
    return f"{context.folder}/ with {runner}, {base}; {replay}"


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

    texts = {m.path: m.text for m in context.local if m.text is not None}
    return merge(apply_config(diagnostics, context.config), texts,
                 statement_ranges(context.config.dialect))


def run_stages(context: CheckContext, stages: Sequence[Stage]) -> list[Diagnostic]:
    collected: list[Diagnostic] = []
    for stage in stages:
        collected.extend(stage(context))
    return finalize(collected, context)
