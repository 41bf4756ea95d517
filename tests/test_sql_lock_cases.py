"""Real migrations (tests/data/cases) whose write-blocking lock `require-lock-timeout` used to
miss. Each file is linted as it is, and run on a real PostgreSQL on the smallest schema it
needs: the lock the backend then holds (`pg_locks`) is the engine's verdict the rule follows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migration_gate.sql.lint import lint_text

CASES = Path(__file__).parent / "data" / "cases"
ELENCO = CASES / "DominicWrege__elenco/sql/migrations/V8__subscriptions_comments.sql"
MARQUEZ = CASES / "MarquezProject__marquez/api/src/main/resources/marquez/db/migration"
DROP_TRIGGER = MARQUEZ / "V36__drop_run_id_column_in_lineage_events.sql"
#: Also a file of the sample (tests/data/README.md gives its origin): read there.
REPLACE_VIEW = (Path(__file__).parent / "data" / "sample" / "repos" / "MarquezProject__marquez/"
                "api/src/main/resources/marquez/db/migration/R__Datasets_view.sql")

_TRIGGER_SCHEMA = """
CREATE TABLE lineage_events (run_id text);
CREATE FUNCTION write_run_uuid() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER lineage_events_run_uuid BEFORE INSERT ON lineage_events
    FOR EACH ROW EXECUTE FUNCTION write_run_uuid();
"""
_VIEW_SCHEMA = """
CREATE TYPE dataset_name AS (namespace_name varchar(255), dataset_name varchar(255));
CREATE TABLE namespaces (uuid uuid, name text);
CREATE TABLE dataset_symlinks (dataset_uuid uuid, namespace_uuid uuid, name text);
CREATE TABLE datasets (uuid uuid, type text, created_at timestamptz, updated_at timestamptz,
    namespace_uuid uuid, namespace_name text, name text, source_uuid uuid, physical_name text,
    description text, current_version_uuid uuid, last_modified_at timestamptz,
    source_name text, is_deleted boolean, is_hidden boolean);
