"""What the PostgreSQL binaries said about themselves, remembered in the cache folder.

Why: every replay asked `pg_config --bindir` and `postgres --version` again -- two programs
started (Debian's `pg_config` is a Perl wrapper), 25-40 ms of a warm check, before anything
else could use the server. Their answers only change when the programs do, so each answer
is kept under a key made of the program's resolved path and its file's identity (inode,
size, modification time; a package upgrade writes a new file) plus whatever else decides it
(Debian's wrapper picks the newest `/usr/lib/postgresql/*/bin`: that folder's identity).
A key that no longer matches just asks the program again. Only answers are stored, never
failures.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from migration_gate.cachedir import write_whole

#: The file, in the cache folder, and how many answers it keeps.
FILE = "pg-binaries-1.json"
KEEP = 32

_loaded: dict[str, str] | None = None


def key(question: str, *paths: str) -> str:
    """The key of `question` about `paths` as they are now."""
    parts = [question]
    for path in paths:
        try:
            resolved = os.path.realpath(path)
            info = os.stat(resolved)
        except OSError:
            parts.append(f"{path}:-")
            continue
        parts.append(f"{resolved}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}")
    return "\0".join(parts)


def get(wanted: str) -> str | None:
    """The answer remembered under `wanted`, or None."""
    return _answers().get(wanted)


def put(wanted: str, answer: str) -> None:
    """Remember `answer` (best effort: a cache folder that cannot be written is no error)."""
    answers = _answers()
    if answers.get(wanted) == answer:
        return
    answers[wanted] = answer
    while len(answers) > KEEP:
        answers.pop(next(iter(answers)))
    write_whole(_path(), json.dumps(answers).encode("utf-8"), make_folder=True)


def _path() -> Path:
    from migration_gate.ephemeral.pgcache import cache_root

    return cache_root() / FILE


def _answers() -> dict[str, str]:
    global _loaded
    if _loaded is None:
        _loaded = {}
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            data = json.loads(_path().read_text(encoding="utf-8"))
            _loaded = {str(k): str(v) for k, v in dict(data).items()}
    return _loaded
