"""Lint one migration's text: split, parse, apply the rules in order, honour ignore comments.

`lint_text` is pure (text in, diagnostics out) so that it can run in worker processes and be
cached by content. Findings carry every rule's default severity, `off` included: the
configuration is applied afterwards (`pipeline.apply_config`), and ignores see all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from migration_gate.catalog import RuleDoc
from migration_gate.diagnostics import Diagnostic
from migration_gate.sql.split import Positions, Statement, scan, to_statements
from migration_gate.types import Dialect


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

    spans, comment_spans = scan(text, dialect)
    positions = Positions(text)
    statements = to_statements(text, spans, positions)
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

    raw: list[tuple[int, str, str]] = []  # (statement index, rule, message)
    for index, (result, view) in enumerate(zip(parsed, views, strict=True)):
        state.index = index
        seen: set[str] = set()
        for finding in check_statement(view, state):
            if finding.rule in seen or dialect not in BY_ID[finding.rule].dialects:
                continue
            seen.add(finding.rule)
            raw.append((index, finding.rule, finding.message))
        if result.error is not None and not (view.keys and view.keys[0] in TOKEN_UNDERSTOOD):
            raw.append((index, "syntax-error",
                        f"sqlglot cannot parse this statement ({dialect}): {result.error}"))
    if dialect in BY_ID["session-setting-leak"].dialects:
        for index, name in session_leaks(state).items():
            raw.append((index, "session-setting-leak",
                        f"SET {name} without SET LOCAL or a later RESET {name}: the setting "
                        "leaks into the session that runs the next migrations"))
    if not parse_statements and statements:
        raw.append((0, "syntax-error",
                    f"not parsed with sqlglot: the file has {len(text):,} characters; the rules "
                    "ran on its tokens only"))
    raw.sort(key=lambda item: item[0])

    ignores = find_ignores(text, comment_spans)
    diagnostics: list[Diagnostic] = []
    if ignores:
        from migration_gate.catalog import all_rules

        catalogue = all_rules()
        database_rules = [rule for rule, doc in catalogue.items() if doc.needs == "db"]
        outcome = apply_ignores(ignores, [s.start_offset for s in statements],
                                [(index, rule) for index, rule, _ in raw], catalogue,
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
    for index, rule, message in kept:
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
