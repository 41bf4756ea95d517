"""Where migration files come from: the folder on disk (`WorkingTree`), or a source listed
but never read (`NamesOnly`); git commits are `gittree.GitTree`.

Apart from `migrations` (what a file is) because reading is I/O with its own hazards: a FIFO
named like a migration, a folder nested 1,000 levels deep, 5,000 reads per run.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from migration_gate import refinery
from migration_gate.refinery import MigrationName

#: The file extensions refinery reads as migrations: its `embed_migrations!` also accepts
#: `.rs`; the CLI reads `.sql` only.
EXTENSIONS = ("rs", "sql")


class Source(Protocol):
    """Where migration files come from: the working tree or a git commit."""

    def list_files(self) -> list[str]:
        """Paths relative to the migrations folder, POSIX separators."""

    def read_many(self, rels: Sequence[str]) -> dict[str, bytes | str]:
        """Contents by relative path; a `str` value is the reason a file could not be read."""


class WorkingTree:
    """The migrations folder on disk. A plain class, as `NamesOnly`: a source is no data to
    compare, and each dataclass costs every run's import ~0.5 ms (issue 16).

    `unread`: the files git vouches are unchanged since the base (`worktree_index`):
    `discover` makes them without reading them, their content is read if anything asks."""

    __slots__ = ("folder", "unread")

    def __init__(self, folder: Path, unread: frozenset[str] = frozenset()) -> None:
        self.folder = folder
        self.unread = unread

    def __repr__(self) -> str:
        return f"WorkingTree({self.folder!r})"

    def list_files(self) -> list[str]:
        """Files, plus folders named like a migration: refinery's walk does not tell files from
        folders, matches such a folder's name and then fails to read it."""
        found: list[str] = []
        top = os.fspath(self.folder)
        for dirpath, dirnames, filenames in walk(self.folder):
            # plain string work: one path object per file costs more than the walk itself
            below = dirpath[len(top):].lstrip(os.sep)
            prefix = below.replace(os.sep, "/") + "/" if below else ""
            found.extend(prefix + filename for filename in filenames)
            for dirname in dirnames:
                if isinstance(refinery.parse_file_name(dirname, extensions=EXTENSIONS),
                              MigrationName):
                    found.append(prefix + dirname)
        return found

    def read_many(self, rels: Sequence[str]) -> dict[str, bytes | str]:
        result: dict[str, bytes | str] = {}
        top = os.fspath(self.folder)
        for rel in rels:
            try:
                result[rel] = read_regular(top + "/" + rel)
            except OSError as error:
                path = self.folder / rel
                reason = error.strerror or str(error)
                if path.is_symlink() and not path.exists():
                    reason = f"a broken symbolic link ({reason})"
                elif path.is_dir():  # where a folder cannot be opened (Windows)
                    reason = "a folder, named like a migration"
                result[rel] = reason
        return result


#: Opened without blocking (a FIFO named like a migration must not hang the run).
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


def read_regular(path: str) -> bytes | str:
    """A regular file's bytes, or why it is none. Opened without blocking and checked on the
    open descriptor (one `stat` less per file than checking first): a FIFO or a device is
    never read, since reading one could block for ever. Read with `os.read` up to the end,
    without a buffered file object per file (a third of the cost of 5,000 reads)."""
    descriptor = os.open(path, _READ_FLAGS)
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            kind = "a folder" if stat.S_ISDIR(status.st_mode) else "not a regular file"
            return f"{kind}, named like a migration"
        size = status.st_size
        wanted = size + 1 if size >= 65536 else 65536  # one read for the size `fstat` gives
        first = os.read(descriptor, wanted)
        if len(first) == size:
            # the size `fstat` gave, one byte short of what was asked: the end of the file
            # (a file that grew meanwhile fills the extra byte and is read on). One `read`
            # per file instead of two, 5,000 system calls fewer on 5,000 files.
            return first
        chunks = [first]
        while chunk := os.read(descriptor, wanted):
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(descriptor)


def walk(top: Path) -> Iterator[tuple[str, list[str], list[str]]]:
    """`os.walk(top, followlinks=False)` without recursion: Python 3.11's `os.walk` recurses
    once per level, so a folder nested 1,000 levels deep raised `RecursionError`. Like refinery's
    walk, any depth is entered; symlinked folders are listed, not followed; unreadable folders
    are skipped (their files are not migrations anyone can deploy from here)."""
    pending = [os.fspath(top)]
    while pending:
        current = pending.pop()
        dirnames: list[str] = []
        filenames: list[str] = []
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    (dirnames if is_dir else filenames).append(entry.name)
                    if is_dir and not entry.is_symlink():
                        pending.append(entry.path)
        except OSError:
            continue
        yield current, dirnames, filenames


class NamesOnly:
    """A source whose files are listed but never read: versions need names only."""

    __slots__ = ("inner",)

    def __init__(self, inner: Source) -> None:
        self.inner = inner

    def __repr__(self) -> str:
        return f"NamesOnly({self.inner!r})"

    def list_files(self) -> list[str]:
        return self.inner.list_files()

    def read_many(self, rels: Sequence[str]) -> dict[str, bytes | str]:
        return {}
