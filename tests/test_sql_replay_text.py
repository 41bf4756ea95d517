"""The replay sends what refinery sends (issue 13.3), and the lint says why it fails.

refinery sends a migration's exact text in one piece. A byte-order mark, a NUL character, a
comment or string that is never closed, a mysql-client `DELIMITER` line used to be altered or
cut by the gate before the database saw them, so the replay passed files that fail under
refinery (and reported locks for statements that never run). Through the real command line:
`lint`, and `check --verify` on the embedded PostgreSQL, on SQLite in memory and on a real
MariaDB (server mode), with real migrations from tests/data/cases where there are some.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Repo, make_repo, run_gate, seed_migrations
from tests.mariadb_fixture import MariaDbServer
from tests.pgserver_fixture import gate_env
from tests.test_sql_hazards import ACCEPTED

CASES = Path(__file__).parent / "data" / "cases"
#: Cases that are also files of the sample (tests/data/README.md gives their origin): read there.
SAMPLE = Path(__file__).parent / "data" / "sample" / "repos"


def findings(done: subprocess.CompletedProcess[str], *rules: str) -> list[dict[str, Any]]:
    assert done.stdout.strip().startswith("{"), done.stdout + done.stderr
    diagnostics: list[dict[str, Any]] = json.loads(done.stdout)["diagnostics"]
    # a failure a text hazard explains is folded into it (its `related` list): read both
    folded = [r for d in diagnostics for r in d.get("related", ())]
    return [d for d in [*diagnostics, *folded] if not rules or d["rule"] in rules]


def at(done: subprocess.CompletedProcess[str], *rules: str) -> list[tuple[str, int, int]]:
    return [(d["rule"], d["line"], d["column"]) for d in findings(done, *rules)]


def branch(path: Path, files: dict[str, bytes], seed: int = 7) -> Repo:
    """main with V001..V00N (`table_N` each), then `feature` with `files` written."""
    repo = make_repo(path)
    seed_migrations(repo, seed)
    repo.git("checkout", "-q", "-b", "feature")
    for rel, content in files.items():
        repo.write(rel, content)
    return repo


def check(repo: Repo, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return repo.gate("check", "--base", "main", "--format", "json", "--verify", *args,
                     env=gate_env(cache))


# --- lint: one finding per problem, at its place ------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "content", "rule", "line", "column"),
    [
        ("postgres", b"\xef\xbb\xbfCREATE TABLE IF NOT EXISTS t (a int);\n",
         "bom-in-migration", 1, 1),
        ("mysql", b"\xef\xbb\xbfSELECT 1;\n", "bom-in-migration", 1, 1),
        ("postgres", b"SELECT 1;\nSELECT 2;\x00\nDROP TABLE t;\n", "nul-byte", 2, 10),
        ("postgres", b"SELECT 1;\n  /* off\nDROP TABLE t;\n", "unterminated-comment", 2, 3),
        ("sqlite", b"SELECT 1;\n/* off\nDROP TABLE t;\n", "unterminated-comment", 2, 1),
        ("postgres", b"SELECT 'it's';\nDROP TABLE t;\n", "unterminated-string", 1, 13),
        ("mysql", b"DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END//\nDELIMITER ;\n",
         "mysql-delimiter", 1, 1),
        ("postgres", b"<<<<<<< HEAD\nSELECT 1;\n=======\nSELECT 2;\n>>>>>>> b\n",
         "merge-conflict-marker", 1, 1),
    ],
)
@pytest.mark.slow
def test_lint_reports_the_problem_once_and_lints_nothing_hidden_by_it(
    tmp_path: Path, dialect: str, content: bytes, rule: str, line: int, column: int,
) -> None:
    target = tmp_path / "V1__x.sql"
    target.write_bytes(content)
    done = run_gate("lint", "--no-cache", "--dialect", dialect, "--format", "json",
                    str(target), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert at(done, rule) == [(rule, line, column)]
    assert findings(done, rule)[0]["severity"] == "error"
    others = {d["rule"] for d in findings(done)} - {rule}
    assert not others & {"syntax-error", "transaction-nesting", "ban-drop-table"}, done.stdout


# --- PostgreSQL: the replay fails where refinery fails ------------------------------------------


@pytest.mark.slow
def test_a_byte_order_mark_fails_the_replay_as_under_refinery(
    tmp_path: Path, gate_cache: Path, pg_binaries: Any,
) -> None:
    """PostgreSQL 15: `syntax error at or near "\ufeffALTER"` (42601) for the file as refinery
    sends it; the gate used to skip the mark and apply the file."""
    repo = branch(tmp_path / "repo", {
        "migrations/V008__bom.sql":
            "\ufeffALTER TABLE table_1 ADD COLUMN IF NOT EXISTS note text;\n".encode(),
    })
    done = check(repo, gate_cache)
    assert done.returncode == 1, done.stdout + done.stderr
    (failure,) = findings(done, "migration-failed")
    assert (failure["line"], failure["column"]) == (1, 1)
    assert "syntax error at or near" in failure["message"]
    assert "SQLSTATE 42601" in failure["message"]
    assert at(done, "bom-in-migration") == [("bom-in-migration", 1, 1)]
    assert not findings(done, "lock-observed")


@pytest.mark.slow
def test_statements_after_an_unterminated_comment_never_run(
    tmp_path: Path, gate_cache: Path, pg_binaries: Any,
) -> None:
    """PostgreSQL 15: `unterminated /* comment` (42601). The TRUNCATE and DROP after it are
    part of the comment: no lint finding, no lock observed for them."""
    repo = branch(tmp_path / "repo", {
        "migrations/V008__off.sql": (
            b"ALTER TABLE table_1 ADD COLUMN IF NOT EXISTS note text;\n"
            b"/* switched off for now\n"
            b"TRUNCATE table_2;\n"
            b"DROP TABLE table_3;\n"
        ),
    })
    done = check(repo, gate_cache)
    assert done.returncode == 1, done.stdout + done.stderr
    (failure,) = findings(done, "migration-failed")
    assert (failure["line"], failure["column"]) == (2, 1)
    assert "unterminated /* comment" in failure["message"]
    assert at(done, "unterminated-comment") == [("unterminated-comment", 2, 1)]
    assert not [d for d in findings(done) if d["line"] >= 3], done.stdout
    assert not findings(done, "ban-drop-table", "ban-truncate-cascade")


@pytest.mark.slow
def test_a_nul_character_fails_the_replay_at_its_place(
    tmp_path: Path, gate_cache: Path, pg_binaries: Any,
) -> None:
    """refinery's PostgreSQL driver refuses text with a NUL; psycopg (libpq) would have sent
    the text up to it and silently dropped the rest, DROP TABLE included."""
    repo = branch(tmp_path / "repo", {
        "migrations/V008__nul.sql":
            b"ALTER TABLE table_1 ADD COLUMN IF NOT EXISTS note text;\x00\nDROP TABLE table_2;\n",
    })
    done = check(repo, gate_cache)
    assert done.returncode == 1, done.stdout + done.stderr
    (failure,) = findings(done, "migration-failed")
    assert (failure["line"], failure["column"]) == (1, 56)
    assert "NUL character" in failure["message"]
    assert at(done, "nul-byte") == [("nul-byte", 1, 56)]
    assert not findings(done, "lock-observed")  # nothing was sent


@pytest.mark.slow
def test_an_unterminated_string_fails_where_postgres_says(
    tmp_path: Path, gate_cache: Path, pg_binaries: Any,
) -> None:
    """PostgreSQL 15: `unterminated quoted string at or near "';..."`, at the lint's place."""
    repo = branch(tmp_path / "repo", {
        "migrations/V008__quote.sql": (
            b"INSERT INTO table_1 (id) VALUES (1);\n"
            b"UPDATE table_1 SET id = 2 WHERE 'x' = 'y;\n"
            b"DROP TABLE table_2;\n"
        ),
    })
    done = check(repo, gate_cache)
    assert done.returncode == 1, done.stdout + done.stderr
    (failure,) = findings(done, "migration-failed")
    assert "unterminated quoted string" in failure["message"]
    (lint,) = findings(done, "unterminated-string")
    assert (failure["line"], failure["column"]) == (lint["line"], lint["column"]) == (2, 39)
    assert not findings(done, "ban-drop-table", "syntax-error")


