"""Migration files as refinery discovers them, from the working tree or from a git tree.

Both sources yield the same `MigrationFile`s: a folder is walked recursively and unsorted,
hidden sub-folders are entered, symlinked folders are not followed, symlinked files are read
(docs/refinery.md#file-names). Reading never raises: a file that cannot be read or decoded
carries the reason, so that the rules can report it as a finding.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, overload

from migration_gate import refinery
from migration_gate.refinery import MigrationName, NameProblem, Prefix

if TYPE_CHECKING:
    from migration_gate.runners.model import NameProblem as RunnerNameProblem
    from migration_gate.runners.model import ParsedMigration, Runner

#: refinery's `embed_migrations!` also accepts `.rs`; the CLI reads `.sql` only.
EXTENSIONS = ("rs", "sql")

_T = TypeVar("_T")


class _once(Generic[_T]):
    """`functools.cached_property` without its lock: Python 3.11's takes a lock on every first
    access, and a run makes several first accesses per file on thousands of files (issue 16).
    The value goes into the instance's `__dict__` (a frozen dataclass's fields are unchanged),
    where later reads find it without calling anything. Without the lock, two threads asking
    at once both compute it: the values are pure, so they get equal answers."""

    def __init__(self, compute: Callable[[MigrationFile], _T]) -> None:
        self._compute = compute
        self._name = compute.__name__
        self.__doc__ = compute.__doc__

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> _once[_T]: ...

    @overload
    def __get__(self, instance: MigrationFile, owner: type | None = None) -> _T: ...

    def __get__(self, instance: MigrationFile | None, owner: type | None = None
                ) -> _T | _once[_T]:
        if instance is None:
            return self
        value = instance.__dict__[self._name] = self._compute(instance)
        return value


@dataclass(frozen=True)
class MigrationFile:
    """One file of the migrations folder, parsed the way refinery parses its name."""

    path: str  # repository-relative (or project-relative outside git), POSIX separators
    rel: str  # relative to the migrations folder
    content: bytes | None = field(repr=False)
    read_error: str | None = None
    int8_versions: bool = False
    #: the project's runner when it is not refinery (the refinery fields above stay refinery's)
    runner: Runner | None = field(default=None, repr=False, compare=False)

    @property
    def file_name(self) -> str:
        return _base_name(self.rel)

    @_once
    def runner_parsed(self) -> ParsedMigration | RunnerNameProblem | None:
        """The name as the project's runner reads it (None: refinery, see `parsed`)."""
        return None if self.runner is None else self.runner.parse_name(self.file_name)

    @_once
    def runs_as(self) -> ParsedMigration | None:
        """The migration the runner runs for this file, misnamed or not (Flyway runs `V3.sql`)."""
        import migration_gate.runners.model as model  # no `__path__` probe: see below

        parsed = self.runner_parsed
        if isinstance(parsed, model.ParsedMigration):
            return parsed
        return parsed.accepted_as if parsed is not None else None

    @_once
    def runner_checksum(self) -> int | None:
        """The checksum the runner records (Flyway's signed CRC32), or None."""
        migration = self.runs_as
        if self.runner is None or migration is None or self.content is None:
            return None
        value = self.runner.checksum(migration, self.content)
        return value if isinstance(value, int) else None

    @_once
    def parsed(self) -> MigrationName | NameProblem:
        return refinery.parse_file_name(
            self.file_name, extensions=EXTENSIONS, int8_versions=self.int8_versions
        )

    @_once
    def refinery_migration(self) -> ParsedMigration | None:
        """The name refinery reads (`.rs` included) as the runner model's migration, built
        once: the history rules ask for it several times per file, on every file of both
        sides."""
        # not `from ... import`, which probes the module for `__path__` (an AttributeError
        # its lazy `__getattr__` raises), once per file of both sides
        import migration_gate.runners.refinery as runner

        name = self.name
        return runner.parsed_from_name(name, self.file_name) if name is not None else None

    @_once
    def name(self) -> MigrationName | None:
        parsed = self.parsed
        return parsed if isinstance(parsed, MigrationName) else None

    @_once
    def text(self) -> str | None:
        """The content as UTF-8 (refinery refuses anything else), or None."""
        if self.content is None:
            return None
        try:
            return self.content.decode("utf-8")
        except UnicodeDecodeError:
            return None

    @_once
    def checksum(self) -> int | None:
        """refinery's checksum, or None for `.rs` files and unreadable content."""
        name = self.name
        if name is None or name.extension != "sql" or self.content is None:
            return None
        return refinery.checksum(
            name.name, name.version, self.content, int8_versions=self.int8_versions
        )

    if not TYPE_CHECKING:  # for mypy, `content` stays a plain field (and no other name appears)
        def __getattr__(self, name: str) -> object:
            """`content` of a file made by `unread_file`, read on first use; called only for
            an attribute the instance lacks, so other files pay nothing."""
            if name != "content" or "_unread" not in self.__dict__:
                raise AttributeError(name)
            try:
                data = _read_regular(self.__dict__["_unread"])
            except OSError as error:
                data = error.strerror or str(error)
            if isinstance(data, str):  # it was a readable file git vouched for a moment ago
                from migration_gate.diagnostics import GateError

                raise GateError(f"cannot read {self.path}: {data}; refinery would fail on it "
                                "too (fix or remove it)")
            self.__dict__["content"] = data
            return data

    def as_refinery(self) -> refinery.Migration | None:
        name, digest = self.name, self.checksum
        if name is None or digest is None:
            return None
        return refinery.Migration(name.prefix, name.version, name.name, digest)


def is_sql_migration(migration: MigrationFile) -> bool:
    name = migration.name
    return name is not None and name.extension == "sql"


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
                result[rel] = _read_regular(top + "/" + rel)
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


