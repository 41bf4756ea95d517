"""A large run on this process and forked workers sharing one queue of jobs (issue 14).

`pool.run_jobs` used `concurrent.futures.ProcessPoolExecutor`: importing it and
`multiprocessing` took ~32 ms before the fork, its threads and the pickled jobs (every file's
text sent to a worker that already held it, forked after the jobs were made) cost both
processes more, and the chunks still queued for the worker when the main process ran out
of chunks left one process idle at the end. Here the workers are forked with the jobs
already in their memory, and every process takes the next jobs from one queue held in
shared memory: the largest files first, each take a fraction of what is left (guided
self-scheduling), so that the last takes are single small files and the processes finish
within one of them of each other.

Each worker sends back, on its own pipe, the indexes of the jobs it hands back to this
process (`tokens.Deferred`: this process, not the worker, imports sqlglot) and the results
of each of its takes, which this process lints and reads between its own jobs.
"""

from __future__ import annotations

import os
import pickle
import struct
from bisect import bisect_left
from collections.abc import Callable, Iterator
from contextlib import suppress
from itertools import accumulate
from typing import TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    import mmap

    from migration_gate.sql.engine import LintJob

T = TypeVar("T")

#: Each take is this fraction of the text left per process.
TAKE_SHARE = 4
#: A message on a worker's pipe: its kind and the length of what follows.
_HEADER = struct.Struct("<cI")
_DEFERRED, _DONE, _FAILED = b"d", b"r", b"f"


#: Seconds a process waits for the queue's lock before it asks whether its holder is gone.
LOCK_PATIENCE = 1.0


def _gone(pid: int) -> bool:
    """Whether the child process `pid` has ended (it is not reaped: `_Worker.end` does)."""
    waitid = getattr(os, "waitid", None)
    if waitid is None:  # pragma: no cover - without waitid (not Linux or macOS)
        return False
    try:
        return waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


class _Queue:
    """The jobs' order (largest first) and, in memory shared by the forked processes, the
    position of the next job to take; a pipe holding one byte is the lock around it."""

    def __init__(self, sizes: list[int], processes: int) -> None:
        import mmap

        self.order = sorted(range(len(sizes)), key=lambda i: -sizes[i])
        self.prefix = list(accumulate((sizes[i] for i in self.order), initial=0))
        self.processes = processes
        self.shared: mmap.mmap = mmap.mmap(-1, 8)  # anonymous: shared with forked children
        self.lock_read, self.lock_write = os.pipe()
        os.write(self.lock_write, b"\0")
        self.parent = os.getpid()
        self.workers: list[int] = []  # their process ids, in the main process

    def take(self) -> list[int]:
        """The next jobs' indexes ([] when none is left): a `TAKE_SHARE`-th of the text left
        per process, at least one job."""
        order, prefix = self.order, self.prefix
        self._wait_for_lock()
        os.read(self.lock_read, 1)
        try:
            start = int.from_bytes(self.shared[:8], "little")
            if start >= len(order):
                return []
            want = prefix[start] + (prefix[-1] - prefix[start]) / (
                self.processes * TAKE_SHARE)
            stop = min(max(start + 1, bisect_left(prefix, want)), len(order))
            self.shared[:8] = stop.to_bytes(8, "little")
        finally:
            os.write(self.lock_write, b"\0")
        return order[start:stop]

    def _wait_for_lock(self) -> None:
        """Until the lock may be free. A process killed while it held the lock (for a few
        microseconds) would keep the others waiting forever: a worker whose main process is
        gone exits, and the main process puts the lock back when a worker is gone (the jobs
        that worker took are then done by the main process)."""
        import select

        while not select.select([self.lock_read], [], [], LOCK_PATIENCE)[0]:
            if os.getpid() != self.parent:
                if os.getppid() != self.parent:
                    raise SystemExit(1)
            elif any(map(_gone, self.workers)):
                os.write(self.lock_write, b"\0")

    def close(self) -> None:
        for descriptor in (self.lock_read, self.lock_write):
            with suppress(OSError):
                os.close(descriptor)
        self.shared.close()


def run(jobs: list[LintJob], task: Callable[[LintJob], T], processes: int,
        deferrals: int) -> list[T]:
    """`task` of every job on this process and `processes - 1` forked workers (each handing
    back up to `deferrals` jobs that need sqlglot)."""
    queue = _Queue([len(job.text) + 200 for job in jobs], processes)  # a file's fixed cost
    results: list[T | None] = [None] * len(jobs)
    done = [False] * len(jobs)
    workers: dict[int, _Worker] = {}  # by the read end of its pipe
    try:
        for _ in range(processes - 1):
            try:
                worker = _Worker.fork(jobs, task, queue, deferrals)
            except OSError:  # no more processes allowed: fewer do the work
                break
            workers[worker.pipe] = worker
            queue.workers.append(worker.pid)
        while batch := queue.take():
            for index in batch:
                results[index] = task(jobs[index])
                done[index] = True
            _collect(workers, jobs, task, results, done, wait=False)
        _collect(workers, jobs, task, results, done, wait=True)
    finally:
        for worker in workers.values():
            worker.end()
        queue.close()
    for index in [i for i, finished in enumerate(done) if not finished]:
        # a worker that ended without its results (killed): its jobs are done here
        results[index] = task(jobs[index])
    return cast("list[T]", results)


