"""One statement read for the rules: its words from our lexer, sqlglot only where it earns its cost.

No rule reads sqlglot's expression tree (they all read the word view, which also covers what
sqlglot folds into a `Command` or rejects), so sqlglot's parser is only needed for one verdict:
the `syntax-error` check. Parsing every statement cost a third of a cold lint, and importing
sqlglot at all more than a one-file lint's budget, for 2 findings on the 3,128-file corpus.

What the syntax check covers (the replay of `check --verify` is the judge of the rest):

* every statement our lexer cannot read (`lex.lex` gives up: prefixed strings, backslashes,
  `$` outside a dollar quote such as Flyway's `${placeholder}`, braces, non-ASCII text outside
  quotes, unterminated quotes): sqlglot tokenizes it for the words anyway, and parses it;
* every statement of a kind outside `TRUSTED_KINDS` (a first word that is not the usual DDL,
  DML, `ANALYZE` or `PRAGMA`: `USE`, `CLUSTER`, `MERGE`, a typo...), except those the word
  view understands without sqlglot (`rules.robustness.TOKEN_UNDERSTOOD`) and those sqlglot
  folds into a command;
* every statement of a trusted kind whose words look wrong (`doubtful`): unbalanced
  parentheses, a clause keyword with nothing after it or followed by another clause
  (`FROM WHERE`, `UPDATE SET`), `CREATE TABLE (`, `INSERT INTO VALUES`, an empty list item
  (`(a,)`, `(,`, `,,`), an operator followed by another or by a clause (`SET a = WHERE`);
* every statement that may be a form `forms.py` knows sqlglot lacks (MySQL's compound
  statements, `UPDATE IGNORE`, `SELECT ... INTO @v`, `ALTER TABLE ... ADD (...)`; SQLite's
  `CREATE VIRTUAL TABLE`; `COMMENT ON CONSTRAINT`): sqlglot rejects them, and `forms.py` tells
  the form from a mistake in it.

So a statement of the usual kinds whose words are well formed is not parsed: on the corpus no
such statement had a `syntax-error` finding (`bench/lint_diff.py` shows the findings unchanged),
and a one-file lint of a typical migration never imports sqlglot.
"""

from __future__ import annotations

import re
from functools import cache

from migration_gate.sql.lex import is_command, lex

# here, not in `_checked` (once per statement read): this module's importers lint, so the
# rules are imported anyway (issue 14)
from migration_gate.sql.rules.robustness import TOKEN_UNDERSTOOD
from migration_gate.sql.tokens import NAME, NUMBER, STRING, Parsed, Word, parse, regex_words
from migration_gate.types import Dialect

#: Statement kinds (first words) whose well-formed statements are left to the replay.
TRUSTED_KINDS = frozenset({"CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE", "SELECT",
                           "WITH", "COMMENT", "GRANT", "REVOKE", "TRUNCATE", "ANALYZE",
                           "PRAGMA"})
#: Clause keywords that must be followed by something other than the end or another clause.
_CLAUSES = frozenset({"FROM", "WHERE", "SET", "VALUES", "INTO", "JOIN", "ON", "AND", "OR",
                      "BY", "HAVING", "SELECT", "TABLE", "NOT", "IN", "IS", "LIKE"})
_CLAUSE_STARTS = frozenset({"FROM", "WHERE", "GROUP", "ORDER", "HAVING", "LIMIT", "SET",
                            "VALUES"})
#: What a statement cannot end with (`ON` can: `PRAGMA foreign_keys = ON`; `DEFAULT` too:
#: `ALTER COLUMN c DROP DEFAULT`).
_DANGLING = (_CLAUSES - {"ON"}) | {",", "(", "=", ".", "<>", "!=", "<", ">", "<=", ">=", "+",
                                   "-", "/", "||", "::", "ADD", "COLUMN", "CONSTRAINT", "CHECK",
                                   "REFERENCES", "TO", "AS", "USING", "EXISTS", "TYPE", "KEY"}


def read(text: str, offset: int, dialect: Dialect, *, words: bool = True) -> Parsed:
    """The statement's words (unless `words=False`) and, where the syntax check covers it,
    sqlglot's verdict. Never raises."""
    if not words and dialect == "postgres" and plain(text):
        return Parsed((), None, None)  # what the lexer and `doubtful` would conclude
    lexed = lex(text, offset, dialect)
    if lexed is None:  # only sqlglot's tokenizer reads it: its words, and its parse
        return parse(text, offset, dialect, words=words)
    command = not lexed or is_command(lexed, dialect)
    view = (regex_words(text, offset) if command else lexed) if words else ()
    if command or not _checked(lexed, dialect):
        return Parsed(view, None, None)
    verdict = parse(text, offset, dialect, words=False)
    return Parsed(view, None, verdict.error, verdict.error_offset)


