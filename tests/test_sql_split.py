"""Statement splitting: exact spans across comments, quotes, dollar quotes, CRLF and a BOM."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migration_gate.sql.split import Statement, split_statements
from migration_gate.types import Dialect


def texts(sql: str, dialect: Dialect = "postgres") -> list[str]:
    return [s.text for s in split_statements(sql, dialect)]


def where(statement: Statement) -> tuple[int, int, int, int]:
    return statement.line, statement.column, statement.end_line, statement.end_column


def test_simple_statements_and_positions() -> None:
    sql = "CREATE TABLE a (id int);\n  ALTER TABLE a ADD COLUMN b int;\n"
    first, second = split_statements(sql)
    assert first.text == "CREATE TABLE a (id int)"
    assert where(first) == (1, 1, 1, 23)
    assert second.text == "ALTER TABLE a ADD COLUMN b int"
    assert where(second) == (2, 3, 2, 32)
    assert sql[second.start_offset : second.end_offset] == second.text


def test_comments_before_a_statement_are_excluded() -> None:
    sql = "-- a comment; with a semicolon\n/* block ; */ SELECT 1; -- trailing;\n"
    (statement,) = split_statements(sql)
    assert statement.text == "SELECT 1"
    assert where(statement) == (2, 15, 2, 22)


def test_nested_block_comments_postgres() -> None:
    sql = "/* outer /* inner; */ still comment; */ SELECT 1; SELECT 2"
    assert texts(sql) == ["SELECT 1", "SELECT 2"]


def test_quoted_text_keeps_semicolons() -> None:
    sql = (
        "INSERT INTO t VALUES ('a;b', 'it''s; here', E'back\\'slash; x');\n"
        'CREATE TABLE "we;ird" (x int);'
    )
    assert texts(sql) == [
        "INSERT INTO t VALUES ('a;b', 'it''s; here', E'back\\'slash; x')",
        'CREATE TABLE "we;ird" (x int)',
    ]


def test_standard_string_backslash_is_not_an_escape() -> None:
    assert texts("SELECT 'C:\\'; SELECT 2;") == ["SELECT 'C:\\'", "SELECT 2"]


def test_dollar_quoted_bodies_stay_in_one_statement() -> None:
    sql = (
        "DO $$ BEGIN PERFORM 1; RAISE NOTICE 'x;'; END $$;\n"
        "CREATE FUNCTION f() RETURNS trigger AS $fn$\nBEGIN\n  NEW.a := 1;\n"
        "  RETURN NEW; -- $$ not the end\nEND;\n$fn$ LANGUAGE plpgsql;\n"
        "SELECT $1, a$b$c FROM t;"
    )
    statements = split_statements(sql)
    assert [s.text.split()[0] for s in statements] == ["DO", "CREATE", "SELECT"]
    assert statements[1].text.endswith("$fn$ LANGUAGE plpgsql")
    assert where(statements[1])[:3] == (2, 1, 7)
    assert statements[2].text == "SELECT $1, a$b$c FROM t"


def test_empty_statements_are_dropped() -> None:
    assert texts(";;  ;\n-- only a comment\n;SELECT 1;;") == ["SELECT 1"]


def test_crlf_counts_as_one_line_end_and_bom_is_not_a_column() -> None:
    sql = "\ufeffSELECT 1;\r\n\r\n  SELECT 2;\rSELECT 3"
    first, second, third = split_statements(sql)
    assert where(first) == (1, 1, 1, 8)
    assert first.start_offset == 1
    assert where(second) == (3, 3, 3, 10)
    assert where(third) == (4, 1, 4, 8)


def test_multiline_statement_end() -> None:
    sql = "ALTER TABLE users\n    ADD COLUMN x int\n    ;"
    (statement,) = split_statements(sql)
    assert where(statement) == (1, 1, 2, 20)


def test_unterminated_string_still_splits_the_rest() -> None:
    sql = "SELECT 'abc; SELECT 2;\nSELECT 3;"
    assert texts(sql) == ["SELECT 'abc", "SELECT 2", "SELECT 3"]


def test_unterminated_block_comment_ends_with_its_line() -> None:
    assert texts("/* oops\nSELECT 1; SELECT 2") == ["SELECT 1", "SELECT 2"]


def test_unterminated_dollar_quote_is_ordinary_text() -> None:
    assert texts("DO $$ BEGIN; SELECT 2;") == ["DO $$ BEGIN", "SELECT 2"]


@pytest.mark.parametrize(
    ("dialect", "sql", "expected"),
    [
        ("mysql", "SELECT 'a\\';b'; # c;\nSELECT `x;y`;", ["SELECT 'a\\';b'", "SELECT `x;y`"]),
        ("sqlite", "SELECT [a;b]; SELECT \"c;d\";", ["SELECT [a;b]", 'SELECT "c;d"']),
        ("mssql", "SELECT [a]];b]; SELECT N'x;y'", ["SELECT [a]];b]", "SELECT N'x;y'"]),
        ("postgres", "SELECT ARRAY[1;", ["SELECT ARRAY[1"]),
    ],
)
def test_other_dialects(dialect: Dialect, sql: str, expected: list[str]) -> None:
    assert texts(sql, dialect) == expected


def test_unknown_dialect_falls_back_to_postgres() -> None:
    unknown = "oracle"  # not a Dialect: what a caller that skipped validation could pass
    assert texts("SELECT 1; SELECT 2", unknown) == ["SELECT 1", "SELECT 2"]  # type: ignore[arg-type]


def reference_position(text: str, offset: int) -> tuple[int, int]:
    """A slow, obvious line/column computation to compare with."""
    line, column = 1, 1
    index = 0
    while index < offset:
        char = text[index]
        if char == "\r" and index + 1 < len(text) and text[index + 1] == "\n":
            column += 1  # the \r of a CRLF: the line ends at its \n
        elif char in "\r\n":
            line, column = line + 1, 1
        elif not (index == 0 and char == "\ufeff"):
            column += 1
        index += 1
    return line, column


SOUP = st.lists(
    st.sampled_from(
        ["SELECT", " ", "\n", "\r\n", "\r", ";", "'", "''", '"', "$$", "$fn$", "--", "/*", "*/",
         "E'", "\\", "x", "1", "é", "\ufeff", "\t", "#", "`", "[", "]", "$1"]
    ),
    max_size=60,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), SOUP), st.sampled_from(["postgres", "mysql", "sqlite",
                                                                 "mssql"]))
def test_spans_are_exact_for_any_input(sql: str, dialect: Dialect) -> None:
    previous_end = 0
    for statement in split_statements(sql, dialect):
        assert statement.text
        assert sql[statement.start_offset : statement.end_offset] == statement.text
        assert statement.start_offset >= previous_end
        assert not statement.text[0].isspace() and not statement.text[-1].isspace()
        assert (statement.line, statement.column) == reference_position(sql,
                                                                        statement.start_offset)
        assert (statement.end_line, statement.end_column) == reference_position(
            sql, statement.end_offset - 1
        )
        previous_end = statement.end_offset
