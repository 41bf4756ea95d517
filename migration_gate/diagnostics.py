"""The one finding type every stage yields, and the errors that end a run with exit 2."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace


class Severity(str, enum.Enum):
    """How much a finding matters. `off` rules never run."""

    ERROR = "error"
    WARNING = "warning"
    OFF = "off"

    @property
    def rank(self) -> int:
        return {"off": 0, "warning": 1, "error": 2}[self.value]


@dataclass(frozen=True)
class Related:
    """A place that belongs to one finding: a finding folded into another one
    (`migration_gate.merge`: same cause, other evidence), or one file of an event that is one
    finding (a moved folder, a squash).

    Kept so that machine formats (JSON `related`, SARIF `relatedLocations`) lose nothing."""

    rule: str
    path: str
    line: int
    message: str
    column: int = 1

    def as_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "path": self.path, "line": self.line, "column": self.column,
                "message": self.message}


@dataclass(frozen=True)
class LockEvidence:
    """What the replay saw a statement lock: `ACCESS EXCLUSIVE` on `table users`."""

    mode: str  # in words, e.g. ACCESS EXCLUSIVE
    kind: str  # table, view, materialized view...
    relation: str  # as shown: `users`, `audit.events`

    @property
    def words(self) -> str:
        return f"{self.mode} lock on {self.kind} {self.relation}"


@dataclass(frozen=True)
class RewriteEvidence:
    """What the replay saw a statement rewrite: a relation and the indexes rebuilt with it."""

    kind: str
    relation: str
    indexes: tuple[str, ...] = ()

    @property
    def words(self) -> str:
        indexes = f" and its indexes ({', '.join(self.indexes)})" if self.indexes else ""
        return f"rewrote {self.kind} {self.relation}{indexes}"


@dataclass(frozen=True)
class FailureEvidence:
    """How the replay saw a migration fail: the server's reason (with its SQLSTATE), or a
    statement stopped by the replay's time limit (`reason` is then the whole finding's text)."""

    reason: str
    sqlstate: str | None = None
    timed_out: bool = False

    @property
    def words(self) -> str:
        return self.reason if self.timed_out else f"the replay fails: {self.reason}"


#: What the replay observed, as data: `migration_gate.merge` folds it into the static finding
#: that predicted it, without reading it back out of the message.
Evidence = LockEvidence | RewriteEvidence | FailureEvidence


@dataclass(frozen=True)
class Diagnostic:
    """One finding: a rule id, where it is (1-based, repository-relative path) and what to do."""

    rule: str
    severity: Severity
    path: str
    message: str
    line: int = 1
    column: int = 1
    end_line: int | None = None
    end_column: int | None = None  # inclusive: the column of the last character
    hint: str | None = None
    related: tuple[Related, ...] = ()
    evidence: Evidence | None = None  # a replay finding's observation (not in reports)

    def with_severity(self, severity: Severity) -> Diagnostic:
        return replace(self, severity=severity)

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.rule)

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line if self.end_line is not None else self.line,
            "end_column": self.end_column if self.end_column is not None else self.column,
            "message": self.message,
            "hint": self.hint,
            **({"related": [r.as_dict() for r in self.related]} if self.related else {}),
        }


class GateError(Exception):
    """A problem the user can fix (bad path, bad config, no git...): one line, exit code 2."""