def _checked(words: tuple[Word, ...], dialect: Dialect) -> bool:
    """Whether the syntax check asks sqlglot about a statement our lexer read."""
    first = words[0].text if words[0].kind not in (NAME, STRING, NUMBER) else ""
    if first in TOKEN_UNDERSTOOD:
        return False
    return first not in TRUSTED_KINDS or doubtful(words, dialect)


def doubtful(words: tuple[Word, ...], dialect: Dialect = "postgres") -> bool:
    """Whether the words of a statement of a trusted kind look wrong (see the module's doc),
    or it has a form sqlglot lacks (`forms.py` then says whether the engine accepts it)."""
    keys = [text if kind not in _VALUES else "\0" for kind, text, _start, _end in words]
    if _lacked_form(keys, dialect):
        return True
    depth = 0
    # only the keys below can make a statement doubtful: the names and values between them
    # (most of an INSERT's words) are passed over without a test each
    for index in [i for i, key in enumerate(keys) if key in _WATCHED]:
        key = keys[index]
        after = keys[index + 1] if index + 1 < len(keys) else None
        if key == "(":
            depth += 1
        elif key == ")":
            depth -= 1
            if depth < 0:
                return True
        if key in (",", "(") and after in (",", ")") and not (key == "(" and after == ")"):
            return True
        if key in _CLAUSES and after in _CLAUSE_STARTS and (key, after) not in _ALLOWED:
            return True
        if key in _OPERATORS and (after in _OPERATORS or after in _CLAUSE_STARTS
                                  or after in (",", ")")):
            return True
    if depth != 0 or keys[-1] in _DANGLING:
        return True
    return (keys[:3] == ["CREATE", "TABLE", "("] or keys[:2] == ["UPDATE", "SET"]
            or (keys[0] == "INSERT" and keys[2:3] in (["VALUES"], ["SELECT"], ["("])))


#: Binary operators: one cannot be followed by another, a clause or the end of a list.
_OPERATORS = frozenset({"=", "<>", "!=", "<", ">", "<=", ">=", "||", "AND", "OR", "LIKE"})
#: Every key `doubtful` tests in its loop (parentheses, list commas, clauses, operators).
_WATCHED = frozenset({"(", ")", ","}) | _CLAUSES | _OPERATORS
#: Word kinds whose text is a value, never a keyword or a parenthesis (`"("` is a name).
_VALUES = frozenset({NAME, STRING, NUMBER})


def _lacked_form(keys: list[str], dialect: Dialect) -> bool:
    """Whether the statement may be one of the forms `forms.py` knows that sqlglot lacks: a
    MySQL compound statement (a bare `BEGIN`), `UPDATE IGNORE`, `SELECT ... INTO @v`, `ADD (`;
    SQLite's `CREATE VIRTUAL TABLE`; PostgreSQL's `COMMENT ON CONSTRAINT`. sqlglot rejects
    them, and `forms.py` tells a mistake in them from the form."""
    if dialect == "postgres":
        return keys[:3] == ["COMMENT", "ON", "CONSTRAINT"]
    if dialect == "sqlite":
        return keys[:2] == ["CREATE", "VIRTUAL"]
    if dialect != "mysql":
        return False
    return ("BEGIN" in keys or keys[1:2] in (["IGNORE"], ["LOW_PRIORITY"])
            or (keys[0] in ("SELECT", "(") and "INTO" in keys)
            or any(key == "ADD" and "(" in keys[index + 1 : index + 3]
                   for index, key in enumerate(keys)))


#: Clause keywords that may be followed by a clause start (`ON UPDATE SET NULL`, `SET DEFAULT`,
#: `NOT VALID`...): kept out of `doubtful`.
_ALLOWED = frozenset({("ON", "SET"), ("BY", "SET"), ("IN", "SELECT"), ("INTO", "SELECT"),
                      ("FROM", "SELECT"), ("NOT", "IN"), ("ON", "DELETE"), ("SET", "SET"),
                      ("SELECT", "FROM"), ("BY", "VALUES")})


#: PostgreSQL's blanks as our lexer reads them (`\s` would take more: the lexer gives up on
#: those, so sqlglot must see the statement).
_BLANK = "[ \t\r\n\f\v]*"


#: Whether `plain` is asked at all (`use_plain`).
_PLAIN_ON = False


def use_plain() -> None:
    """Compile `plain`'s patterns now and use them from now on: a large run does, before it
    forks (its workers inherit them). Compiling them costs ~75 ms, more than a small run's
    statements gain from them, so a run of a few files never does (its findings are the same:
    `plain` only skips work whose outcome it has proven)."""
    global _PLAIN_ON
    _plain_insert()
    _plain_update()
    _PLAIN_ON = True


