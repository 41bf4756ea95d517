"""The README's first command: the example project, as a new user runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import clean_env, run_gate
from tests.test_db_cluster import server_processes, still_running

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def server_tmpdir() -> Iterator[Path]:
    """A TMPDIR of the test's own, where the gate makes its cluster folder: the servers this
    test starts are exactly those whose command line names it, whatever other PostgreSQL runs
    on the machine. Under the system's temporary folder and traversable, because as root the
    server runs as an unprivileged user (pytest's tmp_path is private to its owner)."""
    folder = Path(tempfile.mkdtemp(prefix="mg-demo-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_watching_servers(command: list[str], env: dict[str, str], folder: Path,
                         logs: Path) -> tuple[int, str, str, set[int]]:
    """Run `command` to the end; also return every server process seen serving `folder`."""
    seen: set[int] = set()
    with (logs / "stdout").open("w") as out, (logs / "stderr").open("w") as err:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
        deadline = time.monotonic() + 300
        while process.poll() is None and time.monotonic() < deadline:
            seen.update(server_processes(str(folder)))
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
        process.wait()
    return (process.returncode, (logs / "stdout").read_text(), (logs / "stderr").read_text(),
            seen)


@pytest.mark.slow
@pytest.mark.postgres
def test_demo_reports_every_planted_problem_and_leaves_no_server(
    server_tmpdir: Path, tmp_path: Path, pg_binaries: Any,
) -> None:
    env = clean_env({"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                     "NO_COLOR": "1", "TMPDIR": str(server_tmpdir)})
    returncode, out, err, servers = run_watching_servers(
        ["sh", str(EXAMPLES / "demo.sh")], env, server_tmpdir, tmp_path)
    assert returncode == 1, err
    assert "Traceback" not in err
    # the folder rule, with the fix
    assert "migrations/V13-add-audit-log.sql:1:1 invalid-filename error" in out
    assert "rename to V013__add_audit_log.sql" in out
    # the run says what it compared and replayed
    assert "with refinery, base main (merge-base " in out
    assert "replayed 8 base migrations, then the branch (5 new or changed)" in out
    # one finding per cause: the SQL rule carries the replay's failure as its evidence
    concurrent = ("migrations/V012__index_orders_created_at.sql:3:14 "
                  "ban-concurrent-index-creation-in-transaction error")
    assert concurrent in out
    assert "migration-failed" not in out
    assert "observed: the replay fails: CREATE INDEX CONCURRENTLY" in out
    assert "SQLSTATE 25001" in out
    # ... and shows its source line, the keyword underlined
    block = out.split(concurrent)[1].split("\n\n")[0]
    assert "  3 | CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_created_at_idx" in block
    assert "\n    |              ^^^^^^^^^^^^\n" in block
    # the lock the static rule predicted is its evidence, not a finding of its own
    assert "V010__add_users_phone.sql:1:1 require-lock-timeout" in out
    assert "(observed: ACCESS EXCLUSIVE lock on table users)" in out
    assert "V010__add_users_phone.sql:1:1 lock-observed" not in out
    # the type change: one finding with the lock (bounded by lock_timeout) and the rewrite
    assert "V011__widen_order_status.sql:4:45 changing-column-type" in out
    assert "under the lock_timeout set earlier in the file; rewrote table orders" in out
    assert "rewrite-observed" not in out
    # the foreign key's lock on the existing `users` is predicted too (require-lock-timeout
    # reads the lock table), so it is that finding's evidence, not a finding of its own
    assert "V009__create_user_profiles.sql:2:1 require-lock-timeout" in out
    assert "(observed: SHARE ROW EXCLUSIVE lock on table users)" in out
    assert "V009__create_user_profiles.sql:2:1 lock-observed" not in out
    # the clean migration adds no SQL-rule finding
    assert "V009__create_user_profiles.sql:2:1 prefer-robust-stmts" not in out
    # files in version order (V13 after V012), errors first within a file; the count
    order = [out.index(f"migrations/{name}") for name in (
        "V009__create_user_profiles.sql:", "V010__add_users_phone.sql:",
        "V011__widen_order_status.sql:", "V012__index_orders_created_at.sql:",
        "V13-add-audit-log.sql:")]
    assert order == sorted(order)
    assert "2 errors, 6 warnings in 5 files (13 checked)." in out
    # the replay's server ran in the test's folder, and nothing of it is left: no process,
    # no folder (nor the demo's repository)
    assert servers, "no PostgreSQL server was seen in the test's TMPDIR"
    assert not still_running(sorted(servers))
    assert not server_processes(str(server_tmpdir))
    assert list(server_tmpdir.iterdir()) == []


@pytest.mark.slow
def test_check_in_the_example_project_is_clean() -> None:
    """What production already ran passes; `check` finds the project from its own folder."""
    done = run_gate("check", "--all", "--no-verify", "--format", "json", cwd=EXAMPLES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"errors": 0' in done.stdout
