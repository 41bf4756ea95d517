"""`flyway_schema_history` (docs/flyway.md §6) and Flyway's info/validate/migrate decisions
(§7): the DDL runs on real PostgreSQL and SQLite, the rows read back, the plan is checked
scenario by scenario."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from migration_gate.runners import RUNNERS, FlywayRunner, FlywaySettings, ParsedMigration, Version
from migration_gate.runners.flyway_history import (
    INSERT_COLUMNS,
    abbreviate_description,
    abbreviate_script,
    history_ddl,
    history_row,
    insert_statement,
    next_installed_rank,
)
from migration_gate.runners.flyway_plan import AppliedRow, LocalMigration, State, Verdict
from migration_gate.runners.flyway_validate import plan_run
from migration_gate.runners.flyway_version import parse_version

FLYWAY = RUNNERS["flyway"]


def v(text: str) -> Version:
    version = parse_version(text)
    assert version is not None
    return version


def migration(name: str) -> ParsedMigration:
    parsed = FLYWAY.parse_name(name)
    assert isinstance(parsed, ParsedMigration)
    return parsed


def test_row_of_a_migration() -> None:
    row = history_row(migration("V1_1__Add_user table.sql"), "V1_1__Add_user table.sql",
                      -123, installed_rank=3, installed_by="gate", execution_time=12)
    assert row.params() == (3, "1.1", "Add user table", "SQL", "V1_1__Add_user table.sql", -123,
                            "gate", 12, True)
    repeatable = history_row(migration("R__views.sql"), "sub/R__views.sql", 7,
                             installed_rank=4, installed_by="gate")
    assert (repeatable.version, repeatable.type, repeatable.script) == (
        None, "SQL", "sub/R__views.sql")
    assert history_row(migration("B2__base.sql"), "B2__base.sql", 1, installed_rank=1,
                       installed_by="x").type == "SQL_BASELINE"
    assert history_row(migration("U2__undo.sql"), "U2__undo.sql", 1, installed_rank=1,
                       installed_by="x").type == "UNDO_SQL"


def test_abbreviations_count_utf16_units() -> None:
    assert abbreviate_description("a" * 200) == "a" * 200
    assert abbreviate_description("a" * 201) == "a" * 197 + "..."
    assert len(abbreviate_description("😀" * 150)) < 150  # two units each
    script = "".join(chr(ord("a") + i % 26) for i in range(1001))
    assert abbreviate_script(script) == "..." + script[3:1000]
    assert len(abbreviate_script(script)) == 1000
    assert next_installed_rank([]) == 1 and next_installed_rank([1, 5, 2]) == 6


def test_ddl_and_row_on_postgres(pg_db: Any) -> None:
    ddl = FLYWAY.history_ddl("postgres")
    assert ddl.startswith('CREATE TABLE "public"."flyway_schema_history" (')
    pg_db.execute(ddl)
    row = history_row(migration("V1__init.sql"), "V1__init.sql", -2147483648, installed_rank=1,
                      installed_by="gate")
    pg_db.query(insert_statement("postgres"), row.params())
    [stored] = pg_db.query("SELECT installed_rank, version, description, type, script, checksum,"
                           " installed_by, execution_time, success, installed_on IS NOT NULL"
                           " FROM flyway_schema_history")
    assert stored == (*row.params(), True)
    columns = [r[0] for r in pg_db.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "ORDER BY ordinal_position", ("flyway_schema_history",))]
    assert columns == list(FLYWAY.history.column_names)
    keys = pg_db.query("SELECT conname FROM pg_constraint WHERE conrelid = "
                       "'flyway_schema_history'::regclass")
    assert keys == [("flyway_schema_history_pk",)]
    with pytest.raises(Exception, match="violates not-null"):
        pg_db.query(insert_statement("postgres"), (2, None, None, "SQL", "x", None, "g", 0, True))


def test_ddl_and_row_on_sqlite() -> None:
    connection = sqlite3.connect(":memory:")
    connection.executescript(history_ddl("sqlite"))
    row = history_row(migration("R__views.sql"), "R__views.sql", 42, installed_rank=1,
                      installed_by="gate")
    connection.execute(insert_statement("sqlite").replace("%s", "?"), row.params())
    stored = connection.execute(f"SELECT {', '.join(INSERT_COLUMNS)}, installed_on "
                                "FROM flyway_schema_history").fetchone()
    assert stored[:9] == (1, None, "views", "SQL", "R__views.sql", 42, "gate", 0, 1)
    assert stored[9]  # the column default filled it


def test_other_dialects_and_names() -> None:
    assert "CONSTRAINT `flyway_schema_history_pk` PRIMARY KEY" in history_ddl("mysql")
    assert history_ddl("mssql").startswith("CREATE TABLE [dbo].[flyway_schema_history] (")
    configured = FlywayRunner(FlywaySettings(table="hist", default_schema="app"))
    assert configured.history_ddl("postgres").startswith('CREATE TABLE "app"."hist" (')
    assert 'ADD CONSTRAINT "hist_pk"' in configured.history_ddl("postgres")
    assert insert_statement("postgres", "hist", "app").startswith('INSERT INTO "app"."hist" (')


# --- what migrate decides ----------------------------------------------------------------------


def local(version: str | None, description: str, checksum: int = 1, type_: str = "SQL",
          script: str | None = None) -> LocalMigration:
    name = script or (f"V{version}__{description}.sql" if version else f"R__{description}.sql")
    return LocalMigration(v(version) if version else None, description, name, checksum, type_)


def row(rank: int, version: str | None, description: str, checksum: int | None = 1,
        type_: str = "SQL", success: bool = True) -> AppliedRow:
    script = f"V{version}__{description}.sql" if version else f"R__{description}.sql"
    return AppliedRow(rank, v(version) if version else None, description, type_, script,
                      checksum, success)


def test_empty_history_applies_versioned_then_repeatables() -> None:
    plan = plan_run([], [local(None, "views"), local("2", "b"), local("1.1", "a"),
                         local(None, "Grants")])
    assert plan.issues == ()
    assert [e.description for e in plan.to_apply] == ["a", "b", "Grants", "views"]
    assert plan.current is None


def test_edited_versioned_migration_is_divergent() -> None:
    plan = plan_run([row(1, "1", "a", checksum=10)], [local("1", "a", checksum=11)])
    [issue] = plan.issues
    assert (issue.verdict, issue.code) == (Verdict.DIVERGENT, "CHECKSUM_MISMATCH")
    assert issue.message.startswith("Migration checksum mismatch for migration version 1\n"
                                    "-> Applied to database : 10\n"
                                    "-> Resolved locally    : 11\n")


def test_renamed_versioned_migration_is_divergent_by_description() -> None:
    plan = plan_run([row(1, "1", "a")], [local("1", "b")])
    [issue] = plan.issues
    assert issue.code == "DESCRIPTION_MISMATCH"


def test_deleted_versioned_migration_is_missing() -> None:
    plan = plan_run([row(1, "1", "a"), row(2, "2", "b")], [local("2", "b")])
    [issue] = plan.issues
    assert (issue.verdict, issue.code) == (Verdict.MISSING,
                                           "APPLIED_VERSIONED_MIGRATION_NOT_RESOLVED")
    assert issue.message.startswith("Detected applied migration not resolved locally: 1.\n")


def test_newer_applied_version_is_future_and_ignored_by_default() -> None:
    plan = plan_run([row(1, "1", "a"), row(2, "2", "b")], [local("1", "a")])
    assert plan.issues == ()
    assert [e.state for e in plan.entries] == [State.SUCCESS, State.FUTURE_SUCCESS]
    strict = plan_run([row(1, "1", "a"), row(2, "2", "b")], [local("1", "a")],
                      ignore_migration_patterns=())
    assert [i.verdict for i in strict.issues] == [Verdict.MISSING]


def test_version_below_current_is_ignored_unless_out_of_order() -> None:
    applied = [row(1, "1", "a"), row(2, "3", "c")]
    files = [local("1", "a"), local("2", "b"), local("3", "c"), local("4", "d")]
    plan = plan_run(applied, files)
    [issue] = plan.issues
    assert (issue.verdict, issue.code) == (Verdict.OUT_OF_ORDER,
                                           "RESOLVED_VERSIONED_MIGRATION_NOT_APPLIED")
    assert "set -outOfOrder=true" in issue.message
    assert [e.description for e in plan.to_apply] == ["d"]
    allowed = plan_run(applied, files, out_of_order=True)
    assert allowed.issues == ()
    assert [(e.description, e.out_of_order) for e in allowed.to_apply] == [("b", True),
                                                                          ("d", False)]
    ignored = plan_run(applied, files, ignore_migration_patterns=("*:ignored",))
    assert ignored.issues == ()


def test_applied_out_of_order_row_is_reported_as_such() -> None:
    plan = plan_run([row(1, "1", "a"), row(2, "3", "c"), row(3, "2", "b")],
                    [local("1", "a"), local("2", "b"), local("3", "c")])
    assert plan.issues == ()
    assert [e.state for e in plan.entries] == [State.SUCCESS, State.SUCCESS, State.OUT_OF_ORDER]
    assert plan.current == v("3")


def test_edited_repeatable_is_reapplied_not_an_error() -> None:
    plan = plan_run([row(1, None, "views", checksum=5)], [local(None, "views", checksum=6)])
    assert plan.issues == ()
    assert [e.state for e in plan.entries] == [State.OUTDATED, State.PENDING]
    assert [e.description for e in plan.to_apply] == ["views"]
    unchanged = plan_run([row(1, None, "views", checksum=5)], [local(None, "views", checksum=5)])
    assert unchanged.to_apply == () and unchanged.issues == ()


def test_repeatable_recorded_without_placeholders_is_not_rerun_but_fails_validation() -> None:
    """A row written before Flyway checksummed repeatables after replacement matches the
    `equivalentChecksum` (not re-run), yet `validate` compares the plain checksum: a mismatch
    that `flyway repair` aligns."""
    file = LocalMigration(None, "views", "R__views.sql", 6, equivalent_checksum=5)
    plan = plan_run([row(1, None, "views", checksum=5)], [file])
    assert plan.to_apply == ()
    assert [e.state for e in plan.entries] == [State.SUCCESS]
    assert [i.code for i in plan.issues] == ["CHECKSUM_MISMATCH"]


def test_older_runs_of_a_repeatable_are_superseded() -> None:
    plan = plan_run([row(1, None, "views", 5), row(2, None, "views", 6)],
                    [local(None, "views", checksum=6)])
    assert [e.state for e in plan.entries] == [State.SUPERSEDED, State.SUCCESS]
    assert plan.issues == ()


def test_deleted_repeatable_is_missing() -> None:
    plan = plan_run([row(1, "1", "a"), row(2, None, "views")], [local("1", "a")])
    [issue] = plan.issues
    assert (issue.verdict, issue.code) == (Verdict.MISSING,
                                           "APPLIED_REPEATABLE_MIGRATION_NOT_RESOLVED")
    assert "not resolved locally: views." in issue.message


def test_failed_row_stops_migrate() -> None:
    plan = plan_run([row(1, "1", "a", success=False)], [local("1", "a")])
    [issue] = plan.issues
    assert (issue.verdict, issue.code) == (Verdict.FAILED, "FAILED_VERSIONED_MIGRATION")
    assert issue.message.startswith("Detected failed migration to version 1 (a).")


def test_duplicate_versions_stop_everything() -> None:
    plan = plan_run([], [local("1", "a"), local("1.0", "b", script="V1.0__b.sql"),
                         local(None, "v", script="R__v.sql"),
                         local(None, "v", script="sub/R__v.sql")])
    assert [(i.verdict, i.code) for i in plan.issues] == [
        (Verdict.DUPLICATE, "DUPLICATE_VERSIONED_MIGRATION"),
        (Verdict.DUPLICATE, "DUPLICATE_REPEATABLE_MIGRATION"),
    ]
    assert plan.issues[0].message.startswith("Found more than one migration with version 1.0\n")


def test_baseline_migration_replaces_older_versions_on_an_empty_database() -> None:
    files = [local("1", "a"), local("2", "b"), local("2", "base", type_="SQL_BASELINE",
                                                     script="B2__base.sql"), local("3", "c")]
    plan = plan_run([], files)
    assert plan.issues == ()
    assert [e.local.script for e in plan.to_apply if e.local] == ["B2__base.sql", "V3__c.sql"]
    existing = plan_run([row(1, "1", "a"), row(2, "2", "b")], files)
    assert [e.description for e in existing.to_apply] == ["c"]
    assert existing.issues == ()


def test_target_stops_at_a_version() -> None:
    plan = plan_run([], [local("1", "a"), local("2", "b"), local("3", "c")], target=v("2"))
    assert [e.description for e in plan.to_apply] == ["a", "b"]
    assert State.ABOVE_TARGET in {e.state for e in plan.entries}