def plain(text: str) -> bool:
    """Whether a PostgreSQL statement is a plain INSERT (`_plain_insert`) or UPDATE
    (`_plain_update`): one our lexer reads whole and `doubtful` passes, so it is never parsed,
    and whose words no rule needs beyond its first (an UPDATE's: it has a WHERE). Always false
    until `use_plain`."""
    if not _PLAIN_ON:
        return False
    first = text[:6].upper()
    if first == "INSERT":
        return _plain_insert().fullmatch(text) is not None
    return first == "UPDATE" and _plain_update().fullmatch(text) is not None


@cache
def _plain_update() -> re.Pattern[str]:
    """`UPDATE t SET c = v, ... WHERE c = v AND ...` with `_plain_insert`'s names and values,
    compared by `=`, `<>`, `!=`, `[I]LIKE`, `IS [NOT] NULL` or `IN (v, ...)`: what `doubtful`
    passes, and what `unbounded-data-change` (the one rule that reads an UPDATE's words) passes
    too, as it has a WHERE."""
    b, (name, value) = _BLANK, _plain_parts()
    compared = (rf"{name}(?:{b}\.{b}{name})?{b}(?:(?:=|<>|!=|(?<![A-Za-z0-9_])I?LIKE"
                rf"(?![A-Za-z0-9_])){b}{value}|(?<![A-Za-z0-9_])IS{b}(?:NOT{b})?NULL"
                rf"(?![A-Za-z0-9_])|(?<![A-Za-z0-9_])IN{b}\({b}{value}(?:{b},{b}{value})*{b}\))")
    assign = rf"{name}{b}={b}{value}"
    return re.compile(
        rf"UPDATE{b}{name}(?:{b}\.{b}{name})?{b}SET{b}{assign}(?:{b},{b}{assign})*{b}"
        rf"WHERE{b}{compared}(?:{b}(?:AND|OR){b}{compared})*",
        re.IGNORECASE | re.ASCII)


@cache
def _plain_parts() -> tuple[str, str]:
    """A name (quoted, or bare and not one of the keywords `doubtful` tests) and a value (a
    string, a number, a name, a cast, a call of those), as `_plain_insert` reads them."""
    b = _BLANK
    keywords = sorted(w for w in _CLAUSES | _CLAUSE_STARTS | _OPERATORS | _DANGLING
                      if w.isalpha())
    name = (r'(?:"[^"\\]*(?:""[^"\\]*)*"|(?!(?:' + "|".join(keywords)
            + r")(?![A-Za-z0-9_]))[A-Za-z_][A-Za-z0-9_]*(?![A-Za-z0-9_]))")
    simple = (rf"(?:(?:'[^'\\]*(?:''[^'\\]*)*'|-?[0-9]+(?:\.[0-9]+)?|{name})"
              rf"(?:{b}::{b}{name})?)")
    call = rf"{name}{b}\({b}(?:{simple}(?:{b},{b}{simple})*{b})?\)"
    return name, f"(?:{call}|{simple})"


@cache
def _plain_insert() -> re.Pattern[str]:
    """A PostgreSQL `INSERT INTO t [(columns)] VALUES (...), ... [ON CONFLICT [(columns)] DO
    NOTHING]` whose values are strings, numbers, bare words, casts (`::type`) and calls of
    those (`now()`, `to_date('...', '...')`): a statement our lexer reads whole and `doubtful`
    passes, so it is never parsed, proven by its text in one C-level match instead of a word
    per value (a cold lint's data migrations are hundreds of kilobytes of these; `lex` took a
    tenth of a corpus run reading them, for a verdict known in advance).

    Its bare names exclude every keyword `doubtful` tests (`INTO set`, a column named `and`);
    ASCII only (`re.ASCII`: under IGNORECASE `[a-z]` would also take the Kelvin sign, which
    the lexer reads as a non-ASCII word); strings without backslashes and names without them,
    as the lexer reads them. Anything else (a comment, a subquery, `E'...'`) takes the
    lexer's path."""
    b, (name, value) = _BLANK, _plain_parts()
    names = rf"\({b}{name}(?:{b},{b}{name})*{b}\)"
    row = rf"\({b}{value}(?:{b},{b}{value})*{b}\)"
    return re.compile(
        rf"INSERT{b}INTO(?![A-Za-z0-9_]){b}{name}(?:{b}\.{b}{name})?{b}(?:{names}{b})?"
        rf"VALUES{b}{row}(?:{b},{b}{row})*"
        rf"(?:{b}ON{b}CONFLICT(?:{b}{names})?{b}DO{b}NOTHING)?",
        re.IGNORECASE | re.ASCII)
