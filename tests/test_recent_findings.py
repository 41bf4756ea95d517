"""The recent findings (`sql.engine.RECENT_NAME`, issue 16): a check whose files were linted by
one of the last runs reads their findings from one small file, without opening SQLite; a
damaged recent file or SQLite file costs a lookup or a lint, never a wrong answer.

The caches are the real files in a temporary folder (`MIGRATION_GATE_CACHE_DIR`); the lint is
the real one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from migration_gate.sql import engine, pack
from migration_gate.sql.engine import LintJob, cache_key, lint_many

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


def test_a_run_of_recently_linted_files_does_not_open_sqlite(cache: Path) -> None:
    computed = lint_many(jobs(), use_cache=False)
    assert lint_many(jobs()) == computed  # fills SQLite and the recent findings
    (cache / "lint-v1.sqlite").unlink()
    assert lint_many(jobs()) == computed  # each finding with its own path, as computed
    assert not (cache / "lint-v1.sqlite").exists()  # SQLite was not opened
    renamed = [LintJob(f"other/{job.path}", job.text) for job in jobs()]
    assert [[d.path for d in found] for found in lint_many(renamed)] == [
        [f"other/{d.path}" for d in found] for found in computed]


def test_a_file_not_in_the_recent_findings_is_asked_of_sqlite_then_remembered(
        cache: Path) -> None:
    first, second = jobs()[:1], jobs()[1:]
    lint_many(first)
    lint_many(second)
    recent = pack.read(cache / engine.RECENT_NAME)
    # the newest run's findings and the older ones: switching back finds both
    assert {cache_key(job) for job in jobs()} <= set(recent.spans)
    (cache / "lint-v1.sqlite").unlink()
    assert lint_many(jobs()) == lint_many(jobs(), use_cache=False)
    assert not (cache / "lint-v1.sqlite").exists()


def test_damaged_recent_findings_are_ignored(cache: Path) -> None:
    expected = lint_many(jobs())
    recent = cache / engine.RECENT_NAME
    data = recent.read_bytes()
    recent.write_bytes(data.replace(b"[[", b"[{", 1))  # still a pack, no longer findings
    assert lint_many(jobs()) == expected
    recent.write_bytes(data[:-5])  # a pack cut short
    assert lint_many(jobs()) == expected


def test_the_recent_findings_stay_small(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "MAX_RECENT_BYTES", 400)
    many = [LintJob(f"V{n}__drop.sql", f"ALTER TABLE t{n} DROP COLUMN c;\n") for n in range(8)]
    for job in many:
        lint_many([job])
    recent = pack.read(cache / engine.RECENT_NAME)
    assert cache_key(many[-1]) in recent.spans  # the newest run's, always
    assert cache_key(many[0]) not in recent.spans
    assert len(recent.data) < 1000


def test_a_damaged_sqlite_file_is_replaced(cache: Path) -> None:
    """An operating system's crash may damage the file (it is written without fsync): the run
    lints, and the next one starts a new file."""
    cache.mkdir(parents=True)
    (cache / "lint-v1.sqlite").write_bytes(b"not a database, " * 512)
    expected = lint_many(jobs(), use_cache=False)
    assert lint_many(jobs()) == expected
    assert not (cache / "lint-v1.sqlite").exists()
    (cache / engine.RECENT_NAME).unlink(missing_ok=True)
    assert lint_many(jobs()) == expected
    with sqlite3.connect(cache / "lint-v1.sqlite") as connection:
        (count,) = connection.execute("SELECT count(*) FROM findings").fetchone()
    assert count == 3
