"""A warm `lint` (issue 14): findings read back from the cache in one batch are the findings
computed, file by file, and a damaged cache costs a recomputation, never a wrong answer.

The cache is the real SQLite file in a temporary folder (`MIGRATION_GATE_CACHE_DIR`); the
lint is the real one.
"""

from __future__ import annotations

import sqlite3
import time
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


def test_the_shared_queue_hands_out_every_job_once_largest_first_in_shrinking_takes() -> None:
    """The forked processes take their jobs from one queue (`sql.forked`): the largest files
    first, each take a share of what is left, so that the last takes are single small files
    and the processes finish together (issue 14)."""
    from migration_gate.sql.forked import _Queue

    sizes = [100 + (n * 7919) % 5_000 for n in range(2_000)]
    queue = _Queue(sizes, 2)
    try:
        takes = list(iter(queue.take, []))
    finally:
        queue.close()
    taken = [index for take in takes for index in take]
    assert sorted(taken) == list(range(len(sizes)))
    assert [sizes[i] for i in taken] == sorted(sizes, reverse=True)
    weights = [sum(sizes[i] for i in take) for take in takes]
    assert weights[0] > 10 * weights[-1] and len(takes[-1]) == 1
    assert weights[0] <= sum(sizes) / 8 + max(sizes)


def test_a_worker_killed_holding_the_queues_lock_does_not_stop_the_run() -> None:
    """A worker killed in the microseconds it holds the queue's lock (out of memory...): the
    main process puts the lock back once it sees the worker gone, and takes every job."""
    import os

    from migration_gate.sql.forked import LOCK_PATIENCE, _Queue

    queue = _Queue([1] * 10, 2)
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: takes the lock, says so, and dies holding it
        os.read(queue.lock_read, 1)
        os.write(ready_write, b"x")
        os._exit(0)
    try:
        os.read(ready_read, 1)
        queue.workers.append(pid)
        started = time.monotonic()
        taken = [index for take in iter(queue.take, []) for index in take]
        assert sorted(taken) == list(range(10))
        assert time.monotonic() - started < LOCK_PATIENCE + 5
    finally:
        os.waitpid(pid, 0)
        os.close(ready_read)
        os.close(ready_write)
        queue.close()


#: Jobs enough for `run_jobs` to fork (`PARALLEL_MIN_CHARS`), each its own number as text.
def _numbered_jobs() -> list[LintJob]:
    from migration_gate.sql.engine import PARALLEL_MIN_CHARS

    return [LintJob(f"V{n}.sql", str(n).ljust(PARALLEL_MIN_CHARS // 50)) for n in range(100)]


def _children() -> set[str]:
    """This process's child processes, zombies included (Linux; empty elsewhere)."""
    return {pid for path in Path("/proc/self/task").glob("*/children")
            for pid in path.read_text().split()}


def test_a_failure_in_a_worker_is_raised_in_the_main_process() -> None:
    """A task that fails in a worker fails the run, as it would in the main process (the
    command then reports an internal error); the worker is not left behind."""
    import os

    from migration_gate.sql.pool import run_jobs

    main = os.getpid()

    def task(job: LintJob) -> int:
        if os.getpid() != main:
            raise ValueError(f"no: {job.path}")
        time.sleep(0.002)  # the worker gets its share
        return int(job.text)

    before = _children()
    with pytest.raises(ValueError, match="no: V"):
        run_jobs(_numbered_jobs(), task, workers=2)
    assert _children() <= before


def test_the_jobs_of_a_worker_that_died_are_done_by_the_main_process(tmp_path: Path) -> None:
    """A worker killed before it sent its results (out of memory...): the main process
    lints what it had taken; the findings are complete."""
    import os

    from migration_gate.sql.pool import run_jobs

    main = os.getpid()
    died = tmp_path / "died"

    def task(job: LintJob) -> int:
        if os.getpid() != main and int(job.text) > 0:
            died.write_text(job.path)
            os._exit(9)
        time.sleep(0.002)  # the worker gets its share
        return int(job.text)

    jobs = _numbered_jobs()
    before = _children()
    assert run_jobs(jobs, task, workers=2) == list(range(len(jobs)))
    assert died.exists() and _children() <= before


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


def test_a_large_lint_sets_its_objects_aside_from_the_collector_before_it_exits() -> None:
    """The exit's last collection over a corpus-sized lint's objects cost 60-100 ms (issue
    14): a large run freezes them just before the exit; a small one (or a test's) does not."""
    import gc

    from migration_gate.commands.lint import _before_exit

    before = gc.get_freeze_count()
    _before_exit([LintJob("V1__a.sql", "SELECT 1;\n")])
    assert gc.get_freeze_count() == before
    try:
        _before_exit(_numbered_jobs())
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
