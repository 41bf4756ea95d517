"""The embedded cluster: it runs as an unprivileged user, and nothing outlives the gate --
not after success, not after SIGTERM or Ctrl-C, not even after SIGKILL."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from migration_gate.diagnostics import GateError
from migration_gate.ephemeral import postgres
from migration_gate.ephemeral.pgcache import MANIFEST
from migration_gate.ephemeral.postgres import Binaries, Cluster
from tests.conftest import clean_env, make_repo, seed_migrations
from tests.gate_process import wait_for
from tests.pgserver_fixture import gate_env


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def server_processes(marker: str) -> list[int]:
    """The postmasters whose command line names `marker` (a gate's cluster folder), and their
    children (backends rename themselves, so they are found by parent)."""
    pids = [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()]
    masters = [pid for pid in pids if marker in _cmdline(pid) and "postgres" in _cmdline(pid)]
    children = [pid for pid in pids if _parent(pid) in masters]
    return masters + children


def still_running(pids: list[int]) -> list[int]:
    """Those of `pids` that are still PostgreSQL processes (not gone, not zombies)."""
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and "postgres" in _cmdline(pid):
            alive.append(pid)
    return alive


def start_slow_replay(tmp_path: Path, cache: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A gate replaying a migration that sleeps; returns it once its server runs the sleep."""
    repo = make_repo(tmp_path / "repo")
    seed_migrations(repo, 2)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V003__slow.sql", "SELECT pg_sleep(60);\n")
    gate = subprocess.Popen(
        [sys.executable, "-m", "migration_gate", "check", "--base", "main", "--verify"],
        cwd=repo.path, env=clean_env(gate_env(cache)), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    marker = f"{postgres.WORKDIR_PREFIX}{gate.pid}-"
    sleeping = wait_for(lambda: any("SELECT" in _cmdline(pid)
                                    for pid in server_processes(marker)))
    if not sleeping:
        gate.kill()
        gate.wait()
        raise AssertionError(f"the replay never reached pg_sleep: {gate.stderr}")
    return gate, marker


@pytest.mark.slow
def test_sigkill_of_the_gate_leaves_no_server(tmp_path: Path, gate_cache: Path,
                                              pg_binaries: Binaries) -> None:
    gate, marker = start_slow_replay(tmp_path, gate_cache)
    servers = server_processes(marker)
    assert len(servers) >= 3  # postmaster, the busy backend, background workers
    gate.send_signal(signal.SIGKILL)
    gate.wait()
    assert wait_for(lambda: not still_running(servers), timeout=15), still_running(servers)
    # the folder a killed gate could not delete is swept by the next run (perhaps already
    # by a gate of another test)
    postgres.sweep_stale_workdirs(postgres.fast_temp_root())
    assert not [p for p in postgres.fast_temp_root().iterdir() if p.name.startswith(marker)]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_stop_and_delete_the_cluster(
    tmp_path: Path, gate_cache: Path, pg_binaries: Binaries, signum: int,
) -> None:
    gate, marker = start_slow_replay(tmp_path, gate_cache)
    servers = server_processes(marker)
    gate.send_signal(signum)
    try:
        gate.wait(timeout=20)
    finally:
        if gate.poll() is None:
            gate.kill()
    assert gate.returncode in (128 + signum, 130), gate.returncode
    assert gate.stderr is not None and b"Traceback" not in gate.stderr.read()
    assert not still_running(servers)
    assert not [p for p in postgres.fast_temp_root().iterdir() if p.name.startswith(marker)]


@pytest.mark.slow
def test_success_leaves_nothing(tmp_path: Path, pg_binaries: Binaries, gate_cache: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    seed_migrations(repo, 2)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V003__slow.sql", "SELECT pg_sleep(0.5);\n")
    gate = subprocess.Popen(
        [sys.executable, "-m", "migration_gate", "check", "--base", "main", "--verify"],
        cwd=repo.path, env=clean_env(gate_env(gate_cache)), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    # this gate's own cluster folder (its pid is in the name): never another gate's server
    marker = f"{postgres.WORKDIR_PREFIX}{gate.pid}-"
    seen = wait_for(lambda: bool(server_processes(marker)))
    out, err = gate.communicate(timeout=120)
    assert gate.returncode == 0, out + err
    assert seen, "the gate's server was never seen"
    assert not server_processes(marker)
    assert not [p for p in postgres.fast_temp_root().iterdir() if p.name.startswith(marker)]


def test_server_runs_unprivileged_when_root(pg_cluster: Cluster) -> None:
    if os.geteuid() != 0:
        pytest.skip("only meaningful as root")
    assert pg_cluster.process is not None
    status = Path(f"/proc/{pg_cluster.process.pid}/status").read_text()
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    assert all(int(uid) != 0 for uid in uid_line.split()[1:])
    with pg_cluster.connect() as connection:
        assert connection.execute("SELECT current_setting('fsync')").fetchone() == ("off",)
        assert connection.execute("SELECT current_setting('listen_addresses')").fetchone() == ("",)


def test_sweep_keeps_folders_of_live_gates(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"{postgres.WORKDIR_PREFIX}{dead.pid}-abc"
    live = tmp_path / f"{postgres.WORKDIR_PREFIX}{os.getpid()}-def"
    other = tmp_path / "unrelated-123"
    for folder in (stale, live, other):
        (folder / "data").mkdir(parents=True)
    postgres.sweep_stale_workdirs(tmp_path)
    assert not stale.exists() and live.exists() and other.exists()


def test_binaries_search_order(tmp_path: Path) -> None:
    places = [origin for origin, _ in postgres.candidate_bindirs(None)]
    assert places.index("/usr/lib/postgresql") < places.index("pgserver") if (
        "/usr/lib/postgresql" in places and "pgserver" in places) else True
    with pytest.raises(GateError, match="pip install 'migration-gate\\[postgres\\]'"):
        postgres.find_binaries(str(tmp_path))


def _reachable_by(path: Path, uid: int | None, gid: int | None) -> bool:
    """Whether a user can reach `path`: every folder above it lets that user through."""
    if uid is None:
        return True
    for folder in path.resolve().parents:
        mode = folder.stat()
        if mode.st_uid == uid:
            allowed = mode.st_mode & stat.S_IXUSR
        elif mode.st_gid == gid:
            allowed = mode.st_mode & stat.S_IXGRP
        else:
            allowed = mode.st_mode & stat.S_IXOTH
        if not allowed:
            return False
    return True


@pytest.mark.slow
def test_pgserver_wheel_binaries_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = postgres._pgserver_bindir()
    if wheel is None or not (wheel / "postgres").exists():
        pytest.skip("the pgserver wheel is not installed")
    run_as = postgres.server_user()
    if not _reachable_by(wheel, run_as.uid, run_as.gid):
        pytest.skip(f"as root the server runs as uid {run_as.uid}, which cannot reach the "
                    f"wheel's binaries in {wheel} (a folder above them is private)")
    monkeypatch.setenv("MIGRATION_GATE_CACHE_DIR", str(tmp_path / "cache"))
    binaries = postgres.find_binaries(str(wheel))
    with postgres.running_cluster(binaries) as cluster, cluster.connect() as connection:
        (version,) = connection.execute("SHOW server_version_num").fetchone()
    assert int(version) // 10000 == binaries.major
    assert not server_processes(str(cluster.workdir))
    assert not cluster.workdir.exists()


@pytest.mark.slow  # initdb in a cache of its own
def test_a_cold_start_stores_initdb_s_folder_as_the_template(
        tmp_path: Path, pg_binaries: Binaries, monkeypatch: pytest.MonkeyPatch) -> None:
    """The template is saved by a thread while the server already runs (from a copy made
    before it started): by the time the cluster is gone it is stored, whole, and it is
    initdb's folder -- nothing the server wrote since."""
    monkeypatch.setenv("MIGRATION_GATE_CACHE_DIR", str(tmp_path / "cache"))
    with postgres.running_cluster(pg_binaries) as cluster, cluster.connect() as connection:
        assert cluster.origin is None  # initdb
        connection.execute("CREATE TABLE written_after_initdb (id int)")
    template = postgres.template_path(pg_binaries)
    assert (template / MANIFEST).is_file()
    assert not cluster.workdir.exists()
    with postgres.running_cluster(pg_binaries) as again, again.connect() as connection:
        assert again.origin == template
        found = connection.execute("SELECT to_regclass('written_after_initdb')").fetchone()
    assert found == (None,)
