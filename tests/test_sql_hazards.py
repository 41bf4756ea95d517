"""File-level findings (BOM, NUL, open comments and strings, DELIMITER, conflict markers), the
forms sqlglot lacks that are no syntax error, and syntax errors in plain words."""

from __future__ import annotations

import re

import pytest

from migration_gate.catalog import RuleDoc, all_rules
from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.sql import hazards
from migration_gate.sql.lint import lint_text
from migration_gate.types import Dialect


def lint(sql: str, dialect: Dialect = "postgres") -> list[Diagnostic]:
    return lint_text(sql, "V1__x.sql", dialect)


def rules(sql: str, dialect: Dialect = "postgres") -> list[str]:
    return sorted(d.rule for d in lint(sql, dialect) if d.severity is not Severity.OFF)


def where(sql: str, rule: str, dialect: Dialect = "postgres") -> list[tuple[int, int, int, int]]:
    return [(d.line, d.column, d.end_line or 0, d.end_column or 0) for d in lint(sql, dialect)
            if d.rule == rule]


# --- the rules' documentation, executed -----------------------------------------------------------


def test_each_rule_is_in_the_catalogue_with_docs_and_a_hint() -> None:
    catalogue = all_rules()
    for doc in hazards.RULES:
        assert catalogue[doc.id] is doc
        assert doc.severity is Severity.ERROR
        assert doc.why and doc.example and doc.instead and doc.summary
        assert len(doc.fires) >= 3 and len(doc.passes) >= 3
        assert hazards.HINTS[doc.id]
    assert set(hazards.HINTS) == {doc.id for doc in hazards.RULES}


@pytest.mark.parametrize(("doc", "sql"), [(d, s) for d in hazards.RULES for s in d.fires],
                         ids=lambda v: v.id if isinstance(v, RuleDoc) else None)
def test_documented_texts_fire(doc: RuleDoc, sql: str) -> None:
    assert rules(sql, doc.dialects[0]).count(doc.id) == 1, sql


@pytest.mark.parametrize(("doc", "sql"), [(d, s) for d in hazards.RULES for s in d.passes],
                         ids=lambda v: v.id if isinstance(v, RuleDoc) else None)
def test_documented_texts_pass(doc: RuleDoc, sql: str) -> None:
    assert doc.id not in rules(sql, doc.dialects[0]), sql


@pytest.mark.parametrize("doc", hazards.RULES, ids=lambda d: d.id)
def test_the_example_fires_and_the_alternative_is_clean(doc: RuleDoc) -> None:
    assert doc.id in rules(doc.example, doc.dialects[0])
    found = rules(doc.instead, doc.dialects[0])
    assert doc.id not in found
    assert "syntax-error" not in found


# --- one finding, at its place; the statements it breaks ------------------------------------------


def test_a_byte_order_mark_is_one_error_at_the_start_for_postgres_and_mysql_only() -> None:
    sql = "\ufeffCREATE TABLE IF NOT EXISTS t (a int);\n"
    assert where(sql, "bom-in-migration") == [(1, 1, 1, 1)]
    assert "bom-in-migration" in rules(sql, "mysql")
    assert "bom-in-migration" not in rules(sql, "sqlite")  # SQLite skips the mark
    assert rules(sql) == ["bom-in-migration"]  # the statement itself is linted as usual


def test_nul_characters_are_one_finding_at_the_first() -> None:
    sql = "SELECT 1;\nSELECT 2;\x00\x00\nSELECT 3;\x00"
    (finding,) = [d for d in lint(sql) if d.rule == "nul-byte"]
    assert (finding.line, finding.column) == (2, 10)
    assert "3 NUL characters" in finding.message
    assert finding.severity is Severity.ERROR


