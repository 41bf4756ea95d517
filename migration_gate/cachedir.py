"""Where the gate keeps what it may compute again: `$MIGRATION_GATE_CACHE_DIR`, else
`migration-gate` in the user's cache folder (`$XDG_CACHE_HOME`, else `~/.cache`).

One function for every cache (lint findings, burned versions, checksums, created tables, the
PostgreSQL template and base snapshots), in a module of its own that imports nothing, so that
a check that never replays does not load the database code to find it. And one way to write
those caches' files (`write_whole`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def cache_root() -> Path:
    """The gate's cache folder, read from the environment on every call (tests and the
    benchmarks point it elsewhere mid-process)."""
    explicit = os.environ.get("MIGRATION_GATE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "migration-gate"


def write_whole(path: str | os.PathLike[str], data: bytes, *, make_folder: bool = False) -> bool:
    """Replace the file at `path` with `data` through a temporary file beside it and one
    rename, so that a reader -- another gate running at once, a pre-commit hook in parallel --
    sees the old file or the new one, never half of one. Every cache is best effort: a folder
    that cannot be written or a full disk leaves the old file (or none) and no temporary, and
    answers False. `make_folder` creates the missing folders first."""
    target = os.fspath(path)
    temporary = f"{target}.{os.getpid()}.tmp"
    try:
        if make_folder:
            os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(temporary, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return False
    return True
