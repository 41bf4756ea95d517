"""One cause, one finding: `migration_gate.merge` over real lint findings and the replay's
finding texts, the report order, and the folded findings kept in JSON and SARIF."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from migration_gate.diagnostics import (
    Diagnostic,
    Evidence,
    FailureEvidence,
    LockEvidence,
    Related,
    RewriteEvidence,
    Severity,
)
from migration_gate.ephemeral.postgres import Binaries
from migration_gate.merge import UNPREDICTED, merge, natural_key, report_order
from migration_gate.pipeline import Result
from migration_gate.report import ReportOptions, sarif, text
from migration_gate.report import json as json_report
from migration_gate.sql.lint import lint_text
from tests.conftest import make_repo, seed_migrations
from tests.pgserver_fixture import gate_env

W, E = Severity.WARNING, Severity.ERROR
TYPE_CHANGE = "SET LOCAL lock_timeout = '5s';\nALTER TABLE orders ALTER COLUMN status TYPE text;\n"


def observed(rule: str, path: str, line: int, end_line: int, message: str,
             evidence: Evidence) -> Diagnostic:
    """A replay finding as dbcheck words it, spanning its statement, with its observation."""
    return Diagnostic(rule, W if rule != "migration-failed" else E, path, message, line, 1,
                      end_line, 60, hint="set lock_timeout, or use an online variant",
                      evidence=evidence)


LOCK = ("`ALTER TABLE orders ALTER COLUMN status TYPE text` took an ACCESS EXCLUSIVE lock on "
        "table orders (blocks every read and write of it until the migration commits)")
REWRITE = ("`ALTER TABLE orders ALTER COLUMN status TYPE text` rewrote table orders and its "
           "indexes (orders_pkey): every row is copied under an ACCESS EXCLUSIVE lock")
ORDERS_LOCK = LockEvidence("ACCESS EXCLUSIVE", "table", "orders")
ORDERS_REWRITE = RewriteEvidence("table", "orders", ("orders_pkey",))


def test_a_confirmed_prediction_is_one_finding_with_the_evidence() -> None:
    path = "migrations/V2__type.sql"
    static = lint_text(TYPE_CHANGE, path)
    found = merge([*static, observed("lock-observed", path, 2, 2, LOCK, ORDERS_LOCK),
                   observed("rewrite-observed", path, 2, 2, REWRITE, ORDERS_REWRITE)],
                  {path: TYPE_CHANGE})
    rules = [d.rule for d in found]
    assert rules.count("changing-column-type") == 1
    assert "lock-observed" not in rules and "rewrite-observed" not in rules
    (change,) = [d for d in found if d.rule == "changing-column-type"]
    assert "observed: ACCESS EXCLUSIVE lock on table orders, under the lock_timeout" in \
        change.message
    assert "rewrote table orders and its indexes (orders_pkey)" in change.message
    assert [r.rule for r in change.related] == ["lock-observed", "rewrite-observed"]
    assert (change.line, change.column) == (2, 45)  # the new type, not the statement


def test_the_evidence_is_read_from_the_observation_not_from_the_message() -> None:
    """A table named `orders (old)`: words parsed back out of the message would stop at its
    parenthesis; the observation carried as data cannot be misread."""
    path = "migrations/V2__type.sql"
    sql = TYPE_CHANGE.replace("orders", '"orders (old)"')
    lock = observed("lock-observed", path, 2, 2, LOCK.replace("orders", '"orders (old)"'),
                    LockEvidence("ACCESS EXCLUSIVE", "table", '"orders (old)"'))
    (change,) = [d for d in merge([*lint_text(sql, path), lock], {path: sql})
                 if d.rule == "changing-column-type"]
    assert 'observed: ACCESS EXCLUSIVE lock on table "orders (old)", under the' in change.message


def test_a_lock_under_lock_timeout_that_no_rule_predicted_is_not_reported() -> None:
    sql = "SET LOCAL lock_timeout = '2s';\nALTER TABLE users ADD COLUMN n int DEFAULT 0;\n"
    path = "migrations/V3__n.sql"
    lock = observed("lock-observed", path, 2, 2, "`ALTER TABLE users ADD COLUMN n int "
                    "DEFAULT 0` took an ACCESS EXCLUSIVE lock on table users (blocks ...)",
                    LockEvidence("ACCESS EXCLUSIVE", "table", "users"))
    found = merge([*lint_text(sql, path), lock], {path: sql})
    assert [d for d in found if "lock" in d.rule or "lock" in d.message.lower()] == []


def test_without_lock_timeout_an_unpredicted_lock_stays_and_says_so() -> None:
    # a function that locks a table: no static rule can see into it
    sql = "SELECT archive_old_users();\n"
    path = "migrations/V4__p.sql"
    lock = observed("lock-observed", path, 1, 1, "`SELECT archive_old_users()` took an ACCESS "
                    "EXCLUSIVE lock on table users (blocks every read and write of it ...)",
                    LockEvidence("ACCESS EXCLUSIVE", "table", "users"))
    (kept,) = [d for d in merge([*lint_text(sql, path), lock], {path: sql})
               if d.rule == "lock-observed"]
    assert kept.message.endswith(f"({UNPREDICTED})")


def test_a_failure_a_static_error_explains_is_folded_into_it() -> None:
    sql = "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);\n"
    path = "migrations/V5__i.sql"
    failure = observed("migration-failed", path, 1, 1, "V5__i fails: CREATE INDEX CONCURRENTLY "
                       "cannot run inside a transaction block (SQLSTATE 25001)",
                       FailureEvidence("CREATE INDEX CONCURRENTLY cannot run inside a "
                                       "transaction block (SQLSTATE 25001)", "25001"))
    found = merge([*lint_text(sql, path), failure], {path: sql})
    assert [d.rule for d in found] == ["ban-concurrent-index-creation-in-transaction"]
    assert "the replay fails: CREATE INDEX CONCURRENTLY cannot run" in found[0].message
    assert found[0].related[0].rule == "migration-failed"


def test_a_failure_after_a_text_hazard_is_folded_into_the_hazard() -> None:
    sql = "CREATE TABLE IF NOT EXISTS a (x text DEFAULT 'oops);\nSELECT 1;\n"
    path = "migrations/V6__a.sql"
    static = lint_text(sql, path)
    assert any(d.rule == "unterminated-string" for d in static)
    failure = observed("migration-failed", path, 1, 2, "V6__a fails: unterminated quoted string",
                       FailureEvidence("unterminated quoted string"))
    found = merge([*static, failure], {path: sql})
    assert "migration-failed" not in [d.rule for d in found]
    (hazard,) = [d for d in found if d.rule == "unterminated-string"]
    assert hazard.related[0].rule == "migration-failed"


def test_modified_migration_absorbs_the_divergent_verdict_and_duplicates_are_one() -> None:
    path = "migrations/V1__users.sql"
    modified = Diagnostic("modified-migration", E, path, "V1__users.sql changed", 3)
    divergent = Diagnostic("refinery-divergent", E, path, "applied migration V1__users is "
                           "different than filesystem one V1__users")
    message = "version 8 is used by 2 files (migrations/V8__a.sql, migrations/V8__b.sql)"
    dup_a = Diagnostic("duplicate-version", E, "migrations/V8__a.sql", message)
    dup_b = Diagnostic("duplicate-version", E, "migrations/V8__b.sql", message,
                       hint="rename to V9__b.sql")
    found = merge([modified, divergent, dup_a, dup_b], {})
    assert [d.rule for d in found] == ["modified-migration", "duplicate-version"]
    assert found[0].related == (Related("refinery-divergent", path, 1, divergent.message),)
    assert found[1].path == "migrations/V8__b.sql" and found[1].hint == "rename to V9__b.sql"
    assert found[1].related[0].path == "migrations/V8__a.sql"


def test_report_order_is_by_version_with_errors_first() -> None:
    names = ["V10__x.sql", "V19__x.sql", "V1__x.sql", "V2__x.sql", "V20__x.sql"]
    found = [Diagnostic("r", W, f"m/{name}", "w", 1) for name in names]
    found.append(Diagnostic("e", E, "m/V10__x.sql", "e", 9))
    ordered = [(d.path.removeprefix("m/"), d.rule) for d in report_order(found)]
    assert ordered == [("V1__x.sql", "r"), ("V2__x.sql", "r"), ("V10__x.sql", "e"),
                       ("V10__x.sql", "r"), ("V19__x.sql", "r"), ("V20__x.sql", "r")]
    assert natural_key("V002") < natural_key("V10")


def test_json_and_sarif_keep_the_folded_findings(tmp_path: Path) -> None:
    related = (Related("lock-observed", "m/V2__t.sql", 2, "took a lock"),)
    diagnostic = Diagnostic("changing-column-type", W, "m/V2__t.sql", "m", 2, 45, 2, 48,
                            related=related)
    result = Result((diagnostic,), files_checked=1)
    options = ReportOptions(root=tmp_path)
    document = json.loads(json_report.render(result, options))
    assert document["diagnostics"][0]["related"] == [
        {"rule": "lock-observed", "path": "m/V2__t.sql", "line": 2, "column": 1,
         "message": "took a lock"}]
    assert json_report.parse(json_report.render(result, options), "x").result == result
    (location,) = sarif.document(result, options)["runs"][0]["results"][0]["relatedLocations"]
    assert location["physicalLocation"]["region"] == {"startLine": 2, "startColumn": 1}
    assert location["message"]["text"] == "lock-observed: took a lock"
    assert "lock-observed" not in text.render(result, options)  # one line per finding


def test_text_excerpts_are_bounded_and_escaped(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    line = "ALTER TABLE t ALTER COLUMN c TYPE text; -- \x1b[31mred\x07" + "x" * 300
    (tmp_path / "m" / "V1__t.sql").write_text(line + "\n", encoding="utf-8")
    diagnostic = Diagnostic("changing-column-type", W, "m/V1__t.sql", "m", 1, 35, 1, 38)
    out = text.render(Result((diagnostic,), 1), ReportOptions(root=tmp_path))
    assert "\x1b" not in out and "\x07" not in out and "\\x1b[31mred\\x07" in out
    source = next(row for row in out.splitlines() if row.startswith("  1 | "))
    assert len(source) <= text.MAX_WIDTH + 10 and source.endswith("...")
    carets = out.splitlines()[out.splitlines().index(source) + 1]
    assert carets.index("^") == source.index("text;") and carets.count("^") == 4
    assert out.rstrip().endswith("1 warning in 1 file (1 checked).")


@pytest.mark.postgres
def test_set_local_lock_timeout_then_add_column_default_prints_nothing_about_locks(
    tmp_path: Path, gate_cache: Path, pg_binaries: Binaries,
) -> None:
    repo = make_repo(tmp_path / "repo")
    seed_migrations(repo, 3)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V004__add_flag.sql",
               "SET LOCAL lock_timeout = '2s';\n"
               "ALTER TABLE table_1 ADD COLUMN IF NOT EXISTS flag integer DEFAULT 0;\n")
    done: subprocess.CompletedProcess[str] = repo.gate(
        "check", "--base", "main", "--verify", env={**gate_env(gate_cache), "NO_COLOR": "1"})
    assert "replayed 3 base migrations" in done.stdout, done.stdout + done.stderr
    assert "lock" not in done.stdout.replace("lock_timeout", ""), done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