CREATE VIEW datasets_view AS SELECT uuid FROM datasets;
"""
#: (file, the schema it runs on, how many of its statements run, the relation, lock mode)
VERDICTS = (
    (ELENCO, "CREATE TABLE account (id int PRIMARY KEY); CREATE TABLE feed (id int PRIMARY KEY);",
     None, "account", "ShareRowExclusiveLock"),
    (DROP_TRIGGER, _TRIGGER_SCHEMA, "DROP TRIGGER lineage_events_run_uuid ON lineage_events",
     "lineage_events", "AccessExclusiveLock"),
    (REPLACE_VIEW, _VIEW_SCHEMA, None, "datasets_view", "AccessExclusiveLock"),
)


def lock_timeout_findings(path: Path) -> list[tuple[int, str]]:
    text = path.read_bytes().decode("utf-8")
    return [(d.line, d.message) for d in lint_text(text, path.name, "postgres")
            if d.rule == "require-lock-timeout"]


def test_create_table_references_existing_tables_needs_lock_timeout() -> None:
    """PostgreSQL 15 holds SHARE ROW EXCLUSIVE on `account` and `feed` while the file's first
    CREATE TABLE runs (test below): writes to them wait. Not reported before."""
    ((line, message),) = lock_timeout_findings(ELENCO)
    assert line == 2
    assert message.startswith("CREATE TABLE REFERENCES takes SHARE ROW EXCLUSIVE on account")


def test_drop_trigger_needs_lock_timeout() -> None:
    """PostgreSQL 15 holds ACCESS EXCLUSIVE on `lineage_events` for `DROP TRIGGER ... ON
    lineage_events`: reported at the DROP TRIGGER (line 3), not only at the later ALTER TABLE."""
    ((line, message),) = lock_timeout_findings(DROP_TRIGGER)
    assert line == 3
    assert message.startswith("DROP TRIGGER takes ACCESS EXCLUSIVE on lineage_events")


def test_create_or_replace_view_needs_lock_timeout() -> None:
    """PostgreSQL 15 holds ACCESS EXCLUSIVE on an existing view it replaces. Not reported
    before; a view created earlier in the same migration stays exempt."""
    ((line, message),) = lock_timeout_findings(REPLACE_VIEW)
    assert line == 1
    assert message.startswith("CREATE OR REPLACE VIEW takes ACCESS EXCLUSIVE on datasets_view")
    text = "CREATE VIEW v AS SELECT 1 AS a;\nCREATE OR REPLACE VIEW v AS SELECT 2 AS a;\n"
    assert not [d for d in lint_text(text, "V1__v.sql") if d.rule == "require-lock-timeout"]


@pytest.fixture
def connection(pg_cluster: Any, pg_dbname: str) -> Iterator[Any]:
    conn = pg_cluster.connect(pg_dbname)
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


@pytest.mark.parametrize(("path", "schema", "statement", "relation", "mode"), VERDICTS,
                         ids=lambda v: v.name if isinstance(v, Path) else None)
def test_postgres_holds_the_lock_the_rule_reports(connection: Any, path: Path, schema: str,
                                                  statement: str | None, relation: str,
                                                  mode: str) -> None:
    connection.execute(schema)
    connection.execute("BEGIN")
    try:
        connection.execute(statement or path.read_bytes().decode("utf-8"))
        held = {str(row[0]) for row in connection.execute(
            "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND relation = %s::regclass",
            (relation,)).fetchall()}
    finally:
        connection.execute("ROLLBACK")
    assert mode in held, held


def test_postgres_replaces_a_table_dropped_and_created_again(connection: Any) -> None:
    """The verdict tests/test_sql_cases.py cites: on PostgreSQL the hmcts file (DROP TABLE IF
    EXISTS x; CREATE TABLE x) leaves a table `task_role_authorizations`, now the new one."""
    path = (CASES / "hmcts__wa-task-management-api/src/main/resources/db/migration/"
            "V1.0.7__init_taskRoleAuthorizations.sql")
    connection.execute("CREATE TABLE task_roles (task_role_id uuid PRIMARY KEY);"
                       "CREATE TABLE task_role_authorizations (old int)")
    connection.execute(path.read_bytes().decode("utf-8"))
    columns = [str(row[0]) for row in connection.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'task_role_authorizations'::regclass"
        " AND attnum > 0 ORDER BY attnum").fetchall()]
    assert columns == ["task_role_id", "authorizations"]


def test_alter_sequence_and_drop_materialized_view_of_existing_objects_need_a_lock_timeout(
) -> None:
    """squawk-agreement (bench/agreement.py, 2026-11-30): ALTER SEQUENCE on an existing sequence
    (11 corpus files) and DROP MATERIALIZED VIEW of an existing view (1 file) got no
    require-lock-timeout. PostgreSQL 15: nextval() in another session waits for ALTER
    SEQUENCE's SHARE ROW EXCLUSIVE, and a read of the view waits for the DROP's ACCESS
    EXCLUSIVE. A sequence created earlier in the same migration is new: nothing waits."""
    from migration_gate.sql.lint import lint_text

    def rules(sql: str) -> list[str]:
        return [d.rule for d in lint_text(sql, "V2__x.sql", "postgres")
                if d.rule == "require-lock-timeout"]

    assert rules("ALTER SEQUENCE users_id_seq RESTART WITH 1000;\n") == ["require-lock-timeout"]
    assert rules("DROP MATERIALIZED VIEW IF EXISTS stats;\n") == ["require-lock-timeout"]
    assert rules("CREATE SEQUENCE s2;\nALTER SEQUENCE s2 RESTART WITH 5;\n") == []
    assert rules("SET lock_timeout = '5s';\nALTER SEQUENCE s RESTART WITH 5;\n") == []
