"""The SQL rules in context: locations, new tables, lock_timeout, settings, ignores, dialects."""

from __future__ import annotations

import pytest

from migration_gate.catalog import all_rules
from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.sql.lint import created_tables, lint_text


def lint(sql: str, dialect: str = "postgres", **options: object) -> list[Diagnostic]:
    return lint_text(sql, "V1__x.sql", dialect, **options)  # type: ignore[arg-type]


def rules(sql: str, dialect: str = "postgres", **options: object) -> set[str]:
    """The rules that fire by default (opt-in rules left out)."""
    return {d.rule for d in lint(sql, dialect, **options) if d.severity is not Severity.OFF}


def at(sql: str, rule: str) -> list[tuple[int, int, int | None, int | None]]:
    return [(d.line, d.column, d.end_line, d.end_column) for d in lint(sql) if d.rule == rule]


def test_findings_carry_the_clause_span_and_a_hint() -> None:
    sql = (
        "-- header\n\nSET LOCAL lock_timeout = '2s';\n"
        "  ALTER TABLE users\n    ALTER COLUMN phone SET NOT NULL;\n"
    )
    (finding,) = [d for d in lint(sql) if d.rule == "adding-not-nullable-field"]
    # the NOT NULL the rule is about, not the statement's first character
    assert (finding.line, finding.column, finding.end_line, finding.end_column) == (5, 28, 5, 35)
    assert finding.severity is Severity.WARNING
    assert finding.hint is not None and "NOT VALID" in finding.hint
    assert finding.path == "V1__x.sql"


def test_table_created_earlier_in_the_migration_is_exempt_from_lock_rules() -> None:
    sql = (
        "CREATE TABLE IF NOT EXISTS accounts (id bigint, email text);\n"
        "CREATE INDEX IF NOT EXISTS accounts_email ON accounts (email);\n"
        "ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;\n"
        "ALTER TABLE accounts ADD CONSTRAINT c CHECK (id > 0);\n"
    )
    assert rules(sql) == set()


def test_index_on_a_table_created_later_is_not_exempt() -> None:
    sql = (
        "CREATE INDEX IF NOT EXISTS a_email ON accounts (email);\n"
        "CREATE TABLE IF NOT EXISTS accounts (id bigint, email text);\n"
    )
    assert at(sql, "require-concurrent-index-creation") == [(1, 1, 1, 12)]  # CREATE INDEX


def test_tables_from_other_migrations_of_the_branch_are_new() -> None:
    sql = "CREATE INDEX IF NOT EXISTS a_email ON accounts (email);"
    assert "require-concurrent-index-creation" in rules(sql)
    assert rules(sql, new_tables=["accounts"]) == set()


def test_quoted_and_qualified_table_names() -> None:
    sql = 'CREATE TABLE IF NOT EXISTS app."Users" (id int);\nCREATE INDEX i ON "Users"(id);'
    assert rules(sql) == {"prefer-robust-stmts"}
    sql = 'CREATE TABLE IF NOT EXISTS "Users" (id int);\nCREATE INDEX IF NOT EXISTS i ON users(id);'
    assert "require-concurrent-index-creation" in rules(sql)


def test_lock_timeout_must_come_before_and_is_reported_once() -> None:
    sql = (
        "ALTER TABLE a ADD COLUMN IF NOT EXISTS x int;\n"
        "ALTER TABLE b ADD COLUMN IF NOT EXISTS y int;\n"
        "SET LOCAL lock_timeout = '1s';\n"
    )
    assert at(sql, "require-lock-timeout") == [(1, 1, 1, 11)]  # ALTER TABLE
    assert rules("SET LOCAL lock_timeout = '1s';\n" + sql) == set()
    assert "require-lock-timeout" in rules("SET LOCAL lock_timeout = 0;\n" + sql)


