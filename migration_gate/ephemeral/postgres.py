"""An embedded, throwaway PostgreSQL cluster that listens only on a Unix socket in its folder.

Why a real server: only PostgreSQL itself says whether a migration applies on the base
branch's schema and which locks each statement takes. Starting one must be cheap and must never
leave anything behind, so:

- binaries are found in a fixed order (configuration, `pg_config --bindir`, `PATH`, the newest
  `/usr/lib/postgresql/*/bin`, the `pgserver` wheel);
- `initdb` runs once per PostgreSQL version: its result is cached as a template data folder in
  the user cache folder and copied for each run (a replayed base schema can be cached the same
  way, keyed by the content hash of the base migrations);
- as root, the server runs as an unprivileged user (`initdb` and `postgres` refuse root); its
  folder and that user are `workdir`'s;
- the server is a direct child in its own session (Ctrl-C in the terminal does not reach it), it
  gets SIGQUIT when the gate dies (parent-death signal, so even SIGKILL of the gate stops it),
  and it is stopped and its folder deleted on every exit path. Folders left by a killed gate are
  swept by the next run. initdb runs in its own process group, stopped as a whole when the gate
  is interrupted (its single-user backends would otherwise leak POSIX shared memory);
- a cached data folder is validated before use and after a failed start (`pgcache`): a damaged
  one is discarded and rebuilt, never used for ever.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migration_gate.diagnostics import GateError
from migration_gate.ephemeral import pgcache, prefetch
from migration_gate.ephemeral.pgbinaries import INSTALL_HINT as INSTALL_HINT
from migration_gate.ephemeral.pgbinaries import Binaries as Binaries
from migration_gate.ephemeral.pgbinaries import _pgserver_bindir as _pgserver_bindir
from migration_gate.ephemeral.pgbinaries import candidate_bindirs as candidate_bindirs
from migration_gate.ephemeral.pgbinaries import find_binaries as find_binaries
from migration_gate.ephemeral.pgbinaries import require_psycopg as require_psycopg
from migration_gate.ephemeral.pgcache import cache_root as cache_root
from migration_gate.ephemeral.pgcache import copy_tree
from migration_gate.ephemeral.pgdb import PostgresDatabase as PostgresDatabase
from migration_gate.ephemeral.processes import pid_alive, run_in_own_group, terminate_as_exit
from migration_gate.ephemeral.restorecopy import Restoring
from migration_gate.ephemeral.workdir import PORT as PORT
from migration_gate.ephemeral.workdir import WORKDIR_PREFIX as WORKDIR_PREFIX
from migration_gate.ephemeral.workdir import RunAs as RunAs
from migration_gate.ephemeral.workdir import fast_temp_root as fast_temp_root
from migration_gate.ephemeral.workdir import make_workdir, parent_death_signal
from migration_gate.ephemeral.workdir import server_user as server_user
from migration_gate.ephemeral.workdir import sweep_stale_workdirs as sweep_stale_workdirs

SUPERUSER = "postgres"
#: The settings of a disposable cluster: durability off, nothing but a Unix socket.
FAST_SETTINGS: tuple[tuple[str, str], ...] = (
    ("listen_addresses", ""),
    ("fsync", "off"),
    ("full_page_writes", "off"),
    ("synchronous_commit", "off"),
    ("dynamic_shared_memory_type", "mmap"),
    ("wal_level", "minimal"),
    ("max_wal_senders", "0"),
    ("autovacuum", "off"),
    ("max_connections", "20"),
    ("shared_buffers", "32MB"),
    ("logging_collector", "off"),
    ("statement_timeout", "120s"),  # a gate never hangs on a runaway statement
)
READY_TIMEOUT = 30.0


def _wal_settings(major: int) -> tuple[tuple[str, str], ...]:
    """No WAL segments kept for later: a cached base schema is copied on every run, and a
    server left to its defaults keeps up to 80 recycled segments (40 MB of a 3,000-migration
    base's 110 MB folder) that nothing needs after a clean shutdown. With the 1 MB segments of
    `_initdb` (PostgreSQL 11+), `min_wal_size` may be 2 MB; `wal_recycle` is PostgreSQL 12+."""
    settings: tuple[tuple[str, str], ...] = ()
    if major >= 11:
        settings += (("min_wal_size", "2MB"),)
    if major >= 12:
        settings += (("wal_recycle", "off"),)
    return settings
STOP_TIMEOUT = 10.0


# --- the template data folder -----------------------------------------------------------------


def template_path(binaries: Binaries) -> Path:
    return pgcache.template_path(binaries.bin_dir, binaries.version)


def _initdb(binaries: Binaries, data: Path, run_as: RunAs) -> None:
    command = [
        binaries.tool("initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
        "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
    ]
    if binaries.major >= 11:
        command.append("--wal-segsize=1")  # 1 MB WAL segments: a much smaller folder to copy
    if binaries.major >= 16:  # its bootstrap backends then keep no POSIX shared memory either
        command += ["-c", "dynamic_shared_memory_type=mmap"]
    done = run_in_own_group(command, **run_as.popen_args())
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise GateError(f"initdb failed ({binaries.bin_dir}): {last[0]}")


# --- the running cluster ----------------------------------------------------------------------


@dataclass
class Cluster:
    """A running throwaway server: connect through its socket folder."""

    binaries: Binaries
    workdir: Path
    run_as: RunAs
    process: subprocess.Popen[bytes] | None = None
    seeded: bool = False  # started from the seed (a cached base schema) it was given
    origin: Path | None = None  # the cache entry its data folder was restored from, if any
    _log: Any = field(default=None, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.workdir

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"host={self.socket_dir} port={PORT} user={SUPERUSER} dbname={dbname}"

    def connect(self, dbname: str = "postgres") -> Any:
        """An autocommit psycopg connection (transactions are sent as SQL, like refinery)."""
        require_psycopg()
        import psycopg

        try:
            return psycopg.connect(self.conninfo(dbname), autocommit=True)
        except psycopg.Error as error:
            raise GateError(f"cannot connect to the ephemeral PostgreSQL: {error}") from None

    def start(self) -> None:
        command = [self.binaries.tool("postgres"), "-D", str(self.data_dir), "-p", str(PORT),
                   "-k", str(self.socket_dir)]
        for name, value in (*FAST_SETTINGS, *_wal_settings(self.binaries.major)):
            command += ["-c", f"{name}={value}"]
        self._log = (self.workdir / "server.log").open("wb")
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=parent_death_signal(),
            **self.run_as.popen_args(),
        )
        # the driver the first connect needs (0.1-0.2 s) is imported while the server starts
        with contextlib.suppress(ImportError):
            import psycopg  # noqa: F401
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self.process is not None
        pid_file = self.data_dir / "postmaster.pid"
        deadline = time.monotonic() + READY_TIMEOUT
        delay = 0.002
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise GateError(f"PostgreSQL did not start: {self.log_tail()}")
            with contextlib.suppress(OSError):
                lines = pid_file.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return
            time.sleep(delay)
            delay = min(delay * 2, 0.01)
        raise GateError(f"PostgreSQL did not get ready in {READY_TIMEOUT:.0f} s: {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            lines = (self.workdir / "server.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no server log)"
        return lines[-1] if lines else "(empty server log)"

    def stop(self, *, clean: bool = False) -> None:
        """Stop the server: SIGQUIT (immediate) normally, SIGINT (a clean checkpoint) to keep
        the data folder."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT if clean else signal.SIGQUIT)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def _fill_data(binaries: Binaries, workdir: Path, run_as: RunAs, source: Path | None,
               under_way: Restoring | None = None,
               background: list[threading.Thread] | None = None) -> str | None:
    """Fill `workdir/data` from the cache entry `source` (checked as it is copied: why it is
    damaged, or None) -- `under_way`: its copy there, started early (`prefetch`) --, or by
    initdb (stored as the template for the next runs by a thread added to `background`)."""
    data = workdir / "data"
    if source is not None:
        if under_way is None:
            shutil.rmtree(data, ignore_errors=True)
            run_as.own(workdir)  # still empty: the copy gives each file to the server's user
            under_way = Restoring.start(source, data, binaries.version, run_as.owner())
        try:
            if under_way.running():  # meanwhile; else while the server starts (`start`)
                with contextlib.suppress(ImportError):
                    import psycopg  # noqa: F401
            reason = under_way.finish()
        finally:
            under_way.stop()  # left early (SIGTERM, Ctrl-C): nothing outlives the gate
        if reason is None:
            data.chmod(0o700)
        return reason
    shutil.rmtree(data, ignore_errors=True)
    run_as.own(workdir)
    _initdb(binaries, data, run_as)
    _store_template(binaries, data, background)
    return None


