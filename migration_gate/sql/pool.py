"""Both cores for a large run: a per-job task on this process and forked workers (issue 14).

`run_jobs` is what `engine.lint_many` lints with, and what `lint` renders with (so that the
rendering is shared by the cores too).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from migration_gate.sql.engine import LintJob

#: Below this much uncached text, starting worker processes costs more than it saves.
PARALLEL_MIN_CHARS = 400_000

T = TypeVar("T")


#: Jobs a worker process hands back to the main process rather than import sqlglot.
DEFERRALS = 32


def _run_chunk(task: Callable[[LintJob], T], jobs: list[LintJob]) -> list[T]:
    return [task(job) for job in jobs]


def run_jobs(jobs: list[LintJob], task: Callable[[LintJob], T],
             workers: int | None = None) -> list[T]:
    """`task` of every job (`lint_job`: its findings; `lint` renders them there too, so that
    both cores render), on `workers` processes (default: one per core) when there is enough
    text to pay for starting them: this process and `workers - 1` forked ones.

    This process lints too, instead of waiting for the workers: every process takes its next
    jobs from one queue (`forked`), so they finish together. The rules are imported before
    the fork (every process needs them: imported once, inherited), sqlglot is not (on the
    corpus, importing it in this process before the fork kept the other core idle for 0.2 s):
    this process imports it when one of its statements needs it, and the workers hand their
    first `DEFERRALS` jobs that need it back to this process (`tokens.defer_sqlglot`), which
    lints them between its own as they come; so on the corpus only one process pays for its
    import.
    """
    size = sum(len(job.text) for job in jobs)
    count = workers if workers is not None else _usable_cores()
    if size < PARALLEL_MIN_CHARS:
        return _run_chunk(task, jobs)
    from migration_gate.sql.reader import use_plain

    use_plain()
    with _fewer_collections():
        if count < 2 or len(jobs) < 4:
            return _run_chunk(task, jobs)
        return _run_forked(jobs, task, count)


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """A large run with the garbage collector's youngest generation 30 times larger, and what
    exists before it set aside (`gc.freeze`): the lint allocates millions of short-lived
    tuples and no cycles worth collecting, and at the default threshold its 150 collections
    per corpus run cost 4% of the lint (measured: 0.08 s, 0.03 s at this size). Frozen, the
    objects made before the fork are not scanned by the workers' collections either (a
    scan writes to every object it visits: copy-on-write pages copied for nothing)."""
    import gc

    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


#: The garbage collector's youngest generation during a large run (Python's default: 700).
YOUNG_OBJECTS = 20_000


def _run_forked(jobs: list[LintJob], task: Callable[[LintJob], T], count: int) -> list[T]:
    """`run_jobs` on this process and `count - 1` forked ones (see there and `forked`)."""
    if not hasattr(os, "fork"):  # pragma: no cover - platforms without fork
        return _run_chunk(task, jobs)
    import migration_gate.sql.lint
    import migration_gate.sql.rules  # noqa: F401  (every rule module: the worker inherits them)
    from migration_gate.sql import forked

    return forked.run(jobs, task, count, DEFERRALS)


def _usable_cores() -> int:
    """The cores this process may run on (a container's or `taskset`'s CPU set, not the
    machine's count: forking for a core it may not use only costs)."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        try:
            return len(affinity(0)) or 1
        except OSError:  # pragma: no cover - a kernel that refuses
            pass
    return os.cpu_count() or 1
