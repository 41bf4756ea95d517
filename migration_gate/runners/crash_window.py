"""The crash window of a runner (`Runner.crash_window`), in a module of its own: a refinery lint
asks for refinery's window on every cold file, and needs none of the other execution classes
(`execution`: each frozen dataclass and enum costs the import that builds it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CrashWindow:
    """A crash after a migration's SQL has committed and before its history row has: the
    runner does not know the migration ran and runs it again on its next start, so every DDL
    statement must succeed a second time (`prefer-robust-stmts` reads this).

    `consequence` ends a finding's message ("CREATE TABLE t without IF NOT EXISTS ..."), in the
    runner's own terms; `hint` says what to write instead (or what to configure).
    """

    consequence: str
    hint: str
