"""The cached base schema restored early (`ephemeral.prefetch`): the database stage gets the
copy only if it is of the entry its own key chooses, for the same server version and user;
any other copy, and one nobody claims, is stopped and its folder deleted -- at exit, on
SIGTERM. Real files and real child processes; the server runs are at the end (slow)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from migration_gate.ephemeral import prefetch
from migration_gate.ephemeral.pgcache import write_manifest
from migration_gate.ephemeral.postgres import Binaries
from migration_gate.ephemeral.workdir import WORKDIR_PREFIX, server_user, sweep_stale_workdirs
from tests.conftest import CHECKOUT, Repo, make_repo
from tests.gate_process import wait_for
from tests.test_db_base_prefix import TELL, base_entries, stamp
from tests.test_db_check import check


def cache_entry(root: Path, name: str, pg_version: str = "15") -> Path:
    """A small data folder as the cache stores one (the copy needs no server)."""
    entry = root / name
    (entry / "global").mkdir(parents=True)
    (entry / "base" / "5").mkdir(parents=True)
    (entry / "PG_VERSION").write_text(f"{pg_version}\n")
    (entry / "global" / "pg_control").write_bytes(os.urandom(8192))
    (entry / "base" / "5" / "1259").write_bytes(os.urandom(3 * 8192))
    (entry / "base" / "5" / "16384").write_bytes(b"")
    write_manifest(entry, f"{pg_version}.4")
    return entry


def workdirs(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if p.name.startswith(WORKDIR_PREFIX)]


@pytest.fixture
def temp_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Where cluster folders go for this test (`workdir.fast_temp_root` follows TMPDIR): a
    short path, or the socket's would not fit and the folder would go to /tmp; in memory
    when /dev/shm is, like the gate's."""
    shm = Path("/dev/shm")
    where = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path("/tmp")
    root = Path(tempfile.mkdtemp(prefix="gate-pf-", dir=where))
    monkeypatch.setenv("TMPDIR", str(root))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    try:
        yield root
    finally:
        prefetch.cancel()
        shutil.rmtree(root, ignore_errors=True)


#: Whom the copy's files are given to: the server's user (another one when run as root).
OWNER = server_user().owner()


def test_the_most_recently_used_base_snapshot_is_guessed(tmp_path: Path) -> None:
    old = cache_entry(tmp_path, "base-old")
    new = cache_entry(tmp_path, "flyway-base-new")
    cache_entry(tmp_path, "pgdata2-15.4-abcd")  # the initdb template: not a base
    cache_entry(tmp_path, ".base-half.123.456")  # a copy being stored
    os.utime(old, ns=(1, 1_000_000_000))
    os.utime(new, ns=(1, 2_000_000_000))
    assert prefetch.most_recent(tmp_path) == new
    os.utime(old, ns=(1, 3_000_000_000))  # `basecache.restored_base` touched it
    assert prefetch.most_recent(tmp_path) == old
    assert prefetch.most_recent(tmp_path / "absent") is None


def test_the_copy_of_the_entry_asked_for_is_handed_over(tmp_path: Path, temp_root: Path
                                                        ) -> None:
    entry = cache_entry(tmp_path / "cache", "base-abc")
    prefetch.start(tmp_path / "cache")
    (made,) = workdirs(temp_root)
    found = prefetch.claim(entry, "15.4", OWNER)
    assert found is not None and found.workdir == made
    try:
        assert found.restoring.finish() is None
        copied = made / "data" / "base" / "5" / "1259"
        assert copied.read_bytes() == (entry / "base" / "5" / "1259").read_bytes()
        assert copied.stat().st_mtime_ns == (entry / "base" / "5" / "1259").stat().st_mtime_ns
    finally:
        found.discard()
    assert not workdirs(temp_root)
    assert prefetch.claim(entry, "15.4", OWNER) is None  # handed over once


@pytest.mark.parametrize("asked", ["other entry", "other version", "other user", "nothing"])
def test_a_copy_of_anything_else_is_stopped_and_deleted(tmp_path: Path, temp_root: Path,
                                                        asked: str) -> None:
    entry = cache_entry(tmp_path / "cache", "base-abc")
    other = cache_entry(tmp_path / "elsewhere", "base-def")
    prefetch.start(tmp_path / "cache")
    assert workdirs(temp_root)
    wanted, version, owner = {
        "other entry": (other, "15.4", OWNER),
        "other version": (entry, "16.1", OWNER),
        "other user": (entry, "15.4", (12345, 12345) if OWNER is None else None),
        "nothing": (None, "15.4", OWNER),
    }[asked]
    assert prefetch.claim(wanted, version, owner) is None
    assert not workdirs(temp_root)
    assert (entry / "base" / "5" / "1259").stat().st_size == 3 * 8192  # only read


