"""Both cores for a large run: a per-job task on this process and forked workers (issue 14).

`run_jobs` is what `engine.lint_many` lints with, and what `lint` renders with (so that the
rendering is shared by the cores too).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from migration_gate.sql.engine import LintJob

#: Below this much uncached text, starting worker processes costs more than it saves.
PARALLEL_MIN_CHARS = 400_000

T = TypeVar("T")


#: Jobs a worker process hands back to the main process rather than import sqlglot.
DEFERRALS = 32


def _run_chunk(task: Callable[[LintJob], T], jobs: list[LintJob]) -> list[T]:
    return [task(job) for job in jobs]


def _run_in_worker(task: Callable[[LintJob], T], jobs: list[LintJob]) -> list[T | None]:
    """`_run_chunk` in a worker process: None for a job handed back (`tokens.Deferred`)."""
    from migration_gate.sql.tokens import Deferred

    results: list[T | None] = []
    for job in jobs:
        try:
            results.append(task(job))
        except Deferred:
            results.append(None)
    return results


def run_jobs(jobs: list[LintJob], task: Callable[[LintJob], T],
             workers: int | None = None) -> list[T]:
    """`task` of every job (`lint_job`: its findings; `lint` renders them there too, so that
    both cores render), on `workers` processes (default: one per core) when there is enough
    text to pay for starting them: this process and `workers - 1` forked ones.

    This process lints too, instead of waiting for the workers: the chunks are queued for the
    workers in order, and this process takes the ones no worker has started yet from the end
    (a queued chunk can be cancelled until a worker picks it up), so both ends meet wherever
    the files' cost puts the middle (`_tapered_chunks`: the chunks near it are small). The
    rules are imported before the fork (every process needs them: imported once, inherited),
    sqlglot is not (on the corpus, importing it in this process before the fork kept the other
    core idle for 0.2 s): this process imports it when one of its statements needs it, and
    the workers hand their first `DEFERRALS` jobs that need it back to this process
    (`tokens.defer_sqlglot`), which lints them between its own chunks as the workers' results
    come in (not at the end, when the workers would wait); so on the corpus only one process
    pays for its import.
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
    """`run_jobs` on this process and `count - 1` forked ones (see there)."""
    # imported here: `concurrent.futures.process` costs ~14 ms, and most runs never fork
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:  # pragma: no cover - platforms without fork
        return _run_chunk(task, jobs)
    import migration_gate.sql.lint
    import migration_gate.sql.rules  # noqa: F401  (every rule module: the worker inherits them)

    chunks = _tapered_chunks(jobs, count)
    results: list[T | None] = [None] * len(jobs)

    def keep(indexes: list[int], found: Sequence[T | None]) -> None:
        for index, result in zip(indexes, found, strict=True):
            # a job a worker handed back: done here, while the workers go on
            results[index] = result if result is not None else task(jobs[index])

    from migration_gate.sql.tokens import defer_sqlglot

    with ProcessPoolExecutor(max_workers=count - 1, mp_context=context,
                             initializer=defer_sqlglot, initargs=(DEFERRALS,)) as pool:
        futures = [pool.submit(_run_in_worker, task, [jobs[i] for i in chunk])
                   for chunk in chunks]
        try:
            kept = 0  # the workers' chunks kept so far, from the front
            for chunk, future in zip(reversed(chunks), reversed(futures), strict=True):
                # the chunks the workers finished first: the jobs they handed back are done
                # now, while the workers still have chunks, not once they have none
                while kept < len(chunks) and futures[kept].done():
                    if not futures[kept].cancelled():
                        keep(chunks[kept], futures[kept].result())
                    kept += 1
                if not future.cancel():
                    break  # a worker has it, and every chunk before it
                keep(chunk, _run_chunk(task, [jobs[i] for i in chunk]))
            for chunk, future in list(zip(chunks, futures, strict=True))[kept:]:
                if not future.cancelled():
                    keep(chunk, future.result())
        except BaseException:  # Ctrl-C, or a failure: the queued chunks are not waited for
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return cast("list[T]", results)  # every chunk was kept


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


def _tapered_chunks(jobs: Sequence[LintJob], processes: int) -> list[list[int]]:
    """Job indexes in chunks for `_run_forked`: the workers take them from the front, this
    process from the back, and they meet near the point where the workers' share of the text
    (`processes - 1` of `processes` parts) ends. Each side's chunks shrink toward that point,
    so that the chunks still in a worker's hands when this process finds it cannot cancel the
    next one (the one it runs and those already queued for it: uncancellable) are small, and
    the processes finish together; far from it, large chunks cost fewer round trips.
    On the corpus, from this process's last own chunk to the workers' last result: 100-230
    ms with 32 equal chunks (the worker held up to three of ~70 ms), 12-48 ms with these."""
    sizes = [len(job.text) + 200 for job in jobs]  # a file's fixed cost too
    total = sum(sizes)
    front = total * (processes - 1) / processes
    # the workers' chunks, largest first, then this process's, smallest first (it takes
    # them from the back: largest first too)
    targets = _shrinking(front) + _shrinking(total - front)[::-1]
    chunks: list[list[int]] = [[] for _ in targets]
    missing = list(targets)
    for index in sorted(range(len(jobs)), key=lambda i: -sizes[i]):
        # the chunk furthest from its target takes the largest job left
        fullest = max(range(len(missing)), key=missing.__getitem__)
        chunks[fullest].append(index)
        missing[fullest] -= sizes[index]
    return [sorted(chunk) for chunk in chunks if chunk]


#: Chunks per side (the workers', this process's), and how much smaller the last of a side
#: is than its first.
CHUNKS_PER_SIDE, _TAPER = 24, 40


def _shrinking(part: float) -> list[float]:
    """`CHUNKS_PER_SIDE` chunk sizes adding up to `part`, each the same fraction of the one
    before it, the last `_TAPER` times smaller than the first (on the corpus: from 7.6% of
    the run to 0.2%, ~5 ms)."""
    ratio = (1 / _TAPER) ** (1 / (CHUNKS_PER_SIDE - 1))
    weights = [ratio**k for k in range(CHUNKS_PER_SIDE)]
    scale = part / sum(weights)
    return [weight * scale for weight in weights]
