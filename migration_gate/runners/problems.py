"""What is wrong with a file for its runner: a name it does not read (and the name it should
have), content it cannot read, placeholders it cannot replace. Part of the runner model
(`model`, which still exports every name here).

A module of its own, like `execution`: a `check` of a clean folder never builds one of these,
and each frozen dataclass or enum costs its import ~0.5 ms on every commit (issue 16).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migration_gate.runners.model import Kind, ParsedMigration, Version


class NameIssue(str, Enum):
    NOT_A_MIGRATION = "not-a-migration"  # the runner does not see the file as a migration
    INVALID_VERSION = "invalid-version"  # a version the runner cannot read
    MISSING_VERSION = "missing-version"  # `V__x.sql`
    UNEXPECTED_VERSION = "unexpected-version"  # `R1__x.sql`: repeatables have no version
    RESERVED_VERSION = "reserved-version"  # Flyway `Vcurrent__x`: a marker, not a version
    MISSING_DESCRIPTION = "missing-description"  # `V3.sql`: Flyway runs it, nameless
    PIPE_PREFIX = "pipe-prefix"  # refinery `|1__x.sql`: matches `[U|V]`, then panics


@dataclass(frozen=True)
class NameFix:
    """The clean name a misnamed file should have; `version` None means "the next free one"
    (the caller allocates it, so that one run suggests distinct versions)."""

    kind: Kind
    version: Version | None
    description: str


@dataclass(frozen=True)
class NameProblem:
    """Why a file name is wrong for its runner, and the name it should have.

    `runner_fails`: the runner refuses the whole run because of this file (refinery's invalid
    versions; Flyway with `validateMigrationNaming`), rather than silently skipping it.
    `accepted_as`: the migration the runner runs anyway (Flyway runs `V3.sql`).
    `runner_message`: the runner's own words, when it has any.
    """

    issue: NameIssue
    reason: str
    fix: NameFix
    suggestion: str | None = None  # the fixed file name, when `fix.version` is known
    runner_fails: bool = False
    accepted_as: ParsedMigration | None = None
    runner_message: str | None = None


@dataclass(frozen=True)
class ContentProblem:
    """The runner cannot read the file's content (it stops the run)."""

    reason: str


class PlaceholderIssue(str, Enum):
    UNDEFINED = "undefined"
    UNCLOSED = "unclosed"


@dataclass(frozen=True)
class PlaceholderProblem:
    """A placeholder the runner cannot replace, where it is and what the runner says."""

    issue: PlaceholderIssue
    name: str
    line: int  # 1-based, of the placeholder's prefix
    column: int
    message: str  # the runner's own words
    hint: str