def test_statements_inside_an_unterminated_comment_are_not_linted() -> None:
    sql = (
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS a int;\n"
        "/* the rest is off for now\n"
        "DROP TABLE users;\n"
        "CREATE INDEX CONCURRENTLY i ON users (a);\n"
    )
    found = rules(sql)
    assert where(sql, "unterminated-comment") == [(2, 1, 2, 2)]
    assert "ban-drop-table" not in found
    assert "ban-concurrent-index-creation-in-transaction" not in found
    (finding,) = [d for d in lint(sql) if d.rule == "unterminated-comment"]
    assert "rejects the migration" in finding.message
    (sqlite,) = [d for d in lint(sql, "sqlite") if d.rule == "unterminated-comment"]
    assert "SQLite ignores the rest of the file" in sqlite.message


def test_an_unterminated_string_is_one_error_and_no_syntax_error() -> None:
    sql = "INSERT INTO notes VALUES ('it's done');\nDROP TABLE notes;\n"
    assert rules(sql) == ["unterminated-string"]
    assert where(sql, "unterminated-string") == [(1, 37, 1, 37)]
    (finding,) = lint(sql)
    assert "string (') is never closed" in finding.message
    dollar = "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $$ LANGUAGE sql;"
    (finding,) = [d for d in lint(dollar) if d.rule == "unterminated-string"]
    assert "dollar-quoted body ($body$)" in finding.message


def test_merge_conflict_markers_are_one_error_and_no_syntax_errors() -> None:
    sql = (
        "SET LOCAL lock_timeout = '1s';\n"
        "<<<<<<< HEAD\n"
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS phone text;\n"
        "=======\n"
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS mobile text;\n"
        ">>>>>>> feature/mobile\n"
        "CREATE INDEX IF NOT EXISTS users_phone ON users (phone);\n"
    )
    found = lint(sql)
    (conflict,) = [d for d in found if d.rule == "merge-conflict-marker"]
    assert (conflict.line, conflict.column, conflict.end_line, conflict.end_column) == (2, 1, 2, 12)
    assert "3 marker lines" in conflict.message
    assert conflict.severity is Severity.ERROR
    assert not [d for d in found if d.rule == "syntax-error"]


def test_a_delimiter_script_is_one_finding_and_its_statements_are_linted() -> None:
    """Measured on MariaDB (tests/test_sql_replay_text.py): the server rejects the first
    DELIMITER line. The statements between are split at `$$`, so the procedure body's `END`
    is no transaction statement and nothing is a syntax error."""
    sql = (
        "DELIMITER $$\n"
        "CREATE PROCEDURE touch()\nBEGIN\n  UPDATE counters SET n = n + 1;\n  COMMIT;\nEND$$\n"
        "DELIMITER ;\n"
        "DROP TABLE IF EXISTS old_counters;\n"
        "DELIMITER //\nCREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; "
        "END//\nDELIMITER ;\n"
    )
    found = lint(sql, "mysql")
    assert [(d.rule, d.line) for d in found if d.severity is Severity.ERROR] == [
        ("mysql-delimiter", 1)]
    assert ("ban-drop-table", 8) in [(d.rule, d.line) for d in found]
    assert not [d for d in found if d.rule in ("syntax-error", "transaction-nesting")]


def test_file_wide_ignores_apply_to_file_findings() -> None:
    sql = "-- migration-gate: ignore-file nul-byte\nSELECT 1;\x00"
    assert rules(sql) == []
    sql = "SELECT 1;\n-- migration-gate: ignore nul-byte\nSELECT 2\x00;"
    assert rules(sql) == []
    assert rules(sql.replace("SELECT 2\x00;", "SELECT 2;\x00")) == ["nul-byte", "unused-ignore"]


# --- what sqlglot lacks is no syntax error; what is wrong still is ----------------------------


