"""The recent findings (`sql.engine.RECENT_NAME`, issue 16): a check whose files were linted by
one of the last runs reads their findings from one small file, without opening SQLite; before
the SQLite file exists, a small run keeps its findings there alone, and what the file drops
goes to SQLite; a damaged recent file or SQLite file costs a lookup or a lint, never a wrong
answer.

The caches are the real files in a temporary folder (`MIGRATION_GATE_CACHE_DIR`); the lint is
the real one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from migration_gate.sql import engine, pack
from migration_gate.sql.engine import Cache, LintJob, cache_key, lint_many

DROP = "ALTER TABLE users DROP COLUMN legacy;\n"
INDEX = "CREATE INDEX orders_idx ON orders (id);\n"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("MIGRATION_GATE_CACHE_DIR", str(folder))
    monkeypatch.delenv("MIGRATION_GATE_NO_CACHE", raising=False)
    return folder


def jobs() -> list[LintJob]:
    return [LintJob("V1__drop.sql", DROP), LintJob("V2__index.sql", INDEX),
            LintJob("V3__clean.sql", "SELECT 1;\n")]


def stored(cache: Path) -> set[str]:
    """The keys in the SQLite file."""
    with sqlite3.connect(cache / engine.DATABASE_NAME) as connection:
        return {key for (key,) in connection.execute("SELECT key FROM findings")}


def test_a_first_run_keeps_its_findings_without_creating_sqlite(cache: Path) -> None:
    computed = lint_many(jobs(), use_cache=False)
    assert "ban-drop-column" in [d.rule for d in computed[0]]  # the comparison can fail
    assert lint_many(jobs()) == computed
    assert not (cache / engine.DATABASE_NAME).exists()
    assert {cache_key(job) for job in jobs()} <= set(pack.read(cache / engine.RECENT_NAME).spans)
    renamed = [LintJob(f"other/{job.path}", job.text) for job in jobs()]
    assert [[d.path for d in found] for found in lint_many(renamed)] == [
        [f"other/{d.path}" for d in found] for found in computed]  # each with its own path
    assert not (cache / engine.DATABASE_NAME).exists()


def test_a_run_of_recently_linted_files_does_not_open_sqlite(cache: Path) -> None:
    opened = Cache.open()
    assert opened is not None
    opened.close()
    computed = lint_many(jobs(), use_cache=False)
    assert lint_many(jobs()) == computed  # stored in SQLite and in the recent findings
    assert stored(cache) == {cache_key(job) for job in jobs()}
    (cache / engine.DATABASE_NAME).unlink()
    assert lint_many(jobs()) == computed
    assert not (cache / engine.DATABASE_NAME).exists()  # SQLite was not opened


def test_a_file_not_in_the_recent_findings_is_asked_of_sqlite(cache: Path) -> None:
    first, second = jobs()[:1], jobs()[1:]
    expected = lint_many(jobs(), use_cache=False)
    lint_many(first)
    opened = Cache.open()
    assert opened is not None
    opened.close()
    lint_many(second)
    recent = pack.read(cache / engine.RECENT_NAME)
    # the newest run's findings and the older ones: switching back finds both
    assert {cache_key(job) for job in jobs()} <= set(recent.spans)
    (cache / engine.RECENT_NAME).unlink()
    assert lint_many(second) == expected[1:]  # from SQLite, where the second run stored them
    assert {cache_key(job) for job in second} <= stored(cache)


def test_damaged_recent_findings_are_ignored(cache: Path) -> None:
    expected = lint_many(jobs())
    recent = cache / engine.RECENT_NAME
    data = recent.read_bytes()
    first = pack.read(recent).spans[cache_key(jobs()[0])][0]  # the first value's first byte
    recent.write_bytes(data[:first] + b"\x00" + data[first + 1:])  # a pack, not findings
    assert lint_many(jobs()) == expected
    recent.write_bytes(data[:-5])  # a pack cut short
    assert lint_many(jobs()) == expected


def test_the_recent_findings_stay_small_and_what_they_drop_goes_to_sqlite(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "MAX_RECENT_BYTES", 2500)  # ~830 bytes a file: three files
    many = [LintJob(f"V{n}__drop.sql", f"ALTER TABLE t{n} DROP COLUMN c;\n") for n in range(8)]
    for job in many:
        lint_many([job])
    recent = pack.read(cache / engine.RECENT_NAME)
    assert cache_key(many[-1]) in recent.spans  # the newest run's, always
    assert cache_key(many[0]) not in recent.spans
    assert 1 < len(recent.spans) < len(many) and len(recent.data) < 2600
    # nothing is lost: every finding is in one file or the other
    assert {cache_key(job) for job in many} <= set(recent.spans) | stored(cache)
    (cache / engine.RECENT_NAME).unlink()
    assert lint_many(many) == lint_many(many, use_cache=False)


def test_a_damaged_sqlite_file_is_replaced(cache: Path) -> None:
    """An operating system's crash may damage the file (it is written without fsync): the run
    lints, and the next one starts a new file."""
    cache.mkdir(parents=True)
    (cache / engine.DATABASE_NAME).write_bytes(b"not a database, " * 512)
    expected = lint_many(jobs(), use_cache=False)
    assert lint_many(jobs()) == expected
    assert not (cache / engine.DATABASE_NAME).exists()
    opened = Cache.open()
    assert opened is not None  # a new file
    opened.close()
    (cache / engine.RECENT_NAME).unlink()
    assert lint_many(jobs()) == expected
    assert stored(cache) == {cache_key(job) for job in jobs()}
