"""One pipeline: a read-only context, stages that yield diagnostics, one result.

A stage is any `Callable[[CheckContext], Iterable[Diagnostic]]`. `check` runs the folder,
history, SQL and database stages in that order; `lint` runs the SQL stage alone. Severity
overrides and disabled rules from the configuration are applied here, once, for every stage.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from migration_gate.config import Config
from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.gitbase import Base
from migration_gate.migrations import MigrationFile, infer_padding, max_version


@dataclass(frozen=True)
class BaseSnapshot:
    """The base branch's migrations folder at the merge-base."""

    base: Base
    files: tuple[MigrationFile, ...]
    #: The base tip's files when the base moved on since the merge-base (names only, content not
    #: read): a version merged there meanwhile is taken, even though the merge-base lacks it.
    tip_files: tuple[MigrationFile, ...] = ()


def _stderr_note(message: str) -> None:
    print(f"migration-gate: {message}", file=sys.stderr)


class NoteCollector:
    """A `note` that says each message on stderr at once and keeps it for the report."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def __call__(self, message: str) -> None:
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
    note: Callable[[str], None] = field(default=_stderr_note, compare=False)

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
        """Shared by the stages of one run (the one piece of state they share)."""
        return VersionAllocator(self.highest_version)

    @cached_property
    def highest_version(self) -> int:
        return max(max_version(self.local), max_version(self.base_files))


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

    def __init__(self, highest: int) -> None:
        self._next = highest + 1
        self._given: dict[str, int] = {}

    def take(self, path: str) -> int:
        if path not in self._given:
            self._given[path] = self._next
            self._next += 1
        return self._given[path]


@dataclass(frozen=True)
class Result:
    diagnostics: tuple[Diagnostic, ...]
    files_checked: int
    notes: tuple[str, ...] = ()
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
    runner = str(getattr(context.config, "runner", None) or "refinery")
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
