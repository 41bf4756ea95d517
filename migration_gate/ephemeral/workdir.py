"""Where a throwaway PostgreSQL cluster lives, and who runs it.

Why its own module (standard library only): a cluster's folder and the unprivileged user it
runs as are needed before the server itself -- a cached data folder starts to be restored into
the folder while the gate still reads the migrations (`prefetch`) -- and that early step must
not import the server code and its driver. `postgres` re-exports these names.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migration_gate.diagnostics import GateError
from migration_gate.ephemeral.processes import pid_alive

PORT = 5432
WORKDIR_PREFIX = "migration-gate-pg-"


# --- where things live ------------------------------------------------------------------------


def fast_temp_root() -> Path:
    """Memory-backed `/dev/shm` when usable (a cluster is written a lot and kept briefly)."""
    shm = Path("/dev/shm")
    if "TMPDIR" not in os.environ and shm.is_dir() and os.access(shm, os.W_OK | os.X_OK):
        with contextlib.suppress(OSError):
            if shutil.disk_usage(shm).free > 512 * 1024 * 1024:
                return shm
    return Path(tempfile.gettempdir())


def sweep_stale_workdirs(root: Path) -> None:
    """Delete cluster folders whose gate process is gone (it was killed before cleaning up)."""
    try:
        entries = list(root.iterdir())
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(WORKDIR_PREFIX):
            continue
        owner = entry.name[len(WORKDIR_PREFIX):].split("-", 1)[0]
        if owner.isdigit() and not pid_alive(int(owner)) and not _postmaster_alive(entry):
            shutil.rmtree(entry, ignore_errors=True)


def _postmaster_alive(workdir: Path) -> bool:
    try:
        first = (workdir / "data" / "postmaster.pid").read_text().split("\n", 1)[0]
    except OSError:
        return False
    return first.strip().isdigit() and pid_alive(int(first))


def make_workdir() -> Path:
    """A new cluster folder named after this gate's process (swept once that process is gone)."""
    root = fast_temp_root()
    sweep_stale_workdirs(root)
    workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-", dir=root))
    if len(str(workdir / f".s.PGSQL.{PORT}")) > 100:  # Unix socket paths are short
        shutil.rmtree(workdir)
        workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-", dir="/tmp"))
    return workdir


# --- running as an unprivileged user ----------------------------------------------------------


@dataclass(frozen=True)
class RunAs:
    """Who the server runs as: None (ourselves) or an unprivileged system user when root."""

    uid: int | None = None
    gid: int | None = None

    def popen_args(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def owner(self) -> tuple[int, int] | None:
        """Whom copied files are given to (None: ourselves)."""
        return None if self.uid is None or self.gid is None else (self.uid, self.gid)

    def own(self, path: Path) -> None:
        """Give `path` (recursively) to the server's user."""
        if self.uid is None or self.gid is None:
            return
        os.chown(path, self.uid, self.gid)
        for dirpath, dirnames, filenames in os.walk(path):
            for name in (*dirnames, *filenames):
                os.chown(os.path.join(dirpath, name), self.uid, self.gid, follow_symlinks=False)


def server_user() -> RunAs:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return RunAs()
    import pwd

    for name in (os.environ.get("MIGRATION_GATE_PG_USER"), "postgres", "nobody"):
        if not name:
            continue
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        if entry.pw_uid != 0:
            return RunAs(entry.pw_uid, entry.pw_gid)
    raise GateError(
        "running as root and no unprivileged user (postgres, nobody) exists to run PostgreSQL; "
        "set MIGRATION_GATE_PG_USER"
    )


def parent_death_signal(signum: int = signal.SIGQUIT) -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child receive `signum` when the gate dies (Linux).

    CPython runs `preexec_fn` after switching user and group, and the parent-death signal must be
    set after that switch (the kernel clears it on a credential change).
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1
    parent = os.getpid()

    def set_death_signal() -> None:
        prctl(pr_set_pdeathsig, int(signum), 0, 0, 0)
        if os.getppid() != parent:  # the gate died before the signal was armed
            os._exit(1)

    return set_death_signal
