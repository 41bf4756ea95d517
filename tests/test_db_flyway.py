"""The Flyway replay on a real PostgreSQL: the issue's Flyway project (main with `V1`, `V1.1`,
`V2` and `R__views`; a branch adding `V3` and editing the repeatable) applied the way
`flyway migrate` applies it, with `flyway_schema_history` rows as Flyway writes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migration_gate.dbcheck import DbOptions
from migration_gate.diagnostics import Diagnostic
from migration_gate.ephemeral.postgres import Cluster, PostgresDatabase
from migration_gate.flyway_replay import replay_on, steps
from migration_gate.pipeline import CheckContext
from migration_gate.workspace import build_context
from tests.conftest import Repo, make_repo, run_gate
from tests.pgserver_fixture import pg_url
from tests.test_flyway_e2e import MAIN, flyway_crc32

EMAIL = "ALTER TABLE person ADD COLUMN IF NOT EXISTS email text;\n"
VIEWS = "CREATE OR REPLACE VIEW adults AS SELECT id, name FROM person;\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    repo = make_repo(tmp_path / "flyway")
    for name, sql in MAIN.items():
        repo.write(f"migrations/{name}", sql)
    repo.commit("main")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V3__add-email.sql", EMAIL)
    repo.write("migrations/R__views.sql", VIEWS)
    repo.commit("email")
    monkeypatch.chdir(repo.path)
    return repo


def context_of() -> CheckContext:
    return build_context(dir_flag=None, base_flag="main", config_file=None, overrides={},
                         verify=True, note=lambda _message: None)


def failed(found: list[Diagnostic]) -> list[Diagnostic]:
    """The replay's failures (the branch's locks on the base's tables are observed too)."""
    return [d for d in found if d.rule == "migration-failed"]


def history(db: PostgresDatabase) -> list[tuple[object, ...]]:
    return db.query("SELECT installed_rank, version, description, type, script, checksum, "
                    "success FROM flyway_schema_history ORDER BY installed_rank")


