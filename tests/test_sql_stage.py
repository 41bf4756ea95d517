"""The SQL stage of `check` in a real git repository: what is linted, and branch context."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Repo, seed_migrations

SQL_RULE_LINE = re.compile(r"^(migrations/\S+):(\d+):\d+ (\S+) ", re.MULTILINE)


def sql_findings(output: str) -> set[tuple[str, int, str]]:
    return {(path, int(line), rule) for path, line, rule in SQL_RULE_LINE.findall(output)}


def check(repo: Repo, *args: str) -> tuple[int, set[tuple[str, int, str]], str]:
    done = repo.gate("check", "--no-verify", "--base", "main", *args,
                     env={"MIGRATION_GATE_CACHE_DIR": str(repo.path.parent / "cache")})
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, sql_findings(done.stdout), done.stdout


def branch_repo(repo: Repo) -> Repo:
    seed_migrations(repo, 3)
    # a base migration with a finding of its own: only `--all` reports it
    repo.write("migrations/V004__base_index.sql",
               "CREATE INDEX IF NOT EXISTS t1_id ON table_1 (id);\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V005__create_accounts.sql",
               "CREATE TABLE IF NOT EXISTS accounts (id bigint, email text);\n")
    repo.write(
        "migrations/V006__index_accounts.sql",
        "SET LOCAL lock_timeout = '5s';\n"
        "CREATE INDEX IF NOT EXISTS accounts_email ON accounts (email);\n"
        "ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;\n"
        "CREATE INDEX IF NOT EXISTS t2_id ON table_2 (id);\n",
    )
    repo.commit("feature")
    return repo


@pytest.mark.slow
def test_only_added_and_changed_migrations_are_linted(repo: Repo) -> None:
    branch_repo(repo)
    code, found, output = check(repo)
    assert code == 0, output
    assert found == {("migrations/V006__index_accounts.sql", 4,
                      "require-concurrent-index-creation")}


@pytest.mark.slow
def test_all_lints_every_migration(repo: Repo) -> None:
    branch_repo(repo)
    _code, found, _output = check(repo, "--all")
    assert ("migrations/V004__base_index.sql", 1, "require-concurrent-index-creation") in found
    assert ("migrations/V004__base_index.sql", 1, "require-lock-timeout") in found


@pytest.mark.slow
def test_a_changed_base_migration_is_linted_again(repo: Repo) -> None:
    branch_repo(repo)
    repo.write("migrations/V004__base_index.sql",
               "CREATE INDEX CONCURRENTLY IF NOT EXISTS t1_id ON table_1 (id);\n")
    code, found, _output = check(repo)
    assert code == 1  # modified-migration, and the CONCURRENTLY error
    assert ("migrations/V004__base_index.sql", 1,
            "ban-concurrent-index-creation-in-transaction") in found


@pytest.mark.slow
def test_tables_created_on_the_branch_only_count_for_later_versions(repo: Repo) -> None:
    branch_repo(repo)
    repo.write("migrations/V007__early_use.sql",
               "SET LOCAL lock_timeout = '5s';\n"
               "CREATE INDEX IF NOT EXISTS late_x ON late_table (x);\n")
    repo.write("migrations/V008__late_table.sql",
               "CREATE TABLE IF NOT EXISTS late_table (x int);\n")
    _code, found, _output = check(repo)
    assert ("migrations/V007__early_use.sql", 2, "require-concurrent-index-creation") in found


def test_the_configured_dialect_is_used(repo: Repo) -> None:
    seed_migrations(repo, 1)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write(".migration-gate.yaml", "dialect: sqlite\n")
    repo.write("migrations/V002__alter.sql",
               "ALTER TABLE table_1 ALTER COLUMN id SET NOT NULL;\n")
    code, found, output = check(repo)
    assert code == 1, output
    assert found == {("migrations/V002__alter.sql", 1, "sqlite-unsupported-alter")}