def gate_like(cache: Path, temp_root: Path, then: str) -> subprocess.Popen[str]:
    """A process that starts the copy as `check` does, says so, then does `then`."""
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from migration_gate.ephemeral import prefetch
        prefetch.start(Path({str(cache)!r}))
        print("started", flush=True)
        {then}
    """)
    env = {**os.environ, "TMPDIR": str(temp_root)}
    return subprocess.Popen([sys.executable, "-c", code], cwd=CHECKOUT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def started(gate: subprocess.Popen[str]) -> None:
    """Wait until `gate` says the copy is started (its stderr if it never does)."""
    assert gate.stdout is not None and gate.stderr is not None
    line = gate.stdout.readline()
    assert line == "started\n", line + gate.stderr.read()


@pytest.mark.parametrize("how", ["exit", "exception", "SIGTERM"])
def test_a_copy_nobody_claims_is_gone_when_the_gate_ends(tmp_path: Path, temp_root: Path,
                                                         how: str) -> None:
    cache_entry(tmp_path / "cache", "base-abc")
    then = {"exit": "sys.exit(0)", "exception": "raise KeyboardInterrupt",
            "SIGTERM": "time.sleep(60)"}[how]
    gate = gate_like(tmp_path / "cache", temp_root, then)
    try:
        started(gate)
        assert workdirs(temp_root)
        if how == "SIGTERM":
            gate.send_signal(signal.SIGTERM)
        gate.wait(30)
    finally:
        gate.kill()
        gate.communicate()
    if how == "SIGTERM":  # ended by the signal, as before the copy was started
        assert gate.returncode == -signal.SIGTERM
    assert wait_for(lambda: not workdirs(temp_root), timeout=10), workdirs(temp_root)


def test_sigkill_of_the_gate_stops_the_copy_and_the_next_run_sweeps_its_folder(
        tmp_path: Path, temp_root: Path) -> None:
    cache = temp_root / "cache"  # in memory if /dev/shm is: 5,000 files made on a busy disk
    entry = cache_entry(cache, "base-abc")  # took seconds
    for number in range(5000):  # enough files that the copy is still running when killed
        (entry / "base" / "5" / f"{20000 + number}").write_bytes(b"")
    write_manifest(entry, "15.4")
    gate = gate_like(cache, temp_root, "time.sleep(60)")
    try:
        started(gate)
        copying = copiers(temp_root)
        assert copying, "the copy ended before the gate was killed"
        gate.send_signal(signal.SIGKILL)
        gate.wait(30)
    finally:
        gate.kill()
        gate.communicate()
    assert wait_for(lambda: not copiers(temp_root), timeout=10), copying
    (left,) = workdirs(temp_root)
    sweep_stale_workdirs(temp_root)
    assert not left.exists()


def copiers(temp_root: Path) -> list[int]:
    """The restore children copying into a folder under `temp_root` (zombies do not count)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if (state != "Z" and any(part.endswith(b"restorecopy.py") for part in command)
                and any(part.startswith(str(temp_root).encode()) for part in command)):
            found.append(int(proc.name))
    return found


def repo_with_stamp(path: Path, first: str = "CREATE TABLE stamp AS SELECT random() AS r;\n"
                    ) -> Repo:
    """`test_db_base_prefix`'s project, its first base migration `first`."""
    repo = make_repo(path)
    repo.write("migrations/V001__stamp.sql", first)
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V010__tell.sql", TELL)
    repo.commit("branch")
    return repo


@pytest.mark.slow  # a cold cache of its own: initdb and two base replays
def test_a_wrong_guess_costs_nothing_but_the_copy(tmp_path: Path, pg_binaries: Binaries
                                                  ) -> None:
    """Two projects share a cache: checking the first after the second guesses the second's
    snapshot (the most recent), which the first's key does not choose. The first's own
    snapshot is restored (the number its base stored is the same: not replayed again), the
    guessed one is left intact, and no cluster folder stays behind."""
    cache = tmp_path / "cache"
    first_repo = repo_with_stamp(tmp_path / "first")
    second_repo = repo_with_stamp(tmp_path / "second", "CREATE TABLE stamp AS SELECT "
                                  "random() AS r, 2 AS project;\n")  # another base
    first = stamp(check(first_repo, cache, "--verify"))
    (first_entry,) = base_entries(cache)
    second = stamp(check(second_repo, cache, "--verify"))
    assert first != second and len(base_entries(cache)) == 2
    guessed = prefetch.most_recent(cache)  # what the next check starts to copy
    assert guessed is not None and guessed.name != first_entry

    again = check(first_repo, cache, "--verify")
    assert stamp(again) == first, again.stderr
    assert "damaged" not in again.stderr
    assert guessed is not None and guessed.is_dir()
    assert stamp(check(second_repo, cache, "--verify")) == second  # still usable
    assert not [p for p in Path("/dev/shm").glob(f"{WORKDIR_PREFIX}*")
                if not _alive(p)]


def _alive(workdir: Path) -> bool:
    """Whether the gate a cluster folder is named after still runs (other tests' gates may)."""
    owner = workdir.name[len(WORKDIR_PREFIX):].split("-", 1)[0]
    return owner.isdigit() and Path(f"/proc/{owner}").exists()