def test_session_setting_leak_needs_a_reset_of_the_same_setting() -> None:
    assert rules("SET work_mem = '256MB';\nRESET work_mem;") == set()
    assert at("SET work_mem = '256MB';\nSELECT 1;", "session-setting-leak") == [(1, 1, 1, 22)]
    assert "session-setting-leak" in rules("SET work_mem = '256MB';\nRESET statement_timeout;")
    assert rules("SET LOCAL work_mem = '1GB';") == set()
    assert rules("SET ROLE admin; RESET ROLE;") == set()
    assert rules("SET TIME ZONE 'UTC'; RESET TIME ZONE;") == set()


def test_validate_in_a_later_migration_is_fine_in_the_same_one_is_not() -> None:
    later = "ALTER TABLE users VALIDATE CONSTRAINT c;"
    assert rules(later) == set()
    same = "ALTER TABLE users ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\n" + later
    assert at(same, "constraint-missing-not-valid") == [(2, 1, 2, 39)]


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX u_idx;",
        "REINDEX TABLE t;",
        "VACUUM FULL t;",
        "LOCK TABLE t IN SHARE MODE;",
        "ALTER TABLE t VALIDATE CONSTRAINT c;",
        "CLUSTER t USING i;",
        "DO $$ BEGIN RAISE NOTICE 'x;'; END $$;",
    ],
)
def test_statements_sqlglot_only_passes_through_are_no_syntax_error(sql: str) -> None:
    assert "syntax-error" not in rules(sql)


def test_rules_work_from_tokens_where_sqlglot_gives_up() -> None:
    assert "require-concurrent-reindex" in rules("REINDEX TABLE t;")
    assert "ban-concurrent-index-creation-in-transaction" in rules("REINDEX TABLE CONCURRENTLY t;")
    assert "ban-vacuum-full-or-cluster" in rules("LOCK TABLE t IN ACCESS EXCLUSIVE MODE;")
    assert "disallowed-unique-constraint" not in rules(
        "ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX u_idx;"
    )


def test_syntax_error_says_what_and_where_in_plain_words() -> None:
    (finding,) = [d for d in lint("SELECT 1;\nSELECT * FROM WHERE x;") if d.rule == "syntax-error"]
    assert finding.line == 2 and finding.severity is Severity.WARNING
    assert finding.message == ("cannot parse this statement as PostgreSQL: expected table name "
                               "at `WHERE` (line 2, column 15)")


def test_unbounded_update_only_with_ddl_and_on_existing_tables() -> None:
    update = "UPDATE users SET status = CASE WHEN active THEN 'a' ELSE 'b' END;"
    assert "unbounded-data-change" not in rules(update)
    sql = "ALTER TABLE users ADD COLUMN IF NOT EXISTS status text;\n" + update
    assert at(sql, "unbounded-data-change") == [(2, 1, 2, 64)]
    with_where = sql.replace("END;", "END WHERE id < 100;")
    assert "unbounded-data-change" not in rules(with_where)


def test_volatile_default_versus_constant_and_old_postgres() -> None:
    constant = "ALTER TABLE u ADD COLUMN IF NOT EXISTS a int DEFAULT 0;"
    assert "adding-field-with-default" not in rules(constant)
    assert "adding-field-with-default" in rules(constant, postgres_version=10)
    assert "adding-field-with-default" in rules(
        "ALTER TABLE u ADD COLUMN IF NOT EXISTS a bigint DEFAULT nextval('s');"
    )


def test_opt_in_rules_are_off_until_configured() -> None:
    (finding,) = [d for d in lint("CREATE TABLE IF NOT EXISTS t (a varchar(10));")]
    assert finding.rule == "prefer-text-field" and finding.severity is Severity.OFF


