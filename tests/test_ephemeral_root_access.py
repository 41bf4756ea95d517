"""As root, the gate runs PostgreSQL as an unprivileged user, and binaries that user cannot
reach are passed over or named, never a bare "Permission denied".

Origin: a run as root with the `pgserver` wheel's binaries in a virtual environment under a
0700 home folder failed with "the throwaway database failed: Permission denied" -- root
found the binaries, the server's user could not execute them. Real folders, real binaries,
real CLI; only meaningful as root (skipped otherwise)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migration_gate.ephemeral.pgbinaries import closed_to_server
from tests.test_db_check import branch_repo

pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                                reason="the server's user is only switched as root")


@pytest.fixture
def locked(pg_binaries: Any) -> Iterator[Path]:
    """A 0700 folder (under /tmp, whose other folders are open) holding `bin`, a link to the
    real server binaries."""
    folder = Path(tempfile.mkdtemp(prefix="mg-locked-", dir="/tmp"))
    try:
        os.symlink(pg_binaries.bin_dir, folder / "bin")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_the_closed_folder_is_named_until_it_is_opened(locked: Path) -> None:
    why = closed_to_server(locked / "bin")
    assert why is not None
    assert f"{locked} is closed to it (mode 700)" in why
    assert f"chmod o+x {locked}" in why
    locked.chmod(0o711)
    assert closed_to_server(locked / "bin") is None


def test_configured_binaries_the_server_user_cannot_run_are_one_clear_line(
    tmp_path: Path, locked: Path,
) -> None:
    repo = branch_repo(tmp_path / "repo", {"migrations/V008__x.sql": "SELECT 1;\n"})
    config = repo.write(".migration-gate.yaml", f"postgres:\n  bin-dir: {locked / 'bin'}\n")
    env = {"MIGRATION_GATE_CACHE_DIR": str(tmp_path / "cache")}

    explicit = repo.gate("check", "--base", "main", "--verify", "--config", str(config),
                         env=env)
    assert explicit.returncode == 2, explicit.stdout + explicit.stderr
    (line,) = explicit.stderr.strip().splitlines()
    assert line.startswith("migration-gate: error: the PostgreSQL binaries in ")
    assert f"{locked} is closed to it" in line and f"chmod o+x {locked}" in line
    assert "Permission denied" not in line

    auto = repo.gate("check", "--base", "main", "--config", str(config), env=env)
    assert auto.returncode == 0, auto.stdout + auto.stderr
    assert "replay-skipped" in auto.stdout and f"chmod o+x {locked}" in auto.stdout
    assert "Traceback" not in auto.stderr