def _store_template(binaries: Binaries, data: Path, background: list[threading.Thread] | None
                    ) -> None:
    """Store initdb's `data` as the template for the next runs, from a copy beside it (in
    memory: 0.05 s) by a thread while the server starts and the base is replayed -- the copy
    to the cache's disk took 0.4 s of a cold run. Without `background`, here and now."""
    if background is None:
        with contextlib.suppress(OSError):
            pgcache.store(data, template_path(binaries), binaries.version)
        return
    pristine = data.parent / "initdb"
    try:
        copy_tree(data, pristine)
    except OSError:
        return

    def store() -> None:
        with contextlib.suppress(OSError):
            pgcache.store(pristine, template_path(binaries), binaries.version)

    thread = threading.Thread(target=store, name="migration-gate-template", daemon=True)
    thread.start()
    background.append(thread)


def _sources(binaries: Binaries, seed: Path | None) -> Iterator[Path | None]:
    """Where the data folder may come from, best first: the seed, the template, initdb (a
    cache entry is checked as it is copied, `pgcache.restore`)."""
    for entry in (seed, template_path(binaries)):
        if entry is not None and entry.is_dir():
            yield entry
    yield None


def _discarded(source: Path, why: str, note: Callable[[str], None] | None) -> None:
    pgcache.discard(source)
    if note is not None:
        note(f"the cached PostgreSQL data folder {source} was damaged ({why}): discarded, "
             "this run rebuilds it")


