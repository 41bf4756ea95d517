"""Restoring a cached data folder (`ephemeral.restorecopy`): the copy keeps what the server and
the cache need (modes, modification times, symbolic links), leaves the manifest out, and
names the first damage it meets -- in the child process the gate uses and in-process alike.
Real files in temporary folders; no server needed (the server runs are in test_db_*)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from migration_gate.ephemeral.pgcache import write_manifest
from migration_gate.ephemeral.restorecopy import MANIFEST, restore, restoring

Restore = Callable[[Path, Path, str], "str | None"]


def in_child(entry: Path, target: Path, version: str) -> str | None:
    with restoring(entry, target, version) as restored:
        return restored()


WAYS: dict[str, Restore] = {"in_process": restore, "in_child": in_child}


def cache_entry(root: Path) -> Path:
    entry = root / "entry"
    (entry / "global").mkdir(parents=True)
    (entry / "base" / "5").mkdir(parents=True)
    (entry / "PG_VERSION").write_text("15\n")
    (entry / "global" / "pg_control").write_bytes(os.urandom(8192))
    (entry / "base" / "5" / "1259").write_bytes(os.urandom(3 * 8192 + 1))
    (entry / "base" / "5" / "16384").write_bytes(b"")
    (entry / "base" / "5" / "1259").chmod(0o640)
    os.utime(entry / "base" / "5" / "1259", ns=(1_000_000_001, 1_234_567_891_234_567_891))
    os.symlink("16384", entry / "base" / "5" / "alias")
    write_manifest(entry, "15.4")
    return entry


@pytest.mark.parametrize("way", list(WAYS))
def test_a_restored_entry_is_the_same_tree_without_the_manifest(tmp_path: Path, way: str
                                                                ) -> None:
    entry = cache_entry(tmp_path)
    target = tmp_path / "work" / "data"
    target.parent.mkdir()
    assert WAYS[way](entry, target, "15.4") is None
    assert not (target / MANIFEST).exists()
    for rel in ("PG_VERSION", "global/pg_control", "base/5/1259", "base/5/16384"):
        mine, theirs = (target / rel).lstat(), (entry / rel).lstat()
        assert (target / rel).read_bytes() == (entry / rel).read_bytes(), rel
        assert (mine.st_mode, mine.st_size, mine.st_mtime_ns) == (
            theirs.st_mode, theirs.st_size, theirs.st_mtime_ns), rel
    assert os.readlink(target / "base" / "5" / "alias") == "16384"
    # a copy, not a link: the run's server writes into it, never into the cache
    (target / "base" / "5" / "1259").write_bytes(b"changed")
    assert (entry / "base" / "5" / "1259").stat().st_size == 3 * 8192 + 1


DAMAGE: dict[str, tuple[Callable[[Path], object], str]] = {
    "no_manifest": (lambda e: (e / MANIFEST).unlink(), f"{MANIFEST} is missing"),
    "bad_manifest": (lambda e: (e / MANIFEST).write_text("{"), f"its {MANIFEST} is unreadable"),
    "other_version": (lambda e: (e / "PG_VERSION").write_text("16\n"),
                      "PG_VERSION says '16', the server is 15.4"),
    "truncated": (lambda e: (e / "base" / "5" / "1259").write_bytes(b"x"),
                  f"base/5/1259 has 1 bytes instead of {3 * 8192 + 1}"),
    "control": (lambda e: (e / "global" / "pg_control").write_bytes(b""),
                "global/pg_control has 0 bytes instead of 8192"),
    "lost": (lambda e: (e / "base" / "5" / "16384").unlink(), "base/5/16384 is missing"),
}


@pytest.mark.parametrize("way", list(WAYS))
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damage_is_named_and_nothing_is_left_in_the_target(tmp_path: Path, way: str,
                                                           damage: str) -> None:
    entry = cache_entry(tmp_path)
    harm, reason = DAMAGE[damage]
    harm(entry)
    target = tmp_path / "data"
    found = WAYS[way](entry, target, "15.4")
    assert found is not None and reason in found
    assert not target.exists()


def test_the_manifest_lists_what_a_restore_checks(tmp_path: Path) -> None:
    """The manifest written by `store` is the one `restore` reads (sizes by path)."""
    entry = cache_entry(tmp_path)
    files = json.loads((entry / MANIFEST).read_text())["files"]
    assert files["base/5/1259"] == 3 * 8192 + 1 and MANIFEST not in files


def test_a_new_entry_shares_the_unchanged_files_of_the_one_it_started_from(tmp_path: Path
                                                                         ) -> None:
    """`split_changed` + `store`: what the server did not write is hard-linked from the entry
    the run was restored from, what it wrote (or added) is copied, what it deleted is gone,
    and the older entry is left as it was."""
    from migration_gate.ephemeral.pgcache import split_changed, store

    like = cache_entry(tmp_path)
    before = {p.relative_to(like).as_posix(): p.read_bytes() for p in like.rglob("*")
              if p.is_file() and not p.is_symlink()}
    data = tmp_path / "data"
    assert restore(like, data, "15.4") is None
    (data / "base" / "5" / "1259").write_bytes(b"rewritten by the server")
    (data / "base" / "5" / "16390").write_bytes(b"a new table")
    (data / "base" / "5" / "16384").unlink()

    changed = tmp_path / "changed"
    shared = split_changed(data, changed, like)
    assert set(shared) == {"PG_VERSION", "global/pg_control"}
    final = tmp_path / "cache" / "base-next"
    store(changed, final, "15.4", like, shared)

    for rel in shared:
        assert (final / rel).stat().st_ino == (like / rel).stat().st_ino, rel
    assert (final / "base" / "5" / "1259").read_bytes() == b"rewritten by the server"
    assert (final / "base" / "5" / "16390").read_bytes() == b"a new table"
    assert not (final / "base" / "5" / "16384").exists()
    assert os.readlink(final / "base" / "5" / "alias") == "16384"
    files = json.loads((final / MANIFEST).read_text())["files"]
    assert set(files) == {"PG_VERSION", "global/pg_control", "base/5/1259", "base/5/16390",
                          "base/5/alias"}
    assert files["base/5/1259"] == len(b"rewritten by the server")
    after = {p.relative_to(like).as_posix(): p.read_bytes() for p in like.rglob("*")
             if p.is_file() and not p.is_symlink()}
    assert after == before
    assert restore(final, tmp_path / "again", "15.4") is None  # a complete entry


@pytest.mark.parametrize("way", list(WAYS))
def test_failing_to_write_the_copy_is_an_error_not_damage(tmp_path: Path, way: str) -> None:
    """A copy that cannot be written (a full disk; here, a folder that is not there) says
    nothing about the cache entry: the error goes up, and the entry is not called damaged."""
    entry = cache_entry(tmp_path)
    with pytest.raises(OSError):
        WAYS[way](entry, tmp_path / "gone" / "data", "15.4")
    assert (entry / MANIFEST).is_file()
    assert restore(entry, tmp_path / "data", "15.4") is None
