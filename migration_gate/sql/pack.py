"""The last runs' cached values in one file, read in one go (issue 14).

A warm `lint` of thousands of files asked SQLite for one value per file: on the 2,758-file
corpus that lookup was the largest part of the run after the imports. Most warm runs repeat
a recent run's files (CI and `pre-commit run --all-files` on an unchanged tree, a hook on the
files of the last commit), so each run also leaves its values, by key, in one file that the
next run reads with one system call and looks up in a dictionary; a key not there is asked of
the SQLite cache as before. The pack is a cache of the cache: damaged, missing or from
another version, it is empty, and nothing but speed changes.

Format (UTF-8, lone surrogates passed through): a magic line, the number of entries, one
`key length` line per entry (length in characters), then the values one after the other.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path

MAGIC = "migration-gate pack 1"
#: A pack is rewritten with the new run's values alone when keeping the old ones too would
#: make it larger than this many characters (reading it must stay cheap for a one-file run).
MAX_CHARS = 8_000_000


def read(path: Path) -> dict[str, str]:
    """The values of the pack at `path` by key; empty when it is missing or damaged."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return {}
    try:
        chunks = []
        while chunk := os.read(descriptor, 1 << 22):
            chunks.append(chunk)
    except OSError:
        return {}
    finally:
        os.close(descriptor)
    try:
        return _parse(b"".join(chunks).decode("utf-8", "surrogatepass"))
    except ValueError:  # UnicodeDecodeError included
        return {}


def _parse(text: str) -> dict[str, str]:
    magic, count_text, rest = text.split("\n", 2)
    if magic != MAGIC:
        return {}
    count = int(count_text)
    *lines, body = rest.split("\n", count)
    if len(lines) != count:
        return {}
    values: dict[str, str] = {}
    start = 0
    for line in lines:
        key, length = line.split(" ")
        end = start + int(length)
        values[key] = body[start:end]
        start = end
    if start != len(body):
        return {}
    return values


def write(path: Path, values: Mapping[str, str]) -> None:
    """Replace the pack at `path` with `values`, atomically (a reader sees the old pack or the
    new one); a failure leaves the old one, or none."""
    lines = [MAGIC, str(len(values))]
    lines.extend(f"{key} {len(value)}" for key, value in values.items())
    data = ("\n".join(lines) + "\n" + "".join(values.values())).encode("utf-8", "surrogatepass")
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()


def merged(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, str]:
    """The next pack: the new run's values, and the old ones while the whole stays under
    `MAX_CHARS` (else the new ones alone)."""
    kept = {key: value for key, value in old.items() if key not in new}
    if sum(map(len, kept.values())) + sum(map(len, new.values())) > MAX_CHARS:
        return dict(new)
    kept.update(new)
    return kept
