"""The lexer reads a statement with one `findall` (issue 14): comments and dollar quotes are
whole tokens of its regular expression, and what it does not read is a token of its own.

These cases are where that could differ from reading one token at a time, as the lexer did
before: each expectation is what that lexer gave (checked against it on every statement of the
corpus in four dialects, and on random edits of them, when the change was made).
"""

from __future__ import annotations

import pytest

from migration_gate.sql.lex import lex
from migration_gate.types import Dialect

Row = tuple[str, str, int, int]


def words(text: str, dialect: Dialect = "postgres") -> list[Row] | None:
    found = lex(text, 10, dialect)
    return None if found is None else [(w.kind, w.text, w.start, w.end) for w in found]


@pytest.mark.parametrize(("text", "dialect"), [
    ("SELECT /* a /* b */ */ 1", "postgres"),  # nested: not read
    ("SELECT /* open", "postgres"),  # never closed
    ("SELECT /*+ hint */ 1", "mysql"),  # an optimizer hint
    ("SELECT $t$ open", "postgres"),  # a dollar quote never closed
    ("SELECT $1", "postgres"),  # a parameter
    ("SELECT E'x'", "postgres"),  # a prefixed string
    ("SELECT 'open", "postgres"),
    ("SELECT a\\b", "postgres"),
])
def test_what_the_lexer_does_not_read(text: str, dialect: Dialect) -> None:
    assert words(text, dialect) is None


def test_comments_are_skipped_wherever_they_are() -> None:
    assert words("SELECT /* a */ 1") == [("word", "SELECT", 10, 16), ("number", "1", 25, 26)]
    assert words("SELECT /*/ x */ 1") == [("word", "SELECT", 10, 16), ("number", "1", 26, 27)]
    assert words("SELECT /**/ 1") == [("word", "SELECT", 10, 16), ("number", "1", 22, 23)]
    assert words("SELECT /*+ hint */ 1") == [("word", "SELECT", 10, 16),
                                             ("number", "1", 29, 30)]
    assert words("x --y") == [("word", "X", 10, 11)]
    # MySQL's `--` starts a comment only before a blank: else two minus signs
    assert words("SELECT 1 --x", "mysql") == [
        ("word", "SELECT", 10, 16), ("number", "1", 17, 18), ("punct", "-", 19, 20),
        ("punct", "-", 20, 21), ("word", "X", 21, 22)]


def test_dollar_quotes_end_at_their_own_delimiter() -> None:
    assert words("SELECT $$a;b$$, $t$x$$y$t$") == [
        ("word", "SELECT", 10, 16), ("string", "a;b", 17, 24), ("punct", ",", 24, 25),
        ("string", "x$$y", 26, 36)]


def test_punctuation_operators_and_two_word_keywords() -> None:
    assert words("SELECT a->>b, (c), d||e;") == [
        ("word", "SELECT", 10, 16), ("word", "A", 17, 18), ("punct", "->>", 18, 21),
        ("word", "B", 21, 22), ("punct", ",", 22, 23), ("punct", "(", 24, 25),
        ("word", "C", 25, 26), ("punct", ")", 26, 27), ("punct", ",", 27, 28),
        ("word", "D", 29, 30), ("punct", "||", 30, 32), ("word", "E", 32, 33),
        ("punct", ";", 33, 34)]
    # sqlglot's one token for `DOUBLE PRECISION`: both words at its start
    assert words("CREATE TABLE t (a double  precision)")[5:7] == [  # type: ignore[index]
        ("word", "DOUBLE", 28, 28), ("word", "PRECISION", 28, 28)]
    # ... but not across a comment
    assert words("CREATE TABLE t (a double /**/ precision)")[5:7] == [  # type: ignore[index]
        ("word", "DOUBLE", 28, 34), ("word", "PRECISION", 40, 49)]
