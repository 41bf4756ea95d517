"""The documentation of every SQL rule (RULES.md), with the hint each finding carries.

`fires` and `passes` are executed by the tests: each `fires` text, linted as a migration of its
own, must produce the rule; no `passes` text may.
"""

from __future__ import annotations

from migration_gate.catalog import RuleDoc
from migration_gate.diagnostics import Severity
from migration_gate.types import Dialect

E, W, OFF = Severity.ERROR, Severity.WARNING, Severity.OFF
PG: tuple[Dialect, ...] = ("postgres",)
PORTABLE: tuple[Dialect, ...] = ("postgres", "mysql", "sqlite")

_OUTSIDE = (
    "refinery runs every migration inside a transaction, so the CONCURRENTLY form cannot be "
    "part of a migration. Run it as an operations step outside refinery (psql in the deploy "
    "job, before the migration), and keep the defensive form in the migration so that it is a "
    "no-op once the operations step has run."
)

REQUIRE_CONCURRENT_INDEX_CREATION = RuleDoc(
    "require-concurrent-index-creation", W,
    "`CREATE INDEX` without `CONCURRENTLY` on a table that already exists.",
    needs="context", dialects=PG,
    why="`CREATE INDEX` takes a SHARE lock on the table for the whole build: every INSERT, "
    "UPDATE and DELETE waits until the index is built, minutes on a large table. Tables created "
    "earlier in the same migration (or by another migration added on the same branch) are "
    "exempt: nobody uses them yet. " + _OUTSIDE,
    example="CREATE INDEX users_email_idx ON users (email);",
    instead="-- operations step, outside refinery:\n"
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\n"
    "-- the migration (a no-op once the index exists):\n"
    "SET LOCAL lock_timeout = '5s';\n"
    "CREATE INDEX IF NOT EXISTS users_email_idx ON users (email);",
    fires=(
        "CREATE INDEX users_email_idx ON users (email);",
        "CREATE UNIQUE INDEX IF NOT EXISTS u ON public.accounts USING btree (lower(name));",
        "CREATE INDEX ON ONLY measurements (logdate);",
    ),
    passes=(
        "CREATE TABLE users (id bigint); CREATE INDEX users_id_idx ON users (id);",
        "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
        "CREATE TABLE IF NOT EXISTS t (a int);\nCREATE INDEX IF NOT EXISTS t_a ON t (a);",
    ),
)
REQUIRE_CONCURRENT_INDEX_DELETION = RuleDoc(
    "require-concurrent-index-deletion", W,
    "`DROP INDEX` without `CONCURRENTLY`.",
    needs="context", dialects=PG,
    why="`DROP INDEX` takes an ACCESS EXCLUSIVE lock on the index's table: reads and writes "
    "wait, and so does everything queued behind the drop. " + _OUTSIDE,
    example="DROP INDEX users_email_idx;",
    instead="-- operations step, outside refinery:\nDROP INDEX CONCURRENTLY IF EXISTS "
    "users_email_idx;\n-- the migration:\nSET LOCAL lock_timeout = '5s';\n"
    "DROP INDEX IF EXISTS users_email_idx;",
    fires=(
        "DROP INDEX users_email_idx;",
        "DROP INDEX IF EXISTS public.users_email_idx;",
        "drop index a_idx, b_idx cascade;",
    ),
    passes=(
        "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;",
        "CREATE TABLE t (a int); CREATE INDEX IF NOT EXISTS tmp_idx ON t (a);\n"
        "DROP INDEX IF EXISTS tmp_idx;",
        "DROP TABLE IF EXISTS old_things;",
    ),
)
BAN_CONCURRENT_IN_TRANSACTION = RuleDoc(
    "ban-concurrent-index-creation-in-transaction", E,
    "A `CONCURRENTLY` operation in a refinery migration: it cannot run inside a transaction.",
    needs="stmt", dialects=PG,
    why="refinery wraps every migration in a transaction (REFINERY.md §6). `CREATE INDEX "
    "CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX ... CONCURRENTLY` and `DETACH PARTITION "
    "... CONCURRENTLY` refuse to run there: the migration fails with SQLSTATE 25001 \"cannot "
    "run inside a transaction block\" (refinery issue #277) and the deploy stops.",
    example="CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
    instead="-- operations step, outside refinery:\n"
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\n"
    "-- the migration, a no-op once the index exists:\n"
    "CREATE INDEX IF NOT EXISTS users_email_idx ON users (email);",
    fires=(
        "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
        "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;",
        "REINDEX INDEX CONCURRENTLY users_email_idx;",
        "ALTER TABLE measurements DETACH PARTITION m2020 CONCURRENTLY;",
    ),
    passes=(
        "CREATE INDEX IF NOT EXISTS users_email_idx ON users (email);",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY stats;",
        "SELECT 'CREATE INDEX CONCURRENTLY x ON y (z)';",
    ),
)
TRANSACTION_NESTING = RuleDoc(
    "transaction-nesting", E,
    "`BEGIN`, `START TRANSACTION`, `COMMIT` or `ROLLBACK` inside a migration.",
    needs="stmt", dialects=("postgres", "mysql", "sqlite", "mssql"),
    why="refinery already runs the file in a transaction. A `COMMIT` in the file ends "
    "refinery's transaction early: a failure after it leaves half the migration applied and no "
    "history row, and PostgreSQL warns \"there is no transaction in progress\" when refinery "
    "commits. `BEGIN` only warns but misleads readers into thinking they control the "
    "transaction.",
    example="BEGIN;\nALTER TABLE users ADD COLUMN IF NOT EXISTS phone text;\nCOMMIT;",
    instead="ALTER TABLE users ADD COLUMN IF NOT EXISTS phone text;  -- refinery wraps the file",
    fires=("BEGIN;", "COMMIT;", "START TRANSACTION;", "ROLLBACK;", "END;"),
    passes=(
        "SAVEPOINT before_backfill;",
        "ROLLBACK TO SAVEPOINT before_backfill;",
        "DO $$ BEGIN PERFORM 1; END $$;",
    ),
)
CONSTRAINT_MISSING_NOT_VALID = RuleDoc(
    "constraint-missing-not-valid", W,
    "`ADD CONSTRAINT ... CHECK / FOREIGN KEY` without `NOT VALID` on an existing table, or "
    "`VALIDATE CONSTRAINT` in the migration that added it.",
    needs="context", dialects=PG,
    why="Adding a CHECK or FOREIGN KEY constraint scans the whole table to validate it, under "
    "ACCESS EXCLUSIVE (CHECK) or SHARE ROW EXCLUSIVE (FOREIGN KEY) locks: writes (and for CHECK, "
    "reads) wait for the scan. With `NOT VALID` only new rows are checked and the lock is "
    "brief; `VALIDATE CONSTRAINT` then scans under a weaker SHARE UPDATE EXCLUSIVE lock, but "
    "only if it runs in a later migration: in the same one refinery's transaction still holds "
    "the strong lock taken by the ADD.",
    example="ALTER TABLE users ADD CONSTRAINT chk_age CHECK (age >= 0);",
    instead="-- this migration:\nALTER TABLE users ADD CONSTRAINT chk_age CHECK (age >= 0) NOT "
    "VALID;\n-- a later migration:\nALTER TABLE users VALIDATE CONSTRAINT chk_age;",
    fires=(
        "ALTER TABLE users ADD CONSTRAINT chk_age CHECK (age >= 0);",
        "ALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users (id);",
        "ALTER TABLE users ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\n"
        "ALTER TABLE users VALIDATE CONSTRAINT c;",
    ),
    passes=(
        "ALTER TABLE users ADD CONSTRAINT chk_age CHECK (age >= 0) NOT VALID;",
        "ALTER TABLE users VALIDATE CONSTRAINT chk_age;",
        "CREATE TABLE t (a int); ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);",
    ),
)
ADDING_FOREIGN_KEY_CONSTRAINT = RuleDoc(
    "adding-foreign-key-constraint", W,
    "A foreign key added to an existing table without `NOT VALID`.",
    needs="context", dialects=PG,
    why="Adding a foreign key takes SHARE ROW EXCLUSIVE locks on both the table and the "
    "referenced table, and scans the table to validate every row while holding them: writes "
    "to both tables wait.",
    example="ALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users;",
    instead="-- this migration:\nALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY "
    "(user_id) REFERENCES users NOT VALID;\n-- a later migration:\n"
    "ALTER TABLE orders VALIDATE CONSTRAINT fk_user;",
    fires=(
        "ALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users;",
        "ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id);",
        "ALTER TABLE orders ADD COLUMN IF NOT EXISTS user_id bigint REFERENCES users (id);",
    ),
    passes=(
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users NOT VALID;",
        "CREATE TABLE o (u bigint); ALTER TABLE o ADD FOREIGN KEY (u) REFERENCES users;",
        "ALTER TABLE orders VALIDATE CONSTRAINT fk_user;",
    ),
)
DISALLOWED_UNIQUE_CONSTRAINT = RuleDoc(
    "disallowed-unique-constraint", W,
    "`ADD CONSTRAINT ... UNIQUE` / `ADD UNIQUE` without `USING INDEX` on an existing table.",
    needs="context", dialects=PG,
    why="Adding a unique constraint builds its index while holding an ACCESS EXCLUSIVE lock on "
    "the table: nothing can read or write it until the build finishes.",
    example="ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
    instead="-- operations step, outside refinery:\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT "
    "EXISTS users_email_key ON users (email);\n-- the migration:\nALTER TABLE users ADD "
    "CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;",
    fires=(
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
        "ALTER TABLE users ADD UNIQUE (email);",
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS code text UNIQUE;",
    ),
    passes=(
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;",
        "CREATE TABLE t (a int); ALTER TABLE t ADD UNIQUE (a);",
        "ALTER TABLE users DROP CONSTRAINT IF EXISTS users_email_key;",
    ),
)
ADDING_SERIAL_PRIMARY_KEY_FIELD = RuleDoc(
    "adding-serial-primary-key-field", W,
    "`ADD PRIMARY KEY` without `USING INDEX`, or an added `SERIAL`/`BIGSERIAL` column.",
    needs="context", dialects=PG,
    why="Adding a primary key builds a unique index (and checks NOT NULL) under an ACCESS "
    "EXCLUSIVE lock; adding a serial column fills every existing row, rewriting the table under "
    "the same lock.",
    example="ALTER TABLE events ADD PRIMARY KEY (id);",
    instead="-- operations step, outside refinery:\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT "
    "EXISTS events_pkey ON events (id);\n-- the migration:\n"
    "ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_pkey;",
    fires=(
        "ALTER TABLE events ADD PRIMARY KEY (id);",
        "ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id);",
        "ALTER TABLE events ADD COLUMN IF NOT EXISTS id bigserial;",
    ),
    passes=(
        "ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_pkey;",
        "CREATE TABLE e (id int); ALTER TABLE e ADD PRIMARY KEY (id);",
        "ALTER TABLE events ADD COLUMN IF NOT EXISTS n bigint;",
    ),
)
ADDING_FIELD_WITH_DEFAULT = RuleDoc(
    "adding-field-with-default", W,
    "`ADD COLUMN ... DEFAULT <volatile>` or a stored generated column.",
    needs="context", dialects=PG,
    why="Since PostgreSQL 11 a constant default is stored once in the catalogue, but a "
    "volatile default (`random()`, `gen_random_uuid()`, `clock_timestamp()`, `nextval()`...) or "
    "a `GENERATED ... STORED` / identity column must be computed for every row: the table is "
    "rewritten under an ACCESS EXCLUSIVE lock. (With `postgres.version` below 11 any default "
    "rewrites.)",
    example="ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
    instead="ALTER TABLE users ADD COLUMN IF NOT EXISTS token uuid;\n"
    "ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();\n"
    "-- then backfill existing rows in batches, outside the migration",
    fires=(
        "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS r float8 DEFAULT random();",
        "ALTER TABLE t ADD COLUMN IF NOT EXISTS total int GENERATED ALWAYS AS (a + b) STORED;",
    ),
    passes=(
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS active boolean DEFAULT true;",
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS created_at timestamptz DEFAULT now();",
        "CREATE TABLE t (a int); ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();",
    ),
)
ADDING_REQUIRED_FIELD = RuleDoc(
    "adding-required-field", E,
    "`ADD COLUMN ... NOT NULL` without a default on an existing table.",
    needs="context", dialects=PG,
    why="Existing rows would get NULL in a NOT NULL column, so PostgreSQL refuses: the "
    "migration fails (23502) on any table that has rows, which is every production table, "
    "even when it passed on an empty development database.",
    example="ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL;",
    instead="ALTER TABLE users ADD COLUMN IF NOT EXISTS tenant_id bigint;\n"
    "-- backfill, then in a later migration:\n"
    "ALTER TABLE users ADD CONSTRAINT tenant_id_not_null CHECK (tenant_id IS NOT NULL) NOT VALID;",
    fires=(
        "ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL;",
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS code text NOT NULL;",
        "alter table only users add tenant_id int not null references tenants (id);",
    ),
    passes=(
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS active boolean NOT NULL DEFAULT true;",
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS tenant_id bigint;",
        "CREATE TABLE t (a int); ALTER TABLE t ADD COLUMN b int NOT NULL;",
    ),
)
ADDING_NOT_NULLABLE_FIELD = RuleDoc(
    "adding-not-nullable-field", W,
    "`ALTER COLUMN ... SET NOT NULL` on an existing table.",
    needs="context", dialects=PG,
    why="`SET NOT NULL` scans the whole table to check for NULLs while holding an ACCESS "
    "EXCLUSIVE lock: nothing can read or write the table during the scan. Since PostgreSQL 12 "
    "the scan is skipped when a validated `CHECK (col IS NOT NULL)` constraint exists.",
    example="ALTER TABLE users ALTER COLUMN phone SET NOT NULL;",
    instead="-- this migration:\nALTER TABLE users ADD CONSTRAINT phone_not_null "
    "CHECK (phone IS NOT NULL) NOT VALID;\n-- a later migration:\n"
    "ALTER TABLE users VALIDATE CONSTRAINT phone_not_null;\n"
    "ALTER TABLE users ALTER COLUMN phone SET NOT NULL;  -- uses the check, no scan (PG 12+)",
    fires=(
        "ALTER TABLE users ALTER COLUMN phone SET NOT NULL;",
        "ALTER TABLE ONLY users ALTER phone SET NOT NULL;",
        "ALTER TABLE users ALTER COLUMN a DROP DEFAULT, ALTER COLUMN b SET NOT NULL;",
    ),
    passes=(
        "ALTER TABLE users ALTER COLUMN phone DROP NOT NULL;",
        "CREATE TABLE t (a int); ALTER TABLE t ALTER COLUMN a SET NOT NULL;",
        "ALTER TABLE users ADD CONSTRAINT p CHECK (phone IS NOT NULL) NOT VALID;",
    ),
)
CHANGING_COLUMN_TYPE = RuleDoc(
    "changing-column-type", W,
    "`ALTER COLUMN ... TYPE` on an existing table.",
    needs="context", dialects=PG,
    why="Changing a column's type rewrites the table and all its indexes under an ACCESS "
    "EXCLUSIVE lock, unless the types are binary-compatible (e.g. `varchar(n)` to `text` or a "
    "longer `varchar`).",
    example="ALTER TABLE users ALTER COLUMN id TYPE bigint;",
    instead="ALTER TABLE users ADD COLUMN IF NOT EXISTS id_new bigint;\n-- dual-write from the "
    "application, backfill in batches, then swap the columns in a later migration",
    fires=(
        "ALTER TABLE users ALTER COLUMN id TYPE bigint;",
        "ALTER TABLE users ALTER COLUMN name SET DATA TYPE text;",
        "ALTER TABLE users ALTER amount TYPE numeric(12, 2) USING amount::numeric;",
    ),
    passes=(
        "CREATE TABLE t (a int); ALTER TABLE t ALTER COLUMN a TYPE bigint;",
        "ALTER TABLE users ALTER COLUMN name SET DEFAULT 'x';",
        "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh';",
    ),
)
REQUIRE_CONCURRENT_REINDEX = RuleDoc(
    "require-concurrent-reindex", W,
    "`REINDEX` without `CONCURRENTLY`.",
    needs="stmt", dialects=PG,
    why="`REINDEX` takes an ACCESS EXCLUSIVE lock on the index (and SHARE on its table) for the "
    "whole rebuild. The CONCURRENTLY form cannot run inside refinery's transaction.",
    example="REINDEX INDEX users_email_idx;",
    instead="-- an operations step, outside refinery:\nREINDEX INDEX CONCURRENTLY users_email_idx;",
    fires=("REINDEX INDEX users_email_idx;", "REINDEX TABLE users;", "reindex (verbose) table t;"),
    passes=(
        "REINDEX INDEX CONCURRENTLY users_email_idx;",
        "SELECT 'REINDEX TABLE users';",
        "ANALYZE users;",
    ),
)
BAN_VACUUM_FULL_OR_CLUSTER = RuleDoc(
    "ban-vacuum-full-or-cluster", W,
    "`VACUUM FULL`, `CLUSTER` or an explicit `LOCK TABLE` (and any `VACUUM`, which fails).",
    needs="context", dialects=PG,
    why="`VACUUM FULL` and `CLUSTER` rewrite the table under an ACCESS EXCLUSIVE lock for the "
    "whole operation; `LOCK TABLE` takes (by default) ACCESS EXCLUSIVE and holds it until "
    "refinery commits the migration. `VACUUM` of any kind cannot even run inside refinery's "
    "transaction (25001).",
    example="VACUUM FULL users;\nCLUSTER users USING users_pkey;",
    instead="-- maintenance belongs to an operations step outside refinery, e.g. pg_repack",
    fires=("VACUUM FULL users;", "CLUSTER users USING users_pkey;",
           "LOCK TABLE users IN ACCESS EXCLUSIVE MODE;"),
    passes=("ANALYZE users;", "CREATE TABLE t (a int); LOCK TABLE t;",
            "SELECT 'VACUUM FULL';"),
)
REQUIRE_LOCK_TIMEOUT = RuleDoc(
    "require-lock-timeout", W,
    "A statement taking ACCESS EXCLUSIVE or SHARE (ROW EXCLUSIVE) on an existing table with no "
    "`SET lock_timeout` earlier in the migration.",
    needs="context", dialects=PG,
    why="A strong lock request waits behind every running query on the table (a long report, "
    "an idle transaction), and while it waits every new query queues behind it: a short "
    "`ALTER TABLE` becomes an outage. `lock_timeout` makes the migration fail fast instead; "
    "refinery then reports the failure and the deploy can be retried. Reported once per "
    "migration, at the first such statement.",
    example="ALTER TABLE users ADD COLUMN IF NOT EXISTS phone text;",
    instead="SET LOCAL lock_timeout = '5s';  -- scoped to refinery's transaction\n"
    "ALTER TABLE users ADD COLUMN IF NOT EXISTS phone text;",
    fires=(
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS phone text;",
        "CREATE INDEX IF NOT EXISTS i ON users (email);",
        "TRUNCATE users;",
    ),
    passes=(
        "SET LOCAL lock_timeout = '5s'; ALTER TABLE users ADD COLUMN IF NOT EXISTS phone text;",
        "CREATE TABLE IF NOT EXISTS t (a int); ALTER TABLE t ADD COLUMN IF NOT EXISTS b int;",
        "SELECT set_config('lock_timeout', '2s', true); DROP INDEX IF EXISTS i;",
    ),
)
UNBOUNDED_DATA_CHANGE = RuleDoc(
    "unbounded-data-change", W,
    "`UPDATE`/`DELETE` without `WHERE` on an existing table, in a migration that also has DDL.",
    needs="context", dialects=PG,
    why="An unbounded UPDATE or DELETE locks every row of the table and, in the same "
    "transaction as DDL, keeps the DDL's ACCESS EXCLUSIVE lock for the whole backfill: the table "
    "is unavailable until refinery commits. It also bloats the table by one dead row version per "
    "row.",
    example="ALTER TABLE users ADD COLUMN IF NOT EXISTS status text;\n"
    "UPDATE users SET status = CASE WHEN active THEN 'active' ELSE 'inactive' END;",
    instead="ALTER TABLE users ADD COLUMN IF NOT EXISTS status text;\n"
    "-- backfill in batches outside the migration (a job), e.g.\n"
    "-- UPDATE users SET status = ... WHERE id BETWEEN $1 AND $2;",
    fires=(
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS s text; UPDATE users SET s = 'x';",
        "DROP TABLE IF EXISTS old; DELETE FROM sessions;",
        "CREATE INDEX IF NOT EXISTS i ON t (a); UPDATE ONLY t SET a = (SELECT 1 WHERE true);",
    ),
    passes=(
        "UPDATE users SET s = 'x';",
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS s text; UPDATE users SET s = 'x' WHERE id < 9;",
        "CREATE TABLE t (a int); UPDATE t SET a = 1;",
    ),
)
SESSION_SETTING_LEAK = RuleDoc(
    "session-setting-leak", W,
    "`SET x = ...` (not `SET LOCAL`) without a matching `RESET` in the migration.",
    needs="context", dialects=PG,
    why="refinery runs all pending migrations on one connection. A session-level `SET` outlives "
    "the migration's transaction and changes how every later migration runs (a `work_mem`, a "
    "`search_path`, a `statement_timeout`...), and it behaves differently depending on how many "
    "migrations a database has pending.",
    example="SET work_mem = '256MB';\nCREATE INDEX IF NOT EXISTS big_idx ON events (created_at);",
    instead="SET LOCAL work_mem = '256MB';  -- ends with refinery's transaction",
    fires=(
        "SET work_mem = '256MB';",
        "SET search_path TO app, public;",
        "SET SESSION statement_timeout = 0; RESET work_mem;",
    ),
    passes=(
        "SET LOCAL work_mem = '256MB';",
        "SET work_mem = '256MB'; CREATE TABLE t (a int); RESET work_mem;",
        "SET statement_timeout = 0; RESET ALL;",
    ),
)
RENAMING_COLUMN = RuleDoc(
    "renaming-column", W,
    "`ALTER TABLE ... RENAME COLUMN` on an existing table.",
    needs="context", dialects=PORTABLE,
    why="The running application still uses the old name: between the migration and the "
    "deploy of the new code (and for any instance not yet restarted) every query naming the "
    "column fails.",
    example="ALTER TABLE users RENAME COLUMN name TO full_name;",
    instead="-- expand/contract: add the new column, dual-write, backfill, switch reads,\n"
    "-- and drop the old column in a later release",
    fires=("ALTER TABLE users RENAME COLUMN name TO full_name;",
           "ALTER TABLE users RENAME name TO full_name;",
           "alter table if exists only users rename column a to b;"),
    passes=("ALTER TABLE users RENAME CONSTRAINT a TO b;",
            "CREATE TABLE t (a int); ALTER TABLE t RENAME COLUMN a TO b;",
            "ALTER TABLE users ADD COLUMN IF NOT EXISTS full_name text;"),
)
RENAMING_TABLE = RuleDoc(
    "renaming-table", W,
    "`ALTER TABLE ... RENAME TO` on an existing table.",
    needs="context", dialects=PORTABLE,
    why="Every query of the running application that names the table fails from the moment "
    "the migration commits until the new code is deployed everywhere.",
    example="ALTER TABLE users RENAME TO accounts;",
    instead="ALTER TABLE users RENAME TO accounts;\nCREATE VIEW users AS SELECT * FROM accounts;"
    "  -- keeps the old name working\n-- drop the view in a later release",
    fires=("ALTER TABLE users RENAME TO accounts;", "ALTER TABLE IF EXISTS users RENAME TO a;",
           "alter table public.users rename to accounts;"),
    passes=("CREATE TABLE t (a int); ALTER TABLE t RENAME TO u;",
            "ALTER TABLE users RENAME COLUMN a TO b;", "ALTER INDEX i RENAME TO j;"),
)
BAN_DROP_COLUMN = RuleDoc(
    "ban-drop-column", W,
    "`ALTER TABLE ... DROP COLUMN` on an existing table.",
    needs="context", dialects=PORTABLE,
    why="The data is gone, and the running application may still select or insert the "
    "column: its queries fail until the new code is deployed everywhere.",
    example="ALTER TABLE users DROP COLUMN legacy_flag;",
    instead="-- stop using the column in a release first, then drop it in a later migration:\n"
    "-- migration-gate: ignore ban-drop-column\n"
    "ALTER TABLE users DROP COLUMN IF EXISTS legacy_flag;",
    fires=("ALTER TABLE users DROP COLUMN legacy_flag;",
           "ALTER TABLE users DROP COLUMN IF EXISTS legacy_flag;",
           "ALTER TABLE users DROP legacy_flag CASCADE;"),
    passes=("ALTER TABLE users DROP CONSTRAINT IF EXISTS c;",
            "ALTER TABLE users ALTER COLUMN a DROP DEFAULT;",
            "CREATE TABLE t (a int, b int); ALTER TABLE t DROP COLUMN b;"),
)
BAN_DROP_TABLE = RuleDoc(
    "ban-drop-table", W,
    "`DROP TABLE` of an existing table.",
    needs="context", dialects=PORTABLE,
    why="Data loss, and every running query on the table fails. Dropping also takes an ACCESS "
    "EXCLUSIVE lock on the table and on the tables referencing it.",
    example="DROP TABLE sessions;",
    instead="-- stop using the table in a release first; keep a backup; then:\n"
    "-- migration-gate: ignore ban-drop-table\nDROP TABLE IF EXISTS sessions;",
    fires=("DROP TABLE sessions;", "DROP TABLE IF EXISTS a, b CASCADE;",
           "drop table public.sessions;"),
    passes=("CREATE TABLE tmp (a int); DROP TABLE tmp;", "DROP VIEW IF EXISTS v;",
            "DROP INDEX IF EXISTS i;"),
)
BAN_DROP_DATABASE = RuleDoc(
    "ban-drop-database", W,
    "`DROP DATABASE` in a migration.",
    needs="stmt", dialects=PORTABLE,
    why="A migration is applied to every environment, production included; dropping a "
    "database there loses everything (and on PostgreSQL it cannot even run inside refinery's "
    "transaction).",
    example="DROP DATABASE analytics;",
    instead="-- database life cycle belongs to provisioning, not to migrations",
    fires=("DROP DATABASE analytics;", "DROP DATABASE IF EXISTS analytics;",
           "drop database old with (force);"),
    passes=("DROP TABLE IF EXISTS t;", "DROP SCHEMA IF EXISTS s;", "SELECT 'DROP DATABASE x';"),
)
BAN_DROP_NOT_NULL = RuleDoc(
    "ban-drop-not-null", W,
    "`ALTER COLUMN ... DROP NOT NULL` on an existing table.",
    needs="context", dialects=PORTABLE,
    why="Running code (and other services) may rely on the column never being NULL; once NULLs "
    "are written, rolling the code back breaks.",
    example="ALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
    instead="-- make sure every reader handles NULL first, then drop the constraint",
    fires=("ALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
           "ALTER TABLE users ALTER email DROP NOT NULL;",
           "ALTER TABLE ONLY users ALTER COLUMN a SET DEFAULT 1,\n"
           "    ALTER COLUMN email DROP NOT NULL;"),
    passes=("ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
            "CREATE TABLE t (a int NOT NULL); ALTER TABLE t ALTER COLUMN a DROP NOT NULL;",
            "ALTER TABLE users ALTER COLUMN email DROP DEFAULT;"),
)
BAN_TRUNCATE_CASCADE = RuleDoc(
    "ban-truncate-cascade", E,
    "`TRUNCATE ... CASCADE`.",
    needs="stmt", dialects=PG,
    why="CASCADE also empties every table that references the truncated one through a foreign "
    "key, and the tables referencing those: far more data than the statement names.",
    example="TRUNCATE users CASCADE;",
    instead="TRUNCATE orders, users;  -- name every table to empty",
    fires=("TRUNCATE users CASCADE;", "TRUNCATE TABLE ONLY a, b CASCADE;",
           "truncate t restart identity cascade;"),
    passes=("TRUNCATE users;", "TRUNCATE a, b RESTRICT;", "DROP TABLE IF EXISTS a CASCADE;"),
)
PREFER_ROBUST_STMTS = RuleDoc(
    "prefer-robust-stmts", W,
    "Non-defensive DDL: `CREATE TABLE/INDEX/SCHEMA/SEQUENCE` or `ADD COLUMN` without `IF NOT "
    "EXISTS`; `DROP ...` or `DROP COLUMN` without `IF EXISTS`.",
    needs="stmt", dialects=PG,
    why="With refinery's sync drivers the migration's SQL commits in one transaction and its "
    "history row is inserted in a second one (REFINERY.md §6): a crash in between leaves the "
    "migration applied but unrecorded, so it runs again on the next start and fails on "
    "\"already exists\" / \"does not exist\", blocking every later migration until someone "
    "repairs the database by hand.",
    example="ALTER TABLE users ADD COLUMN phone VARCHAR(20);",
    instead="ALTER TABLE users ADD COLUMN IF NOT EXISTS phone VARCHAR(20);",
    fires=("ALTER TABLE users ADD COLUMN phone VARCHAR(20);", "CREATE TABLE t (a int);",
           "DROP INDEX CONCURRENTLY i;", "ALTER TABLE users DROP COLUMN legacy;"),
    passes=("ALTER TABLE users ADD COLUMN IF NOT EXISTS phone VARCHAR(20);",
            "CREATE TABLE IF NOT EXISTS t (a int);", "DROP SCHEMA IF EXISTS s CASCADE;"),
)
PREFER_TEXT_FIELD = RuleDoc(
    "prefer-text-field", OFF,
    "A `varchar(n)` column (opt-in).",
    needs="stmt", dialects=PG,
    why="In PostgreSQL `varchar(n)` is `text` with a length check; widening it later is a "
    "migration (and before PG 9.2 a rewrite). A `CHECK (length(c) <= n)` constraint can be "
    "changed with `NOT VALID` and no lock.",
    example="CREATE TABLE IF NOT EXISTS users (name varchar(100));",
    instead="CREATE TABLE IF NOT EXISTS users (name text CHECK (length(name) <= 100));",
    fires=("CREATE TABLE IF NOT EXISTS u (name varchar(100));",
           "ALTER TABLE u ADD COLUMN IF NOT EXISTS n character varying(20);",
           "ALTER TABLE u ALTER COLUMN n TYPE varchar(50);"),
    passes=("CREATE TABLE IF NOT EXISTS u (name text);",
            "CREATE TABLE IF NOT EXISTS u (name varchar);", "SELECT 'a'::varchar(3);"),
)
PREFER_BIGINT_OVER_INT = RuleDoc(
    "prefer-bigint-over-int", OFF,
    "An `integer`/`smallint` (or `serial`) column (opt-in).",
    needs="stmt", dialects=PG,
    why="32-bit ids run out (2,147,483,647) and widening a column later rewrites the table "
    "under an ACCESS EXCLUSIVE lock.",
    example="CREATE TABLE IF NOT EXISTS events (id integer);",
    instead="CREATE TABLE IF NOT EXISTS events (id bigint);",
    fires=("CREATE TABLE IF NOT EXISTS e (id integer);", "CREATE TABLE IF NOT EXISTS e (n int4);",
           "ALTER TABLE e ADD COLUMN IF NOT EXISTS n smallint;"),
    passes=("CREATE TABLE IF NOT EXISTS e (id bigint);",
            "CREATE TABLE IF NOT EXISTS e (id bigserial);", "SELECT 1::int;"),
)
PREFER_IDENTITY = RuleDoc(
    "prefer-identity", OFF,
    "A `serial`/`bigserial` column (opt-in).",
    needs="stmt", dialects=PG,
    why="`serial` creates a separately owned sequence with loose permissions and odd "
    "dump/restore behaviour; identity columns are the SQL-standard replacement.",
    example="CREATE TABLE IF NOT EXISTS events (id bigserial PRIMARY KEY);",
    instead="CREATE TABLE IF NOT EXISTS events (id bigint GENERATED ALWAYS AS IDENTITY "
    "PRIMARY KEY);",
    fires=("CREATE TABLE IF NOT EXISTS e (id serial);",
           "CREATE TABLE IF NOT EXISTS e (id bigserial PRIMARY KEY);",
           "CREATE TABLE IF NOT EXISTS e (id smallserial);"),
    passes=("CREATE TABLE IF NOT EXISTS e (id bigint GENERATED ALWAYS AS IDENTITY);",
            "CREATE TABLE IF NOT EXISTS e (id bigint);", "CREATE SEQUENCE IF NOT EXISTS s;"),
)
PREFER_TIMESTAMPTZ = RuleDoc(
    "prefer-timestamptz", OFF,
    "A `timestamp` (without time zone) column (opt-in).",
    needs="stmt", dialects=PG,
    why="`timestamp` stores wall-clock time with no zone: values change meaning with the "
    "server's or client's time zone and daylight saving. `timestamptz` stores an instant.",
    example="CREATE TABLE IF NOT EXISTS events (at timestamp);",
    instead="CREATE TABLE IF NOT EXISTS events (at timestamptz);",
    fires=("CREATE TABLE IF NOT EXISTS e (at timestamp);",
           "CREATE TABLE IF NOT EXISTS e (at timestamp without time zone);",
           "ALTER TABLE e ADD COLUMN IF NOT EXISTS at timestamp(3);"),
    passes=("CREATE TABLE IF NOT EXISTS e (at timestamptz);",
            "CREATE TABLE IF NOT EXISTS e (at timestamp with time zone);",
            "CREATE TABLE IF NOT EXISTS e (d date);"),
)
BAN_CHAR_FIELD = RuleDoc(
    "ban-char-field", OFF,
    "A `char(n)` / `character(n)` column (opt-in).",
    needs="stmt", dialects=PG,
    why="`char(n)` pads values with spaces, compares surprisingly and is never faster than "
    "`text` in PostgreSQL.",
    example="CREATE TABLE IF NOT EXISTS c (code char(2));",
    instead="CREATE TABLE IF NOT EXISTS c (code text CHECK (length(code) = 2));",
    fires=("CREATE TABLE IF NOT EXISTS c (code char(2));",
           "CREATE TABLE IF NOT EXISTS c (code character(3));",
           "ALTER TABLE c ADD COLUMN IF NOT EXISTS f char;"),
    passes=("CREATE TABLE IF NOT EXISTS c (code text);",
            "CREATE TABLE IF NOT EXISTS c (code character varying(3));",
            "CREATE TABLE IF NOT EXISTS c (code varchar(2));"),
)
MYSQL_NON_TRANSACTIONAL_DDL = RuleDoc(
    "mysql-non-transactional-ddl", W,
    "A MySQL migration with several DDL statements.",
    needs="context", dialects=("mysql",),
    why="MySQL commits each DDL statement implicitly: refinery's transaction cannot undo the "
    "first statements when a later one fails, so the schema is left half-migrated and the "
    "history table does not record the migration; running it again then fails on what was "
    "already done.",
    example="CREATE TABLE a (id int);\nALTER TABLE b ADD COLUMN c int;",
    instead="-- one DDL statement per migration file:\n-- V010__create_a.sql, V011__alter_b.sql",
    fires=("CREATE TABLE a (id int); ALTER TABLE b ADD COLUMN c int;",
           "DROP TABLE IF EXISTS x; CREATE TABLE x (id int);",
           "ALTER TABLE a ADD COLUMN b int; ALTER TABLE a ADD COLUMN c int;"),
    passes=("CREATE TABLE a (id int);", "ALTER TABLE a ADD COLUMN b int; INSERT INTO a VALUES (1);",
            "INSERT INTO a VALUES (1); UPDATE a SET b = 2 WHERE id = 1;"),
)
MYSQL_LOCK_NONE_UNSUPPORTED = RuleDoc(
    "mysql-lock-none-unsupported", W,
    "A MySQL `ALTER TABLE` that copies the table without `ALGORITHM=INPLACE/INSTANT, LOCK=NONE`.",
    needs="context", dialects=("mysql",),
    why="Changing a column's type (`MODIFY`/`CHANGE`) or the primary key makes MySQL copy the "
    "whole table, blocking writes for the duration. Asking for `ALGORITHM=INPLACE, LOCK=NONE` "
    "makes MySQL refuse such a copy up front instead of silently locking.",
    example="ALTER TABLE users MODIFY COLUMN name varchar(500);",
    instead="ALTER TABLE users MODIFY COLUMN name varchar(500), ALGORITHM=INPLACE, LOCK=NONE;\n"
    "-- or an online schema change tool (gh-ost, pt-online-schema-change) outside refinery",
    fires=("ALTER TABLE users MODIFY COLUMN name varchar(500);",
           "ALTER TABLE users CHANGE name full_name text;",
           "ALTER TABLE users DROP PRIMARY KEY, ADD PRIMARY KEY (id, tenant);"),
    passes=("ALTER TABLE users MODIFY COLUMN name varchar(500), ALGORITHM=INPLACE, LOCK=NONE;",
            "ALTER TABLE users ADD COLUMN age int;",
            "CREATE TABLE t (a int); ALTER TABLE t MODIFY a bigint;"),
)
SQLITE_UNSUPPORTED_ALTER = RuleDoc(
    "sqlite-unsupported-alter", E,
    "An `ALTER TABLE` form SQLite cannot do: `ALTER COLUMN`, `ADD CONSTRAINT`, or `DROP COLUMN` "
    "(before SQLite 3.35).",
    needs="stmt", dialects=("sqlite",),
    why="SQLite's ALTER TABLE only renames tables and columns, adds columns and (since 3.35) "
    "drops columns: anything else is a syntax error and the migration fails on every database.",
    example="ALTER TABLE users ALTER COLUMN name SET NOT NULL;",
    instead="-- the 12-step rebuild: CREATE TABLE users_new (...); INSERT INTO users_new "
    "SELECT ... FROM users;\n-- DROP TABLE users; ALTER TABLE users_new RENAME TO users;",
    fires=("ALTER TABLE users ALTER COLUMN name SET NOT NULL;",
           "ALTER TABLE users ADD CONSTRAINT c CHECK (a > 0);",
           "ALTER TABLE users DROP COLUMN legacy;"),
    passes=("ALTER TABLE users ADD COLUMN age integer;",
            "ALTER TABLE users RENAME COLUMN a TO b;", "ALTER TABLE users RENAME TO people;"),
)
SYNTAX_ERROR = RuleDoc(
    "syntax-error", W,
    "sqlglot cannot parse a statement (it is reported, never skipped).",
    needs="stmt",
    why="A statement the parser does not understand cannot be checked by the statement rules, "
    "and it may simply be wrong. Statements that sqlglot only passes through (`DO`, `REINDEX`, "
    "`VACUUM`, `LOCK`, `CLUSTER`...) are still checked from their tokens and are not reported. "
    "The ephemeral database run (`check --verify`) says whether PostgreSQL accepts it.",
    example="SELECT * FROM WHERE id = 1;",
    instead="fix the statement, or `-- migration-gate: ignore syntax-error` before a statement "
    "that PostgreSQL accepts",
    fires=("SELECT * FROM WHERE id = 1;", "CREATE TABLE (;", "UPDATE SET x = 1;"),
    passes=("SELECT 1;", "VACUUM FULL users;", "CLUSTER users USING users_pkey;"),
)

