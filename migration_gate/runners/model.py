"""The shape every runner has: what the gate asks a migration runner, whatever it is.

A runner (refinery, Flyway) decides which files are migrations and in which order, how their
content is checksummed and recorded, which transaction a migration runs in and what it does
with SQL that cannot run in one, and how the text is rewritten before it runs (placeholders).
The rules and commands ask a `Runner` instead of knowing one: everything here is pure (no file
system, no git, no clock, no database), so it can be tested exhaustively and used anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Literal, Protocol

from migration_gate.types import Dialect

if TYPE_CHECKING:
    from datetime import datetime  # annotations only: a refinery check never imports it

    from migration_gate.runners.crash_window import CrashWindow as CrashWindow
    from migration_gate.runners.execution import ExecutionModel as ExecutionModel
    from migration_gate.runners.execution import HistoryColumn as HistoryColumn
    from migration_gate.runners.execution import HistoryRowPlacement as HistoryRowPlacement
    from migration_gate.runners.execution import HistoryTable as HistoryTable
    from migration_gate.runners.execution import NonTransactionalPolicy as NonTransactionalPolicy
    from migration_gate.runners.execution import ScriptTransaction as ScriptTransaction
    from migration_gate.runners.execution import ScriptVerdict as ScriptVerdict
    from migration_gate.runners.problems import ContentProblem as ContentProblem
    from migration_gate.runners.problems import NameFix as NameFix
    from migration_gate.runners.problems import NameIssue as NameIssue
    from migration_gate.runners.problems import NameProblem as NameProblem
    from migration_gate.runners.problems import PlaceholderIssue as PlaceholderIssue
    from migration_gate.runners.problems import PlaceholderProblem as PlaceholderProblem
    from migration_gate.runners.rules_model import RunnerRules

RunnerName = Literal["refinery", "flyway"]
RUNNER_NAMES: tuple[RunnerName, ...] = ("refinery", "flyway")


class Kind(str, Enum):
    """What a file is to its runner."""

    VERSIONED = "versioned"  # runs once, in version order (`V`)
    REPEATABLE = "repeatable"  # Flyway `R__`: re-runs whenever its checksum changes
    UNDO = "undo"  # Flyway `U` (Teams edition): reverts the versioned migration it names
    BASELINE = "baseline"  # Flyway `B`: replaces every migration up to its version on empty DBs
    UNVERSIONED = "unversioned"  # refinery `U`: applied even below the current version
    CALLBACK = "callback"  # Flyway `beforeMigrate.sql`...: a hook, not a migration


@dataclass(frozen=True, eq=False)
class Version:
    """A migration version: comparable and hashable the way its runner compares versions.

    `parts` are the numbers compared part by part, a missing part counting as zero, so trailing
    zero parts are dropped (Flyway's `1.0` equals `1`; refinery versions have one part).
    `text` is the version as written in the file name (`008`, `1_1`, `2024.01.15.1`), which a
    suggested name keeps the shape of; `display` is how the runner shows and records it
    (refinery `8`, Flyway `1.1`).
    """

    parts: tuple[int, ...]
    text: str
    display: str

    def _compare(self, other: Version) -> int:
        mine, theirs = self.parts, other.parts
        if len(mine) != len(theirs):  # refinery's have one part each: no padding to build
            width = max(len(mine), len(theirs))
            mine = mine + (0,) * (width - len(mine))
            theirs = theirs + (0,) * (width - len(theirs))
        return (mine > theirs) - (mine < theirs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self.parts == other.parts

    def __hash__(self) -> int:
        return hash(self.parts)

    def __lt__(self, other: Version) -> bool:
        return self._compare(other) < 0

    def __le__(self, other: Version) -> bool:
        return self._compare(other) <= 0

    def __gt__(self, other: Version) -> bool:
        return self._compare(other) > 0

    def __ge__(self, other: Version) -> bool:
        return self._compare(other) >= 0

    def __repr__(self) -> str:
        return f"Version({self.text!r})"


@dataclass(frozen=True)
class ParsedMigration:
    """A file name the runner accepts, split into its parts.

    `description` is what the runner records (Flyway turns `_` into spaces; refinery keeps
    its name as is); `raw_description` is the part as written in the file name.
    """

    kind: Kind
    version: Version | None  # None for repeatables and callbacks
    description: str
    raw_description: str
    prefix: str
    suffix: str
    file_name: str

    @property
    def display(self) -> str:
        """How the runner names the migration in its messages."""
        version = self.version.display if self.version is not None else ""
        return f"{self.prefix}{version}__{self.raw_description}"


#: The execution model's names, in `runners.execution` (imported on first use).
_EXECUTION_NAMES = frozenset({
    "ExecutionModel", "HistoryColumn", "HistoryRowPlacement", "HistoryTable",
    "NonTransactionalPolicy", "ScriptTransaction", "ScriptVerdict",
})


#: What is wrong with a file for its runner, in `runners.problems` (imported on first use: a
#: warm `check` of a clean folder never builds one).
_PROBLEM_NAMES = frozenset({
    "ContentProblem", "NameFix", "NameIssue", "NameProblem", "PlaceholderIssue",
    "PlaceholderProblem",
})


def __getattr__(name: str) -> object:
    if name == "CrashWindow":  # without the other execution classes (a refinery lint's case)
        from migration_gate.runners.crash_window import CrashWindow

        return CrashWindow
    if name in _EXECUTION_NAMES:
        from migration_gate.runners import execution

        return getattr(execution, name)
    if name in _PROBLEM_NAMES:
        from migration_gate.runners import problems

        return getattr(problems, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class PlaceholderResult:
    """The text the runner sends, and the placeholders it could not replace."""

    text: str
    problems: tuple[PlaceholderProblem, ...] = ()


class Runner(Protocol):
    """Everything the gate asks of a migration runner; implementations are pure and frozen."""

    @property
    def name(self) -> RunnerName: ...

    @property
    def kinds(self) -> frozenset[Kind]: ...

    @property
    def execution(self) -> ExecutionModel: ...

    @property
    def history(self) -> HistoryTable: ...

    @property
    def rules(self) -> RunnerRules: ...

    def parse_name(self, file_name: str) -> ParsedMigration | NameProblem:
        """The file name split as the runner reads it, or why it is wrong. Never raises."""

    def parse_version(self, text: str) -> Version | None:
        """A version as written after the prefix (`008`, `1.1`), or None if not one."""

    def next_version(self, versions: Iterable[Version], now: datetime | None) -> Version:
        """The version after every one of `versions`, in their shape (`now` for timestamps;
        None: the runner reads the clock if it needs it -- a refinery check's plan passes
        none, and never imports `datetime`)."""

    def file_name(self, kind: Kind, version: Version | None, description: str) -> str:
        """A clean file name in the runner's grammar (`V9__add_users.sql`, `R__views.sql`)."""

    def renamed(self, migration: ParsedMigration, version: Version) -> str:
        """`migration`'s file name with `version` instead of its own, everything else kept as
        written (description, suffix): what `renumber` moves a file to."""

    def checksum(self, migration: ParsedMigration, content: bytes) -> int | ContentProblem:
        """The checksum the runner records for this file, as the integer it stores."""

    def history_ddl(self, dialect: Dialect, table: str | None = None) -> str:
        """The DDL the runner runs to create its history table."""

    def script_transaction(
        self, statements: Sequence[str], dialect: Dialect = "postgres"
    ) -> ScriptTransaction:
        """Which transaction the runner runs these statements in, and what fails because of it."""

    def crash_window(self, in_transaction: bool, dialect: Dialect = "postgres"
                     ) -> CrashWindow | None:
        """Whether a crash between the migration's commit and its history row's exists for a
        script the runner runs inside a transaction (`in_transaction`, from
        `script_transaction`) or not; None when the runner commits both together."""

    def replace_placeholders(
        self, text: str, file_name: str, now: datetime, values: Mapping[str, str] | None = None
    ) -> PlaceholderResult:
        """The text the runner actually sends to the database, and its placeholder problems."""


@dataclass(frozen=True)
class RunnerChoice:
    """The runner a run uses and why, in one line a user can check (`flyway.conf at the
    repository root`); reports show it, so that a wrong guess is seen at once."""

    runner: Runner
    reason: str

    @property
    def name(self) -> RunnerName:
        return self.runner.name

    def as_dict(self) -> dict[str, str]:
        return {"name": self.runner.name, "reason": self.reason}
