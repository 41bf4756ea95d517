"""The README's first command: the example project, as a new user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import clean_env, run_gate

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _postgres_processes() -> int:
    done = subprocess.run(["pgrep", "-c", "-x", "postgres"], capture_output=True, text=True)
    return int(done.stdout.strip() or 0)


@pytest.mark.postgres
def test_demo_reports_every_planted_problem_and_leaves_no_server() -> None:
    before = _postgres_processes()
    env = clean_env({"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                     "NO_COLOR": "1"})
    done = subprocess.run(["sh", str(EXAMPLES / "demo.sh")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    out = done.stdout
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    # the folder rule, with the fix
    assert "migrations/V13-add-audit-log.sql:1:1 invalid-filename error" in out
    assert "rename to V013__add_audit_log.sql" in out
    # the SQL rule and the real failure, both at V012's line 3
    assert ("migrations/V012__index_orders_created_at.sql:3:1 "
            "ban-concurrent-index-creation-in-transaction error") in out
    assert "migrations/V012__index_orders_created_at.sql:3:1 migration-failed error" in out
    assert "SQLSTATE 25001" in out
    # what the replay observed on tables that existed before the branch
    assert "V010__add_users_phone.sql:1:1 lock-observed" in out
    assert "ACCESS EXCLUSIVE lock on table users" in out
    assert "V011__widen_order_status.sql:4:1 rewrite-observed" in out
    # the clean migration adds no SQL-rule finding
    assert "V009__create_user_profiles.sql:2:1 prefer-robust-stmts" not in out
    assert _postgres_processes() == before


def test_check_in_the_example_project_is_clean() -> None:
    """What production already ran passes; `check` finds the project from its own folder."""
    done = run_gate("check", "--all", "--no-verify", "--format", "json", cwd=EXAMPLES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"errors": 0' in done.stdout
