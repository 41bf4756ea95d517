"""The factual questions behind docs/squawk-agreement.md, asked of a real PostgreSQL.

Each check runs one disputed statement (the forms the corpus has) on a throwaway cluster (the
gate's own, `migration_gate.ephemeral.postgres`) and prints what the server did: the locks the
backend holds on objects that existed before (`pg_locks`), whether the table was rewritten
(its `relfilenode` changed), or the error. Prints one line per check.

Usage: python bench/agreement_pg.py   (needs PostgreSQL server binaries and psycopg:
pip install -e '.[postgres]')
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCHEMA = """
CREATE TABLE t (id int PRIMARY KEY, a int, name text);
INSERT INTO t SELECT g, g, 'x' FROM generate_series(1, 1000) g;
CREATE SEQUENCE s;
CREATE TYPE mood AS ENUM ('ok');
CREATE TYPE unused AS ENUM ('a');
CREATE TABLE tm (id int, m mood);
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE MATERIALIZED VIEW mv AS SELECT id FROM t;
CREATE EXTENSION IF NOT EXISTS plpgsql;
"""

#: (question, statement run inside a transaction whose locks are then read)
LOCK_CHECKS = (
    ("CREATE OR REPLACE FUNCTION of an existing function",
     "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 2'"),
    ("CREATE SEQUENCE", "CREATE SEQUENCE s2 START WITH 1 INCREMENT BY 50"),
    ("CREATE TABLE with no reference", "CREATE TABLE n (id bigint PRIMARY KEY, v text)"),
    ("CREATE TABLE ... REFERENCES an existing table",
     "CREATE TABLE r (id int, t_id int REFERENCES t (id))"),
    ("CREATE TYPE", "CREATE TYPE colour AS ENUM ('red')"),
    ("CREATE EXTENSION IF NOT EXISTS (present)", "CREATE EXTENSION IF NOT EXISTS plpgsql"),
    ("CREATE SCHEMA IF NOT EXISTS", "CREATE SCHEMA IF NOT EXISTS extra"),
    ("COMMENT ON TABLE", "COMMENT ON TABLE t IS 'x'"),
    ("ALTER TABLE ... ALTER COLUMN ... SET STATISTICS",
     "ALTER TABLE t ALTER COLUMN a SET STATISTICS 1000"),
    ("ALTER TABLE ... SET (autovacuum_...)",
     "ALTER TABLE t SET (autovacuum_vacuum_scale_factor = 0.02)"),
    ("ALTER TYPE ... ADD VALUE", "ALTER TYPE mood ADD VALUE 'sad'"),
    ("ALTER SEQUENCE ... RESTART", "ALTER SEQUENCE s RESTART WITH 16"),
    ("DROP FUNCTION", "DROP FUNCTION f()"),
    ("DROP TYPE", "DROP TYPE unused"),
    ("DROP MATERIALIZED VIEW", "DROP MATERIALIZED VIEW mv"),
    ("CREATE INDEX on a table created in the same transaction",
     "CREATE TABLE fresh (a int); CREATE INDEX fresh_a ON fresh (a)"),
)
#: (question, ALTER TABLE t ... whose rewrite is measured)
REWRITE_CHECKS = (
    ("ADD COLUMN ... DEFAULT localtimestamp NOT NULL",
     "ALTER TABLE t ADD COLUMN c1 timestamp(3) DEFAULT localtimestamp NOT NULL"),
    ("ADD COLUMN ... DEFAULT current_timestamp(3) NOT NULL",
     "ALTER TABLE t ADD COLUMN c2 timestamp(3) NOT NULL DEFAULT current_timestamp(3)"),
    ("ADD COLUMN ... DEFAULT to_timestamp('01-03-2023', 'DD-MM-YYYY') NOT NULL",
     "ALTER TABLE t ADD COLUMN c5 timestamp(3) DEFAULT to_timestamp('01-03-2023', 'DD-MM-YYYY')"
     " NOT NULL"),
    ("ADD COLUMN ... DEFAULT current_date",
     "ALTER TABLE t ADD COLUMN c6 date DEFAULT current_date"),
    ("ADD COLUMN text DEFAULT -1", "ALTER TABLE t ADD COLUMN c7 text DEFAULT -1"),
    ("ADD COLUMN ... DEFAULT clock_timestamp() (volatile, for contrast)",
     "ALTER TABLE t ADD COLUMN c3 timestamptz DEFAULT clock_timestamp()"),
    ("ADD COLUMN ... BIGSERIAL (no PRIMARY KEY)", "ALTER TABLE t ADD COLUMN c4 BIGSERIAL"),
)
#: (question, statements: does the server accept them?)
ERROR_CHECKS = (
    ("ADD CONSTRAINT ... UNIQUE ... NOT VALID",
     "ALTER TABLE t ADD CONSTRAINT t_a_unique UNIQUE (a) NOT VALID"),
    ("ADD CONSTRAINT ... EXCLUDE ... NOT VALID",
     "ALTER TABLE t ADD CONSTRAINT t_a_excl EXCLUDE (a WITH =) NOT VALID"),
    ("CREATE INDEX CONCURRENTLY inside a transaction (refinery)",
     "BEGIN; CREATE INDEX CONCURRENTLY t_name ON t (name); COMMIT"),
    ("CREATE ROLE ${dpr_user} (a Flyway placeholder left in)",
     "CREATE ROLE ${dpr_user} WITH LOGIN"),
)


def locks_taken(connection: object, statement: str) -> str:
    """The locks the statement's transaction holds on relations that existed before it (named
    from a list taken first) and on other objects (types, functions: `pg_describe_object`)."""
    import psycopg

    assert isinstance(connection, psycopg.Connection)
    before = dict(connection.execute(
        "SELECT oid, relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"
    ).fetchall())
    with connection.transaction(force_rollback=True), connection.cursor() as cursor:
        cursor.execute(statement)
        cursor.execute("""
            SELECT l.relation, l.classid::regclass::text,
                   pg_describe_object(l.classid, l.objid, l.objsubid), l.mode
            FROM pg_locks l
            WHERE l.pid = pg_backend_pid() AND l.granted
              AND l.locktype IN ('relation', 'object')""")
        rows = []
        for relation, catalog, described, mode in cursor.fetchall():
            if relation is not None and relation in before:
                rows.append(f"table {before[relation]}: {mode}")
            elif relation is None and catalog not in ("pg_namespace", None):
                rows.append(f"{described or 'a dropped ' + catalog + ' row'}: {mode}")
    return "; ".join(sorted(set(rows))) or "no lock on any existing table, type or function"


def rewritten(connection: object, statement: str) -> str:
    import psycopg

    assert isinstance(connection, psycopg.Connection)
    with connection.transaction(force_rollback=True), connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_filenode('t')")
        before = cursor.fetchone()
        cursor.execute(statement)
        cursor.execute("SELECT pg_relation_filenode('t')")
        after = cursor.fetchone()
    return "table rewritten (new relfilenode)" if before != after else "no rewrite"


def accepted(connection: object, statement: str) -> str:
    import psycopg

    assert isinstance(connection, psycopg.Connection)
    try:
        connection.execute(statement)
    except psycopg.Error as error:
        return f"ERROR {error.sqlstate}: {str(error).splitlines()[0]}"
    finally:
        if connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            connection.execute("ROLLBACK")
    return "accepted"


def blocked_behind(url: str, hold: str, waiter: str, victim: str) -> str:
    """Session A runs `hold` in an open transaction; B runs `waiter` (it may wait behind A);
    after 1 s, C runs `victim` under a 2 s lock_timeout: is C stuck behind A or B?"""
    import psycopg

    holder = psycopg.connect(url)
    holder.execute(hold)
    second = psycopg.connect(url, autocommit=True)
    second.execute("SET lock_timeout = '10s'")
    thread = threading.Thread(target=lambda: _quietly(second, waiter))
    thread.start()
    time.sleep(1)
    third = psycopg.connect(url, autocommit=True)
    third.execute("SET lock_timeout = '2s'")
    try:
        third.execute(victim)
        verdict = "ran"
    except psycopg.errors.LockNotAvailable:
        verdict = "BLOCKED (lock_timeout after 2 s)"
    holder.rollback()
    thread.join()
    for connection in (holder, second, third):
        connection.close()
    return verdict


def _quietly(connection: object, statement: str) -> None:
    import psycopg

    assert isinstance(connection, psycopg.Connection)
    with contextlib.suppress(psycopg.Error):
        connection.execute(statement)


#: (question, A's statement in its open transaction, B's statement, C's statement)
BLOCK_CHECKS = (
    ("CREATE INDEX CONCURRENTLY waiting on SHARE UPDATE EXCLUSIVE, then INSERT",
     "LOCK TABLE t IN SHARE UPDATE EXCLUSIVE MODE", "CREATE INDEX CONCURRENTLY t_a_cic ON t (a)",
     "INSERT INTO t VALUES (100001, 1, 'w')"),
    ("ALTER SEQUENCE waiting on a transaction that called nextval, then nextval",
     "SELECT nextval('s')", "ALTER SEQUENCE s INCREMENT BY 50", "SELECT nextval('s')"),
    ("ALTER TYPE ... ADD VALUE left open (A), then an INSERT using the type (C)",
     "ALTER TYPE mood ADD VALUE 'sad'", "SELECT 1", "INSERT INTO tm VALUES (1, 'ok')"),
    ("DROP FUNCTION left open (A), then a call of the function (C)",
     "DROP FUNCTION f()", "SELECT 1", "SELECT f()"),
    ("DROP MATERIALIZED VIEW left open (A), then a read of it (C)",
     "DROP MATERIALIZED VIEW mv", "SELECT 1", "SELECT count(*) FROM mv"),
)


def main() -> None:
    import psycopg

    from migration_gate.ephemeral.postgres import find_binaries, running_cluster

    with running_cluster(find_binaries(None)) as cluster:
        url = f"postgresql://postgres@/postgres?host={cluster.socket_dir}&port=5432"
        with psycopg.connect(url, autocommit=True) as connection:
            version = connection.execute("SHOW server_version").fetchone()
            print(f"PostgreSQL {version[0] if version else '?'}")
            connection.execute(SCHEMA)
            for question, statement in LOCK_CHECKS:
                print(f"locks   | {question}: {locks_taken(connection, statement)}")
            for question, statement in REWRITE_CHECKS:
                print(f"rewrite | {question}: {rewritten(connection, statement)}")
            for question, statement in ERROR_CHECKS:
                print(f"accepts | {question}: {accepted(connection, statement)}")
        for question, hold, waiter, victim in BLOCK_CHECKS:
            print(f"blocks  | {question}: C {blocked_behind(url, hold, waiter, victim)}")


if __name__ == "__main__":
    main()
