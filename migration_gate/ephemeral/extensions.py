"""An extension the chosen PostgreSQL lacks, and another installed server that has it.

Why: the first server found (Debian's, say) often lacks an extension production has (pgvector),
while another one on the machine has it (the `pgserver` wheel of the `postgres` extra ships
PostgreSQL 16 with pgvector). An extension is available to a server when its share folder
holds `extension/<name>.control`; `CREATE EXTENSION` of a missing one fails with SQLSTATE
58P01 ("could not open extension control file"; PostgreSQL 16+ words it "extension ... is not
available"). The replay then restarts on a server that has it, and says so.
"""

from __future__ import annotations

import functools
import re
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.ephemeral.pgbinaries import (
    Binaries,
    _has_server,
    candidate_bindirs,
    closed_to_server,
    server_version,
)

if TYPE_CHECKING:
    from migration_gate.diagnostics import Diagnostic
    from migration_gate.replayskip import ReplayUnavailable

_CONTROL = re.compile(r'extension control file "[^"]*?([^"/\\]+)\.control"')
_NOT_AVAILABLE = re.compile(r'extension "([^"]+)" is not available')
_CREATE = re.compile(r'\bCREATE\s+EXTENSION\s+(?:IF\s+NOT\s+EXISTS\s+)?"?([A-Za-z0-9_-]+)',
                     re.IGNORECASE)


def created_extensions(texts: Iterable[str]) -> set[str]:
    """The extensions SQL texts create (a first guess, read without parsing: a comment may
    name one; the replay's own failure is what counts)."""
    return {m.group(1).lower() for text in texts if "xtension" in text or "XTENSION" in text
            for m in _CREATE.finditer(text)}


def missing_extension(message: str, sqlstate: str | None, detail: str | None = None
                      ) -> str | None:
    """The extension a failed `CREATE EXTENSION` could not find on the server, or None."""
    for text in (message, detail or ""):
        for pattern in (_CONTROL, _NOT_AVAILABLE):
            match = pattern.search(text)
            if match is not None and (sqlstate in (None, "58P01", "0A000")):
                return match.group(1)
    return None


@functools.lru_cache(maxsize=16)
def share_dir(bin_dir: Path) -> Path | None:
    """The share folder of the server in `bin_dir`: its own `pg_config --sharedir`, else the
    usual layouts (`../share/postgresql`, Debian's `/usr/share/postgresql/<major>`)."""
    pg_config = bin_dir / "pg_config"
    if pg_config.is_file():
        try:
            done = subprocess.run([str(pg_config), "--sharedir"], capture_output=True,
                                  text=True, timeout=10)
            if done.returncode == 0 and done.stdout.strip():
                return Path(done.stdout.strip())
        except (OSError, subprocess.TimeoutExpired):
            pass
    for guess in (bin_dir.parent / "share" / "postgresql", bin_dir.parent / "share",
                  Path("/usr/share/postgresql") / bin_dir.parent.name):
        if (guess / "extension").is_dir():
            return guess
    return None


def has_extension(bin_dir: Path, name: str) -> bool:
    share = share_dir(bin_dir)
    return share is not None and (share / "extension" / f"{name}.control").is_file()


def server_with(names: set[str], tried: list[Binaries]) -> tuple[str, Binaries] | None:
    """The first installed server (in `pgbinaries`' order, the `pgserver` wheel included) not
    yet tried that has every extension of `names`, with where it was found."""
    seen = {b.bin_dir.resolve() for b in tried}
    for origin, folder in candidate_bindirs(None):
        try:
            resolved = folder.resolve()
        except OSError:
            continue
        if resolved in seen or not _has_server(folder) or closed_to_server(folder) is not None:
            continue
        seen.add(resolved)
        if not all(has_extension(folder, name) for name in names):
            continue
        version = server_version(folder)
        if version is not None:
            return origin, Binaries(folder, version)
    return None


def on_a_server_with_extensions(
    configured: str | None, attempt: Callable[[Binaries], list[Diagnostic]],
    note: Callable[[str], None], expected: Iterable[str] = (),
) -> list[Diagnostic]:
    """`attempt(binaries)` on the first server found; while it fails for want of an extension,
    again on another installed server that has every extension wanted so far (said in a
    note). A `postgres.bin-dir` is the user's choice: never replaced.

    `expected` (the setup's and the base's SQL) names extensions to look for before the first
    attempt: a server known to lack one is not started just to fail (each run would pay for
    it: a base that fails is never cached)."""
    from migration_gate.ephemeral.pgbinaries import find_binaries, require_psycopg
    from migration_gate.replayskip import ReplayUnavailable

    require_psycopg()
    binaries = find_binaries(configured)
    tried: list[Binaries] = []
    wanted: set[str] = set()
    guessed = created_extensions(expected)
    if guessed and not configured and not all(has_extension(binaries.bin_dir, name)
                                              for name in guessed):
        better = server_with(guessed, [binaries])
        if better is not None:
            missing = sorted(n for n in guessed if not has_extension(binaries.bin_dir, n))
            note(f"PostgreSQL {binaries.version} ({binaries.bin_dir}) has no extension "
                 f"{', '.join(missing)}: the replay runs on PostgreSQL {better[1].version} "
                 f"from {better[0]} ({better[1].bin_dir}), which has {', '.join(sorted(guessed))}")
            binaries = better[1]
    while True:
        try:
            return attempt(binaries)
        except ReplayUnavailable as error:
            if error.extension is None:
                raise
            tried.append(binaries)
            wanted.add(error.extension)
            found = None if configured else server_with(wanted, tried)
            if found is None:
                if error.fallback is not None:  # a branch's migration: its own failure stands
                    return list(error.fallback)
                raise _nowhere(error, wanted, tried, configured) from None
            origin, binaries = found
            note(f"PostgreSQL {tried[-1].version} ({tried[-1].bin_dir}) has no extension "
                 f"{error.extension}: the replay restarted on PostgreSQL {binaries.version} "
                 f"from {origin} ({binaries.bin_dir}), which has {', '.join(sorted(wanted))}")


def _nowhere(error: ReplayUnavailable, wanted: set[str], tried: list[Binaries],
             configured: str | None) -> ReplayUnavailable:
    from migration_gate.replayskip import ReplayUnavailable

    servers = ", ".join(f"{b.version} ({b.bin_dir})" for b in tried)
    where = ("postgres.bin-dir is set, so no other server is tried" if configured
             else "no other installed PostgreSQL has it")
    return ReplayUnavailable(
        f"{error} -- the extension {', '.join(sorted(wanted))} is missing from PostgreSQL "
        f"{servers}, and {where}", where=error.where, hint=error.hint)
