"""Where the gate keeps what it may compute again: `$MIGRATION_GATE_CACHE_DIR`, else
`migration-gate` in the user's cache folder (`$XDG_CACHE_HOME`, else `~/.cache`).

One function for every cache (lint findings, burned versions, checksums, created tables, the
PostgreSQL template and base snapshots), in a module of its own that imports nothing, so that
a check that never replays does not load the database code to find it.
"""

from __future__ import annotations

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
