"""The runner-aware SQL rules through the real CLI, in Flyway projects (issue 10).

Flyway's `postgresql.transactional.lock` decides whether a crash between a migration's commit
and its history row's exists (docs/flyway.md §4), so `prefer-robust-stmts` follows it; a
`CREATE INDEX CONCURRENTLY` alone in its script runs without a transaction and passes, mixed
with a `CREATE TABLE` Flyway refuses the migration; Spring Boot's `spring.flyway.*` settings
are read like `flyway.conf`'s.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Repo, make_repo

INIT = "CREATE TABLE IF NOT EXISTS person (id bigint PRIMARY KEY);\n"
PLAIN_DDL = "CREATE TABLE audit (id bigint);\n"
CIC = "CREATE INDEX CONCURRENTLY IF NOT EXISTS person_id_idx ON person (id);\n"


def flyway_project(tmp_path: Path, conf: tuple[str, str] | None, migration: str,
                   folder: str = "migrations") -> Repo:
    repo = make_repo(tmp_path / "project")
    if conf is not None:
        repo.write(*conf)
    repo.write(f"{folder}/V1__init.sql", INIT)
    repo.write(f"{folder}/V2__change.sql", migration)
    repo.commit()
    return repo


def findings(repo: Repo, *rules: str) -> tuple[int, list[dict[str, object]]]:
    done = repo.gate("check", "--no-verify", "--all", "--format", "json")
    assert "Traceback" not in done.stderr, done.stderr
    document = json.loads(done.stdout)
    assert document["runner"]["name"] == "flyway", document
    return done.returncode, [d for d in document["diagnostics"] if d["rule"] in rules]


@pytest.mark.slow  # three projects through the CLI; tests/test_runner_rules.py is the fast proof
def test_prefer_robust_stmts_follows_the_transactional_lock(tmp_path: Path) -> None:
    default = flyway_project(tmp_path / "a", ("flyway.conf", "flyway.table=history\n"),
                             PLAIN_DDL)
    code, found = findings(default, "prefer-robust-stmts")
    assert code == 0  # a warning
    (finding,) = found
    assert "Flyway re-runs the migration" in str(finding["message"])
    assert "refinery" not in str(finding["message"]) + str(finding["hint"])
    no_lock = flyway_project(tmp_path / "b", (
        "flyway.conf", "flyway.postgresql.transactional.lock=false\n"), PLAIN_DDL)
    assert findings(no_lock, "prefer-robust-stmts") == (0, [])
    toml = flyway_project(tmp_path / "c", (
        "flyway.toml", "[flyway.postgresql]\ntransactional.lock = false\n"), PLAIN_DDL)
    assert findings(toml, "prefer-robust-stmts") == (0, [])


@pytest.mark.slow  # three projects through the CLI; tests/test_runner_rules.py is the fast proof
def test_concurrently_alone_passes_and_mixed_fails(tmp_path: Path) -> None:
    conf = ("flyway.conf", "flyway.table=history\n")
    alone = flyway_project(tmp_path / "alone", conf, CIC)
    assert findings(alone, "ban-concurrent-index-creation-in-transaction") == (0, [])
    mixed = flyway_project(tmp_path / "mixed", conf, PLAIN_DDL + CIC)
    code, (finding,) = findings(mixed, "ban-concurrent-index-creation-in-transaction")
    assert code == 1
    assert finding["severity"] == "error" and finding["line"] == 2
    assert "Flyway refuses it" in str(finding["message"])
    allowed = flyway_project(tmp_path / "allowed", ("flyway.conf", "flyway.mixed=true\n"),
                             PLAIN_DDL + CIC)
    assert findings(allowed, "ban-concurrent-index-creation-in-transaction") == (0, [])


@pytest.mark.slow  # over 1 s
def test_spring_placeholders_and_lock_are_read_from_application_yml(tmp_path: Path) -> None:
    folder = "src/main/resources/db/migration"
    repo = flyway_project(tmp_path, (
        "src/main/resources/application.yml",
        "spring:\n  flyway:\n    placeholders:\n      audit-table: ${AUDIT_TABLE:audit_log}\n"),
        "CREATE TABLE ${audit-table} (id bigint);\n", folder)
    repo.write(".migration-gate.yaml", f"dir: {folder}\n")
    repo.commit("configure")
    code, found = findings(repo, "prefer-robust-stmts", "flyway-undefined-placeholder")
    assert code == 0, found
    (finding,) = found  # the placeholder is defined; the lint saw the replaced text
    assert str(finding["message"]).startswith("CREATE TABLE audit_log without IF NOT EXISTS")
    repo.write("src/main/resources/application.yml",
               "spring:\n  flyway:\n    placeholders:\n      audit-table: audit_log\n"
               "    postgresql:\n      transactional-lock: false\n")
    assert findings(repo, "prefer-robust-stmts", "flyway-undefined-placeholder") == (0, [])
    repo.write("flyway.conf", "flyway.table=history\n")  # flyway.conf wins: no placeholder now
    code, found = findings(repo, "flyway-undefined-placeholder")
    assert code == 1 and len(found) == 1
