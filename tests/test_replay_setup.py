"""`replay.setup`, the server that has the extension, and `replay-skipped` (issue 12.2).

A real project's base expects what production has and no migration creates: a role it grants
to, an extension of another server. Real git repositories, the real command line, the
embedded PostgreSQL the gate starts (Debian's 15 here, and the `pgserver` wheel's 16 with
pgvector), and the session's cluster for server mode."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from migration_gate.ephemeral.extensions import (
    created_extensions,
    has_extension,
    missing_extension,
    server_with,
)
from migration_gate.ephemeral.postgres import Binaries, Cluster
from tests.conftest import Repo, make_repo, one_line_error, seed_migrations
from tests.pgserver_fixture import _in_ci, gate_env, pg_url

ROLE_SETUP = (
    "-- production has this role; no migration creates it\n"
    "DO $$ BEGIN\n"
    "  CREATE ROLE reporting NOLOGIN;\n"
    "EXCEPTION WHEN duplicate_object THEN NULL;\n"
    "END $$;\n"
)


def findings(done: subprocess.CompletedProcess[str], rule: str) -> list[dict[str, Any]]:
    assert done.stdout.strip().startswith("{"), done.stdout + done.stderr
    return [d for d in json.loads(done.stdout)["diagnostics"] if d["rule"] == rule]


def project(path: Path, base: dict[str, str], branch: dict[str, str],
            config: str = "replay:\n  setup: [db/setup.sql]\n") -> Repo:
    """main with `base` (and the configuration), then a `feature` branch committing `branch`."""
    repo = make_repo(path)
    repo.write(".migration-gate.yaml", config)
    for rel, content in base.items():
        repo.write(rel, content)
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    for rel, content in branch.items():
        repo.write(rel, content)
    repo.commit("feature")
    return repo


def _pgserver_installed() -> bool:
    return importlib.util.find_spec("pgserver") is not None


@pytest.fixture
def reachable_pgserver() -> None:
    """As root, the gate runs PostgreSQL as an unprivileged user and passes over binaries that
    user cannot reach (`pgbinaries.closed_to_server`): the wheel in a virtual environment under
    a 0700 folder (a `mktemp -d` clone, `/root`) is then not a server with vector, by design.
    These tests need it reachable: skipped locally with the reason, failed under CI (`.ci/run`
    opens the checkout's folders to that user)."""
    from migration_gate.ephemeral.pgbinaries import _pgserver_bindir, closed_to_server

    wheel = _pgserver_bindir()
    closed = closed_to_server(wheel) if wheel is not None else None
    if closed is not None:
        (pytest.fail if _in_ci() else pytest.skip)(closed)


# --- done when: vector + a production role ----------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not _pgserver_installed(), reason="the postgres extra (pgserver) is needed")
def test_a_base_needing_vector_and_a_role_replays_with_the_setup(
    reachable_pgserver: None, tmp_path: Path, gate_cache: Path, pg_binaries: Binaries,
) -> None:
    """The issue's project: `CREATE EXTENSION vector` (absent from Debian's PostgreSQL 15) and
    `GRANT SELECT ON items TO reporting` (a role production has). The setup creates the role,
    the replay finds vector in the pgserver wheel's binaries, and judges the branch: its
    3-dimension vector of 2 values fails as it would in production."""
    repo = project(tmp_path / "repo", {
        "db/setup.sql": ROLE_SETUP,
        "migrations/V1__items.sql": "CREATE EXTENSION IF NOT EXISTS vector;\n"
                                    "CREATE TABLE items (id bigint PRIMARY KEY, "
                                    "embedding vector(3));\n",
        "migrations/V2__grants.sql": "GRANT SELECT ON items TO reporting;\n",
    }, {"migrations/V3__seed.sql": "INSERT INTO items VALUES (1, '[1,2]');\n"})
    done = repo.gate("check", "--base", "main", "--verify", "--format", "json",
                     env=gate_env(gate_cache))
    assert done.returncode == 1, done.stdout + done.stderr
    assert findings(done, "replay-skipped") == []
    (failed,) = findings(done, "migration-failed")
    assert failed["path"] == "migrations/V3__seed.sql"
    assert "expected 3 dimensions, not 2" in failed["message"]
    (moved,) = [n for n in json.loads(done.stdout)["notes"] if "no extension vector" in n]
    assert "the replay runs on PostgreSQL 16" in moved and "from pgserver" in moved
    # the text header says which server replayed
    text = repo.gate("check", "--base", "main", "--verify", env=gate_env(gate_cache))
    assert "on the embedded PostgreSQL 16." in text.stdout.splitlines()[0]
    assert " from pgserver" in text.stdout.splitlines()[0]


@pytest.mark.slow
@pytest.mark.skipif(not _pgserver_installed(), reason="the postgres extra (pgserver) is needed")
def test_flyway_restarts_on_the_server_that_has_the_extension(
    reachable_pgserver: None, tmp_path: Path, gate_cache: Path, pg_binaries: Binaries,
) -> None:
    """The restart itself: the extension is created by dynamic SQL (no `CREATE EXTENSION` in
    the text to look for beforehand), so the first server fails with 58P01 and the replay
    restarts on the pgserver wheel's. A Flyway project: the setup runs for both runners."""
    if has_extension(pg_binaries.bin_dir, "vector"):
        pytest.skip("the first server here has vector itself: nothing to restart")
    repo = project(tmp_path / "repo", {
        "db/setup.sql": ROLE_SETUP,
        "migrations/V1__vectors.sql": "DO $$ BEGIN EXECUTE 'CREATE ' || 'EXTENSION vector'; "
                                      "END $$;\nCREATE TABLE items (id bigint PRIMARY KEY, "
                                      "embedding vector(3));\n",
        "migrations/V1.1__grants.sql": "GRANT SELECT ON items TO reporting;\n",
    }, {"migrations/V2__seed.sql": "INSERT INTO items VALUES (1, '[1,2]');\n"},
        config="runner: flyway\nreplay:\n  setup: [db/setup.sql]\n")
    done = repo.gate("check", "--base", "main", "--verify", "--format", "json",
                     env=gate_env(gate_cache))
    assert done.returncode == 1, done.stdout + done.stderr
    (failed,) = findings(done, "migration-failed")
    assert failed["path"] == "migrations/V2__seed.sql"
    assert "expected 3 dimensions, not 2" in failed["message"]
    (moved,) = [n for n in json.loads(done.stdout)["notes"] if "no extension vector" in n]
    assert "the replay restarted on PostgreSQL 16" in moved


@pytest.mark.slow
def test_without_the_setup_the_missing_role_is_replay_skipped(
    tmp_path: Path, gate_cache: Path, pg_binaries: Binaries,
) -> None:
    """The same grant without `replay.setup`: the base cannot replay, which is not the
    branch's fault -- a `replay-skipped` warning at the grant, whose hint names the fix."""
    repo = project(tmp_path / "repo", {
        "migrations/V1__items.sql": "CREATE TABLE items (id bigint PRIMARY KEY);\n",
        "migrations/V2__grants.sql": "-- production's role\nGRANT SELECT ON items TO reporting;\n",
    }, {"migrations/V3__more.sql": "SELECT 1;\n"}, config="dir: migrations\n")
    done = repo.gate("check", "--base", "main", "--format", "json", env=gate_env(gate_cache))
    assert done.returncode == 0, done.stdout + done.stderr
    (skipped,) = findings(done, "replay-skipped")
    assert (skipped["path"], skipped["line"]) == ("migrations/V2__grants.sql", 2)
    assert 'role "reporting" does not exist' in skipped["message"]
    assert "replay.setup" in skipped["hint"]
    explicit = repo.gate("check", "--base", "main", "--verify", env=gate_env(gate_cache))
    one_line_error(explicit, "cannot replay the migrations", 'role "reporting" does not exist')


@pytest.mark.slow
def test_a_failing_setup_is_replay_skipped_at_its_statement(
    tmp_path: Path, gate_cache: Path, pg_binaries: Binaries,
) -> None:
    repo = project(tmp_path / "repo", {
        "db/setup.sql": "CREATE SCHEMA app;\nCREATE TABLE app.t (id int REFERENCES nowhere);\n",
        "migrations/V1__a.sql": "CREATE TABLE a (id int);\n",
    }, {"migrations/V2__b.sql": "CREATE TABLE b (id int);\n"})
    done = repo.gate("check", "--base", "main", "--format", "json", env=gate_env(gate_cache))
    (skipped,) = findings(done, "replay-skipped")
    assert (skipped["path"], skipped["line"]) == ("db/setup.sql", 2)
    assert "replay.setup db/setup.sql:2 fails" in skipped["message"]
    assert '"nowhere" does not exist' in skipped["message"]


# --- server mode: roles are the whole server's ------------------------------------------------


def _roles(cluster: Cluster) -> set[str]:
    with cluster.connect() as admin:
        return {str(row[0]) for row in admin.execute("SELECT rolname FROM pg_roles")}


@pytest.mark.slow
def test_server_mode_refuses_a_setup_that_creates_a_role(
    tmp_path: Path, pg_cluster: Cluster, pg_dbname: str, gate_cache: Path,
) -> None:
    """A role created on a shared server would outlive the throwaway database: the setup is
    rolled back and refused, and the server keeps no role. Created on the server beforehand,
    the setup's idempotent CREATE ROLE does nothing and the replay runs."""
    repo = project(tmp_path / "repo", {
        "db/setup.sql": ROLE_SETUP.replace("reporting", "reporting_srv"),
        "migrations/V1__items.sql": "CREATE TABLE items (id bigint PRIMARY KEY);\n",
        "migrations/V2__grants.sql": "GRANT SELECT ON items TO reporting_srv;\n",
    }, {"migrations/V3__more.sql": "SELECT 1;\n"})
    url = pg_url(pg_cluster, pg_dbname)
    before = _roles(pg_cluster)
    done = repo.gate("check", "--base", "main", "--format", "json", "--database-url", url,
                     "--no-verify", env=gate_env(gate_cache))
    assert findings(done, "replay-skipped") == []  # --no-verify: nothing runs
    # the working tree's configuration governs on the base itself (no branch to distrust)
    repo.write("server.yaml", f"database-url: '{url}'\nreplay:\n  setup: [db/setup.sql]\n")
    auto = repo.gate("check", "--base", "feature", "--config", "server.yaml", "--format",
                     "json", env=gate_env(gate_cache))
    (skipped,) = findings(auto, "replay-skipped")
    assert skipped["path"] == "db/setup.sql"
    assert "creates the role reporting_srv" in skipped["message"]
    explicit = repo.gate("check", "--base", "feature", "--config", "server.yaml", "--verify",
                         env=gate_env(gate_cache))
    one_line_error(explicit, "creates the role reporting_srv", "--database-url")
    assert _roles(pg_cluster) == before
    with pg_cluster.connect() as admin:
        admin.execute("CREATE ROLE reporting_srv NOLOGIN")
    try:
        ran = repo.gate("check", "--base", "feature", "--config", "server.yaml", "--format",
                        "json", env=gate_env(gate_cache))
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert findings(ran, "replay-skipped") == []
    finally:
        with pg_cluster.connect() as admin:
            admin.execute("DROP ROLE reporting_srv")


# --- the configuration ------------------------------------------------------------------------


@pytest.mark.slow  # over 0.6 s in the fast loop
def test_a_missing_setup_file_is_a_configuration_error(tmp_path: Path) -> None:
    """Exit 2 even when the replay is automatic and could not run anyway: a typo in the
    configuration must not pass as a skipped replay."""
    repo = project(tmp_path / "repo", {"migrations/V1__a.sql": "SELECT 1;\n"},
                   {"migrations/V2__b.sql": "SELECT 1;\n"})
    one_line_error(repo.gate("check", "--base", "main", "--dialect", "mssql"),
                   "replay.setup: db/setup.sql does not exist at the base")
    # without a base the working tree's configuration and files apply
    one_line_error(repo.gate("check", "--dialect", "mssql", "--base", "feature"),
                   "replay.setup: db/setup.sql does not exist")
    assert repo.gate("check", "--base", "main", "--no-verify").returncode == 0


@pytest.mark.parametrize(("value", "needle"), [
    ("[]", "must be a list of 1 to 20 SQL file paths"),
    ("[1]", "must be a list of 1 to 20 SQL file paths"),
    ("['/etc/passwd']", "must be relative to the configuration file's folder"),
])
def test_replay_setup_is_validated(tmp_path: Path, value: str, needle: str) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / ".migration-gate.yaml").write_text(f"replay:\n  setup: {value}\n")
    from tests.conftest import run_gate

    one_line_error(run_gate("check", "--no-verify", cwd=tmp_path), "`replay.setup`", needle)


