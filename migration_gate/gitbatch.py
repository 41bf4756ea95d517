"""One `git cat-file --batch` per repository for the whole run (issue 16).

The base is read in several steps: its configuration files first (the base governs,
`baseconfig.py`), then the migration files that differ from the working tree, then the
targets of symbolic links. Each step used to start its own `cat-file --batch`; they now ask
the same process, started on the first read and ended when the run ends (or by `close_all`).

Requests are written in one go and the answers read as they come; a batch larger than a pipe
holds is written by a thread, so that git never waits on a full output pipe while this side
waits on a full input pipe. git's complaints go to a temporary file: they are only read to
explain an object that could not be read.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from migration_gate.gitrun import Failure, GitError, classify, describe, git_says

#: Requests up to this many bytes are written directly (a pipe holds at least 4 KiB).
_DIRECT_WRITE = 4096


class BatchReader:
    """A running `git cat-file --batch` in `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is not None:
            return self._process
        self._stderr = _scratch_file()
        try:
            self._process = subprocess.Popen(
                ["git", "cat-file", "--batch"], cwd=self.root, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=self._stderr,
                env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
            )
        except OSError as error:
            reason = "not installed (or not on PATH)" if isinstance(
                error, FileNotFoundError) else f"not runnable ({error.strerror})"
            raise GitError(f"git is {reason}", Failure.NO_GIT) from None
        return self._process

    def read(self, names: Sequence[str]) -> tuple[list[bytes | None], str]:
        """The contents of `names` (None: missing, or not a blob) and git's complaint so far."""
        if not names:
            return [], ""
        process = self._start()
        assert process.stdin is not None and process.stdout is not None
        request = "".join(name + "\n" for name in names).encode("utf-8", "surrogateescape")
        writer = None
        try:
            if len(request) <= _DIRECT_WRITE:
                process.stdin.write(request)
                process.stdin.flush()
            else:
                writer = threading.Thread(target=_write, args=(process.stdin, request),
                                          daemon=True)
                writer.start()
            result = [self._answer(process.stdout) for _ in names]
        except (OSError, ValueError):
            result = None
        if writer is not None:
            writer.join()
        if result is None:
            self._failed()
        complaint = self._complaint() if any(data is None for data in result or ()) else ""
        return result or [], complaint

    def _answer(self, stdout: IO[bytes]) -> bytes | None:
        header = stdout.readline()
        if not header.endswith(b"\n"):
            raise ValueError("git cat-file stopped answering")
        parts = header.split()
        # `<name> missing` (a name may hold spaces) or `<oid> <type> <size>`
        if parts[-1] in (b"missing", b"ambiguous") or len(parts) != 3:
            return None
        size = int(parts[2])
        data = stdout.read(size + 1)
        if len(data) != size + 1:
            raise ValueError("git cat-file stopped answering")
        return data[:size] if parts[1] == b"blob" else None

    def _complaint(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace")
        return git_says(text, 0) if text.strip() else ""

    def _failed(self) -> None:
        """git ended (not a repository, a damaged one): the classified `GitError`."""
        returncode = self.close()
        text = ""
        if self._stderr is not None:
            self._stderr.seek(0)
            text = self._stderr.read().decode("utf-8", "replace")
        raise GitError(describe(["cat-file"], self.root, classify(returncode, text), returncode,
                                text), classify(returncode, text), text)

    def close(self) -> int:
        """End git (its input closed, it exits); its exit status."""
        process, self._process = self._process, None
        if process is None:
            return 0
        try:
            if process.stdin is not None:
                process.stdin.close()
        except OSError:
            pass
        try:
            return process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()
        finally:
            if process.stdout is not None:
                process.stdout.close()


def _scratch_file() -> IO[bytes]:
    """An anonymous file for git's complaints: in memory where the system has `memfd_create`
    (Linux), else a temporary file. `tempfile` (with `random` and `shutil`) is not imported
    on every commit for a file that stays empty."""
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None:
        try:
            return open(memfd_create("migration-gate-git-stderr"), "w+b")
        except OSError:
            pass
    import tempfile

    return tempfile.TemporaryFile()


def _write(stream: IO[bytes], data: bytes) -> None:
    try:
        stream.write(data)
        stream.flush()
    except (OSError, ValueError):
        pass  # git ended: the reading side reports it


_READERS: dict[Path, BatchReader] = {}


def reader(root: Path) -> BatchReader:
    """The run's reader for the repository at `root`."""
    found = _READERS.get(root)
    if found is None:
        if not _READERS:
            atexit.register(close_all)
        found = _READERS[root] = BatchReader(root)
    return found


def close_all() -> None:
    """End every reader's git (at exit, or when a long-lived caller is done with a run)."""
    while _READERS:
        _root, found = _READERS.popitem()
        found.close()
