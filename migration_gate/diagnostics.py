"""The one finding type every stage yields, and the errors that end a run with exit 2."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migration_gate.evidence import Evidence as Evidence
    from migration_gate.evidence import FailureEvidence as FailureEvidence
    from migration_gate.evidence import LockEvidence as LockEvidence
    from migration_gate.evidence import RewriteEvidence as RewriteEvidence


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


#: The replay's observations live in `migration_gate.evidence` (imported on first use).
_EVIDENCE_NAMES = frozenset({"LockEvidence", "RewriteEvidence", "FailureEvidence", "Evidence"})


def __getattr__(name: str) -> object:
    if name in _EVIDENCE_NAMES:
        from migration_gate import evidence

        return getattr(evidence, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
