"""Statement splitting: exact spans across comments, quotes, dollar quotes, CRLF and a BOM."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migration_gate.sql.pieces import replay_pieces
from migration_gate.sql.split import (
    BOM,
    DELIMITER,
    NUL,
    UNTERMINATED_COMMENT,
    UNTERMINATED_QUOTE,
    Statement,
    scan_text,
    split_statements,
)
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


def test_an_unterminated_string_runs_to_the_end_of_the_file() -> None:
    """PostgreSQL: `unterminated quoted string at or near "'abc; SELECT 2;..."` (42601): the
    server reads every later statement as part of the string, and so does the splitter."""
    sql = "SELECT 1;\nSELECT 'abc; SELECT 2;\nSELECT 3;\n"
    assert texts(sql) == ["SELECT 1", "SELECT 'abc; SELECT 2;\nSELECT 3;"]
    (issue,) = scan_text(sql).issues
    assert (issue.kind, issue.start, issue.end, issue.detail) == (
        UNTERMINATED_QUOTE, 17, len(sql), "'")


def test_an_unterminated_block_comment_runs_to_the_end_of_the_file() -> None:
    """PostgreSQL: `unterminated /* comment` (42601); SQLite ignores the rest of the file. In
    both, the statements after the `/*` never run, so they are no statements."""
    sql = "SELECT 1;\n/* oops\nSELECT 2; SELECT 3"
    found = scan_text(sql)
    assert texts(sql) == ["SELECT 1"]
    assert found.comments == ((10, len(sql)),)
    assert [(i.kind, i.start) for i in found.issues] == [(UNTERMINATED_COMMENT, 10)]
    assert found.tail == (9, len(sql))


def test_an_unterminated_dollar_quote_runs_to_the_end_of_the_file() -> None:
    assert texts("DO $$ BEGIN; SELECT 2;") == ["DO $$ BEGIN; SELECT 2;"]
    assert [i.detail for i in scan_text("DO $$ BEGIN; SELECT 2;").issues] == ["$$"]


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
    got = texts("SELECT 1; SELECT 2", "oracle")  # type: ignore[arg-type]
    assert got == ["SELECT 1", "SELECT 2"]


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


@pytest.mark.slow
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


# --- bodies with their own `;`: what each engine reads as one statement ---------------------------


SQLITE_TRIGGERS = [
    "CREATE TABLE t (a int, b int);\n"
    "CREATE TRIGGER tr AFTER UPDATE ON t FOR EACH ROW WHEN NEW.a != OLD.a\nBEGIN\n"
    "  UPDATE t SET b = CASE WHEN NEW.a > 0 THEN 1 END;\n  SELECT 1;\nEND;\n"
    "INSERT INTO t VALUES (1, 2);",
    "CREATE TEMP TRIGGER IF NOT EXISTS tr2 AFTER INSERT ON t BEGIN SELECT 1; END; BEGIN; END;",
    "CREATE TABLE \"end\" (x int); CREATE TRIGGER t3 BEFORE DELETE ON \"end\" BEGIN "
    "DELETE FROM \"end\" WHERE x = 1; END -- end\n;",
    "EXPLAIN CREATE TRIGGER t4 AFTER INSERT ON t BEGIN SELECT 1; END;",
]


@pytest.mark.parametrize("sql", SQLITE_TRIGGERS)
def test_sqlite_statements_end_where_sqlite3_complete_says(sql: str) -> None:
    """SQLite's own verdict (`sqlite3_complete`, via Python's sqlite3): each statement the
    splitter gives, with its `;`, is complete; every shorter prefix ending at a `;` is not."""
    import sqlite3

    found = scan_text(sql, "sqlite")
    for (start, _end), (_lead, terminator) in zip(found.statements, found.sent, strict=True):
        if terminator < len(sql):
            assert sqlite3.complete_statement(sql[start : terminator + 1]), sql[start:terminator]
        for inner in (i for i in range(start, terminator) if sql[i] == ";"):
            if any(a <= inner < b for a, b in found.comments):
                continue
            assert not sqlite3.complete_statement(sql[start : inner + 1]), sql[start : inner + 1]


def test_a_sqlite_trigger_is_one_statement_and_its_end_is_no_transaction() -> None:
    _first, trigger, insert = split_statements(SQLITE_TRIGGERS[0], "sqlite")
    assert trigger.text.startswith("CREATE TRIGGER tr") and trigger.text.endswith("END")
    assert (trigger.line, trigger.end_line) == (2, 6)
    assert insert.text == "INSERT INTO t VALUES (1, 2)"
    assert texts(SQLITE_TRIGGERS[1], "sqlite")[1:] == ["BEGIN", "END"]


def test_postgres_begin_atomic_bodies_follow_psql() -> None:
    """psql's rule (psqlscan.l): in CREATE [OR REPLACE] FUNCTION|PROCEDURE, BEGIN (and CASE
    inside it) open a block, END closes one, and parentheses hide both."""
    sql = (
        "CREATE FUNCTION f(begin_at int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n"
        "  SELECT CASE WHEN begin_at > 0 THEN 1 END;\n  SELECT 2;\nEND;\n"
        "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); "
        "END;\nCREATE FUNCTION g() RETURNS int LANGUAGE sql RETURN 1;\nBEGIN;\nEND;\n"
        "CREATE FUNCTION h() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql;"
    )
    assert [s.split()[0] + " " + s.split()[-1] for s in texts(sql)] == [
        "CREATE END", "CREATE END", "CREATE 1", "BEGIN BEGIN", "END END", "CREATE plpgsql"]


def test_mysql_compound_statements_are_whole() -> None:
    sql = (
        "CREATE DEFINER=`root`@`%` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN\n"
        "  IF NEW.a IS NULL THEN SET NEW.a = 1; END IF;\n"
        "  CASE NEW.b WHEN 1 THEN SET NEW.c = 2; ELSE SET NEW.c = 3; END CASE;\n"
        "  lbl: LOOP LEAVE lbl; END LOOP lbl;\n"
        "  SET NEW.d = CASE WHEN NEW.a > 0 THEN 1 ELSE 0 END;\nEND;\n"
        "CREATE FUNCTION f(x int) RETURNS int DETERMINISTIC RETURN IF(x > 0, 1, 0);\n"
        "BEGIN NOT ATOMIC SELECT 1; SELECT 2; END;\n"
        "BEGIN;\nCOMMIT;\nCREATE TABLE `trigger` (a int);"
    )
    assert [s.split()[0] + " " + s.split()[-1] for s in texts(sql, "mysql")] == [
        "CREATE END", "CREATE 0)", "BEGIN END", "BEGIN BEGIN", "COMMIT COMMIT",
        "CREATE int)"]


def test_mysql_delimiter_lines_change_the_terminator() -> None:
    sql = (
        "DELIMITER $$\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND$$\n"
        "DROP PROCEDURE IF EXISTS q $$\nDELIMITER ;\nSELECT 'DELIMITER //'; SELECT 2;\n"
    )
    found = scan_text(sql, "mysql")
    assert texts(sql, "mysql") == ["CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND",
                                    "DROP PROCEDURE IF EXISTS q", "SELECT 'DELIMITER //'",
                                    "SELECT 2"]
    assert [(i.kind, i.detail, i.start) for i in found.issues] == [
        (DELIMITER, "$$", 0), (DELIMITER, ";", sql.index("DELIMITER ;"))]


@pytest.mark.parametrize(
    "sql",
    ["SELECT 1 DELIMITER $$", "SELECT 1;DELIMITER $$\nSELECT 2", "SELECT\nDELIMITER x;"],
)
def test_delimiter_counts_only_alone_at_the_start_of_a_line(sql: str) -> None:
    """The mysql client reads `DELIMITER` only at the start of a line, between statements."""
    assert not [i for i in scan_text(sql, "mysql").issues if i.kind == DELIMITER]
    assert not [i for i in scan_text("DELIMITER $$\nSELECT 1$$", "postgres").issues
                if i.kind == DELIMITER]


def test_mysql_double_dash_is_a_comment_only_before_a_space() -> None:
    """MariaDB 10.11: `--comment\nSELECT 1` is error 1064; `-- comment` is a comment."""
    sql = "--comment\nSELECT 1; -- c\nSELECT 2;--\nSELECT 3"
    assert texts(sql, "mysql") == ["--comment\nSELECT 1", "SELECT 2", "SELECT 3"]
    assert texts(sql, "postgres") == ["SELECT 1", "SELECT 2", "SELECT 3"]


def test_mysql_executable_comments_are_statements() -> None:
    """MySQL runs the text of `/*! ... */` (and MariaDB `/*M! ... */`): it reaches the server
    as SQL, so it is a statement; an ordinary comment is not."""
    sql = "/*!40101 SET NAMES utf8 */;\n/* a comment */;\n/*M!100100 SET x = 1 */;\nSELECT 1;"
    assert texts(sql, "mysql") == ["/*!40101 SET NAMES utf8 */", "/*M!100100 SET x = 1 */",
                                   "SELECT 1"]
    assert texts(sql, "postgres") == ["SELECT 1"]


def test_byte_order_mark_and_nul_are_recorded() -> None:
    found = scan_text("\ufeffSELECT 1;\nSELECT '\x00', 2;\x00")
    assert [(i.kind, i.start, i.detail) for i in found.issues] == [(BOM, 0, ""), (NUL, 19, "2")]
    assert found.statements[0] == (1, 9)


# --- what the replay sends ------------------------------------------------------------------------


def sent(sql: str, dialect: Dialect = "postgres") -> list[str]:
    return [sql[p.start : p.end] for p in replay_pieces(sql, dialect)]


def test_pieces_carry_the_text_before_their_statement() -> None:
    sql = "\ufeff-- header\nSELECT 1;\n/* why */ SELECT 2 -- trailing\n;\n-- end\n"
    assert sent(sql) == ["\ufeff-- header\nSELECT 1", "/* why */ SELECT 2 -- trailing"]
    assert [p.statement.text for p in replay_pieces(sql)] == ["SELECT 1", "SELECT 2"]


def test_a_last_statement_without_terminator_takes_the_rest_of_the_file() -> None:
    sql = "SELECT 1;\nSELECT 2 /* never closed\nDROP TABLE t;"
    assert sent(sql) == ["SELECT 1", "SELECT 2 /* never closed\nDROP TABLE t;"]


def test_text_after_the_last_terminator_is_sent_when_the_server_would_read_it() -> None:
    sql = "SELECT 1;\n/* never closed\nDROP TABLE t;"
    (_first, tail) = replay_pieces(sql)
    assert sql[tail.start : tail.end] == "/* never closed\nDROP TABLE t;"
    assert (tail.statement.line, tail.statement.column) == (2, 1)
    assert sent("SELECT 1;\n-- done\n/* closed */\n") == ["SELECT 1"]
    assert sent("DELIMITER $$\nSELECT 1$$\nDELIMITER ;\n", "mysql") == [
        "DELIMITER $$\nSELECT 1", "DELIMITER ;"]


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), SOUP), st.sampled_from(["postgres", "mysql", "sqlite",
                                                                 "mssql"]))
def test_pieces_are_the_whole_text_but_terminators_and_empty_statements(sql: str,
                                                                        dialect: Dialect) -> None:
    """What the replay leaves out of the file is terminators, and white space and complete
    comments that belong to no statement: never a statement, never an issue."""
    found = scan_text(sql, dialect)
    pieces = replay_pieces(sql, dialect)
    covered = [False] * len(sql)
    previous = 0
    for piece in pieces:
        assert previous <= piece.start <= piece.statement.start_offset
        assert piece.statement.end_offset <= piece.end
        for index in range(piece.start, piece.end):
            covered[index] = True
        previous = piece.end
    for start, end in found.statements:
        assert all(covered[start:end])
    for issue in found.issues:
        if issue.kind != NUL:
            assert covered[issue.start], (issue, pieces)
