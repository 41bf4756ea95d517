"""The tables a migration creates, remembered by content (`sql.tables`, issue 16): the same
answers as reading them, from a file that any damage only makes useless, never wrong."""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from migration_gate.sql.lint import created_tables
from migration_gate.sql.tables import FILE_NAME, MAX_ENTRIES, TableCache, _key

CREATES = "CREATE TABLE tags (id bigint);\ncreate materialized view v as select 1;\n"


def test_answers_are_those_of_the_lint_and_are_kept(tmp_path: Path) -> None:
    cache = TableCache(tmp_path)
    assert cache.tables(CREATES, "postgres") == created_tables(CREATES, "postgres") != set()
    assert cache.tables("ALTER TABLE t ADD COLUMN c int;", "postgres") == set()
    cache.save()
    stored = marshal.loads((tmp_path / FILE_NAME).read_bytes())
    assert stored == {_key(CREATES, "postgres"): sorted(created_tables(CREATES, "postgres"))}


def test_a_kept_answer_is_what_the_next_run_reads(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(marshal.dumps({_key(CREATES, "postgres"): ["kept"]}))
    assert TableCache(tmp_path).tables(CREATES, "postgres") == {"kept"}
    assert TableCache(tmp_path).tables(CREATES, "sqlite") != {"kept"}  # another key


@pytest.mark.parametrize("damage", [b"{not marshal", marshal.dumps([1, 2]),
                                    marshal.dumps({"k": 3}), b""])
def test_a_damaged_file_is_read_again_and_replaced(tmp_path: Path, damage: bytes) -> None:
    (tmp_path / FILE_NAME).write_bytes(damage)
    cache = TableCache(tmp_path)
    assert cache.tables(CREATES, "postgres") == created_tables(CREATES, "postgres")
    cache.save()
    assert _key(CREATES, "postgres") in marshal.loads((tmp_path / FILE_NAME).read_bytes())


def test_no_cache_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATION_GATE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("MIGRATION_GATE_NO_CACHE", "1")
    cache = TableCache.for_run()
    assert cache.tables(CREATES, "postgres") == created_tables(CREATES, "postgres")
    cache.save()
    assert not (tmp_path / FILE_NAME).exists()


def test_the_oldest_answers_go_first(tmp_path: Path) -> None:
    old = {f"old-{n}": ["t"] for n in range(MAX_ENTRIES)}
    (tmp_path / FILE_NAME).write_bytes(marshal.dumps(old))
    cache = TableCache(tmp_path)
    cache.tables(CREATES, "postgres")
    cache.save()
    kept = marshal.loads((tmp_path / FILE_NAME).read_bytes())
    assert len(kept) == MAX_ENTRIES and "old-0" not in kept and "old-1" in kept
    assert _key(CREATES, "postgres") in kept
