"""MySQL/MariaDB server mode cannot hang and leaves nothing behind: `replay.timeout` stops a
sleeping migration (MariaDB's `KILL QUERY` even ends SLEEP() without an error), and SIGTERM or
Ctrl-C drops the throwaway database. A real MariaDB started by the tests, the real CLI."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import clean_env
from tests.gate_process import assert_stopped_by, interrupt_gate, wait_for
from tests.mariadb_fixture import MariaDbServer
from tests.test_db_mysql import branch_repo, databases, findings

LIMIT = 90


def sleeping(server: MariaDbServer) -> bool:
    rows = server.query("SELECT COUNT(*) FROM information_schema.processlist "
                        "WHERE db LIKE 'migration\\_gate\\_%' AND info LIKE '%SLEEP(%'")
    return bool(rows and rows[0][0])


@pytest.mark.slow
def test_the_replay_timeout_stops_a_sleeping_migration(tmp_path: Path,
                                                       mariadb_server: MariaDbServer) -> None:
    repo = branch_repo(tmp_path / "repo", {
        "migrations/V004__sleep.sql": "CREATE TABLE t4 (id int);\nSELECT SLEEP(1000);\n",
    })
    repo.write(".migration-gate.yaml", "replay:\n  timeout: 6\n")
    before = databases(mariadb_server)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "migration_gate", "verify", "--base", "main", "--format",
         "json", "--database-url", mariadb_server.url()],
        cwd=repo.path, env=clean_env(), capture_output=True, text=True, timeout=LIMIT,
    )
    assert time.monotonic() - started < 6 + 30
    assert done.returncode == 1, done.stdout + done.stderr
    (failure,) = findings(done, "migration-failed")
    assert failure["line"] == 2
    assert "the replay did not finish within replay.timeout (6 s)" in failure["message"]
    assert wait_for(lambda: databases(mariadb_server) == before, timeout=10)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_drops_the_throwaway_database(tmp_path: Path, mariadb_server: MariaDbServer,
                                               signum: int) -> None:
    repo = branch_repo(tmp_path / "repo", {"migrations/V004__sleep.sql": "SELECT SLEEP(60);\n"})
    before = databases(mariadb_server)
    gate = interrupt_gate(["verify", "--base", "main", "--database-url", mariadb_server.url()],
                          cwd=repo.path, env=clean_env(), ready=lambda _: sleeping(mariadb_server),
                          signum=signum, limit=LIMIT)
    assert_stopped_by(gate, signum)
    assert databases(mariadb_server) == before