ACCEPTED: list[tuple[str, str, str | None]] = [
    # (dialect, statement the engine accepts, the same form broken if sqlglot can tell)
    ("mysql", "UPDATE IGNORE orders o JOIN users u ON u.id = o.user_id SET o.name = u.name "
     "WHERE u.active = 1",
     "UPDATE IGNORE orders o JOIN users u ON u.id = o.user_id SET o.name = WHERE u.active = 1"),
    ("mysql", "UPDATE LOW_PRIORITY IGNORE t SET a = 1",
     "UPDATE LOW_PRIORITY IGNORE t SET a = = 1"),
    ("mysql", "SELECT id, name FROM users WHERE id = 1 INTO @uid, @uname",
     "SELECT id, name FROM WHERE id = 1 INTO @uid, @uname"),
    ("mysql", "SELECT COUNT(*) FROM users INTO @n",
     "SELECT COUNT(*) FROM users INTO"),
    ("mysql", "ALTER TABLE question ADD (answer SMALLINT(5) UNSIGNED, img_url VARCHAR(500), "
     "CONSTRAINT fk_quiz FOREIGN KEY (quiz_id) REFERENCES quiz (id) ON DELETE CASCADE)",
     None),  # sqlglot takes any `ALTER TABLE ... ADD (` as a command it does not check
    ("mysql", "ALTER TABLE t ADD COLUMN (x int, y int), DROP COLUMN c", None),
    ("mysql", "CREATE PROCEDURE bump()\nBEGIN\n  DECLARE n int;\n  SELECT COUNT(*) INTO n FROM t;\n"
     "  IF (SELECT COUNT(*) FROM t) > 10 THEN DELETE FROM t WHERE id > 10; END IF;\nEND",
     "CREATE PROCEDURE bump()\nBEGIN\n"
     "  IF (SELECT COUNT(*) FROM t) > 10 THEN DELETE FROM t WHERE id > 10; END IF;\n"),
    ("sqlite", "CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(title, body, "
     "content='docs', content_rowid='id', tokenize = 'porter unicode61')",
     "CREATE VIRTUAL TABLE docs_fts USING fts5(title, body, tokenize = 'porter'"),
    ("postgres", "COMMENT ON CONSTRAINT users_email_key ON public.users IS 'one per user'",
     "COMMENT ON CONSTRAINT users_email_key ON public.users 'one per user'"),
    ("postgres", "COMMENT ON CONSTRAINT positive ON DOMAIN amount IS NULL",
     "COMMENT ON CONSTRAINT positive IS NULL"),
]


@pytest.mark.parametrize(("dialect", "good", "bad"), ACCEPTED)
def test_engine_forms_are_no_syntax_error_but_their_mistakes_are(
    dialect: Dialect, good: str, bad: str | None,
) -> None:
    assert "syntax-error" not in rules(good + ";", dialect)
    if bad is not None:
        assert "syntax-error" in rules(bad + ";", dialect)


def test_the_sqlite_forms_are_accepted_by_sqlite() -> None:
    """The engine's verdict (SQLite 3.40 through Python's sqlite3); the MySQL and PostgreSQL
    forms are run on MariaDB and PostgreSQL in tests/test_sql_replay_text.py."""
    import sqlite3

    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, body TEXT)")
    for dialect, good, _bad in ACCEPTED:
        if dialect == "sqlite":
            connection.execute(good)
    connection.close()


INTERNALS = re.compile(r"<class|<Token|sqlglot\.|Required keyword|TokenType|\x1b")


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("postgres", "SELECT * FROM WHERE id = 1;"),
        ("postgres", "<<< HEAD SELECT 1;"),
        ("postgres", "CREATE TABLE (;"),
        ("postgres", "ALTER TABLE t ADD CONSTRAINT CHECK;"),
        ("postgres", "SELECT ${placeholder};"),
        ("mysql", "ALTER TABLE t ADD CONSTRAINT;"),
        ("mysql", "SELECT 1 +;"),
        ("sqlite", "CREATE VIRTUAL TABLE x USING;"),
    ],
)
def test_syntax_errors_are_plain_words_with_a_position(dialect: Dialect, sql: str) -> None:
    (finding,) = [d for d in lint(sql, dialect) if d.rule == "syntax-error"]
    assert not INTERNALS.search(finding.message), finding.message
    assert finding.message.startswith("cannot parse this statement as ")
    assert re.search(r"\(line 1, column \d+\)$|cannot read", finding.message), finding.message
