"""Lint one migration's text: split, parse, apply the rules in order, honour ignore comments.

`lint_text` is pure (text in, diagnostics out) so that it can run in worker processes and be
cached by content. Findings carry every rule's default severity, `off` included: the
configuration is applied afterwards (`pipeline.apply_config`), and ignores see all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from migration_gate.catalog import RuleDoc
from migration_gate.diagnostics import Diagnostic
from migration_gate.sql.split import Positions, Span, Statement, scan, scan_text, to_statements
from migration_gate.types import Dialect

if TYPE_CHECKING:
    from migration_gate.sql.tokens import Parsed


def lint_text(
    text: str,
    path: str,
    dialect: Dialect = "postgres",
    *,
    new_tables: Iterable[str] = (),
    postgres_version: int | None = None,
    parse_statements: bool = True,
) -> list[Diagnostic]:
    """Every SQL finding of one migration, ignores applied, in statement order.

    With `parse_statements=False` (huge files) the rules run on the tokens alone and one
    `syntax-error` finding says that sqlglot did not parse the file.
    """
    from migration_gate.sql import hazards
    from migration_gate.sql.ignores import UNUSED_IGNORE, apply_ignores, find_ignores
    from migration_gate.sql.rules.checks import (
        DDL_STARTS,
        HANDLED,
        TOKEN_UNDERSTOOD,
        FileState,
        View,
        check_statement,
        session_leaks,
    )
    from migration_gate.sql.rules.docs import BY_ID, HINTS
    from migration_gate.sql.tokens import Parsed, parse, regex_words

    found = scan_text(text, dialect)
    comment_spans = found.comments
    positions = Positions(text)
    statements = to_statements(text, list(found.statements), positions)
    muted = _statements_within(statements, hazards.muted_spans(text, found))
    # Only statements some rule reads get the token view (a third of a corpus is INSERTs,
    # COMMENTs and UPDATEs in migrations without DDL); the others keep their first word.
    firsts = [_first_word(s.text) for s in statements]
    has_ddl = any(first in DDL_STARTS for first in firsts)
    wanted = [
        (first in HANDLED and (has_ddl or first not in ("UPDATE", "DELETE")))
        or _SET_CONFIG.search(s.text) is not None
        for first, s in zip(firsts, statements, strict=True)
    ]
    if parse_statements:
        parsed = [parse(s.text, s.start_offset, dialect, words=want)
                  for s, want in zip(statements, wanted, strict=True)]
    else:  # a data dump: tokens only, and only where a rule reads them
        parsed = [Parsed(regex_words(s.text, s.start_offset) if want else (), None, None)
                  for s, want in zip(statements, wanted, strict=True)]
    views = [View(p.words) if p.words else View.first_only(first)
             for p, first in zip(parsed, firsts, strict=True)]
    state = FileState(dialect=dialect, postgres_version=postgres_version,
                      new_tables=set(new_tables))
    state.has_ddl = has_ddl

    # (statement index, rule, message, the span it points at if not its statement's)
    raw: list[tuple[int, str, str, Span | None]] = []
    for index, (result, view) in enumerate(zip(parsed, views, strict=True)):
        state.index = index
        seen: set[str] = set()
        for finding in check_statement(view, state):
            if finding.rule in seen or dialect not in BY_ID[finding.rule].dialects:
                continue
            seen.add(finding.rule)
            raw.append((index, finding.rule, finding.message, None))
        if (result.error is not None and index not in muted
                and not (view.keys and view.keys[0] in TOKEN_UNDERSTOOD)
                and not _engine_accepts(statements[index].text, dialect)):
            raw.append((index, "syntax-error", _syntax_message(result, dialect, positions),
                        None))
    if dialect in BY_ID["session-setting-leak"].dialects:
        for index, name in session_leaks(state).items():
            raw.append((index, "session-setting-leak",
                        f"SET {name} without SET LOCAL or a later RESET {name}: the setting "
                        "leaks into the session that runs the next migrations", None))
    if not parse_statements and statements:
        raw.append((0, "syntax-error",
                    f"not parsed with sqlglot: the file has {len(text):,} characters; the rules "
                    "ran on its tokens only", None))
    for located in hazards.text_findings(text, found, dialect):
        raw.append((_statement_at(statements, located.start), located.rule, located.message,
                    (located.start, located.end)))
    raw.sort(key=lambda item: item[0])

    ignores = find_ignores(text, comment_spans)
    diagnostics: list[Diagnostic] = []
    if ignores:
        from migration_gate.catalog import all_rules

        catalogue = all_rules()
        database_rules = [rule for rule, doc in catalogue.items() if doc.needs == "db"]
        outcome = apply_ignores(ignores, [s.start_offset for s in statements],
                                [(item[0], item[1]) for item in raw], catalogue,
                                judged_elsewhere=database_rules)
        kept = [raw[i] for i in outcome.kept]
        for ignore, _rule, message in outcome.unused:
            line, column = positions.at(ignore.start_offset)
            end_line, end_column = positions.at(max(ignore.start_offset, ignore.end_offset - 1))
            diagnostics.append(Diagnostic(
                UNUSED_IGNORE.id, UNUSED_IGNORE.severity, path, message, line, column,
                end_line, end_column, hint="fix the rule id or remove the ignore comment",
            ))
    else:
        kept = raw
    for index, rule, message, span in kept:
        if span is not None:
            diagnostics.append(_located(hazards.BY_ID[rule], span, positions, path, message,
                                        hazards.HINTS[rule]))
        else:
            diagnostics.append(_diagnostic(BY_ID[rule], statements[index], path, message,
                                           HINTS.get(rule)))
    diagnostics.sort(key=lambda d: (d.line, d.column, d.rule))
    return diagnostics


def _first_word(text: str) -> str:
    match = _FIRST_WORD.match(text)
    return match.group(1).upper() if match else ""


_FIRST_WORD = re.compile(r"([A-Za-z_]+)")
_SET_CONFIG = re.compile(r"set_config", re.IGNORECASE)


def _diagnostic(doc: RuleDoc, statement: Statement, path: str, message: str,
                hint: str | None) -> Diagnostic:
    return Diagnostic(doc.id, doc.severity, path, message, statement.line, statement.column,
                      statement.end_line, statement.end_column, hint)


def _located(doc: RuleDoc, span: Span, positions: Positions, path: str, message: str,
             hint: str) -> Diagnostic:
    line, column = positions.at(span[0])
    end_line, end_column = positions.at(max(span[0], span[1] - 1))
    return Diagnostic(doc.id, doc.severity, path, message, line, column, end_line, end_column,
                      hint)


def _statement_at(statements: list[Statement], offset: int) -> int:
    """The statement containing `offset`, else the next one (ignores then apply as to it),
    else `len(statements)` (only file-wide ignores apply)."""
    for index, statement in enumerate(statements):
        if statement.end_offset > offset:
            return index
    return len(statements)


def _statements_within(statements: list[Statement], spans: list[Span]) -> set[int]:
    """Indexes of the statements overlapping any of `spans`."""
    return {index for index, s in enumerate(statements)
            for start, end in spans if s.start_offset < end and start < s.end_offset}


def _engine_accepts(text: str, dialect: Dialect) -> bool:
    from migration_gate.sql.forms import engine_accepts
    from migration_gate.sql.tokens import reparse

    return engine_accepts(text, dialect, lambda sql: reparse(sql, dialect))


def _syntax_message(result: Parsed, dialect: Dialect, positions: Positions) -> str:
    from migration_gate.sql.forms import DIALECT_NAMES

    where = ""
    if result.error_offset is not None:
        line, column = positions.at(result.error_offset)
        where = f" (line {line}, column {column})"
    return (f"cannot parse this statement as {DIALECT_NAMES.get(dialect, dialect)}: "
            f"{result.error}{where}")


def created_tables(text: str, dialect: Dialect = "postgres") -> set[str]:
    """Tables (and materialized views) a migration creates, read without sqlglot (cheap)."""
    from migration_gate.sql.rules.checks import FileState, View, check_statement
    from migration_gate.sql.tokens import regex_words

    spans, _ = scan(text, dialect)
    state = FileState(dialect=dialect)
    for start, end in spans:
        if text[start : start + 6].upper() != "CREATE":
            continue
        for _finding in check_statement(View(regex_words(text[start:end], start)), state):
            pass
    return state.new_tables
