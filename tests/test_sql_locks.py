"""The lock table (`migration_gate.sql.locks`) against a real PostgreSQL, form by form.

Each form's example runs on a prepared schema inside a transaction (rolled back after); the
backend's own relation locks in `pg_locks` are then compared, relation by relation and mode by
mode, with the table's row, each role standing for the relations it names on this schema. The
two forms that cannot run in a transaction are observed while they wait behind a second
session. The PostgreSQL version the run used is printed and recorded in docs/locks.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migration_gate.sql.lockforms import forms_of, keys_of
from migration_gate.sql.locks import (
    BY_NAME,
    EXAMPLE_SCHEMA,
    FORMS,
    VERIFIED_ON,
    Form,
    LockTaken,
    Mode,
    Role,
    lock_table_mode,
    locks_for,
    render_markdown,
    strongest,
)

SCHEMA = EXAMPLE_SCHEMA
T_INDEXES = ("t_pkey", "t_a_idx", "t_b_uidx")
#: Which relations each role names in the examples, unless the form says otherwise.
NAMES: dict[Role, tuple[str, ...]] = {
    Role.TABLE: ("t",), Role.TABLE_INDEXES: T_INDEXES, Role.REFERENCED: ("ref",),
    Role.REFERENCED_INDEXES: ("ref_pkey",), Role.INDEX: ("t_a_idx",), Role.INDEX_TABLE: ("t",),
    Role.VIEW: ("v",), Role.MATVIEW: ("mv",), Role.MATVIEW_INDEXES: ("mv_id_idx",),
    Role.QUERY_TABLES: ("t",), Role.QUERY_INDEXES: T_INDEXES, Role.PARTITION: ("p2",),
    Role.SEQUENCE: ("s",), Role.CREATED: (), Role.CREATED_INDEXES: (),
}
P2: dict[Role, tuple[str, ...]] = {Role.TABLE: ("p2",), Role.TABLE_INDEXES: ("p2_k_idx",)}
OVERRIDES: dict[str, dict[Role, tuple[str, ...]]] = {
    "ALTER TABLE ADD CONSTRAINT UNIQUE": {Role.CREATED_INDEXES: ("c3",)},
    "ALTER TABLE ADD CONSTRAINT UNIQUE USING INDEX": {Role.INDEX: ("t_b_uidx",)},
    "ALTER TABLE ADD CONSTRAINT PRIMARY KEY": {**P2, Role.CREATED_INDEXES: ("p2_pkey",)},
    "ALTER TABLE ADD CONSTRAINT EXCLUDE": {Role.CREATED_INDEXES: ("c5",)},
    "ALTER TABLE ATTACH PARTITION": {Role.TABLE: ("p",), Role.PARTITION: ("p2",)},
    "ALTER TABLE DETACH PARTITION": {Role.TABLE: ("p",), Role.PARTITION: ("p1",)},
    "CREATE INDEX": {Role.CREATED: ("t_b_idx",)},
    "CREATE INDEX CONCURRENTLY": {Role.CREATED: ("t_b_idx",)},
    "CREATE TABLE REFERENCES": {Role.CREATED: ("child",), Role.CREATED_INDEXES: ("child_pkey",)},
    "CREATE MATERIALIZED VIEW": {Role.CREATED: ("mv2",)},
    "TRUNCATE": P2,
    "DROP TABLE": P2,
}
#: Statements that make a form's example meaningful (ALTER TYPE on a column no view uses).
SETUP: dict[str, str] = {
    "ALTER TABLE ALTER COLUMN TYPE": "DROP MATERIALIZED VIEW mv; DROP VIEW v",
}

_LOCKS = """
SELECT relation, mode FROM pg_locks
WHERE pid = %s AND locktype = 'relation' AND database = (
    SELECT oid FROM pg_database WHERE datname = current_database())
