"""Nothing is left behind: throwaway databases on the user's server after SIGTERM or Ctrl-C (and
those a SIGKILLed gate left are swept by the next run), shared memory after a SIGTERM during
initdb, a git worktree after Ctrl-C in the pre-push hook. Real servers, real signals."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migration_gate.ephemeral import leftovers, processes
from tests.conftest import CHECKOUT, Repo, clean_env, make_repo, seed_migrations
from tests.gate_process import assert_stopped_by, interrupt_gate, wait_for
from tests.pgserver_fixture import gate_env, pg_url
from tests.test_db_check import branch_repo, databases
from tests.test_db_cluster import _cmdline, _parent

#: Every wait of these tests ends; a hang is a failure, never a stuck suite.
LIMIT = 60


def throwaways(cluster: Any) -> set[str]:
    return {name for name in databases(cluster) if name.startswith(leftovers.PREFIX)}


def sleeping_in(cluster: Any, prefix: str) -> bool:
    """Whether a backend in a database named `prefix...` runs pg_sleep."""
    with cluster.connect() as connection:
        rows = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE %s AND query LIKE %s",
            (prefix.replace("_", "\\_") + "%", "%pg_sleep%"),
        ).fetchone()
    return bool(rows and rows[0])


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_server_mode_replay_drops_the_throwaway_database(
    tmp_path: Path, pg_cluster: Any, pg_dbname: str, gate_cache: Path, signum: int,
) -> None:
    repo = branch_repo(tmp_path / "repo", {"migrations/V003__slow.sql": "SELECT pg_sleep(60);\n"},
                       base_count=2)
    before = databases(pg_cluster)

    def made_one() -> None:
        assert throwaways(pg_cluster) - before

    gate = interrupt_gate(
        ["check", "--base", "main", "--database-url", pg_url(pg_cluster, pg_dbname)],
        cwd=repo.path, env=clean_env(gate_env(gate_cache)), signum=signum, limit=LIMIT,
        ready=lambda pid: sleeping_in(pg_cluster, f"{leftovers.PREFIX}{pid}_"),
        before_signal=made_one)
    assert_stopped_by(gate, signum)
    assert databases(pg_cluster) == before


@pytest.fixture
def planted(pg_cluster: Any) -> Iterator[dict[str, str]]:
    """Databases as earlier gates (and others) could have left them, dropped afterwards."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    now, host, alive = int(time.time()), leftovers.this_host(), os.getpid()
    old = now - leftovers.STALE_AFTER - 600

    def made(pid: int, created: int, marker_host: str | None = host) -> tuple[str, str | None]:
        made = leftovers.Throwaway(pid, created, marker_host or "", os.urandom(4).hex())
        return made.name, made.marker if marker_host is not None else None

    plan: dict[str, tuple[str, str | None]] = {
        "stale": made(dead.pid, old),
        "stale_elsewhere": made(alive, old, "another-host"),
        "fresh": made(dead.pid, now - 60),
        "owner_alive": made(alive, old),
        "unmarked": made(dead.pid, old, None),
        "marker_disagrees": (made(dead.pid, old)[0], made(dead.pid + 1, old)[1]),
        "old_style": (f"{leftovers.PREFIX}{os.urandom(6).hex()}", None),
        "foreign": ("myapp_test", None),
    }
    with pg_cluster.connect() as admin:
        for name, marker in plan.values():
            admin.execute(f'CREATE DATABASE "{name}"')
            if marker is not None:
                admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{marker}'")
    try:
        yield {key: name for key, (name, _marker) in plan.items()}
    finally:
        with pg_cluster.connect() as admin:
            for name, _marker in plan.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
def test_the_next_run_sweeps_only_stale_databases_of_gone_gates(
    tmp_path: Path, pg_cluster: Any, pg_dbname: str, gate_cache: Path,
    planted: dict[str, str],
) -> None:
    repo = branch_repo(tmp_path / "repo", {"migrations/V003__x.sql": "SELECT 1;\n"}, 2)
    done = repo.gate("check", "--base", "main", "--database-url",
                     pg_url(pg_cluster, pg_dbname), env=gate_env(gate_cache))
    assert done.returncode == 0, done.stdout + done.stderr
    present = databases(pg_cluster)
    swept = {key for key, name in planted.items() if name not in present}
    assert swept == {"stale", "stale_elsewhere"}