def test_a_large_setup_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "setup.sql").write_text("-- x\n" * 300_000)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.migration-gate.replay]\nsetup = ['setup.sql']\n")
    from tests.conftest import run_gate

    done = run_gate("check", "--dialect", "mssql", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "migration-gate: error: replay.setup: setup.sql has 1500000 bytes, more than the "
        "1048576 a setup file may have")


def test_the_base_setup_governs_and_a_change_is_config_changed(tmp_path: Path) -> None:
    repo = project(tmp_path / "repo", {"db/setup.sql": ROLE_SETUP,
                                       "migrations/V1__a.sql": "SELECT 1;\n"},
                   {"db/setup.sql": "DROP SCHEMA public CASCADE;\n"})
    done = repo.gate("check", "--base", "main", "--dialect", "mssql", "--format", "json")
    (changed,) = findings(done, "config-changed")
    assert changed["path"] == "db/setup.sql"
    assert "the base's version runs" in changed["message"]


def test_the_setup_text_is_part_of_the_base_cache_key(tmp_path: Path) -> None:
    from migration_gate.config import Config
    from migration_gate.dbcheck import base_cache_keys
    from migration_gate.pipeline import CheckContext
    from migration_gate.replaysetup import SetupFile

    context = CheckContext(config=Config(), root=tmp_path, repo_root=None, folder="migrations",
                           local=())
    plain = base_cache_keys("16.2", context, [])[-1]
    one = base_cache_keys("16.2", context, [], (SetupFile("db/setup.sql", ROLE_SETUP),))[-1]
    other = base_cache_keys("16.2", context, [],
                            (SetupFile("db/setup.sql", ROLE_SETUP + " "),))[-1]
    assert len({plain, one, other}) == 3


