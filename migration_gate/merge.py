"""One cause, one finding: fold the replay's observations into the static findings they confirm.

The SQL rules predict (a lock, a rewrite, a failure) and the replay observes; reported side by
side, one `ALTER ... TYPE` is three findings and a `CREATE INDEX CONCURRENTLY` two. This step runs
once, after every stage and the configuration, over the plain list of diagnostics (it knows
nothing of the replay's internals, only the rule ids and the files' text):

- a lock or rewrite a static rule predicted on the same statement becomes evidence in that
  finding's message (`observed: ACCESS EXCLUSIVE lock on table users`); one no rule predicted
  stays a finding of its own and says so;
- a lock taken after `SET [LOCAL] lock_timeout` earlier in the same file is bounded by it: not
  reported as if none were set (evidence only, when a rule predicted it);
- a failure a static error explains (CONCURRENTLY in a transaction, nested transactions, a text
  hazard) is folded into that error; `modified-migration` absorbs refinery's divergent verdict
  and the history rules the `missing` one; a duplicate version is one finding naming the files.

Every folded finding is kept in the survivor's `related` list (JSON, SARIF).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import PurePosixPath

from migration_gate.diagnostics import Diagnostic, Related
from migration_gate.types import Dialect

LOCK_OBSERVED, REWRITE_OBSERVED, FAILED = "lock-observed", "rewrite-observed", "migration-failed"

#: Static rules whose finding means "this statement takes a lock that blocks the table".
LOCK_PREDICTORS = (
    "changing-column-type", "adding-required-field", "adding-not-nullable-field",
    "adding-field-with-default", "adding-serial-primary-key-field", "constraint-missing-not-valid",
    "adding-foreign-key-constraint", "disallowed-unique-constraint", "ban-drop-not-null",
    "require-concurrent-index-creation", "require-concurrent-index-deletion",
    "require-concurrent-reindex", "ban-vacuum-full-or-cluster", "ban-drop-column",
    "ban-drop-table", "ban-truncate-cascade", "renaming-column", "renaming-table",
    "require-lock-timeout",
)
#: Static rules whose finding means "this statement rewrites the table".
REWRITE_PREDICTORS = (
    "changing-column-type", "adding-field-with-default", "adding-serial-primary-key-field",
    "adding-required-field", "ban-vacuum-full-or-cluster",
)
#: Static errors that explain why the statement fails when replayed.
FAILURE_EXPLAINERS = ("ban-concurrent-index-creation-in-transaction", "transaction-nesting")
#: Text hazards: they break the file's statements, so they explain a failure after them.
TEXT_HAZARDS = ("bom-in-migration", "nul-byte", "unterminated-comment", "unterminated-string",
                "mysql-delimiter", "merge-conflict-marker")
#: File-level rules that say the same as one of refinery's verdicts.
VERDICT_OWNERS = {
    "refinery-divergent": ("modified-migration", "renamed-migration"),
    "refinery-missing": ("version-not-after-base", "deleted-migration", "renamed-migration",
                         "duplicate-version"),
    # a branch file that reuses a version of the base is necessarily at or below the base's
    # highest: one cause (the version it picked), one fix (the same rename), one finding
    "version-not-after-base": ("duplicate-version",),
}
UNPREDICTED = "no static rule predicted this: worth a look"
#: The findings that make `merge` split their file into statements (sql.split is not imported
#: by a run without them: a warm `check` without the replay).
_NEEDS_STATEMENTS = frozenset({LOCK_OBSERVED, REWRITE_OBSERVED, FAILED, "duplicate-version",
                               *VERDICT_OWNERS})

#: `SET [LOCAL] lock_timeout ...` and `RESET`, as `re` source: compiled by the run that splits
#: a file into statements (`_under_lock_timeout`), not by every run that imports this module
_SET_LOCK_TIMEOUT = (
    r"^\s*SET\s+(?:LOCAL\s+|SESSION\s+)?lock_timeout\s*(?:=|TO)\s*'?\s*([^';\s]*)")
_RESET_LOCK_TIMEOUT = r"^\s*RESET\s+(?:lock_timeout|ALL)\b"

Range = tuple[int, int, int, int]  # line, column, end line, end column of one statement


def merge(diagnostics: Iterable[Diagnostic], texts: Mapping[str, str],
          ranges: Callable[[str], Sequence[Range]] | None = None) -> list[Diagnostic]:
    """The findings, one per cause, in report order (`report_order`).

    `texts` maps a path to its working-tree text (for `lock_timeout`); `ranges(text)` gives a
    text's statements (default: the PostgreSQL splitter).
    """
    split = ranges or _statement_ranges
    by_path: dict[str, list[Diagnostic]] = defaultdict(list)
    for diagnostic in diagnostics:
        by_path[diagnostic.path].append(diagnostic)
    merged: list[Diagnostic] = []
    for path, found in by_path.items():
        text = texts.get(path)
        # only the replay's observations are matched to statements, and only the findings
        # folded by order (duplicates, verdicts) care how a file's findings are grouped: a file
        # with none of them keeps its findings as found (report_order sorts them), unsplit
        grouped = any(d.rule in _NEEDS_STATEMENTS for d in found)
        statements = split(text) if text is not None and grouped else ()
        timeouts = _under_lock_timeout(text, statements) if text is not None else set()
        merged.extend(_merge_file(found, statements, timeouts))
    return report_order(_merge_verdicts(_merge_duplicates(merged)))


def _merge_file(found: list[Diagnostic], statements: Sequence[Range],
                timeouts: set[int]) -> list[Diagnostic]:
    """Within one file: observations into the static findings of their statement."""
    groups: dict[int | None, list[Diagnostic]] = defaultdict(list)
    for diagnostic in found:
        groups[_statement_of(diagnostic, statements)].append(diagnostic)
    out: list[Diagnostic] = []
    hazards = [d for d in found if d.rule in TEXT_HAZARDS]
    for index, group in groups.items():
        if index is None:
            out.extend(group)
            continue
        out.extend(_merge_statement(group, hazards, index in timeouts))
    # a failure explained by a hazard elsewhere in the file was left out of its group: fold it
    return _fold_into_hazards(out, hazards)


def _merge_statement(group: list[Diagnostic], hazards: list[Diagnostic],
                     bounded: bool) -> list[Diagnostic]:
    observed = [d for d in group if d.rule in (LOCK_OBSERVED, REWRITE_OBSERVED, FAILED)]
    static = [d for d in group if d not in observed]
    leftovers: list[Diagnostic] = []
    for observation in observed:
        owner = _owner(observation, static)
        if owner is None:
            if observation.rule == LOCK_OBSERVED and bounded:
                continue  # a lock bounded by the file's lock_timeout is what the rules ask for
            if observation.rule == FAILED and any(_before(h, observation) for h in hazards):
                leftovers.append(observation)  # folded into its hazard by the caller
                continue
            if observation.rule != FAILED:
                observation = replace(observation, message=f"{observation.message} ({UNPREDICTED})")
            leftovers.append(observation)
            continue
        position = static.index(owner)
        static[position] = absorb(owner, observation, bounded)
    return static + leftovers


def _owner(observation: Diagnostic, static: list[Diagnostic]) -> Diagnostic | None:
    """The static finding of the same statement that predicted `observation`."""
    wanted = {LOCK_OBSERVED: LOCK_PREDICTORS, REWRITE_OBSERVED: REWRITE_PREDICTORS,
              FAILED: FAILURE_EXPLAINERS + TEXT_HAZARDS}[observation.rule]
    candidates = [d for d in static if d.rule in wanted]
    if not candidates:
        return None
    return min(candidates, key=lambda d: (-d.severity.rank, wanted.index(d.rule)))


def absorb(owner: Diagnostic, folded: Diagnostic, bounded: bool = False) -> Diagnostic:
    """`owner` with `folded`'s evidence in its message and `folded` in its related list."""
    evidence = evidence_of(folded)
    if bounded and folded.rule == LOCK_OBSERVED:
        evidence += ", under the lock_timeout set earlier in the file"
    message = owner.message
    if evidence:
        message = (message[:-1] + f"; {evidence})" if message.endswith(")") and "(observed:"
                   in message else f"{message} (observed: {evidence})")
    related = Related(folded.rule, folded.path, folded.line, folded.message, folded.column)
    return replace(owner, message=message,
                   related=(*owner.related, related, *folded.related))


