"""The last runs' cached values in one file, read in one go (issue 14).

A warm `lint` of thousands of files asked SQLite for one value per file: on the 2,758-file
corpus that lookup was the largest part of the run after the imports. Most warm runs repeat
a recent run's files (CI and `pre-commit run --all-files` on an unchanged tree, a hook on the
files of the last commit), so each run also leaves its values, by key, in one file that the
next run reads with one system call; a key not there is asked of the SQLite cache as before.
The pack is a cache of the cache: damaged, missing or from another version, it is empty, and
nothing but speed changes.

The values stay bytes where they are in the file (`Pack.spans`): `lint` writes them to
standard output as they are, so that a warm run neither decodes nor splits 4 MB of text into
thousands of strings (in a fresh process, that was most of the pack's cost).

Format: a magic line; `count size` (entries, bytes of the index); the index, one `key length`
line per entry (length in bytes); then the values, UTF-8, one after the other.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from migration_gate.cachedir import write_whole

MAGIC = b"migration-gate pack 2"
#: A pack is rewritten with the new run's values alone when keeping the old ones too would
#: make it larger than this many bytes (reading it must stay cheap for a one-file run).
MAX_BYTES = 8_000_000


@dataclass(frozen=True)
class Pack:
    """A pack as read: its bytes, and where each key's value is in them."""

    data: bytes = b""
    spans: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    def values(self) -> dict[str, bytes]:
        return {key: self.data[start:end] for key, (start, end) in self.spans.items()}


def read(path: Path) -> Pack:
    """The pack at `path`; empty when it is missing or damaged."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return Pack()
    try:
        chunks = []
        while chunk := os.read(descriptor, 1 << 23):
            chunks.append(chunk)
    except OSError:
        return Pack()
    finally:
        os.close(descriptor)
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    try:
        return _parse(data)
    except ValueError:  # UnicodeDecodeError included
        return Pack()


def _parse(data: bytes) -> Pack:
    first = data.index(b"\n")
    if data[:first] != MAGIC:
        return Pack()
    second = data.index(b"\n", first + 1)
    count_text, size_text = data[first + 1 : second].split(b" ")
    start = second + 1
    body = start + int(size_text)
    lines = data[start:body].decode("ascii").split("\n")
    if len(lines) != int(count_text) + 1 or lines[-1]:
        return Pack()
    spans: dict[str, tuple[int, int]] = {}
    at = body
    for line in lines[:-1]:
        key, length = line.split(" ")
        end = at + int(length)
        spans[key] = (at, end)
        at = end
    if at != len(data):
        return Pack()
    return Pack(data, spans)


def write(path: Path, values: Mapping[str, bytes]) -> None:
    """Replace the pack at `path` with `values` (keys without blanks or newlines),
    atomically (a reader sees the old pack or the new one); a failure leaves the old one, or
    none."""
    index = "".join(f"{key} {len(value)}\n" for key, value in values.items()).encode("ascii")
    data = b"".join([MAGIC, f"\n{len(values)} {len(index)}\n".encode("ascii"), index,
                     *values.values()])
    write_whole(path, data)


def merged(old: Pack, new: Mapping[str, bytes]) -> dict[str, bytes]:
    """The next pack: the new run's values, and the old ones while the whole stays under
    `MAX_BYTES` (else the new ones alone)."""
    kept = {key: value for key, value in old.values().items() if key not in new}
    if sum(map(len, kept.values())) + sum(map(len, new.values())) > MAX_BYTES:
        return dict(new)
    kept.update(new)
    return kept