# --- the extension, and where else it is ----------------------------------------------------


def test_missing_extension_is_read_from_the_servers_error() -> None:
    pg15 = ('could not open extension control file '
            '"/usr/share/postgresql/15/extension/vector.control": No such file or directory')
    assert missing_extension(pg15, "58P01") == "vector"
    assert missing_extension('extension "postgis" is not available', "0A000") == "postgis"
    assert missing_extension('relation "vector" does not exist', "42P01") is None
    assert created_extensions(["create extension if not exists \"pg_trgm\";",
                               "CREATE EXTENSION vector SCHEMA x;", "SELECT 1"]) == {
        "pg_trgm", "vector"}


@pytest.mark.skipif(not _pgserver_installed(), reason="the postgres extra (pgserver) is needed")
def test_the_pgserver_wheel_is_found_for_vector(reachable_pgserver: None,
                                                pg_binaries: Binaries) -> None:
    if has_extension(pg_binaries.bin_dir, "vector"):
        pytest.skip("the first server here has vector itself")
    assert has_extension(pg_binaries.bin_dir, "plpgsql")  # every server has its own language
    found = server_with({"vector"}, [pg_binaries])
    assert found is not None
    origin, binaries = found
    assert origin == "pgserver" and binaries.major >= 16
    assert server_with({"no_such_extension_anywhere"}, []) is None


