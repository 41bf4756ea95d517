"""A base that gained migrations is not replayed from scratch: the longest cached prefix of it
is restored and only what is new is applied (`ephemeral.basecache`). Proven with a base
migration that stores a random number: restored, the number is the one of the first run;
replayed, it would be another. Real CLI, real git, real PostgreSQL, a cache of its own."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from migration_gate.ephemeral.basecache import chain
from migration_gate.ephemeral.postgres import Binaries
from tests.conftest import Repo, make_repo
from tests.test_db_check import check, of_rule
from tests.test_flyway_e2e import MAIN

#: The branch's migration fails on purpose, saying the number the base stored.
TELL = ("DO $$ BEGIN RAISE EXCEPTION 'stamp=%', (SELECT r FROM stamp); END $$;\n")


def stamp(done: subprocess.CompletedProcess[str]) -> str:
    (failure,) = of_rule(done, "migration-failed")
    found = re.search(r"stamp=([0-9.e-]+)", failure["message"])
    assert found, failure
    return found.group(1)


def base_entries(cache: Path, prefix: str = "base-") -> list[str]:
    return sorted(p.name for p in cache.iterdir() if p.name.startswith(prefix))


def repo_with_stamp(path: Path) -> Repo:
    repo = make_repo(path)
    repo.write("migrations/V001__stamp.sql", "CREATE TABLE stamp AS SELECT random() AS r;\n")
    repo.write("migrations/V002__users.sql", "CREATE TABLE users (id int);\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V010__tell.sql", TELL)
    repo.commit("branch")
    return repo


@pytest.mark.slow  # a cold cache of its own: initdb and four replays
def test_a_base_that_gained_a_migration_starts_from_the_cached_prefix(
        tmp_path: Path, pg_binaries: Binaries) -> None:
    cache = tmp_path / "cache"
    repo = repo_with_stamp(tmp_path / "repo")
    first = check(repo, cache, "--verify")
    assert first.returncode == 1, first.stdout + first.stderr
    before = stamp(first)
    assert len(base_entries(cache)) == 1

    repo.git("checkout", "-q", "main")  # main gains V3, the branch is rebased on it
    repo.write("migrations/V003__orders.sql", "CREATE TABLE orders (id int);\n")
    repo.commit("main gains one")
    repo.git("checkout", "-q", "feature")
    repo.git("rebase", "-q", "main")
    second = check(repo, cache, "--verify")
    assert second.returncode == 1, second.stdout + second.stderr
    assert stamp(second) == before  # V1 was restored, not run again
    assert len(base_entries(cache)) == 2  # the new base stored too
    assert "damaged" not in second.stderr
    # ... sharing the files V3 did not change with its prefix, instead of a second full copy
    files = [f for entry in base_entries(cache) for f in (cache / entry).rglob("*")
             if f.is_file()]
    assert any(f.stat().st_nlink > 1 for f in files)

    third = check(repo, cache, "--verify")  # fully warm now
    assert stamp(third) == before
    assert len(base_entries(cache)) == 2


@pytest.mark.slow  # a cold cache of its own: initdb and three replays
def test_the_flyway_replay_caches_its_base_by_prefix_too(
        tmp_path: Path, pg_binaries: Binaries) -> None:
    cache = tmp_path / "cache"
    repo = make_repo(tmp_path / "repo")
    for name, sql in MAIN.items():  # the Flyway project (V1, V1.1, V2, R__views)
        repo.write(f"migrations/{name}", sql)
    repo.write("migrations/V2.5__stamp.sql", "CREATE TABLE stamp AS SELECT random() AS r;\n")
    repo.commit("main")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V4__tell.sql", TELL)
    repo.commit("branch")
    first = check(repo, cache, "--verify")
    assert first.returncode == 1, first.stdout + first.stderr
    assert len(base_entries(cache, "flyway-base-")) == 1 and not base_entries(cache)

    repo.git("checkout", "-q", "main")
    repo.write("migrations/V3__orders.sql", "CREATE TABLE orders (id int);\n")
    repo.commit("main gains one")
    repo.git("checkout", "-q", "feature")
    repo.git("rebase", "-q", "main")
    second = check(repo, cache, "--verify")
    assert stamp(second) == stamp(first)  # restored from the cached prefix
    assert len(base_entries(cache, "flyway-base-")) == 2


def test_the_chain_names_each_ordered_prefix() -> None:
    header = ("h", "15.4")
    keys = chain(header, [("V1", "a"), ("V2", "b")])
    assert len(keys) == 3 and len(set(keys)) == 3
    assert chain(header, [("V1", "a")]) == keys[:2]  # a prefix keeps its key
    assert chain(header, [("V1", "a"), ("V2", "c")])[2] != keys[2]  # content counts
    assert chain(header, [("V2", "b"), ("V1", "a")])[2] != keys[2]  # order counts
    assert chain(("h", "16.1"), [("V1", "a")])[1] != keys[1]  # so does the header
