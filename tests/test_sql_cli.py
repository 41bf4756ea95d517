"""`migration-gate lint` as a user runs it: the guide's examples, formats, config, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_gate

GUIDE = {
    "V1__create_users.sql": (
        "CREATE TABLE IF NOT EXISTS users (\n"
        "    id BIGSERIAL PRIMARY KEY,\n"
        "    email TEXT NOT NULL\n"
        ");\n"
    ),
    "V2__add_email_index.sql": (
        "-- speed up the login query\n"
        "CREATE INDEX CONCURRENTLY idx_users_email ON users (email);\n"
    ),
    "V3__add_phone.sql": (
        "SET LOCAL lock_timeout = '5s';\n"
        "ALTER TABLE users ADD COLUMN phone VARCHAR(20);\n"
        "ALTER TABLE users ALTER COLUMN phone SET NOT NULL;\n"
        "ALTER TABLE users ADD CONSTRAINT chk_phone CHECK (length(phone) >= 7);\n"
    ),
    "V4__backfill_status.sql": (
        "SET LOCAL lock_timeout = '5s';\n"
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS status TEXT;\n"
        "\n"
        "UPDATE users SET status = CASE\n"
        "    WHEN email LIKE '%@example.com' THEN 'internal'\n"
        "    ELSE 'customer'\n"
        "END;\n"
    ),
    "V5__big_sort_with_reset.sql": (
        "SET work_mem = '256MB';\n"
        "SELECT count(*) FROM users;\n"
        "RESET work_mem;\n"
    ),
    "V6__big_sort_leaking.sql": (
        "SELECT 1;\n"
        "SET work_mem = '256MB';\n"
        "SELECT count(*) FROM users;\n"
    ),
    "V7__orders.sql": (
        "CREATE TABLE IF NOT EXISTS orders (id BIGINT PRIMARY KEY, user_id BIGINT);\n"
        "CREATE INDEX IF NOT EXISTS idx_orders_user ON orders (user_id);\n"
    ),
}


@pytest.fixture
def guide(tmp_path: Path) -> Path:
    folder = tmp_path / "project" / "migrations"
    folder.mkdir(parents=True)
    for name, text in GUIDE.items():
        (folder / name).write_text(text, encoding="utf-8")
    return tmp_path / "project"


def gate(cwd: Path, *args: str, cache: Path | None = None):  # type: ignore[no-untyped-def]
    return run_gate(*args, cwd=cwd, env={"MIGRATION_GATE_CACHE_DIR": str(cache or cwd / ".c")})


FINDING = re.compile(r"^(\S+?):(\d+):(\d+) (\S+) (error|warning): ", re.MULTILINE)


def findings(output: str) -> set[tuple[str, int, str, str]]:
    return {(Path(p).name, int(line), rule, sev) for p, line, _c, rule, sev in
            FINDING.findall(output)}


@pytest.mark.slow
def test_the_guide_examples_at_their_exact_lines(guide: Path) -> None:
    done = gate(guide, "lint", *sorted(f"migrations/{n}" for n in GUIDE))
    assert done.returncode == 1, done.stderr  # the CONCURRENTLY error fails the gate
    found = findings(done.stdout)
    expected = {
        ("V2__add_email_index.sql", 2, "ban-concurrent-index-creation-in-transaction", "error"),
        ("V3__add_phone.sql", 2, "prefer-robust-stmts", "warning"),
        ("V3__add_phone.sql", 3, "adding-not-nullable-field", "warning"),
        ("V3__add_phone.sql", 4, "constraint-missing-not-valid", "warning"),
        ("V4__backfill_status.sql", 4, "unbounded-data-change", "warning"),
        ("V6__big_sort_leaking.sql", 2, "session-setting-leak", "warning"),
    }
    assert expected <= found, done.stdout
    by_file = {name for name, *_ in found}
    assert "V5__big_sort_with_reset.sql" not in by_file
    assert "V7__orders.sql" not in by_file  # a table created in the same migration is new
    assert "migrations/V2__add_email_index.sql:2:14 ban-concurrent" in done.stdout  # the keyword
    after = done.stdout.split("ban-concurrent-index-creation-in-transaction error:")[1]
    hint = next(line for line in after.splitlines() if line.startswith("  hint:"))
    assert "outside refinery" in hint
    # the source line, with the keyword that matters underlined, comes before the hint
    assert "CONCURRENTLY" in after.split("  hint:")[0] and "^" in after.split("  hint:")[0]


@pytest.mark.slow
def test_a_folder_argument_lints_its_sql_files(guide: Path) -> None:
    done = gate(guide, "lint", "migrations")
    assert done.returncode == 1
    assert "1 error, " in done.stdout and "(7 checked)." in done.stdout


@pytest.mark.slow
def test_json_format_has_exact_locations(guide: Path) -> None:
    done = gate(guide, "lint", "--format", "json", "migrations/V3__add_phone.sql")
    document = json.loads(done.stdout)
    assert document["tool"] == "migration-gate"
    by_rule = {d["rule"]: d for d in document["diagnostics"]}
    assert by_rule["adding-not-nullable-field"] == {
        "rule": "adding-not-nullable-field", "severity": "warning",
        "path": "migrations/V3__add_phone.sql", "line": 3, "column": 42, "end_line": 3,  # NOT NULL
        "end_column": 49, "message": by_rule["adding-not-nullable-field"]["message"],
        "hint": by_rule["adding-not-nullable-field"]["hint"],
    }
    assert done.returncode == 0  # warnings only


@pytest.mark.slow
def test_fail_on_warning(guide: Path) -> None:
    assert gate(guide, "lint", "--fail-on", "warning", "migrations/V6__big_sort_leaking.sql"
                ).returncode == 1
    assert gate(guide, "lint", "migrations/V6__big_sort_leaking.sql").returncode == 0


@pytest.mark.slow
def test_the_cache_gives_the_same_answer(guide: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = gate(guide, "lint", "migrations", cache=cache)
    assert (cache / "lint-v1.sqlite").is_file()
    second = gate(guide, "lint", "migrations", cache=cache)
    assert first.stdout == second.stdout and first.returncode == second.returncode == 1
    uncached = gate(guide, "lint", "--no-cache", "migrations", cache=tmp_path / "other")
    assert uncached.stdout == first.stdout
    assert not (tmp_path / "other").exists()


@pytest.mark.slow
def test_configuration_enables_disables_and_excludes(guide: Path) -> None:
    (guide / ".migration-gate.yaml").write_text(
        "rules:\n  prefer-text-field: warning\n  prefer-robust-stmts: 'off'\n"
        "  adding-not-nullable-field: error\n"
        "exclude:\n  - migrations/V2__*\n",
        encoding="utf-8",
    )
    done = gate(guide, "lint", "migrations")
    found = findings(done.stdout)
    assert ("V3__add_phone.sql", 2, "prefer-text-field", "warning") in found
    assert ("V3__add_phone.sql", 3, "adding-not-nullable-field", "error") in found
    assert not any(rule == "prefer-robust-stmts" for *_, rule, _ in found)
    assert not any(name.startswith("V2__") for name, *_ in found)
    assert done.returncode == 1


@pytest.mark.slow
def test_dialect_from_refinery_toml_and_flag_override(tmp_path: Path) -> None:
    (tmp_path / "refinery.toml").write_text('[main]\ndb_type = "Mysql"\n', encoding="utf-8")
    migration = tmp_path / "V1__two_ddl.sql"
    migration.write_text("CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n", encoding="utf-8")
    mysql = gate(tmp_path, "lint", "V1__two_ddl.sql")
    assert "mysql-non-transactional-ddl" in mysql.stdout
    postgres = gate(tmp_path, "lint", "--dialect", "postgres", "V1__two_ddl.sql")
    assert "mysql-non-transactional-ddl" not in postgres.stdout
    assert "prefer-robust-stmts" in postgres.stdout


@pytest.mark.slow
def test_rules_command_documents_sql_rules(tmp_path: Path) -> None:
    table = gate(tmp_path, "rules")
    assert re.search(r"^require-concurrent-index-creation\s+warning\s+`CREATE INDEX`",
                     table.stdout, re.MULTILINE)
    assert re.search(r"^prefer-text-field\s+off\s+", table.stdout, re.MULTILINE)
    assert re.search(r"^unused-ignore\s+warning\s+", table.stdout, re.MULTILINE)
    one = gate(tmp_path, "rules", "require-concurrent-index-creation")
    assert one.returncode == 0
    assert "SHARE lock" in one.stdout and "outside refinery" in one.stdout
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS" in one.stdout
    assert "Use instead:" in one.stdout


# --- bad input --------------------------------------------------------------------------------


def test_non_utf8_binary_and_empty_files_are_findings(tmp_path: Path) -> None:
    (tmp_path / "latin1.sql").write_bytes("SELECT 'Café';\n".encode("latin-1"))
    (tmp_path / "binary.sql").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "empty.sql").write_bytes(b"")
    (tmp_path / "comments.sql").write_text("-- nothing yet\n/* todo */\n;\n", encoding="utf-8")
    done = gate(tmp_path, "lint", "latin1.sql", "binary.sql", "empty.sql", "comments.sql")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    found = findings(done.stdout)
    assert ("latin1.sql", 1, "non-utf8-migration", "error") in found
    assert ("binary.sql", 1, "non-utf8-migration", "error") in found
    assert ("empty.sql", 1, "empty-migration", "warning") in found
    assert ("comments.sql", 1, "empty-migration", "warning") in found


def test_missing_path_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = gate(tmp_path, "lint", "nope.sql")
    assert done.returncode == 2
    assert done.stderr.strip() == "migration-gate: error: file not found: nope.sql"
    assert done.stdout == ""
    assert gate(tmp_path, "lint").returncode == 2


@pytest.mark.slow
def test_a_20_mb_file_is_linted_without_hanging(tmp_path: Path) -> None:
    dump = "INSERT INTO events (id, payload) VALUES (1, 'x;y');\n" * 400_000
    text = "CREATE INDEX CONCURRENTLY i ON events (id);\n" + dump
    assert len(text) > 20_000_000
    (tmp_path / "V1__dump.sql").write_text(text, encoding="utf-8")
    done = gate(tmp_path, "lint", "--no-cache", "V1__dump.sql")
    assert done.returncode == 1, done.stderr
    found = findings(done.stdout)
    assert ("V1__dump.sql", 1, "ban-concurrent-index-creation-in-transaction", "error") in found
    assert ("V1__dump.sql", 1, "syntax-error", "warning") in found
    assert "not parsed with sqlglot" in done.stdout


def test_sqlglot_fallback_warnings_never_reach_the_terminal(tmp_path: Path) -> None:
    (tmp_path / "V1__fallbacks.sql").write_text(
        "SET LOCAL lock_timeout = '1s';\n"
        "ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX u_idx;\n"
        "REINDEX TABLE t;\nRESET work_mem;\nSELECT * FROM WHERE;\n",
        encoding="utf-8",
    )
    done = gate(tmp_path, "lint", "--no-cache", "V1__fallbacks.sql")
    assert done.stderr == ""
    found = findings(done.stdout)
    assert ("V1__fallbacks.sql", 3, "require-concurrent-reindex", "warning") in found
    assert ("V1__fallbacks.sql", 5, "syntax-error", "warning") in found
    assert not any(line == 2 for _name, line, _rule, _sev in found)


def test_ignoring_a_database_rule_is_not_reported_unused(tmp_path: Path) -> None:
    """`lock-observed` is judged by the replay; the SQL stage cannot call its ignore unused."""
    migration = tmp_path / "V1__alter.sql"
    migration.write_text(
        "-- migration-gate: ignore lock-observed, not-a-rule\n"
        "ALTER TABLE IF EXISTS users ADD COLUMN IF NOT EXISTS bio text;\n"
    )
    done = run_gate("lint", "--format", "json", str(migration), cwd=tmp_path)
    findings = json.loads(done.stdout)["diagnostics"]
    unused = [d for d in findings if d["rule"] == "unused-ignore"]
    assert len(unused) == 1, findings
    assert "not-a-rule" in unused[0]["message"]
