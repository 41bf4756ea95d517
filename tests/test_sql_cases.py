"""Real migrations (tests/data/cases, see its README) that the splitter or sqlglot used to get
wrong, linted as they are; the engines' own verdicts are in each docstring (the replays that
establish them are in tests/test_sql_replay_text.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from migration_gate.diagnostics import Diagnostic
from migration_gate.sql.lint import lint_text
from migration_gate.sql.pieces import replay_pieces
from migration_gate.sql.split import split_statements
from migration_gate.types import Dialect

CASES = Path(__file__).parent / "data" / "cases"
#: Cases that are also files of the sample (tests/data/README.md gives their origin): read there.
SAMPLE = Path(__file__).parent / "data" / "sample" / "repos"
LLMSPELL = SAMPLE / "lexlapax__rs-llmspell/llmspell-storage/migrations/sqlite"
CSRS = (CASES / "Civil-Service-Human-Resources__lpg-civil-servant-register/src/main/resources/"
        "db/migration/mysql")
CSRS_V1 = (SAMPLE / "Civil-Service-Human-Resources__lpg-civil-servant-register/src/main/"
           "resources/db/migration/mysql/V1__init.sql")
CCD = (CASES / "hmcts__ccd-data-store-api/src/main/resources/db/migration/"
       "V20250306_0000__CCD-6936_case_pointer_marked_by_logstash.sql")


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def lint(path: Path, dialect: Dialect) -> list[Diagnostic]:
    return lint_text(read(path), path.name, dialect)


def test_sqlite_trigger_files_split_as_sqlite_reads_them() -> None:
    """SQLite 3.40 applies both files (replayed in tests/test_sql_replay_text.py); before, each
    trigger's `END;` was an error-level transaction-nesting finding."""
    for name, trigger_line in (("V6__agent_state.sql", 67), ("V8__workflow_states.sql", 68)):
        text = read(LLMSPELL / name)
        statements = split_statements(text, "sqlite")
        (trigger,) = [s for s in statements if s.text.startswith("CREATE TRIGGER")]
        assert trigger.line == trigger_line
        assert trigger.text.rstrip().endswith("END")
        for piece in replay_pieces(text, "sqlite"):  # what the replay sends, one by one
            assert sqlite3.complete_statement(text[piece.start : piece.end] + ";")
        found = {d.rule for d in lint(LLMSPELL / name, "sqlite")}
        assert not found & {"transaction-nesting", "syntax-error"}, found


def test_mysql_add_column_list_is_no_syntax_error() -> None:
    """MariaDB 10.11 accepts `ALTER TABLE t ADD (col ..., CONSTRAINT ...)` (MySQL's list form,
    run in tests/test_sql_replay_text.py); sqlglot cannot parse it. Three false syntax-errors
    before."""
    found = lint(CSRS / "V1.15__skills.sql", "mysql")
    assert not [d for d in found if d.rule == "syntax-error"]
    assert [d.line for d in found if d.rule == "ban-drop-table"] == [3, 5, 7, 9]


def test_mysql_dump_executable_comments_are_statements() -> None:
    """MariaDB 10.11 runs the text of `/*!40014 SET ... FOREIGN_KEY_CHECKS=0 */` (the replay
    of this file in tests/test_sql_replay_text.py needs it); they are statements now."""
    text = read(CSRS_V1)
    statements = [s.text for s in split_statements(text, "mysql")]
    assert statements[:2] == ["/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */",
                              "/*!40101 SET NAMES utf8 */"]
    assert not [d for d in lint(CSRS_V1, "mysql") if d.rule == "syntax-error"]


def test_comment_on_constraint_is_no_syntax_error() -> None:
    """PostgreSQL 15 applies the file (replayed in tests/test_sql_replay_text.py)."""
    found = lint(CCD, "postgres")
    assert not [d for d in found if d.rule == "syntax-error"]
    assert [d.rule for d in found if d.line == 28] == []


CRAB = CASES / "bazhenov__crab/migrations"


