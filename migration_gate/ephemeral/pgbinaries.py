"""Finding PostgreSQL: the driver, and server binaries in a fixed order (configuration,
`pg_config --bindir`, `PATH`, the newest `/usr/lib/postgresql/*/bin`, the `pgserver` wheel)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from migration_gate.diagnostics import GateError
from migration_gate.ephemeral import remembered

#: How to get PostgreSQL, named in every "not found" message.
INSTALL_HINT = (
    "install the server binaries with `pip install 'migration-gate[postgres]'` or your OS "
    "package (e.g. `apt install postgresql`), or set `postgres.bin_dir`"
)
@dataclass(frozen=True)
class Binaries:
    """A folder with `initdb` and `postgres`, and the version they report."""

    bin_dir: Path
    version: str  # e.g. "15.14"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def tool(self, name: str) -> str:
        return str(self.bin_dir / name)


# --- finding the driver and the binaries -------------------------------------------------------


def require_psycopg() -> None:
    """The PostgreSQL driver is an optional dependency: say how to get it."""
    import importlib.util

    if importlib.util.find_spec("psycopg") is None:
        raise GateError(
            "the PostgreSQL driver is not installed: pip install 'migration-gate[postgres]'"
        )


def _has_server(folder: Path) -> bool:
    return all(os.access(folder / tool, os.X_OK) for tool in ("initdb", "postgres"))


def _pg_config_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    # Debian's pg_config is a wrapper that picks the newest /usr/lib/postgresql/*/bin
    key = remembered.key("pg_config --bindir", pg_config, "/usr/lib/postgresql")
    known = remembered.get(key)
    if known is not None:
        return Path(known)
    try:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 or not done.stdout.strip():
        return None
    remembered.put(key, done.stdout.strip())
    return Path(done.stdout.strip())


def _debian_bindirs() -> list[Path]:
    """`/usr/lib/postgresql/*/bin`, newest major version first."""
    root = Path("/usr/lib/postgresql")
    if not root.is_dir():
        return []
    found = [p / "bin" for p in root.iterdir() if p.name.replace(".", "").isdigit()]
    return sorted(found, key=lambda p: [int(x) for x in p.parent.name.split(".")], reverse=True)


def _pgserver_bindir() -> Path | None:
    """The `pgserver` wheel's binaries, located without importing it (its import is slow)."""
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "pginstall" / "bin"


def candidate_bindirs(configured: str | None) -> Iterator[tuple[str, Path]]:
    """Every place to look, in order, with where it came from."""
    if configured:
        yield "postgres.bin_dir", Path(configured).expanduser()
        return
    bindir = _pg_config_bindir()
    if bindir is not None:
        yield "pg_config --bindir", bindir
    on_path = shutil.which("postgres")
    if on_path is not None:
        yield "PATH", Path(on_path).resolve().parent
    for folder in _debian_bindirs():
        yield "/usr/lib/postgresql", folder
    wheel = _pgserver_bindir()
    if wheel is not None:
        yield "pgserver", wheel


_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+(?:\.\d+)?)")


def server_version(bin_dir: Path) -> str | None:
    key = remembered.key("postgres --version", str(bin_dir / "postgres"))
    known = remembered.get(key)
    if known is not None:
        return known
    try:
        done = subprocess.run(
            [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(done.stdout)
    if match is None:
        return None
    remembered.put(key, match.group(1))
    return match.group(1)


def find_binaries(configured: str | None = None) -> Binaries:
    """The first usable PostgreSQL server binaries, or a `GateError` saying how to get some.
    As root, binaries the server's unprivileged user cannot reach are passed over (and named
    in the error when no other server is found)."""
    closed: str | None = None
    for origin, folder in candidate_bindirs(configured):
        if _has_server(folder):
            why = closed_to_server(folder)
            if why is not None:
                if origin == "postgres.bin_dir":
                    raise GateError(why)
                closed = closed or why
                continue
            version = server_version(folder)
            if version is not None:
                return Binaries(folder, version)
        if origin == "postgres.bin_dir":
            raise GateError(
                f"postgres.bin_dir {folder} holds no usable initdb and postgres; {INSTALL_HINT}"
            )
    raise GateError(closed or f"no PostgreSQL server binaries found: {INSTALL_HINT}")


# --- as root: can the server's user run them? ---------------------------------------------------


def closed_to_server(folder: Path) -> str | None:
    """As root, why the unprivileged user the server runs as (`workdir.server_user`) cannot
    run `initdb` and `postgres` from `folder`, else None.

    Why: root can read everything, the server's user cannot. The `pgserver` wheel in a virtual
    environment under `/root` (0700) or a `mktemp -d` checkout is found by root, and the
    replay then failed with a bare "Permission denied". Mode bits only (owner, group, other;
    the server runs with no supplementary group): an ACL that opens a folder is not seen."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    from migration_gate.ephemeral.workdir import server_user

    run_as = server_user()
    if run_as.uid is None or run_as.gid is None:
        return None
    absolute = Path(os.path.abspath(folder))
    resolved = folder.resolve()
    ways = [*reversed(absolute.parents), absolute, *reversed(resolved.parents), resolved]
    ways += [resolved / "initdb", resolved / "postgres"]
    for step in ways:
        mode = _mode_for(step, run_as.uid, run_as.gid)
        if mode is not None and not mode & 0o1:
            import pwd

            try:
                user = pwd.getpwuid(run_as.uid).pw_name
            except KeyError:
                user = str(run_as.uid)
            return (f"the PostgreSQL binaries in {folder} cannot be run by {user}, the "
                    f"unprivileged user the gate runs the server as when root: {step} is "
                    f"closed to it (mode {os.stat(step).st_mode & 0o7777:o}); open it "
                    f"(chmod o+x {step}), use binaries outside it (postgres.bin_dir, or apt "
                    "install postgresql), or name another user in MIGRATION_GATE_PG_USER")
    return None


def _mode_for(path: Path, uid: int, gid: int) -> int | None:
    """The permission bits (rwx as 0o7) that apply to `uid`:`gid` on `path`, or None."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    shift = 6 if info.st_uid == uid else 3 if info.st_gid == gid else 0
    return (info.st_mode >> shift) & 0o7