@pytest.mark.slow
def test_comment_on_constraint_of_a_real_migration_replays_and_parses(
    tmp_path: Path, gate_cache: Path, pg_binaries: Any,
) -> None:
    """hmcts/ccd-data-store-api's migration (tests/data/cases), on the columns it needs:
    PostgreSQL 15 applies it, `COMMENT ON CONSTRAINT ... ON ...` included; no syntax-error."""
    real = (CASES / "hmcts__ccd-data-store-api/src/main/resources/db/migration/"
            "V20250306_0000__CCD-6936_case_pointer_marked_by_logstash.sql").read_bytes()
    repo = make_repo(tmp_path / "repo")
    repo.write("migrations/V1__case_data.sql",
               "CREATE TABLE case_data (id bigint PRIMARY KEY, data jsonb, state text,\n"
               "                        marked_by_logstash boolean);\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V2__case_pointer_marked_by_logstash.sql", real)
    done = check(repo, gate_cache)
    assert not findings(done, "migration-failed", "syntax-error"), done.stdout + done.stderr
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_a_begin_atomic_body_is_one_statement(
    tmp_path: Path, gate_cache: Path, pg_binaries: Any,
) -> None:
    """PostgreSQL 15 applies a SQL-standard function body (`BEGIN ATOMIC ... END`, PG 14+) as
    one statement; the gate used to cut it at its first `;` (the replay then failed, and the
    `END;` was a transaction-nesting error)."""
    repo = branch(tmp_path / "repo", {
        "migrations/V008__count.sql": (
            b"CREATE OR REPLACE FUNCTION table_1_count() RETURNS bigint LANGUAGE sql\n"
            b"BEGIN ATOMIC\n"
            b"  SELECT CASE WHEN count(*) > 0 THEN count(*) ELSE 0 END FROM table_1;\n"
            b"END;\n"
            b"SELECT table_1_count();\n"
        ),
    })
    done = check(repo, gate_cache)
    assert not findings(done, "migration-failed", "transaction-nesting", "syntax-error"), (
        done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr


# --- SQLite: trigger bodies, and a mark SQLite skips -------------------------------------------


def sqlite_repo(path: Path, base: dict[str, bytes], added: dict[str, bytes]) -> Repo:
    repo = make_repo(path)
    repo.write("refinery.toml", '[main]\ndb_type = "Sqlite"\ndb_path = "./app.db"\n')
    for rel, content in base.items():
        repo.write(rel, content)
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    for rel, content in added.items():
        repo.write(rel, content)
    return repo


def test_sqlite_triggers_of_real_migrations_replay_whole(tmp_path: Path) -> None:
    """lexlapax/rs-llmspell's V6 and V8 (tests/data/sample) define triggers: SQLite 3.40
    applies them (the gate used to send `CREATE TRIGGER ... BEGIN ...` without its `END` and
    fail, and reported the `END;` as a transaction-nesting error). The base stands in for
    their V1, whose PRAGMAs cannot run inside a transaction; it creates the `_migrations`
    table both insert into."""
    folder = SAMPLE / "lexlapax__rs-llmspell/llmspell-storage/migrations/sqlite"
    base = (b"CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, name TEXT "
            b"NOT NULL UNIQUE,\n    applied_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),"
            b" checksum TEXT NOT NULL);\n")
    repo = sqlite_repo(tmp_path / "repo", {"migrations/V1__initial_setup.sql": base},
                       {f"migrations/{name}": (folder / name).read_bytes() for name in
                        ("V6__agent_state.sql", "V8__workflow_states.sql")})
    done = repo.gate("check", "--base", "main", "--format", "json", "--verify", "--all")
    assert not findings(done, "migration-failed", "transaction-nesting", "syntax-error"), (
        done.stdout + done.stderr)
    assert done.returncode in (0, 1)  # warnings (a version gap) are not the point here
    assert not [d for d in findings(done) if d["severity"] == "error"], done.stdout


@pytest.mark.slow
def test_sqlite_skips_a_byte_order_mark(tmp_path: Path) -> None:
    """SQLite's tokenizer takes U+FEFF for white space: the file applies, no finding."""
    repo = sqlite_repo(tmp_path / "repo", {"migrations/V1__a.sql": b"CREATE TABLE a (x int);\n"},
                       {"migrations/V2__b.sql": b"\xef\xbb\xbfCREATE TABLE b (x int);\n"})
    done = repo.gate("check", "--base", "main", "--format", "json", "--verify")
    assert done.returncode == 0, done.stdout + done.stderr
    assert findings(done) == []


# --- MariaDB: DELIMITER, compound statements, executable comments -------------------------------


def mysql_check(repo: Repo, server: MariaDbServer) -> subprocess.CompletedProcess[str]:
    return repo.gate("check", "--base", "main", "--format", "json", "--verify",
                     "--dialect", "mysql", "--database-url", server.url())


PROCEDURE = (
    "CREATE PROCEDURE bump()\nBEGIN\n  UPDATE table_1 SET id = id + 1;\n"
    "  IF (SELECT COUNT(*) FROM table_1) > 10 THEN DELETE FROM table_1 WHERE id > 10; END IF;\n"
    "END"
)


@pytest.mark.slow
def test_a_delimiter_script_fails_on_the_server_and_is_one_lint_finding(
    tmp_path: Path, mariadb_server: MariaDbServer,
) -> None:
    """MariaDB 10.11 rejects the `DELIMITER` line (1064); without it, the same procedure is
    one statement that the server reads whole."""
    script = f"DELIMITER $$\n{PROCEDURE}$$\nDELIMITER ;\n"
    repo = branch(tmp_path / "repo", {"migrations/V004__bump.sql": script.encode()}, seed=3)
    done = mysql_check(repo, mariadb_server)
    assert done.returncode == 1, done.stdout + done.stderr
    (failure,) = findings(done, "migration-failed")
    assert (failure["line"], failure["column"]) == (1, 1)
    assert "MySQL error 1064" in failure["message"]
    assert at(done, "mysql-delimiter") == [("mysql-delimiter", 1, 1)]
    assert not findings(done, "syntax-error", "transaction-nesting")

    repo.write("migrations/V004__bump.sql", f"{PROCEDURE};\n")
    fixed = mysql_check(repo, mariadb_server)
    assert not findings(fixed, "migration-failed", "mysql-delimiter", "syntax-error",
                        "transaction-nesting"), fixed.stdout + fixed.stderr


@pytest.mark.slow
def test_executable_comments_of_a_real_dump_reach_the_server(
    tmp_path: Path, mariadb_server: MariaDbServer,
) -> None:
    """lpg-civil-servant-register's V1 (tests/data/sample) is a mysqldump whose `/*!40014 SET
    ... FOREIGN_KEY_CHECKS=0 */` lets its tables reference each other in any order; MariaDB
    runs that text, so the replay must send it (it used to be dropped as a comment)."""
    real = (SAMPLE / "Civil-Service-Human-Resources__lpg-civil-servant-register/src/main/"
            "resources/db/migration/mysql/V1__init.sql").read_bytes()
    repo = branch(tmp_path / "repo", {"migrations/V004__init.sql": real}, seed=3)
    done = mysql_check(repo, mariadb_server)
    assert not findings(done, "migration-failed", "syntax-error"), done.stdout + done.stderr


@pytest.mark.slow
def test_the_forms_sqlglot_lacks_are_accepted_by_mariadb_and_postgres(
    mariadb_server: MariaDbServer, mariadb_database: str, pg_db: Any,
) -> None:
    """The statements tests/test_sql_hazards.py takes for valid, run on the real engines
    (MariaDB 10.11, PostgreSQL 15) on the tables they name."""
    for setup in ("CREATE TABLE users (id int PRIMARY KEY, name text, active int)",
                  "CREATE TABLE orders (id int PRIMARY KEY, user_id int, name text)",
                  "CREATE TABLE quiz (id int PRIMARY KEY)",
                  "CREATE TABLE question (id int PRIMARY KEY, quiz_id int)",
                  "CREATE TABLE t (id int PRIMARY KEY, a int, c int)"):
        mariadb_server.query(setup, mariadb_database)
    for dialect, good, _bad in ACCEPTED:
        if dialect == "mysql":
            mariadb_server.query(good, mariadb_database)
    pg_db.execute("CREATE TABLE users (id int, email text, CONSTRAINT users_email_key "
                  "UNIQUE (email))")
    pg_db.execute("CREATE DOMAIN amount AS numeric CONSTRAINT positive CHECK (VALUE > 0)")
    for dialect, good, _bad in ACCEPTED:
        if dialect == "postgres":
            pg_db.execute(good)