@contextlib.contextmanager
def running_cluster(binaries: Binaries, *, seed: Path | None = None,
                    note: Callable[[str], None] | None = None) -> Iterator[Cluster]:
    """A started throwaway cluster, stopped and deleted on every exit path.

    `seed` is a cached data folder (a replayed base schema) to start from; `cluster.seeded`
    says whether it was used. A cache entry the server cannot start from is discarded (and
    said so through `note`), and the next source is tried.
    """
    with terminate_as_exit():
        run_as = server_user()
        cluster: Cluster | None = None
        early = None
        storing: list[threading.Thread] = []  # the initdb template, saved meanwhile
        try:
            early = prefetch.claim(seed, binaries.version, run_as.owner())
            cluster = Cluster(binaries, make_workdir() if early is None else early.workdir,
                              run_as)
            workdir = cluster.workdir
            for source in _sources(binaries, seed):
                under_way = early.restoring if early is not None and source == seed else None
                damaged = _fill_data(binaries, workdir, run_as, source, under_way, storing)
                if source is not None and damaged is not None:
                    _discarded(source, damaged, note)
                    continue
                try:
                    cluster.start()
                except GateError as error:
                    cluster.stop()
                    if source is None:
                        raise
                    _discarded(source, f"the server did not start from it: {error}", note)
                    continue
                cluster.seeded = seed is not None and source == seed
                cluster.origin = source
                break
            yield cluster
        finally:
            if early is not None:
                early.restoring.stop()
            for thread in storing:
                thread.join()
            if cluster is not None:
                cluster.stop()
                shutil.rmtree(cluster.workdir, ignore_errors=True)
            elif early is not None:
                shutil.rmtree(early.workdir, ignore_errors=True)


def snapshot_data_dir(cluster: Cluster, target: Path,
                      like: Path | None = None) -> threading.Thread:
    """Save `cluster`'s data folder into the cache as `target`, then restart the cluster.

    The server is stopped cleanly (a checkpoint: the files are consistent), what must be
    copied is copied next to it (same memory file system: fast), the server restarted, and the
    copy moved to the cache in a background thread while the caller goes on. Join the returned
    thread before the cluster's folder is deleted. `like`: the cache entry the cluster started
    from; only the files that differ from it are copied, the others are hard-linked from it
    (`pgcache.split_changed`)."""
    cluster.stop(clean=True)
    snapshot = cluster.workdir / "snapshot"
    shared = None
    if like is not None and like.is_dir():
        shared = pgcache.split_changed(cluster.data_dir, snapshot, like)
    else:
        copy_tree(cluster.data_dir, snapshot)
        like = None
    for transient in ("postmaster.pid", "postmaster.opts"):
        with contextlib.suppress(OSError):
            (snapshot / transient).unlink()
    cluster.start()
    version = cluster.binaries.version

    def store() -> None:
        with contextlib.suppress(OSError):
            pgcache.store(snapshot, target, version, like, shared)

    thread = threading.Thread(target=store, name="migration-gate-cache", daemon=True)
    thread.start()
    return thread


def prune_cache(prefix: str, keep: int) -> None:
    """Keep only the `keep` most recently used cache entries starting with `prefix`."""
    pgcache.prune_cache(prefix, keep, pid_alive)