# --- replay-skipped in every format -----------------------------------------------------------


@pytest.fixture
def skipped_repo(tmp_path: Path) -> Repo:
    """A SQL Server project: no throwaway database to replay on here."""
    repo = make_repo(tmp_path / "repo")
    seed_migrations(repo, 2)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V003__x.sql", "SELECT 1;\n")
    return repo


def _gate(repo: Repo, fmt: str, **env: str) -> subprocess.CompletedProcess[str]:
    done = repo.gate("check", "--base", "main", "--dialect", "mssql", "--format", fmt, env=env)
    assert done.returncode == 0, done.stdout + done.stderr  # a warning: the gate goes on
    assert "replay" not in done.stderr  # no longer a line on stderr
    return done


def test_replay_skipped_in_text(skipped_repo: Repo) -> None:
    done = _gate(skipped_repo, "text")
    assert "replay skipped (see the replay-skipped finding)" in done.stdout.splitlines()[0]
    assert ("migrations:1:1 replay-skipped warning: the database replay was skipped: no "
            "throwaway mssql database to replay on") in done.stdout


def test_replay_skipped_in_json(skipped_repo: Repo) -> None:
    (skipped,) = findings(_gate(skipped_repo, "json"), "replay-skipped")
    assert skipped["severity"] == "warning" and skipped["path"] == "migrations"
    assert "no throwaway mssql database" in skipped["message"]


def test_replay_skipped_in_github(skipped_repo: Repo, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    done = _gate(skipped_repo, "github", GITHUB_ACTIONS="true",
                 GITHUB_STEP_SUMMARY=str(summary))
    (annotation,) = [line for line in done.stdout.splitlines() if "replay-skipped" in line]
    assert annotation.startswith("::warning file=migrations,line=1")
    assert "no throwaway mssql database" in annotation
    assert "replay-skipped" in summary.read_text(encoding="utf-8")


def test_replay_skipped_in_sarif(skipped_repo: Repo) -> None:
    run = json.loads(_gate(skipped_repo, "sarif").stdout)["runs"][0]
    (result,) = [r for r in run["results"] if r["ruleId"] == "replay-skipped"]
    assert result["level"] == "warning"
    assert "no throwaway mssql database" in result["message"]["text"]
    rules = {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    assert "replay-skipped" in rules


def test_replay_skipped_in_gitlab(skipped_repo: Repo) -> None:
    issues = json.loads(_gate(skipped_repo, "gitlab").stdout)
    (issue,) = [i for i in issues if i["check_name"] == "replay-skipped"]
    assert issue["severity"] in ("minor", "major")
    assert issue["location"]["path"] == "migrations"
    assert "no throwaway mssql database" in issue["description"]


def test_replay_skipped_is_documented() -> None:
    from tests.conftest import CHECKOUT, run_gate

    done = run_gate("rules", "replay-skipped", cwd=CHECKOUT)
    assert done.returncode == 0, done.stderr
    assert "replay.setup" in done.stdout and "bin-dir" in done.stdout