# --- SIGTERM during initdb ----------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    pids = [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()]
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p in pids if _parent(p) == parent]
        found += children
        frontier += children
    return found


def shm_entries() -> set[str]:
    return set(os.listdir("/dev/shm"))


@pytest.mark.slow
@pytest.mark.parametrize(("phase", "delay"), [("--boot", 0.05), ("--single", 0.0),
                                              ("--single", 0.25)])
def test_sigterm_during_initdb_leaves_no_shared_memory(tmp_path: Path, pg_binaries: Any,
                                                       phase: str, delay: float) -> None:
    """initdb's bootstrap and single-user backends hold POSIX shared memory (each run of them
    leaked two segments when the gate was stopped in the middle)."""
    if not Path("/dev/shm").is_dir():
        pytest.skip("no /dev/shm")
    repo = make_repo(tmp_path / "repo")
    seed_migrations(repo, 1)
    before = shm_entries()
    gate = interrupt_gate(
        ["check", "--verify"], cwd=repo.path,
        env=clean_env(gate_env(tmp_path / "empty-cache")),  # no template: initdb runs
        ready=lambda pid: any(phase in _cmdline(p) for p in descendants(pid)),
        before_signal=lambda: time.sleep(delay), signum=signal.SIGTERM, limit=LIMIT)
    assert gate.returncode == 143, gate.stderr.read() if gate.stderr else ""

    def leaked() -> set[str]:
        # what other processes on this machine create meanwhile comes and goes; a leak stays
        return {name for name in shm_entries() - before
                if name.startswith("PostgreSQL.") or f"pg-{gate.pid}-" in name}

    assert wait_for(lambda: not leaked(), timeout=10), leaked()
    assert not (tmp_path / "empty-cache").exists() or not any(
        p.name.startswith("pgdata") for p in (tmp_path / "empty-cache").iterdir())


# --- the pre-push hook ------------------------------------------------------------------------

PRE_PUSH = CHECKOUT / "migration_gate" / "githooks" / "pre-push"


@pytest.mark.slow
def test_ctrl_c_in_the_pre_push_hook_leaves_no_worktree(tmp_path: Path, gate_cache: Path,
                                                        pg_binaries: Any) -> None:
    seed = make_repo(tmp_path / "seed")
    seed_migrations(seed, count=2)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed.path), str(remote)],
                   env=clean_env(), check=True)
    subprocess.run(["git", "clone", "-q", str(remote), str(tmp_path / "work")],
                   env=clean_env(), check=True)
    work = Repo(tmp_path / "work")
    hooks = tmp_path / "hooks"  # outside the working tree: checkouts leave it alone
    hooks.mkdir()
    shutil.copy2(PRE_PUSH, hooks / "pre-push")
    work.git("config", "core.hooksPath", str(hooks))
    work.git("checkout", "-q", "-b", "slow")
    work.write("migrations/V003__slow.sql", "SELECT pg_sleep(60);\n")
    work.commit("slow")
    work.git("checkout", "-q", "main")  # the pushed commit is not the checked-out one
    temp = tmp_path / "t"
    temp.mkdir()
    env = clean_env(gate_env(gate_cache, MIGRATION_GATE_ARGS="--verify", TMPDIR=str(temp)))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    push = subprocess.Popen(["git", "push", "-q", "origin", "slow"], cwd=work.path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        sleeping = wait_for(
            lambda: any("SELECT" in _cmdline(p) for p in descendants(push.pid)), timeout=LIMIT)
        assert sleeping, "the gate never reached the replay"
        assert work.git("worktree", "list").count("\n") == 1  # the temporary one exists
        os.killpg(push.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole group
        assert wait_for(lambda: not processes.group_alive(push.pid), timeout=LIMIT)
    finally:
        with_kill = processes.group_alive(push.pid)
        if with_kill:
            os.killpg(push.pid, signal.SIGKILL)
        push.wait()
    assert not with_kill
    assert work.git("worktree", "list").count("\n") == 0, work.git("worktree", "list")
    assert not [p for p in temp.iterdir() if p.name.startswith("migration-gate-push.")]
    assert "slow" not in work.git("ls-remote", "--heads", "origin")