def evidence_of(observation: Diagnostic) -> str:
    """The replay's words for what it saw, short: `ACCESS EXCLUSIVE lock on table users`,
    from the observation it carries (`Diagnostic.evidence`); a finding without one (not the
    replay's) is quoted whole."""
    if observation.rule not in (LOCK_OBSERVED, REWRITE_OBSERVED, FAILED):
        return ""
    if observation.evidence is not None:
        return observation.evidence.words
    return observation.message


def _before(hazard: Diagnostic, failure: Diagnostic) -> bool:
    return hazard.path == failure.path and hazard.line <= failure.line


def _fold_into_hazards(found: list[Diagnostic], hazards: list[Diagnostic]) -> list[Diagnostic]:
    if not hazards:
        return found
    out = list(found)
    for failure in [d for d in found if d.rule == FAILED]:
        explaining = [h for h in hazards if _before(h, failure)]
        if not explaining:
            continue
        owner = next(d for d in out if d.rule == explaining[-1].rule
                     and d.line == explaining[-1].line and d.column == explaining[-1].column)
        out[out.index(owner)] = absorb(owner, failure)
        out.remove(failure)
    return out


def _merge_verdicts(found: list[Diagnostic]) -> list[Diagnostic]:
    """refinery's divergent/missing verdict on a file a history rule already names, and
    `version-not-after-base` on a file `duplicate-version` names (after the verdicts, so that
    a verdict it absorbed travels with it)."""
    out = list(found)
    verdicts = sorted((d for d in found if d.rule in VERDICT_OWNERS),
                      key=lambda d: d.rule == "version-not-after-base")
    for verdict in verdicts:
        verdict = next((d for d in out if d.rule == verdict.rule and d.path == verdict.path
                        and d.line == verdict.line and d.message == verdict.message), verdict)
        wanted = VERDICT_OWNERS[verdict.rule]
        owners = [d for d in out if d.path == verdict.path and d.rule in wanted]
        if not owners:
            continue
        related = Related(verdict.rule, verdict.path, verdict.line, verdict.message,
                          verdict.column)
        out[out.index(owners[0])] = replace(
            owners[0], related=(*owners[0].related, related, *verdict.related))
        out.remove(verdict)
    return out