def _read_regular(path: str) -> bytes | str:
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


def discover(
    source: Source,
    *,
    folder_path: str,
    exclude: Iterable[str] = (),
    int8_versions: bool = False,
    runner: Runner | None = None,
) -> tuple[MigrationFile, ...]:
    """Every file of the folder, sorted by path; the content is read for migration names.

    `folder_path` is the folder relative to the reporting root, used to build `path`.
    `runner`: the project's runner when it is not refinery; its migrations are read, the
    misnamed ones it would still run (or that the rules suggest a fix for) included.
    """
    rels = listed(source, folder_path=folder_path, exclude=exclude)
    # refinery's reading of each name, parsed once here and handed to the file (`parsed`)
    names: dict[str, MigrationName | NameProblem] = {}
    if runner is not None:
        wanted = [rel for rel in rels if _runner_reads(runner, _base_name(rel))]
    else:
        parse = refinery.parse_file_name
        names = {rel: parse(_base_name(rel), extensions=EXTENSIONS, int8_versions=int8_versions)
                 for rel in rels}
        wanted = [rel for rel, parsed in names.items() if isinstance(parsed, MigrationName)]
    # the files to read that git vouches for (`WorkingTree.unread`) are read on first use
    unread: set[str] | frozenset[str] = frozenset()
    top = ""
    if isinstance(source, WorkingTree) and source.unread:
        unread = {rel for rel in wanted if rel in source.unread}
        top = os.fspath(source.folder) + "/"
        wanted = [rel for rel in wanted if rel not in unread]
    contents = source.read_many(wanted) if wanted else {}
    files: list[MigrationFile] = []
    prefix = "" if folder_path in ("", ".") else folder_path.rstrip("/") + "/"
    for rel in rels:
        if rel in unread:
            files.append(unread_file(top + rel, prefix + rel, rel, names.get(rel),
                                     int8_versions, runner))
            continue
        data = contents.get(rel)
        migration = MigrationFile(
            path=prefix + rel,
            rel=rel,
            content=data if isinstance(data, bytes) else None,
            read_error=data if isinstance(data, str) else None,
            int8_versions=int8_versions,
            runner=runner,
        )
        if names:
            migration.__dict__["parsed"] = names[rel]  # what `parsed` would compute again
        files.append(migration)
    return tuple(files)


def unread_file(file: str, path: str, rel: str,
                parsed: MigrationName | NameProblem | None, int8_versions: bool,
                runner: Runner | None) -> MigrationFile:
    """A working-tree file as `discover` makes it, its content not read yet: equal to the file
    read at once, the bytes of `file` read on first use of `content`
    (`MigrationFile.__getattr__`).
    Built field by field, as the frozen dataclass's `__init__` would set them."""
    migration = object.__new__(MigrationFile)
    fields = migration.__dict__
    fields.update(path=path, rel=rel, read_error=None, int8_versions=int8_versions,
                  runner=runner)
    fields["_unread"] = file
    if parsed is not None:
        fields["parsed"] = parsed
    return migration


def listed(source: Source, *, folder_path: str, exclude: Iterable[str] = ()) -> list[str]:
    """The relative paths `discover` makes files of, sorted: the names alone, when nothing
    else of the files is needed (runner detection lists thousands of them on every run)."""
    patterns = tuple(exclude)
    if not patterns:
        return sorted(source.list_files())
    return sorted(rel for rel in source.list_files() if not _excluded(rel, folder_path, patterns))


def _runner_reads(runner: Runner, file_name: str) -> bool:
    """Whether a file is worth reading for `runner`: a name it accepts, or an SQL file."""
    # the cheap test first: nearly every file is an SQL file, whose name need not be parsed here
    if file_name.lower().endswith(".sql"):
        return True
    import migration_gate.runners.model as model  # no `__path__` probe: see refinery_migration

    return isinstance(runner.parse_name(file_name), model.ParsedMigration)


def _base_name(rel: str) -> str:
    """`PurePosixPath(rel).name` for a clean relative path, without building a path object
    (thousands of calls per run)."""
    return rel.rpartition("/")[2]


def _join(folder_path: str, rel: str) -> str:
    if folder_path in ("", "."):
        return rel
    return f"{folder_path.rstrip('/')}/{rel}"


def _excluded(rel: str, folder_path: str, patterns: tuple[str, ...]) -> bool:
    full = _join(folder_path, rel)
    return any(
        fnmatch.fnmatchcase(full, p) or fnmatch.fnmatchcase(rel, p) for p in patterns
    )


def versioned(files: Iterable[MigrationFile]) -> Iterator[tuple[MigrationFile, MigrationName]]:
    """The files with a valid refinery name, with that name."""
    for migration in files:
        name = migration.name
        if name is not None:
            yield migration, name


def max_version(files: Iterable[MigrationFile]) -> int:
    """Highest version among valid names (`V` and `U` share the history table), or 0."""
    return max((name.version for _, name in versioned(files)), default=0)


def infer_padding(files: Iterable[MigrationFile]) -> int:
    """The zero-padding width most `V` files use (`V008` → 3), or 0 for unpadded folders."""
    texts = [name.version_text for _, name in versioned(files)
             if name.prefix is Prefix.VERSIONED]
    widths: dict[int, int] = {}
    for text in texts:
        if len(text) > 1 and text.startswith("0"):
            widths[len(text)] = widths.get(len(text), 0) + 1
    if not widths:
        return 0
    width, count = max(widths.items(), key=lambda item: (item[1], item[0]))
    # files that would have been padded to that width and are not (whatever their order)
    unpadded = sum(1 for text in texts if not text.startswith("0") and len(text) < width)
    return width if count >= unpadded else 0