@pytest.mark.parametrize(
    ("dialect", "sql", "expected"),
    [
        ("mysql", "CREATE TABLE a (id int);\nCREATE TABLE b (id int);", {
            "mysql-non-transactional-ddl"}),
        ("mysql", "ALTER TABLE a MODIFY COLUMN n bigint;", {"mysql-lock-none-unsupported"}),
        ("sqlite", "ALTER TABLE a ADD CONSTRAINT c UNIQUE (x);", {"sqlite-unsupported-alter"}),
        ("sqlite", "ALTER TABLE a ADD COLUMN b int;", set()),
    ],
)
def test_dialect_rules(dialect: str, sql: str, expected: set[str]) -> None:
    found = rules(sql, dialect)
    assert expected <= found
    postgres_only = {r.id for r in all_rules().values() if r.dialects == ("postgres",)}
    assert not found & postgres_only
    if not expected:
        assert not found


def test_created_tables_reads_names_cheaply() -> None:
    sql = (
        "CREATE TABLE IF NOT EXISTS a (id int); create unlogged table public.b (x int);\n"
        'CREATE MATERIALIZED VIEW "M" AS SELECT 1; CREATE INDEX i ON c (x);'
    )
    assert created_tables(sql) == {"a", "b", "M"}


# --- ignore comments --------------------------------------------------------------------------


def test_ignore_next_statement_only() -> None:
    sql = (
        "-- migration-gate: ignore ban-drop-table\n"
        "DROP TABLE IF EXISTS a;\n"
        "DROP TABLE IF EXISTS b;\n"
    )
    assert at(sql, "ban-drop-table") == [(3, 1, 3, 22)]  # the table dropped
    assert "unused-ignore" not in rules(sql)


def test_ignore_file_and_squawk_forms() -> None:
    sql = (
        "-- squawk-ignore-file ban-drop-table\n"
        "DROP TABLE IF EXISTS a;\n"
        "/* squawk-ignore ban-drop-column */\n"
        "ALTER TABLE t DROP COLUMN IF EXISTS c;\n"
        "DROP TABLE IF EXISTS b;\n"
    )
    assert rules(sql) == {"require-lock-timeout"}


def test_trailing_text_never_widens_an_ignore() -> None:
    sql = (
        "-- migration-gate: ignore ban-drop-table because ban-drop-column is fine too\n"
        "ALTER TABLE t DROP COLUMN IF EXISTS c;\n"
    )
    found = lint(sql)
    assert "ban-drop-column" in {d.rule for d in found}
    (unused,) = [d for d in found if d.rule == "unused-ignore"]
    assert (unused.line, unused.column) == (1, 1)
    assert "suppresses nothing" in unused.message


def test_unknown_rule_in_an_ignore_is_reported() -> None:
    sql = (
        "-- migration-gate: ignore ban-drop-colum, ban-drop-column\n"
        "ALTER TABLE t DROP COLUMN IF EXISTS c;"
    )
    found = lint(sql)
    assert [d.message for d in found if d.rule == "unused-ignore"] == [
        "`ban-drop-colum` is not a rule id"
    ]
    assert "ban-drop-column" not in {d.rule for d in found}


def test_ignore_without_rules_ignores_nothing() -> None:
    sql = "-- migration-gate: ignore\nDROP TABLE IF EXISTS a;"
    assert {"unused-ignore", "ban-drop-table"} <= rules(sql)


def test_ignore_at_the_end_of_the_file_is_unused() -> None:
    assert "unused-ignore" in rules("SELECT 1;\n-- migration-gate: ignore ban-drop-table\n")


def test_ignore_text_inside_a_string_is_not_an_ignore() -> None:
    sql = "SELECT '-- migration-gate: ignore ban-drop-table';\nDROP TABLE IF EXISTS a;"
    assert "ban-drop-table" in rules(sql)
    assert "unused-ignore" not in rules(sql)


def test_huge_files_are_linted_from_tokens() -> None:
    sql = "CREATE INDEX CONCURRENTLY i ON t (a);\n" + "SELECT 1;\n" * 10
    found = {d.rule for d in lint_text(sql, "V1__x.sql", parse_statements=False)}
    assert {"syntax-error", "ban-concurrent-index-creation-in-transaction"} <= found