def _merge_duplicates(found: list[Diagnostic]) -> list[Diagnostic]:
    """`duplicate-version` is said once per file with the same text: keep the one to rename."""
    out: list[Diagnostic] = []
    groups: dict[str, list[Diagnostic]] = defaultdict(list)
    for diagnostic in found:
        if diagnostic.rule == "duplicate-version":
            groups[diagnostic.message].append(diagnostic)
        else:
            out.append(diagnostic)
    for group in groups.values():
        keeper = next((d for d in group if d.hint), group[0])
        others = tuple(Related(d.rule, d.path, d.line, d.hint or d.message, d.column)
                       for d in group if d is not keeper)
        out.append(replace(keeper, related=(*keeper.related, *others)))
    return out


def _statement_of(diagnostic: Diagnostic, statements: Sequence[Range]) -> int | None:
    where = (diagnostic.line, diagnostic.column)
    for index, (line, column, end_line, end_column) in enumerate(statements):
        if (line, column) <= where <= (end_line, end_column):
            return index
    return None


def _statement_ranges(text: str, dialect: Dialect = "postgres") -> list[Range]:
    from migration_gate.sql.split import split_statements

    return [(s.line, s.column, s.end_line, s.end_column)
            for s in split_statements(text, dialect)]


def statement_ranges(dialect: Dialect) -> Callable[[str], Sequence[Range]]:
    """The splitter of `dialect`, for `merge`."""
    return lambda text: _statement_ranges(text, dialect)


def _under_lock_timeout(text: str, statements: Sequence[Range]) -> set[int]:
    """Indexes of the statements that run after a non-zero `SET [LOCAL] lock_timeout`."""
    lines = text.splitlines()
    bounded: set[int] = set()
    active = False
    set_timeout = re.compile(_SET_LOCK_TIMEOUT, re.IGNORECASE)
    reset_timeout = re.compile(_RESET_LOCK_TIMEOUT, re.IGNORECASE)
    for index, (line, column, _end_line, _end_column) in enumerate(statements):
        if active:
            bounded.add(index)
        head = lines[line - 1][column - 1:] if line - 1 < len(lines) else ""
        match = set_timeout.match(head)
        if match:
            active = match.group(1).upper() not in ("0", "DEFAULT", "")
        elif reset_timeout.match(head):
            active = False
    return bounded


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """`V2` before `V10`: digit runs compare as numbers."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.lower())
                 for part in re.split(r"(\d+)", text) if part)


@lru_cache(maxsize=8192)
def _file_key(path: str) -> tuple[tuple[int, int | str], ...]:
    """The version-order key of a file (computed once per file: reports sort many findings)."""
    return natural_key(PurePosixPath(path).name)


def report_order(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Files in version order (V1, V2 ... V10: the file name, digits as numbers), and within a
    file errors first, then by place. Every reporter shows findings in this order."""
    def key(d: Diagnostic) -> tuple[object, ...]:
        return (_file_key(d.path), d.path, -d.severity.rank, d.line, d.column, d.rule)

    return sorted(diagnostics, key=key)

