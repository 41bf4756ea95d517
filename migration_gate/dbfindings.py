"""The database stage's findings: a failed statement, refinery's verification, the locks and
rewrites observed, each at its statement; and the ignore comments that cover them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.refinery import Verdict
from migration_gate.types import Dialect

E, W = Severity.ERROR, Severity.WARNING


def timeout_text(seconds: float) -> str:
    return f"the replay did not finish within replay.timeout ({seconds:g} s)"


def timeout_diagnostic(failure: Any, seconds: float) -> Diagnostic:
    """The statement that was still running when the replay's time was up."""
    return Diagnostic(
        rule="migration-failed",
        severity=E,
        path=failure.step.path,
        message=f"{failure.step.display} was stopped: {timeout_text(seconds)} and this "
        "statement was still running",
        line=failure.line,
        column=failure.column,
        end_line=failure.end_line,
        end_column=failure.end_column,
        hint="a statement this slow on a nearly empty schema waits or loops (pg_sleep, a "
        "lock, a retry loop); if it is really this slow, raise `replay.timeout`",
    )


class Ignores:
    """The file's ignore comments (`-- migration-gate: ignore lock-observed`), as the SQL stage
    reads them, applied to the database's findings too."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._parsed: dict[str, tuple[list[Any], list[int]]] = {}

    def covers(self, step: Any, offset: int | None, rule: str) -> bool:
        from migration_gate.catalog import all_rules
        from migration_gate.sql.ignores import apply_ignores, find_ignores
        from migration_gate.sql.split import scan

        if offset is None:
            return False
        if step.path not in self._parsed:
            spans, comments = scan(step.sql, self.dialect)
            self._parsed[step.path] = (find_ignores(step.sql, comments),
                                       [start for start, _ in spans])
        ignores, starts = self._parsed[step.path]
        if not ignores or offset not in starts:
            return False
        outcome = apply_ignores(ignores, starts, [(starts.index(offset), rule)], all_rules())
        return not outcome.kept


def failure_diagnostic(failure: Any, redact: Callable[[str], str]) -> Diagnostic:
    error = failure.error
    code = f" (SQLSTATE {error.sqlstate})" if error.sqlstate else ""
    hint_parts = [redact(part) for part in (error.detail, error.hint) if part]
    if error.sqlstate == "25001":
        hint_parts.append("refinery runs every migration inside a transaction; this statement "
                          "can never run under refinery (issue #277)")
    return Diagnostic(
        rule="migration-failed",
        severity=E,
        path=failure.step.path,
        message=f"{failure.step.display} fails: {redact(error.message)}{code}",
        line=failure.line,
        column=failure.column,
        end_line=failure.end_line,
        end_column=failure.end_column,
        hint="; ".join(hint_parts) or None,
    )


def verification_diagnostics(
    issues: Iterable[Any], base_steps: Sequence[Any], local_steps: Sequence[Any]
) -> Iterator[Diagnostic]:
    local_by_version = {s.migration.version: s for s in local_steps}
    base_by_version = {s.migration.version: s for s in base_steps}
    for issue in issues:
        step = local_by_version.get(issue.version) or base_by_version.get(issue.version)
        path = step.path if step is not None else ""
        if issue.verdict is Verdict.DIVERGENT:
            yield Diagnostic("refinery-divergent", E, path, issue.message,
                             hint="every database that ran the base aborts on this file "
                             "(or, without -d, never applies the change)")
        else:
            hint = ("applied on the base but no longer in the folder"
                    if issue.verdict is Verdict.MISSING
                    else "its version is at or below the base's current version: refinery "
                    "skips it for ever (or aborts with -m)")
            yield Diagnostic("refinery-missing", E, path, issue.message, hint=hint)


def _statement_summary(text: str, limit: int = 48) -> str:
    words = " ".join(text.split())
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"


def lock_diagnostics(tracer: Any) -> Iterator[Diagnostic]:
    from migration_gate.trace import kind_name, mode_words

    for seen in tracer.locks:
        mode = mode_words(seen.mode)
        effect = ("blocks every read and write of it" if seen.mode == "AccessExclusiveLock"
                  else "blocks writes to it")
        statement = seen.statement
        article = "an" if mode[0] in "AEIOU" else "a"
        yield _at_statement(
            "lock-observed", seen.step.path, statement,
            f"`{_statement_summary(statement.text)}` took {article} {mode} lock on "
            f"{kind_name(seen.relation)} {seen.relation.display} ({effect} until the "
            "migration commits)",
            "set lock_timeout, or use an online variant of this change",
        )


def rewrite_diagnostics(tracer: Any) -> Iterator[Diagnostic]:
    from migration_gate.trace import kind_name

    for seen in tracer.rewrites:
        statement = seen.statement
        indexes = f" and its indexes ({', '.join(seen.indexes)})" if seen.indexes else ""
        yield _at_statement(
            "rewrite-observed", seen.step.path, statement,
            f"`{_statement_summary(statement.text)}` rewrote {kind_name(seen.relation)} "
            f"{seen.relation.display}{indexes}: every row is copied under an ACCESS EXCLUSIVE "
            "lock",
            "add a new column and backfill it in batches instead of rewriting in place",
        )


def _at_statement(rule: str, path: str, statement: Any, message: str, hint: str) -> Diagnostic:
    """A warning spanning the whole statement that caused it."""
    return Diagnostic(
        rule=rule,
        severity=W,
        path=path,
        message=message,
        line=statement.line,
        column=statement.column,
        end_line=statement.end_line,
        end_column=statement.end_column,
        hint=hint,
    )
