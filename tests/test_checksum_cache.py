"""refinery checksums kept by content (issue 16): the cache never changes a checksum.

Every test compares with the pure-Python SipHash (itself checked against refinery's own values
in test_refinery.py) and reads the real cache file in a temporary cache folder.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from migration_gate import checksum_cache, refinery, siphash
from tests.conftest import clean_env

SQL = [f"CREATE TABLE t{i} (id bigint PRIMARY KEY, note text);\n".encode() * (i + 2)
       for i in range(12)]


def _expected(name: str, version: int, sql: bytes) -> int:
    message = name.encode() + b"\xff" + version.to_bytes(4, "little", signed=True) + sql + b"\xff"
    return siphash.siphash13(bytes(16), message)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MIGRATION_GATE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("MIGRATION_GATE_NO_CACHE", raising=False)
    monkeypatch.setattr(checksum_cache, "_STORE", None)
    return tmp_path / checksum_cache.FILE_NAME


def _new_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the end of one process and the start of the next do to the cache."""
    store = checksum_cache._STORE
    assert store is not None
    store.flush()
    monkeypatch.setattr(checksum_cache, "_STORE", None)


def test_checksums_are_kept_and_read_back(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = [refinery.checksum(f"m{i}", i, sql) for i, sql in enumerate(SQL, start=1)]
    assert first == [_expected(f"m{i}", i, sql) for i, sql in enumerate(SQL, start=1)]
    _new_run(monkeypatch)
    assert cache.stat().st_size == len(SQL) * checksum_cache.RECORD
    again = [refinery.checksum(f"m{i}", i, sql) for i, sql in enumerate(SQL, start=1)]
    assert again == first
    store = checksum_cache._STORE
    assert store is not None and store.pending == []  # every one came from the file


def test_a_damaged_record_is_recomputed_not_trusted(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = refinery.checksum("add_users", 3, SQL[4])
    _new_run(monkeypatch)
    data = bytearray(cache.read_bytes())
    data[checksum_cache._KEY] ^= 0x01  # one bit of the stored checksum
    cache.write_bytes(bytes(data))
    assert refinery.checksum("add_users", 3, SQL[4]) == value == _expected("add_users", 3, SQL[4])


def test_a_torn_file_is_started_again(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    refinery.checksum("a", 1, SQL[5])
    _new_run(monkeypatch)
    with open(cache, "ab") as out:
        out.write(b"\x00" * 5)  # an interrupted append
    assert refinery.checksum("b", 2, SQL[6]) == _expected("b", 2, SQL[6])
    _new_run(monkeypatch)
    assert cache.stat().st_size == checksum_cache.RECORD  # rewritten whole: records aligned
    assert refinery.checksum("b", 2, SQL[6]) == _expected("b", 2, SQL[6])


def test_no_cache_writes_nothing(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATION_GATE_NO_CACHE", "1")
    assert refinery.checksum("a", 1, SQL[7]) == _expected("a", 1, SQL[7])
    assert checksum_cache._STORE is None and not cache.exists()


def test_a_process_writes_its_checksums_at_exit(tmp_path: Path) -> None:
    """The real exit path (atexit), in a child interpreter; a second one reads them back."""
    script = ("import sys; from migration_gate import refinery; "
              "print(refinery.checksum('x', 7, b'SELECT 1;' * 40))")
    env = {**clean_env(), "MIGRATION_GATE_CACHE_DIR": str(tmp_path)}
    env.pop("MIGRATION_GATE_NO_CACHE", None)
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, check=True).stdout.strip() for _ in range(2)]
    assert runs[0] == runs[1] == str(_expected("x", 7, b"SELECT 1;" * 40))
    assert (tmp_path / checksum_cache.FILE_NAME).stat().st_size == checksum_cache.RECORD