"""
_RELATIONS = """
SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public'
"""


def expected(form: Form) -> dict[str, set[str]]:
    """Relation name → the modes the table says the form takes on it."""
    names = {**NAMES, **OVERRIDES.get(form.name, {})}
    wanted: dict[str, set[str]] = {}
    for lock in form.locks:
        assert names[lock.role] or lock.role in (Role.CREATED, Role.CREATED_INDEXES), lock
        for name in names[lock.role]:
            wanted.setdefault(name, set()).add(lock.mode.value)
    return wanted


def observed(connection: Any, pid: int, before: dict[int, str]) -> dict[str, set[str]]:
    """Relation name → the modes backend `pid` holds (or waits for) on our schema's relations,
    named as they were before the statement (a renamed or dropped relation keeps its name)."""
    now = {int(oid): str(name) for oid, name in connection.execute(_RELATIONS).fetchall()}
    names = {**now, **before}
    seen: dict[str, set[str]] = {}
    for oid, mode in connection.execute(_LOCKS, (pid,)).fetchall():
        if int(oid) in names:
            seen.setdefault(names[int(oid)], set()).add(str(mode))
    return seen


@pytest.fixture(scope="module")
def schema_db(pg_cluster: Any) -> Iterator[tuple[Any, str]]:
    """A database with the examples' schema, and the server's major version."""
    name = "locks_table"
    with pg_cluster.connect() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    connection = pg_cluster.connect(name)
    connection.autocommit = True
    connection.execute(SCHEMA)
    version = str(connection.execute("SHOW server_version").fetchone()[0])
    try:
        yield connection, version
    finally:
        connection.close()
        with pg_cluster.connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def relations(connection: Any) -> dict[int, str]:
    return {int(oid): str(name) for oid, name in connection.execute(_RELATIONS).fetchall()}


@pytest.mark.parametrize("form", [f for f in FORMS if f.in_transaction], ids=lambda f: f.name)
def test_the_form_takes_exactly_these_locks(schema_db: tuple[Any, str], form: Form) -> None:
    connection, version = schema_db
    connection.execute("BEGIN")
    try:
        if form.name in SETUP:
            connection.execute(SETUP[form.name])
        before = relations(connection)
        connection.execute("SELECT pg_advisory_xact_lock(1)")  # a lock that is no relation's
        connection.execute(form.example)
        pid = connection.info.backend_pid
        seen = observed(connection, pid, before)
    finally:
        connection.execute("ROLLBACK")
    assert seen == expected(form), f"PostgreSQL {version}: {form.example}"


def _wait_for(connection: Any, pid: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = connection.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                                 (pid,)).fetchone()
        if row is not None and row[0] == "Lock":
            return
        time.sleep(0.02)
    raise AssertionError("the statement never waited")


BLOCKERS = {  # what a second session holds so that the form waits where it can be seen
    "CREATE INDEX CONCURRENTLY": "INSERT INTO ref VALUES (1); INSERT INTO t (id, ref_id) "
                                 "VALUES (1, 1)",
    "VACUUM FULL": "SELECT count(*) FROM t",
}


@pytest.mark.parametrize("form", [f for f in FORMS if not f.in_transaction],
                         ids=lambda f: f.name)
def test_a_form_refinery_cannot_run_takes_these_locks_while_it_waits(
    pg_cluster: Any, schema_db: tuple[Any, str], form: Form,
) -> None:
    watcher, version = schema_db
    blocker = pg_cluster.connect("locks_table")
    runner = pg_cluster.connect("locks_table")
    blocker.autocommit = runner.autocommit = True
    before = relations(watcher)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            runner.execute(form.example)
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    try:
        blocker.execute("BEGIN")
        blocker.execute(BLOCKERS[form.name])
        thread = threading.Thread(target=run)
        thread.start()
        _wait_for(watcher, runner.info.backend_pid)
        seen = observed(watcher, runner.info.backend_pid, before)
        blocker.execute("ROLLBACK")
        thread.join(timeout=60)
        assert not failures, failures
    finally:
        blocker.close()
        runner.close()
        watcher.execute("DROP INDEX IF EXISTS t_b_idx")
    assert seen == expected(form), f"PostgreSQL {version}: {form.example}"


def test_the_version_checked_is_recorded(schema_db: tuple[Any, str]) -> None:
    """docs/locks.md says which PostgreSQL the table was checked on; so does VERIFIED_ON."""
    _connection, version = schema_db
    print(f"\nlock table checked on PostgreSQL {version}")
    assert f"checked on PostgreSQL {VERIFIED_ON} by" in render_markdown().replace("\n", " ")
    if int(version.split(".")[0]) != VERIFIED_ON:
        pytest.skip(f"the table is recorded as checked on PostgreSQL {VERIFIED_ON}; this run "
                    f"used {version} (every form above still had to match)")


# --- the lookup, without a database -------------------------------------------------------------


def test_lookup_and_modes() -> None:
    fk = locks_for("ALTER TABLE ADD CONSTRAINT FOREIGN KEY")
    assert strongest(fk, Role.REFERENCED) is Mode.SHARE_ROW_EXCLUSIVE
    assert strongest(fk, Role.TABLE) is Mode.SHARE_ROW_EXCLUSIVE
    assert strongest(locks_for("CREATE INDEX"), Role.TABLE) is Mode.SHARE
    assert locks_for("GRANT ON TABLE") == ()
    assert LockTaken(Role.TABLE, Mode.ACCESS_EXCLUSIVE) in locks_for("ALTER TABLE ADD COLUMN")
    with pytest.raises(KeyError):
        locks_for("ALTER TABLE ADD COLUMNS")
    assert Mode.SHARE.blocks_writes and not Mode.SHARE.blocks_reads
    assert Mode.ACCESS_EXCLUSIVE.blocks_reads
    assert not Mode.SHARE_UPDATE_EXCLUSIVE.blocks_writes
    assert Mode.SHARE_UPDATE_EXCLUSIVE.conflicts_with(Mode.SHARE_UPDATE_EXCLUSIVE)
    assert not Mode.SHARE.conflicts_with(Mode.SHARE)
    assert lock_table_mode(["share", "row", "exclusive"]) is Mode.SHARE_ROW_EXCLUSIVE
    assert lock_table_mode(["SHARE", "ROWS"]) is None
    assert Mode.ACCESS_EXCLUSIVE.words == "ACCESS EXCLUSIVE"


def test_the_conflict_matrix_is_symmetric() -> None:
    for one in Mode:
        for other in Mode:
            assert one.conflicts_with(other) == other.conflicts_with(one), (one, other)


def test_every_form_of_the_brief_is_in_the_table() -> None:
    assert len(BY_NAME) == len(FORMS)
    for name in ("ALTER TABLE ADD COLUMN", "ALTER TABLE DROP COLUMN",
                 "ALTER TABLE ALTER COLUMN TYPE", "ALTER TABLE ALTER COLUMN SET NOT NULL",
                 "ALTER TABLE ALTER COLUMN DROP NOT NULL", "ALTER TABLE ALTER COLUMN SET DEFAULT",
                 "ALTER TABLE ADD CONSTRAINT CHECK", "ALTER TABLE ADD CONSTRAINT FOREIGN KEY",
                 "ALTER TABLE ADD CONSTRAINT UNIQUE", "ALTER TABLE ADD CONSTRAINT EXCLUDE",
                 "ALTER TABLE ADD CONSTRAINT PRIMARY KEY",
                 "ALTER TABLE ADD CONSTRAINT CHECK NOT VALID",
                 "ALTER TABLE ADD CONSTRAINT FOREIGN KEY NOT VALID",
                 "ALTER TABLE VALIDATE CONSTRAINT CHECK",
                 "ALTER TABLE VALIDATE CONSTRAINT FOREIGN KEY", "ALTER TABLE RENAME TO",
                 "ALTER TABLE RENAME COLUMN", "ALTER TABLE ATTACH PARTITION",
                 "ALTER TABLE DETACH PARTITION", "CREATE INDEX", "CREATE INDEX CONCURRENTLY",
                 "DROP INDEX", "REINDEX INDEX", "REINDEX TABLE", "CREATE TABLE REFERENCES",
                 "CREATE TRIGGER", "DROP TRIGGER", "CREATE OR REPLACE VIEW", "DROP VIEW",
                 "ALTER VIEW", "CREATE MATERIALIZED VIEW", "REFRESH MATERIALIZED VIEW",
                 "REFRESH MATERIALIZED VIEW CONCURRENTLY", "TRUNCATE", "DROP TABLE",
                 "LOCK TABLE", "VACUUM FULL", "CLUSTER", "COMMENT ON TABLE",
                 "COMMENT ON COLUMN", "GRANT ON TABLE", "REVOKE ON TABLE", "CREATE RULE",
                 "CREATE POLICY", "ALTER SEQUENCE", "DROP MATERIALIZED VIEW"):
        assert name in BY_NAME, name


def test_docs_locks_md_is_the_rendered_table() -> None:
    docs = Path(__file__).parents[1] / "docs" / "locks.md"
    assert docs.read_text(encoding="utf-8") == render_markdown(), (
        "regenerate: python -c 'from migration_gate.sql.locks import render_markdown; "
        "print(render_markdown(), end=\"\")' > docs/locks.md")


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.name)
def test_each_example_is_recognised_as_its_form(form: Form) -> None:
    """`forms_of` reads the form from the words; VALIDATE CONSTRAINT cannot tell a CHECK from
    a FOREIGN KEY and answers with the wider row."""
    wanted = ("ALTER TABLE VALIDATE CONSTRAINT FOREIGN KEY"
              if form.name == "ALTER TABLE VALIDATE CONSTRAINT CHECK" else form.name)
    assert forms_of(keys_of(form.example)) == (wanted,)


@pytest.mark.parametrize(
    ("sql", "forms"),
    [
        ("ALTER TABLE IF EXISTS ONLY app.t ADD x int, ADD CONSTRAINT f FOREIGN KEY (a) "
         "REFERENCES r (id) NOT VALID, ALTER COLUMN a DROP DEFAULT",
         ("ALTER TABLE ADD COLUMN", "ALTER TABLE ADD CONSTRAINT FOREIGN KEY NOT VALID",
          "ALTER TABLE ALTER COLUMN SET DEFAULT")),
        ('ALTER TABLE "T" ADD PRIMARY KEY (id)', ("ALTER TABLE ADD CONSTRAINT PRIMARY KEY",)),
        ("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)",
         ("CREATE INDEX CONCURRENTLY",)),
        ("DROP INDEX CONCURRENTLY i", ()),
        ("GRANT USAGE ON SCHEMA app TO reader", ()),
        ("GRANT SELECT ON TABLE t TO reader", ("GRANT ON TABLE",)),
        ("CREATE VIEW fresh AS SELECT 1", ()),
        ("SELECT 1", ()),
    ],
)
def test_forms_of_statements(sql: str, forms: tuple[str, ...]) -> None:
    assert forms_of(keys_of(sql)) == forms
    assert all(name in BY_NAME for name in forms)