RULES: tuple[RuleDoc, ...] = (
    REQUIRE_CONCURRENT_INDEX_CREATION, REQUIRE_CONCURRENT_INDEX_DELETION,
    BAN_CONCURRENT_IN_TRANSACTION, TRANSACTION_NESTING, CONSTRAINT_MISSING_NOT_VALID,
    ADDING_FOREIGN_KEY_CONSTRAINT, DISALLOWED_UNIQUE_CONSTRAINT, ADDING_SERIAL_PRIMARY_KEY_FIELD,
    ADDING_FIELD_WITH_DEFAULT, ADDING_REQUIRED_FIELD, ADDING_NOT_NULLABLE_FIELD,
    CHANGING_COLUMN_TYPE, REQUIRE_CONCURRENT_REINDEX, BAN_VACUUM_FULL_OR_CLUSTER,
    REQUIRE_LOCK_TIMEOUT, UNBOUNDED_DATA_CHANGE, SESSION_SETTING_LEAK,
    RENAMING_COLUMN, RENAMING_TABLE, BAN_DROP_COLUMN, BAN_DROP_TABLE, BAN_DROP_DATABASE,
    BAN_DROP_NOT_NULL, BAN_TRUNCATE_CASCADE, PREFER_ROBUST_STMTS,
    PREFER_TEXT_FIELD, PREFER_BIGINT_OVER_INT, PREFER_IDENTITY, PREFER_TIMESTAMPTZ, BAN_CHAR_FIELD,
    MYSQL_NON_TRANSACTIONAL_DDL, MYSQL_LOCK_NONE_UNSUPPORTED, SQLITE_UNSUPPORTED_ALTER,
    SYNTAX_ERROR,
)
BY_ID: dict[str, RuleDoc] = {doc.id: doc for doc in RULES}