def _collect(workers: dict[int, _Worker], jobs: list[LintJob], task: Callable[[LintJob], T],
             results: list[T | None], done: list[bool], *, wait: bool) -> None:
    """Read what the workers sent: the jobs they handed back are linted here; their results
    are kept. With `wait`, until every worker has sent its results."""
    import select

    while workers:
        ready = select.select(list(workers), [], [], None if wait else 0)[0]
        if not ready:
            return
        for pipe in ready:
            worker = workers[pipe]
            for kind, payload in worker.read():
                if kind == _DEFERRED:
                    for (index,) in struct.iter_unpack("<I", payload):
                        results[index] = task(jobs[index])
                        done[index] = True
                elif kind == _DONE:
                    for index, result in pickle.loads(payload):
                        results[index] = result
                        done[index] = True
                else:
                    raise pickle.loads(payload)
            if worker.finished:
                worker.end()
                del workers[pipe]


class _Worker:
    """A forked worker process and the read end of its pipe."""

    def __init__(self, pid: int, pipe: int) -> None:
        self.pid = pid
        self.pipe = pipe
        self.buffer = bytearray()
        self.finished = False  # its pipe was closed: it sent all it will send
        self.ended = False

    @classmethod
    def fork(cls, jobs: list[LintJob], task: Callable[[LintJob], T], queue: _Queue,
             deferrals: int) -> _Worker:
        read_end, write_end = os.pipe()
        _widen(write_end)
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            raise
        if pid == 0:  # pragma: no cover - the worker (coverage does not follow the fork)
            os.close(read_end)
            _work(jobs, task, queue, deferrals, write_end)
        os.close(write_end)
        return cls(pid, read_end)

    def read(self) -> Iterator[tuple[bytes, bytes]]:
        """The whole messages that arrived, as (kind, payload)."""
        chunk = os.read(self.pipe, 1 << 20)
        if not chunk:
            self.finished = True
        self.buffer += chunk
        while len(self.buffer) >= _HEADER.size:
            kind, length = _HEADER.unpack_from(self.buffer)
            end = _HEADER.size + length
            if len(self.buffer) < end:
                break
            payload = bytes(self.buffer[_HEADER.size : end])
            del self.buffer[:end]
            yield kind, payload

    def end(self) -> None:
        """Close the pipe and reap the process (killed first if it has not finished: this
        process is leaving on an error or Ctrl-C)."""
        if self.ended:
            return
        self.ended = True
        import signal

        if not self.finished:
            with suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        with suppress(OSError):
            os.close(self.pipe)
        with suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _work(jobs: list[LintJob], task: Callable[[LintJob], T], queue: _Queue, deferrals: int,
          pipe: int) -> None:  # pragma: no cover - runs in the worker
    """The worker: take jobs until none is left, send back the ones that need sqlglot as they
    come and each take's results; never returns (`os._exit`, no interpreter teardown)."""
    code = 1
    try:
        from migration_gate.sql.tokens import Deferred, defer_sqlglot

        defer_sqlglot(deferrals)
        while batch := queue.take():
            found: list[tuple[int, T]] = []
            for index in batch:
                try:
                    found.append((index, task(jobs[index])))
                except Deferred:
                    _send(pipe, _DEFERRED, struct.pack("<I", index))
            # each take's results as soon as they are made: the main process reads them
            # between its own jobs, so that little is left to send once the queue is empty
            _send(pipe, _DONE, pickle.dumps(found, pickle.HIGHEST_PROTOCOL))
        code = 0
    except BaseException as error:  # a failure is raised in the main process, as before
        with suppress(BaseException):
            _send(pipe, _FAILED, _pickled_failure(error))
    finally:
        os._exit(code)


#: A worker's pipe holds this much (Linux's default, 64 KiB, is a few files' results): a
#: worker does not wait for the main process to read while it lints a large file.
PIPE_BYTES = 1 << 20


def _widen(pipe: int) -> None:
    """Make `pipe` hold `PIPE_BYTES` where the system allows it (Linux; else as it is)."""
    import fcntl

    setting = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setting is not None:
        with suppress(OSError):
            fcntl.fcntl(pipe, setting, PIPE_BYTES)


def _pickled_failure(error: BaseException) -> bytes:
    try:
        return pickle.dumps(error, pickle.HIGHEST_PROTOCOL)
    except Exception:
        return pickle.dumps(RuntimeError(f"{type(error).__name__}: {error}"))


def _send(pipe: int, kind: bytes, payload: bytes) -> None:
    data = memoryview(_HEADER.pack(kind, len(payload)) + payload)
    while data:
        data = data[os.write(pipe, data):]
