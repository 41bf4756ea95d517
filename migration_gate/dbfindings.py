"""The database stage's findings: a failed statement, refinery's verification, the locks and
rewrites observed, each at its statement; and the ignore comments that cover them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from migration_gate.diagnostics import (
    Diagnostic,
    Evidence,
    FailureEvidence,
    LockEvidence,
    RewriteEvidence,
    Severity,
)
from migration_gate.refinery import Verdict
from migration_gate.types import Dialect

if TYPE_CHECKING:
    from migration_gate.trace import LockTracer

E, W = Severity.ERROR, Severity.WARNING


def timeout_text(seconds: float) -> str:
    return f"the replay did not finish within replay.timeout ({seconds:g} s)"


def timeout_diagnostic(failure: Any, seconds: float) -> Diagnostic:
    """The statement that was still running when the replay's time was up."""
    message = (f"{failure.step.display} was stopped: {timeout_text(seconds)} and this "
               "statement was still running")
    return Diagnostic(
        rule="migration-failed",
        severity=E,
        path=failure.step.path,
        message=message,
        line=failure.line,
        column=failure.column,
        end_line=failure.end_line,
        end_column=failure.end_column,
        hint="a statement this slow on a nearly empty schema waits or loops (pg_sleep, a "
        "lock, a retry loop); if it is really this slow, raise `replay.timeout`",
        evidence=FailureEvidence(message, timed_out=True),
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


def failure_diagnostic(failure: Any, redact: Callable[[str], str], *,
                       after: Any = None) -> Diagnostic:
    """A migration that fails; `after` is an earlier failure of the same replay (the run went
    on past it) that this one may follow from."""
    error = failure.error
    code = f" (SQLSTATE {error.sqlstate})" if error.sqlstate else ""
    hint_parts = [redact(part) for part in (error.detail, error.hint) if part]
    if error.sqlstate == "25001":
        hint_parts.append("refinery runs every migration inside a transaction; this statement "
                          "can never run under refinery (issue #277)")
    reason = f"{redact(error.message)}{code}"
    return Diagnostic(
        rule="migration-failed",
        severity=E,
        path=failure.step.path,
        message=f"{failure.step.display} fails: {reason}{consequence(failure, after)}",
        line=failure.line,
        column=failure.column,
        end_line=failure.end_line,
        end_column=failure.end_column,
        hint="; ".join(hint_parts) or None,
        evidence=FailureEvidence(reason, error.sqlstate),
    )


#: SQLSTATEs of "that object does not exist": the typical failure after a migration that would
#: have created it failed (undefined table, column, object, function, schema).
_UNDEFINED = ("42P01", "42703", "42704", "42883", "3F000")


def consequence(failure: Any, after: Any) -> str:
    """Words tying a later failure to the earlier one the run went on past: the replay ran it
    on a schema without the failed migration's changes, so it may fail only because of it."""
    if after is None:
        return ""
    earlier = after.step.display
    name = _missing_name(failure.error.message) if failure.error.sqlstate in _UNDEFINED else None
    if name is not None and name.lower() in after.step.sql.lower():
        return (f" -- may be a consequence of {earlier}'s failure (it names {name}, which "
                f"{earlier} would have created)")
    return f" -- may be a consequence of {earlier}'s failure"


def _missing_name(message: str) -> str | None:
    """The quoted name in PostgreSQL's `relation "t" does not exist`."""
    start = message.find('"')
    end = message.find('"', start + 1)
    return message[start + 1:end] if 0 <= start < end else None


def not_replayed_note(not_run: Sequence[Any], stopped: Any, reason: str) -> str:
    """The branch's migrations the replay never tried, and why (one note naming them)."""
    return (f"not replayed: {_names(not_run)} -- the replay stopped at "
            f"{stopped.step.display} ({reason})")


def not_replayed_after_base(broken: str, branch: Sequence[Any], later: int) -> str:
    """After the base's `broken` migration failed: the branch's own migrations (`branch`,
    those the base lacks) were never tried, nor the `later` base migrations after it."""
    parts = [f"the branch's {_names(branch)}"] if branch else []
    if later:
        parts.append(f"{later} later base migration{'s' if later != 1 else ''}")
    what = " and ".join(parts) or "nothing of the branch"
    return f"not replayed: {what} -- the base branch's {broken} failed first"


def _names(steps: Sequence[Any], limit: int = 20) -> str:
    names = [s.display for s in steps[:limit]]
    more = f" and {len(steps) - limit} more" if len(steps) > limit else ""
    return ", ".join(names) + more


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


def observed_diagnostics(tracer: LockTracer, ignores: Ignores) -> list[Diagnostic]:
    """The locks and rewrites a `trace.LockTracer` saw, less those an ignore comment in the
    file covers: what both runners' replays report of their observations."""
    tracer.locks = [seen for seen in tracer.locks if not ignores.covers(
        seen.step, seen.statement.start_offset, "lock-observed")]
    tracer.rewrites = [seen for seen in tracer.rewrites if not ignores.covers(
        seen.step, seen.statement.start_offset, "rewrite-observed")]
    return [*lock_diagnostics(tracer), *rewrite_diagnostics(tracer)]


def lock_diagnostics(tracer: Any) -> Iterator[Diagnostic]:
    from migration_gate.trace import kind_name, mode_words

    for seen in tracer.locks:
        mode = mode_words(seen.mode)
        effect = ("blocks every read and write of it" if seen.mode == "AccessExclusiveLock"
                  else "blocks writes to it")
        statement = seen.statement
        article = "an" if mode[0] in "AEIOU" else "a"
        evidence = LockEvidence(mode, kind_name(seen.relation), seen.relation.display)
        yield _at_statement(
            "lock-observed", seen.step.path, statement,
            f"`{_statement_summary(statement.text)}` took {article} {evidence.words} "
            f"({effect} until the migration commits)",
            "set lock_timeout, or use an online variant of this change", evidence,
        )


def rewrite_diagnostics(tracer: Any) -> Iterator[Diagnostic]:
    from migration_gate.trace import kind_name

    for seen in tracer.rewrites:
        statement = seen.statement
        evidence = RewriteEvidence(kind_name(seen.relation), seen.relation.display,
                                   tuple(seen.indexes))
        yield _at_statement(
            "rewrite-observed", seen.step.path, statement,
            f"`{_statement_summary(statement.text)}` {evidence.words}: every row is copied "
            "under an ACCESS EXCLUSIVE lock",
            "add a new column and backfill it in batches instead of rewriting in place", evidence,
        )


def _at_statement(rule: str, path: str, statement: Any, message: str, hint: str,
                  evidence: Evidence) -> Diagnostic:
    """A warning spanning the whole statement that caused it, with what was seen as data."""
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
        evidence=evidence,
    )