def test_sqlite_drop_and_rename_column_pass_on_a_current_sqlite() -> None:
    """SQLite 3.40 runs V1..V4 in order (below): `DROP status` (3.35+) and `RENAME _status TO
    status` (3.25+) work. Before, the DROP was an error-level sqlite-unsupported-alter; now it
    only is when `sqlite.version` targets an older SQLite."""
    database = sqlite3.connect(":memory:")
    for path in (SAMPLE / "bazhenov__crab/migrations/V1__init.sql", CRAB / "V2__add_status.sql",
                 CRAB / "V3__url_uniq.sql", CRAB / "V4__change_status.sql"):
        database.executescript(read(path))
    columns = [row[1] for row in database.execute("PRAGMA table_info(pages)")]
    assert columns.count("status") == 1 and "_status" not in columns
    text = read(CRAB / "V4__change_status.sql")
    assert not [d for d in lint_text(text, "V4.sql", "sqlite")
                if d.rule == "sqlite-unsupported-alter"]
    old = [(d.line, d.message.split(";")[0]) for d in
           lint_text(text, "V4.sql", "sqlite", sqlite_version=(3, 24))
           if d.rule == "sqlite-unsupported-alter"]
    assert old == [(3, "DROP COLUMN needs SQLite 3.35 or later"),
                   (4, "RENAME COLUMN needs SQLite 3.25 or later")]


ARROYO = SAMPLE / "ArroyoSystems__arroyo/crates/arroyo-api/sqlite_migrations"
WA_TASKS = (CASES / "hmcts__wa-task-management-api/src/main/resources/db/migration/"
            "V1.0.7__init_taskRoleAuthorizations.sql")


def test_sqlite_table_rebuild_is_no_drop() -> None:
    """SQLite 3.40 runs V1 then V2 (below): `udfs` exists afterwards, with the new `language`
    column and the rows copied over. The rebuild (create `udfs_new`, copy, drop `udfs`, rename
    `udfs_new` to `udfs`) replaces the table; it was reported as a ban-drop-table before."""
    database = sqlite3.connect(":memory:")
    database.executescript(read(ARROYO / "V1__initial.sql"))
    database.execute("INSERT INTO udfs (pub_id, organization_id, created_by, name, definition)"
                     " VALUES ('u1', 'o', 'me', 'f', 'fn f() {}')")
    database.executescript(read(ARROYO / "V2__add_udf_language.sql"))
    assert database.execute("SELECT pub_id, language FROM udfs").fetchall() == [("u1", "rust")]
    found = {d.rule for d in lint(ARROYO / "V2__add_udf_language.sql", "sqlite")}
    assert not found & {"ban-drop-table", "renaming-table"}, found
    text = read(ARROYO / "V2__add_udf_language.sql").replace("RENAME TO udfs;", "RENAME TO x;")
    assert [d.line for d in lint_text(text, "V2.sql", "sqlite")
            if d.rule == "ban-drop-table"] == [24]  # dropped for good: still reported


def test_drop_then_create_the_same_table_is_no_drop() -> None:
    """`DROP TABLE IF EXISTS task_role_authorizations; CREATE TABLE task_role_authorizations`
    leaves the table in place under its name (PostgreSQL runs it: tests/test_sql_lock_cases.py
    creates `task_roles` and applies the file); not a ban-drop-table any more."""
    found = [d for d in lint(WA_TASKS, "postgres") if d.rule == "ban-drop-table"]
    assert found == []
    text = read(WA_TASKS).replace("CREATE TABLE task_role_authorizations",
                                  "CREATE TABLE task_role_authorizations_v2")
    assert [d.line for d in lint_text(text, "V1.sql") if d.rule == "ban-drop-table"] == [1]


def test_create_after_drop_if_exists_is_robust() -> None:
    """The same file: on a re-run after a crash between refinery's two commits (or Flyway's),
    `DROP TABLE IF EXISTS task_role_authorizations` removes the table the first run created, so
    the `CREATE TABLE` after it succeeds: no prefer-robust-stmts for it (30 such findings on the
    corpus went). Without the drop it stays: the re-run fails on "already exists"."""
    assert [d.line for d in lint(WA_TASKS, "postgres") if d.rule == "prefer-robust-stmts"] == []
    text = read(WA_TASKS).replace("DROP TABLE IF EXISTS task_role_authorizations",
                                  "DROP TABLE IF EXISTS another_table")
    assert "prefer-robust-stmts" in {d.rule for d in lint_text(text, "V1.sql")}
