"""refinery checksums kept by content, so that a database run does not SipHash every file.

A refinery checksum is SipHash-1-3 of (name, version, SQL): a pure-Python loop that costs
~0.2 s over 3,000 files on every run with the database (issue 16), while the files barely
change between runs. The checksum is a function of its input bytes alone, so it is kept in a
small file of the gate's cache folder keyed by a SHA-256 of those bytes (hashed in C).

The file is a list of fixed-size records, appended to (whole records, one `write` per run):
a 16-byte key, the 8-byte checksum, and a 4-byte BLAKE2 check of both, verified when a record
is used. A torn or foreign file therefore costs a recomputation, never a wrong checksum; a
file past `MAX_RECORDS` is started again. `MIGRATION_GATE_NO_CACHE` turns the cache off.
"""

from __future__ import annotations

import atexit
import hashlib
import os
from pathlib import Path

FILE_NAME = "refinery-checksums-1.bin"
_KEY, _VALUE, _CHECK = 16, 8, 4
RECORD = _KEY + _VALUE + _CHECK
#: ~2.8 MB: far more files than any project has, small enough to read in a few milliseconds.
MAX_RECORDS = 100_000
#: Inputs this short are hashed directly: the lookup would cost as much.
DIRECT_BELOW = 64


def _cache_file() -> Path:
    from migration_gate.cachedir import cache_root

    return cache_root() / FILE_NAME


class _Store:
    """The records of the cache file by key, read on first use; new ones written at exit."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.records: dict[bytes, bytes] = {}
        self.pending: list[bytes] = []
        self.full = False

    def load(self) -> None:
        self.path = _cache_file()
        try:
            data = self.path.read_bytes()
        except OSError:
            return
        count = len(data) // RECORD
        # full, or torn by an interrupted write: the next flush starts the file again
        self.full = count >= MAX_RECORDS or len(data) % RECORD != 0
        self.records = {
            data[start : start + _KEY]: data[start + _KEY : start + RECORD]
            for start in range(0, count * RECORD, RECORD)
        }

    def get(self, key: bytes) -> int | None:
        found = self.records.get(key)
        if found is None or _check(key, found[:_VALUE]) != found[_VALUE:]:
            return None
        return int.from_bytes(found[:_VALUE], "little")

    def add(self, key: bytes, value: int) -> None:
        packed = value.to_bytes(_VALUE, "little")
        self.records[key] = packed + _check(key, packed)
        if not self.pending:
            atexit.register(self.flush)
        self.pending.append(key + self.records[key])

    def flush(self) -> None:
        """Append this run's records (or start the file again when it is full); any failure
        only loses them."""
        if not self.pending or self.path is None:
            return
        records, self.pending = b"".join(self.pending), []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "wb" if self.full else "ab") as out:
                out.write(records)
        except OSError:
            pass


def _check(key: bytes, packed: bytes) -> bytes:
    return hashlib.blake2b(key + packed, digest_size=_CHECK).digest()


_STORE: _Store | None = None


def siphash13_zero_key(message: bytes) -> int:
    """`siphash.siphash13_zero_key(message)`, from the cache when this input was seen before."""
    from migration_gate import siphash

    if len(message) < DIRECT_BELOW or os.environ.get("MIGRATION_GATE_NO_CACHE"):
        return siphash.siphash13_zero_key(message)
    global _STORE
    if _STORE is None:
        _STORE = _Store()
        _STORE.load()
    key = hashlib.sha256(message).digest()[:_KEY]
    cached = _STORE.get(key)
    if cached is not None:
        return cached
    value = siphash.siphash13_zero_key(message)
    _STORE.add(key, value)
    return value