def test_the_replay_writes_flyways_rows(project: Repo, pg_db: PostgresDatabase) -> None:
    context = context_of()
    assert context.runner.name == "flyway"
    found = replay_on(pg_db, context, DbOptions(), steps(context, context.base.files
                                                        if context.base else ()),
                      steps(context, context.local))
    # the branch's ALTER TABLE locks `person` and the re-run repeatable the view `adults`,
    # both made by the base: observed, as under refinery (`check` merges each into
    # require-lock-timeout's finding)
    assert sorted((d.rule, d.path) for d in found) == [
        ("lock-observed", "migrations/R__views.sql"),
        ("lock-observed", "migrations/V3__add-email.sql")]
    assert history(pg_db) == [
        (1, "1", "init", "SQL", "V1__init.sql", flyway_crc32(MAIN["V1__init.sql"]), True),
        (2, "1.1", "add-name", "SQL", "V1.1__add-name.sql",
         flyway_crc32(MAIN["V1.1__add-name.sql"]), True),
        (3, "2", "add age", "SQL", "V2__add_age.sql", flyway_crc32(MAIN["V2__add_age.sql"]),
         True),
        (4, None, "views", "SQL", "R__views.sql", flyway_crc32(MAIN["R__views.sql"]), True),
        (5, "3", "add-email", "SQL", "V3__add-email.sql", flyway_crc32(EMAIL), True),
        (6, None, "views", "SQL", "R__views.sql", flyway_crc32(VIEWS), True),  # re-run
    ]
    columns = {r[0] for r in pg_db.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'person'")}
    assert columns == {"id", "name", "age", "email"}


def test_fake_mode_records_without_running(project: Repo, pg_db: PostgresDatabase) -> None:
    context = context_of()
    base = steps(context, context.base.files if context.base else ())
    local = steps(context, context.local)
    assert replay_on(pg_db, context, DbOptions(fake=True), base, local) == []
    assert [r[1] for r in history(pg_db)] == ["1", "1.1", "2", None, "3", None]
    columns = {r[0] for r in pg_db.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'person'")}
    assert "email" not in columns  # the branch's SQL did not run


def test_a_failing_branch_migration_is_located(project: Repo, pg_db: PostgresDatabase) -> None:
    project.write("migrations/V4__bad.sql", "SELECT 1;\nALTER TABLE nope ADD COLUMN x int;\n")
    project.write("migrations/V5__placeholder.sql",
                  "CREATE TABLE IF NOT EXISTS ${flyway:table}_copy (id int);\n")
    project.commit("bad")
    context = context_of()
    base = steps(context, context.base.files if context.base else ())
    (failure,) = failed(replay_on(pg_db, context, DbOptions(), base,
                                  steps(context, context.local)))
    assert failure.rule == "migration-failed"
    assert failure.path == "migrations/V4__bad.sql" and failure.line == 2
    assert "nope" in failure.message
    recorded = [r[1] for r in history(pg_db)]
    assert "4" not in recorded  # V4 not recorded...
    assert "5" in recorded  # ...and the replay went on with V5, as once V4 is fixed


def test_a_later_failure_says_it_may_follow_from_the_first(
        project: Repo, pg_db: PostgresDatabase) -> None:
    project.write("migrations/V4__make.sql", "CREATE TABLE made (id int);\nSELEC 1;\n")
    project.write("migrations/V5__use.sql", "INSERT INTO made VALUES (1);\n")
    project.commit("two broken")
    context = context_of()
    base = steps(context, context.base.files if context.base else ())
    first, later = failed(replay_on(pg_db, context, DbOptions(), base,
                                    steps(context, context.local)))
    assert (first.path, first.line) == ("migrations/V4__make.sql", 2)
    assert "consequence" not in first.message
    assert later.path == "migrations/V5__use.sql"
    assert later.message.endswith("may be a consequence of V4__make's failure (it names made, "
                                  "which V4__make would have created)"), later.message


def test_placeholders_are_replaced_before_the_sql_is_sent(
        project: Repo, pg_db: PostgresDatabase) -> None:
    project.write("migrations/V4__copy.sql",
                  "CREATE TABLE IF NOT EXISTS ${flyway:table}_copy (id int);\n")
    project.commit("copy")
    context = context_of()
    base = steps(context, context.base.files if context.base else ())
    assert failed(replay_on(pg_db, context, DbOptions(), base,
                            steps(context, context.local))) == []
    tables = {r[0] for r in pg_db.query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert "flyway_schema_history_copy" in tables


@pytest.mark.slow
def test_status_reads_flyway_schema_history(
        project: Repo, pg_cluster: Cluster, pg_db: PostgresDatabase, pg_dbname: str) -> None:
    project.git("checkout", "-q", "main")
    context = context_of()
    assert replay_on(pg_db, context, DbOptions(), [], steps(context, context.local)) == []
    project.git("checkout", "-q", "feature")  # adds V3, edits R__views: pending, not errors
    url = pg_url(pg_cluster, pg_dbname)
    done = run_gate("status", "--database-url", url, "--format", "json", cwd=project.path)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["table"] == "flyway_schema_history" and summary["current_version"] == "2"
    assert [row["version"] for row in summary["applied"]] == ["1", "1.1", "2", None]
    assert [row["display"] for row in summary["pending"]] == ["V3__add-email", "R__views"]
    assert summary["divergent"] == [] and summary["missing"] == []
    project.write("migrations/V1.1__add-name.sql", "SELECT 'changed';\n")
    changed = run_gate("status", "--database-url", url, cwd=project.path)
    assert changed.returncode == 1
    assert "runner: flyway" in changed.stdout
    assert "Migration checksum mismatch for migration version 1.1" in changed.stdout


@pytest.mark.slow  # a database replay
def test_the_flyway_replay_observes_locks_and_rewrites(tmp_path: Path) -> None:
    """Issue 10: the replay per the runner -- a Flyway branch's type change is observed like
    refinery's: one `changing-column-type` finding carrying the evidence (ACCESS EXCLUSIVE on
    person, the table rewritten), not a lock nobody predicted."""
    repo = make_repo(tmp_path / "flyway")
    repo.write("flyway.conf", "flyway.locations=filesystem:db/migration\n")
    repo.write("db/migration/V1__init.sql", "CREATE TABLE person (id int, age int);\n")
    repo.commit("main")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("db/migration/V2__age-bigint.sql",
               "SET lock_timeout = '5s';\nALTER TABLE person ALTER COLUMN age TYPE bigint;\n")
    repo.commit("bigint")
    done = run_gate("check", "--verify", "--format", "json", cwd=repo.path,
                    env={"DATABASE_URL": ""})
    document = json.loads(done.stdout)
    rules = {d["rule"]: d for d in document["diagnostics"]}
    assert "lock-observed" not in rules and "rewrite-observed" not in rules, rules
    changing = rules["changing-column-type"]
    assert "observed" in changing["message"] and "person" in changing["message"], changing
