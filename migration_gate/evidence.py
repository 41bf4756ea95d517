"""What the replay observed, as data carried by its findings (`Diagnostic.evidence`):
`migration_gate.merge` folds it into the static finding that predicted it, without reading it
back out of the message.

Split from `migration_gate.diagnostics`, which still exports every name here: a `check`
without the replay never builds these classes (each frozen dataclass costs its import
~0.5 ms, and the gate runs on every commit).
"""

from __future__ import annotations

from dataclasses import dataclass


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
