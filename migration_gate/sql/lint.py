"""Lint one migration's text: split, read, apply the rules in order, honour ignore comments.

Each statement is read by `reader.read`: words from our lexer, sqlglot only where the syntax
check covers the statement or our lexer cannot read it.

`lint_text` is pure (text in, diagnostics out) so that it can run in worker processes and be
cached by content. Findings carry every rule's default severity, `off` included: the
configuration is applied afterwards (`pipeline.apply_config`), and ignores see all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from migration_gate.catalog import Rule
from migration_gate.diagnostics import Diagnostic

# imported here, not in `lint_text`: every importer of this module lints (or reads created
# tables) at once, so they are loaded anyway, and a dozen imports per file cost a corpus run
# ~40 ms (issue 14); importing `rules` imports every rule module
from migration_gate.sql import hazards
from migration_gate.sql.ignores import UNUSED_IGNORE, apply_ignores, find_ignores
from migration_gate.sql.reader import plain
from migration_gate.sql.reader import read as read_statement
from migration_gate.sql.rules import registry
from migration_gate.sql.rules.base import CURRENT_SQLITE, DDL_STARTS, FileState, View
from migration_gate.sql.rules.context import OBSERVED, observe
from migration_gate.sql.rules.robustness import SYNTAX_ERROR
from migration_gate.sql.rules.statements import Stmt
from migration_gate.sql.split import Positions, Span, Statement, scan, scan_text, to_statements
from migration_gate.sql.tokens import Parsed, regex_words
from migration_gate.types import Dialect

if TYPE_CHECKING:
    from migration_gate.runners.model import Runner
    from migration_gate.sql.columns import ColumnRows


def lint_text(
    text: str,
    path: str,
    dialect: Dialect = "postgres",
    *,
    new_tables: Iterable[str] = (),
    postgres_version: int | None = None,
    sqlite_version: tuple[int, int] | None = None,
    parse_statements: bool = True,
    runner: Runner | None = None,
    columns: ColumnRows = (),
) -> list[Diagnostic]:
    """Every SQL finding of one migration, ignores applied, in statement order.

    With `parse_statements=False` (huge files) the rules run on the tokens alone and one
    `syntax-error` finding says that sqlglot did not parse the file. `runner` (None: refinery)
    answers what depends on it: its crash window and how it runs the file's statements.
    `columns` (MySQL): the altered tables' columns as the migrations before this one left them.
    """
    found = scan_text(text, dialect)
    comment_spans = found.comments
    positions = Positions(text)
    statements = to_statements(text, list(found.statements), positions)
    muted = _statements_within(statements, hazards.muted_spans(text, found))
    # Only statements some rule reads get the token view (a third of a corpus is INSERTs,
    # COMMENTs and UPDATEs in migrations without DDL); the others keep their first word.
    firsts = [_first_word(s.text) for s in statements]
    has_ddl = any(first in DDL_STARTS for first in firsts)
    read = registry.read_words(has_ddl) | OBSERVED
    # a plain UPDATE (`reader.plain`: it has a WHERE) is only counted too: no rule would
    # find anything in its words (4,300 statements of the corpus)
    # `set_config(...)` is looked for in each statement only when the file has it at all
    configures = _SET_CONFIG.search(text) is not None
    wanted = [(configures and _SET_CONFIG.search(s.text) is not None) or (first in read and not (
        first == "UPDATE" and dialect == "postgres" and plain(s.text)))
              for first, s in zip(firsts, statements, strict=True)]
    if parse_statements:
        parsed = [read_statement(s.text, s.start_offset, dialect, words=want)
                  for s, want in zip(statements, wanted, strict=True)]
    else:  # a data dump: tokens only, and only where a rule reads them
        parsed = [Parsed(regex_words(s.text, s.start_offset) if want else (), None, None)
                  for s, want in zip(statements, wanted, strict=True)]
    state = FileState(dialect=dialect, postgres_version=postgres_version,
                      sqlite_version=sqlite_version or CURRENT_SQLITE,
                      new_tables=set(new_tables), has_ddl=has_ddl, parsed=parse_statements,
                      chars=len(text), statements=len(statements))
    if columns:
        from migration_gate.sql.columns import from_rows

        state.columns = from_rows(columns)
    _ask_runner(state, runner, [s.text for s in statements])
    checks = registry.for_dialect(dialect)

    # (statement index, rule, message, the span it points at if not its statement's, hint)
    raw: list[tuple[int, Rule, str, Span | None, str | None]] = []
    for index, (result, first) in enumerate(zip(parsed, firsts, strict=True)):
        state.index = index
        stmt = Stmt(View(result.words) if result.words else View.first_only(first), result.error)
        seen: set[str] = set()
        for check in checks.for_statement(stmt):
            for finding in check(stmt, state):
                rule = finding.rule
                if rule.id in seen or dialect not in rule.dialects:
                    continue
                if rule is SYNTAX_ERROR:
                    # text hazards explain their statements; forms sqlglot lacks are accepted
                    if index in muted or _engine_accepts(statements[index].text, dialect):
                        continue
                    message = _syntax_message(result, dialect, positions)
                else:
                    message = finding.message
                seen.add(rule.id)
                raw.append((index, rule, message, finding.span, finding.hint))
        observe(stmt, state)
    for index, finding in checks.file(state):
        raw.append((index, finding.rule, finding.message, finding.span, finding.hint))
    for located in hazards.text_findings(text, found, dialect):
        raw.append((_statement_at(statements, located.start), hazards.BY_ID[located.rule],
                    located.message, (located.start, located.end), None))
    raw.sort(key=lambda item: item[0])

    ignores = find_ignores(text, comment_spans)
    diagnostics: list[Diagnostic] = []
    if ignores:
        from migration_gate.catalog import all_rules

        catalogue = all_rules()
        database_rules = [rule for rule, doc in catalogue.items() if doc.needs == "db"]
        outcome = apply_ignores(ignores, [s.start_offset for s in statements],
                                [(item[0], item[1].id) for item in raw], catalogue,
                                judged_elsewhere=database_rules)
        kept = [raw[i] for i in outcome.kept]
        for ignore, _rule, message in outcome.unused:
            line, column = positions.at(ignore.start_offset)
            end_line, end_column = positions.at(max(ignore.start_offset, ignore.end_offset - 1))
            diagnostics.append(UNUSED_IGNORE.diagnostic(
                path, message, line=line, column=column, end_line=end_line,
                end_column=end_column, hint=UNUSED_IGNORE.hint,
            ))
    else:
        kept = raw
    for index, rule, message, span, hint in kept:
        if span is not None:
            diagnostics.append(_located(rule, span, positions, path, message, hint))
        else:
            diagnostics.append(_diagnostic(rule, statements[index], path, message, hint))
    diagnostics.sort(key=lambda d: (d.line, d.column, d.rule))
    return diagnostics


def _first_word(text: str) -> str:
    match = _FIRST_WORD.match(text)
    return match.group(1).upper() if match else ""


_FIRST_WORD = re.compile(r"([A-Za-z_]+)")
_SET_CONFIG = re.compile(r"set_config", re.IGNORECASE)


def _ask_runner(state: FileState, runner: Runner | None, statements: list[str]) -> None:
    """The runner's answers for this file, into `state`: its crash window, and how it runs the
    statements when it decides that per script (Flyway) rather than running every one inside
    its transaction (refinery, whose answers predate the runner model and never change)."""
    if runner is None or runner.name == "refinery":
        from migration_gate.runners.refinery import CRASH_WINDOW

        state.crash_window = CRASH_WINDOW
        return
    from migration_gate.runners.model import NonTransactionalPolicy

    state.runner = runner.name
    in_transaction = True
    if runner.execution.non_transactional is NonTransactionalPolicy.RUNS_WITHOUT_TRANSACTION:
        state.script = runner.script_transaction(statements, state.dialect)
        in_transaction = state.script.in_transaction
    state.crash_window = runner.crash_window(in_transaction, state.dialect)


def _diagnostic(rule: Rule, statement: Statement, path: str, message: str,
                hint: str | None = None) -> Diagnostic:
    return rule.diagnostic(path, message, line=statement.line, column=statement.column,
                           end_line=statement.end_line, end_column=statement.end_column,
                           hint=hint or rule.hint)


def _located(rule: Rule, span: Span, positions: Positions, path: str,
             message: str, hint: str | None = None) -> Diagnostic:
    line, column = positions.at(span[0])
    end_line, end_column = positions.at(max(span[0], span[1] - 1))
    return rule.diagnostic(path, message, line=line, column=column, end_line=end_line,
                           end_column=end_column, hint=hint or rule.hint)


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
    spans, _ = scan(text, dialect)
    state = FileState(dialect=dialect)
    for start, end in spans:
        if text[start : start + 6].upper() != "CREATE":
            continue
        observe(Stmt(View(regex_words(text[start:end], start))), state)
    return state.new_tables