#: The one-line safe alternative each finding carries (works under refinery's transaction).
HINTS: dict[str, str] = {
    "require-concurrent-index-creation": "build it with CREATE INDEX CONCURRENTLY in an operations "
    "step outside refinery, keep CREATE INDEX IF NOT EXISTS here (a no-op then), or accept the "
    "lock after SET LOCAL lock_timeout",
    "require-concurrent-index-deletion": "drop it with DROP INDEX CONCURRENTLY outside refinery "
    "and keep DROP INDEX IF EXISTS here, or accept the lock after SET LOCAL lock_timeout",
    "ban-concurrent-index-creation-in-transaction": "refinery cannot run CONCURRENTLY: run it as "
    "an operations step outside refinery and keep the IF [NOT] EXISTS form without CONCURRENTLY "
    "in the migration",
    "transaction-nesting": "remove it: refinery already wraps the migration in a transaction",
    "constraint-missing-not-valid": "add the constraint NOT VALID now and VALIDATE CONSTRAINT in "
    "a later migration",
    "adding-foreign-key-constraint": "add the foreign key NOT VALID now and VALIDATE CONSTRAINT in "
    "a later migration",
    "disallowed-unique-constraint": "CREATE UNIQUE INDEX CONCURRENTLY outside refinery, then ADD "
    "CONSTRAINT ... UNIQUE USING INDEX in the migration",
    "adding-serial-primary-key-field": "CREATE UNIQUE INDEX CONCURRENTLY outside refinery, then "
    "ADD CONSTRAINT ... PRIMARY KEY USING INDEX; for ids prefer a new identity table or a backfill",
    "adding-field-with-default": "add the column without a default, SET DEFAULT separately, and "
    "backfill existing rows in batches outside the migration",
    "adding-required-field": "add the column nullable (or with a constant DEFAULT), backfill, then "
    "enforce NOT NULL in a later migration",
    "adding-not-nullable-field": "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, VALIDATE "
    "it in a later migration, then SET NOT NULL (no scan on PG 12+)",
    "changing-column-type": "add a new column, dual-write and backfill, then swap in a later "
    "migration",
    "require-concurrent-reindex": "run REINDEX ... CONCURRENTLY as an operations step outside "
    "refinery",
    "ban-vacuum-full-or-cluster": "run maintenance (VACUUM, CLUSTER, pg_repack) outside refinery; "
    "do not lock tables explicitly in a migration",
    "require-lock-timeout": "start the migration with SET LOCAL lock_timeout = '5s'",
    "unbounded-data-change": "backfill in batches (UPDATE ... WHERE id BETWEEN ...) outside the "
    "migration",
    "session-setting-leak": "use SET LOCAL, which ends with refinery's transaction",
    "renaming-column": "expand/contract: add the new column, dual-write, switch reads, drop the "
    "old one in a later release",
    "renaming-table": "rename, then CREATE VIEW with the old name until every client has moved",
    "ban-drop-column": "stop using the column in a release first, then drop it (and ignore this "
    "rule on that statement)",
    "ban-drop-table": "stop using the table in a release first, back it up, then drop it (and "
    "ignore this rule on that statement)",
    "ban-drop-database": "leave database life cycle to provisioning, not migrations",
    "ban-drop-not-null": "make every reader handle NULL before dropping the constraint",
    "ban-truncate-cascade": "name every table to empty instead of CASCADE",
    "prefer-robust-stmts": "use IF NOT EXISTS / IF EXISTS so that a re-run after a crash between "
    "refinery's two commits succeeds",
    "prefer-text-field": "use text with a CHECK (length(col) <= n) constraint",
    "prefer-bigint-over-int": "use bigint (or bigserial / bigint identity)",
    "prefer-identity": "use bigint GENERATED ALWAYS AS IDENTITY",
    "prefer-timestamptz": "use timestamptz",
    "ban-char-field": "use text (with a CHECK on the length if needed)",
    "mysql-non-transactional-ddl": "put each DDL statement in its own migration file",
    "mysql-lock-none-unsupported": "add ALGORITHM=INPLACE, LOCK=NONE (MySQL then refuses a "
    "copy), or use an online schema change tool outside refinery",
    "sqlite-unsupported-alter": "rebuild the table: create the new table, copy, drop, rename",
    "syntax-error": "fix the statement; if your database accepts it, add "
    "`-- migration-gate: ignore syntax-error` before it",
}
