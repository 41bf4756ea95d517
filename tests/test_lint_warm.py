"""A warm `lint` (issue 14): findings read back from the cache in one batch are the findings
computed, file by file, and a damaged cache costs a recomputation, never a wrong answer.

The cache is the real SQLite file in a temporary folder (`MIGRATION_GATE_CACHE_DIR`); the
lint is the real one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from migration_gate.sql.engine import RECENT_NAME, Cache, LintJob, cache_key, lint_many

DROP = "ALTER TABLE users DROP COLUMN legacy;\n"
INDEX = "CREATE INDEX orders_idx ON orders (id);\nCREATE TABLE t (id int);\n"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder with its SQLite file (before one exists, a small run's findings are kept
    in the recent findings alone: `tests/test_recent_findings.py`)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("MIGRATION_GATE_CACHE_DIR", str(folder))
    monkeypatch.delenv("MIGRATION_GATE_NO_CACHE", raising=False)
    opened = Cache.open()
    assert opened is not None
    opened.close()
    return folder


def jobs() -> list[LintJob]:
    """Two files with the same text (one cache entry, two paths), one other, one clean."""
    return [LintJob("a/V1__drop.sql", DROP), LintJob("b/V1__drop.sql", DROP),
            LintJob("V2__index.sql", INDEX), LintJob("V3__clean.sql", "SELECT 1;\n")]


def test_findings_read_back_from_the_cache_are_the_computed_ones(cache: Path) -> None:
    computed = lint_many(jobs(), use_cache=False)
    assert "ban-drop-column" in [d.rule for d in computed[0]]
    assert computed[1][0].path == "b/V1__drop.sql" and len(computed[2]) >= 2
    assert lint_many(jobs()) == computed  # fills the cache
    with sqlite3.connect(cache / "lint-v1.sqlite") as connection:
        (count,) = connection.execute("SELECT count(*) FROM findings").fetchone()
    assert count == 3  # the duplicate text is one entry
    assert lint_many(jobs()) == computed  # read back: same findings, each with its own path


def test_a_damaged_cache_entry_is_recomputed(cache: Path) -> None:
    expected = lint_many(jobs())
    with sqlite3.connect(cache / "lint-v1.sqlite") as connection:
        connection.execute("UPDATE findings SET value = '[[1, 2' WHERE key = ?",
                           (cache_key(jobs()[2]),))
    (cache / RECENT_NAME).unlink()  # the recent findings would answer without SQLite
    assert lint_many(jobs()) == expected


def test_the_pool_gives_every_file_its_own_findings_in_order() -> None:
    """Over `PARALLEL_MIN_CHARS` of text, this process and a forked worker share the chunks
    (this one takes them from the end): every job still gets its own findings, in order."""
    from migration_gate.sql.engine import PARALLEL_MIN_CHARS

    notes = "-- " + "x" * 2_000 + "\n"  # text that counts, and costs little to lint
    many = [LintJob(f"V{n}__t.sql", notes * 6 + f"CREATE TABLE t{n} (id int);\n"
                    + ("DROP TABLE t;\n" if n % 3 == 0 else ""))
            for n in range(40)]
    assert sum(len(job.text) for job in many) > PARALLEL_MIN_CHARS
    serial = lint_many(many, use_cache=False, workers=1)
    assert lint_many(many, use_cache=False, workers=2) == serial
    assert [any(d.rule == "ban-drop-table" for d in found) for found in serial] == [
        n % 3 == 0 for n in range(40)]
    assert all(found[0].path == job.path for job, found in zip(many, serial, strict=True))


def test_a_large_run_collects_garbage_less_often_and_then_as_before() -> None:
    """During a large run the collector's youngest generation is larger (its collections
    were 4% of a cold lint), and what existed before is frozen; afterwards both are as they
    were, so that a long-lived process that lints (the tests, an editor) is left alone."""
    import gc

    from migration_gate.sql import pool
    from migration_gate.sql.engine import PARALLEL_MIN_CHARS

    seen: list[tuple[tuple[int, int, int], int]] = []

    def task(job: LintJob) -> int:
        seen.append((gc.get_threshold(), gc.get_freeze_count()))
        return len(job.text)

    before = (gc.get_threshold(), gc.get_freeze_count())
    many = [LintJob(f"V{n}.sql", "x" * (PARALLEL_MIN_CHARS // 4)) for n in range(5)]
    assert pool.run_jobs(many, task, workers=1) == [len(job.text) for job in many]
    assert all(threshold[0] == pool.YOUNG_OBJECTS and frozen > 0 for threshold, frozen in seen)
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
    seen.clear()
    assert pool.run_jobs(many[:1], task, workers=1) == [len(many[0].text)]  # small: as is
    assert seen == [before]


#: Runs `pool.run_jobs` on two processes in a fresh interpreter (sqlglot not imported yet),
#: with a task that says which process ran each job and whether sqlglot was imported there.
DEFERRING = """
import json, os, sys
from migration_gate.sql.engine import LintJob, lint_job
from migration_gate.sql.pool import run_jobs

notes = "-- " + "x" * 2_000 + "\\n"
jobs = [LintJob(f"V{n}__t.sql", notes * 6 + f"CREATE TABLE t{n} (id int);\\n"
                + ("SELECT E'a\\\\\\\\nb' FROM t;\\n" if n % 10 == 3 else ""))
        for n in range(40)]

def task(job):
    return [d.rule for d in lint_job(job)], os.getpid(), "sqlglot" in sys.modules

found = run_jobs(jobs, task, workers=2)
serial = [[d.rule for d in lint_job(job)] for job in jobs]
print(json.dumps({"main": os.getpid(), "found": found, "serial": serial}))
"""


def test_workers_hand_the_jobs_that_need_sqlglot_back_to_the_main_process() -> None:
    """One process imports sqlglot, not both (`tokens.defer_sqlglot`); the findings are the
    serial ones."""
    import json
    import subprocess
    import sys

    from tests.conftest import clean_env

    done = subprocess.run([sys.executable, "-c", DEFERRING], env=clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [rules for rules, _pid, _sqlglot in report["found"]] == report["serial"]
    pids = {pid for _rules, pid, _sqlglot in report["found"]}
    assert len(pids) == 2  # both processes linted
    for n, (_rules, pid, sqlglot) in enumerate(report["found"]):
        if n % 10 == 3:
            assert pid == report["main"] and sqlglot  # parsed there, whoever had the chunk
        elif pid != report["main"]:
            assert not sqlglot  # the worker never imported it
