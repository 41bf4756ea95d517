"""Restoring a cached data folder for one run: a copy checked against the entry's manifest,
run in a child process while the gate goes on.

Why its own module, standard library only: it is also run as a script (`python -I -S` this
file), so that the copy -- thousands of files, all system calls -- runs on the other core
while the gate imports the PostgreSQL driver (0.2 s); a thread would fight that import for the
interpreter lock after every system call and make both slower.

Why not `cp -a` then a check: a warm check restores thousands of files (4,500 for a
3,000-migration base), and the cost is per file, not per byte. `cp -a` spends 20 system calls
on each (extended attributes, ownership, advice), a check then stats each again, and as root
every file was given to the server's user in a third pass. Here each file costs an open, a
stat, a create, one `sendfile`, a time stamp (kept: `pgcache.split_changed` compares it) and,
as root, an `fchown` -- a copy in half the time, with the check for free.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

#: Written last into a stored data folder: its presence says the copy is complete.
MANIFEST = "migration-gate-snapshot.json"
#: `global/pg_control` is always exactly this size (PG_CONTROL_FILE_SIZE).
PG_CONTROL_SIZE = 8192

Owner = tuple[int, int]
_T = TypeVar("_T")


@contextlib.contextmanager
def restoring(entry: Path, target: Path, version: str, owner: Owner | None = None
              ) -> Iterator[Callable[[], str | None]]:
    """Start restoring `entry` into `target` (`restore`) in a child process; the block gets a
    function that waits for it and returns `restore`'s answer. The child is killed and waited
    for if the block is left early (SIGTERM, Ctrl-C): nothing outlives the gate's own exit."""
    started = Restoring.start(entry, target, version, owner)
    try:
        yield started.finish
    finally:
        started.stop()


class Restoring:
    """One restore (`restore`) under way in a child process, or still to be done here (no
    interpreter to run this file with, or the child could not be started)."""

    def __init__(self, entry: Path, target: Path, version: str, owner: Owner | None,
                 process: subprocess.Popen[bytes] | None) -> None:
        self.entry, self.target, self.version, self.owner = entry, target, version, owner
        self.process = process

    @classmethod
    def start(cls, entry: Path, target: Path, version: str, owner: Owner | None = None,
              preexec_fn: Callable[[], None] | None = None) -> Restoring:
        """The child started (`preexec_fn` runs in it before the copy, e.g. to arm a
        parent-death signal)."""
        script = Path(__file__)
        if getattr(sys, "frozen", False) or not script.is_file() or not sys.executable:
            return cls(entry, target, version, owner, None)
        command = [sys.executable, "-I", "-S", str(script), str(entry), str(target), version]
        if owner is not None:
            command += [str(owner[0]), str(owner[1])]
        try:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       preexec_fn=preexec_fn)
        except OSError:
            process = None
        return cls(entry, target, version, owner, process)

    def running(self) -> bool:
        """Whether the child still copies."""
        return self.process is not None and self.process.poll() is None

    def finish(self) -> str | None:
        """Wait for the copy: `restore`'s answer (copied here if the child broke down)."""
        process = self.process
        if process is not None:
            out, _err = process.communicate()
            if process.returncode == 0:
                return os.fsdecode(out).strip() or None
            shutil.rmtree(self.target, ignore_errors=True)  # the child broke down
        return restore(self.entry, self.target, self.version, self.owner)

    def stop(self) -> None:
        """Kill the child if it still runs, and wait for it (its copy is left to the caller)."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()


def restore(entry: Path, target: Path, version: str, owner: Owner | None = None) -> str | None:
    """Copy the cache entry `entry` to the new folder `target`, checking it against its
    manifest on the way: why it is damaged (`target` is then removed), or None. Files keep
    their modes and modification times and are given to `owner`; the manifest itself is not
    copied (the server ignores it, `pgcache.store` writes a new one)."""
    try:
        manifest = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
        expected = {str(rel): int(size) for rel, size in dict(manifest["files"]).items()}
    except FileNotFoundError:
        return f"it was not completely written: {MANIFEST} is missing"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return f"its {MANIFEST} is unreadable"
    reason = _version_damage(entry, version)
    if reason is None:
        try:
            reason = _copy_checked(entry, target, expected, owner)
        except _Unreadable as error:
            reason = str(error)
        except OSError:  # writing the copy (a full disk): the run fails, the entry stays
            shutil.rmtree(target, ignore_errors=True)
            raise
    if reason is not None:
        shutil.rmtree(target, ignore_errors=True)
    return reason


class _Unreadable(Exception):
    """A file of the cache entry cannot be read: the entry is damaged (unlike an error writing
    the copy, which says nothing about it)."""


def _read_side(action: Callable[[], _T], name: str) -> _T:
    try:
        return action()
    except OSError as error:
        raise _Unreadable(f"{name} cannot be read: {error.strerror}") from None


def pg_version_file(version: str) -> str:
    """What `PG_VERSION` holds for a server version: `15` for 15.4, `9.6` for 9.6.24."""
    parts = version.split(".")
    return parts[0] if int(parts[0]) >= 10 else ".".join(parts[:2])


def _version_damage(folder: Path, version: str) -> str | None:
    try:
        written = (folder / "PG_VERSION").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return "PG_VERSION is missing or unreadable"
    if written != pg_version_file(version):
        return f"PG_VERSION says {written!r}, the server is {version}"
    return None


def _copy_checked(source: Path, target: Path, expected: dict[str, int],
                  owner: Owner | None) -> str | None:
    """Every file and symbolic link of `source` (but the manifest) into `target`; the first
    file whose size is not the manifest's (or the control file's), or that the manifest has
    and `source` lacks."""
    expected = {**expected, "global/pg_control": PG_CONTROL_SIZE}
    seen = 0
    for dirpath, dirnames, filenames in os.walk(source):
        folder = Path(dirpath)
        rel_dir = folder.relative_to(source)
        into = target / rel_dir
        into.mkdir(stat.S_IMODE(_read_side(folder.stat, str(rel_dir)).st_mode))
        if owner is not None:
            os.chown(into, *owner)
        prefix = "" if rel_dir == Path(".") else f"{rel_dir.as_posix()}/"
        links = [name for name in dirnames if (folder / name).is_symlink()]
        from_fd = _read_side(functools.partial(os.open, folder, os.O_RDONLY | os.O_DIRECTORY),
                             str(rel_dir))
        try:
            to_fd = os.open(into, os.O_RDONLY | os.O_DIRECTORY)
            try:
                for name in (*filenames, *links):
                    rel = prefix + name
                    if rel == MANIFEST:
                        continue
                    size = _copy_entry(from_fd, to_fd, name, owner)
                    wanted = expected.get(rel)
                    if wanted is not None:
                        seen += 1
                        if size != wanted:
                            return f"{rel} has {size} bytes instead of {wanted}"
            finally:
                os.close(to_fd)
        finally:
            os.close(from_fd)
    if seen != len(expected):
        missing = sorted(rel for rel in expected if not os.path.lexists(target / rel))
        return f"{missing[0] if missing else 'a file'} is missing"
    return None


def _copy_entry(from_fd: int, to_fd: int, name: str, owner: Owner | None) -> int:
    """Copy one entry between two open folders; its size (a link's: as `lstat` says)."""
    try:
        source = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=from_fd)
    except OSError as error:
        if error.errno != errno.ELOOP:  # ELOOP: a symbolic link, copied as one
            raise _Unreadable(f"{name} cannot be read: {error.strerror}") from None
        pointed = _read_side(lambda: os.readlink(name, dir_fd=from_fd), name)
        os.symlink(pointed, name, dir_fd=to_fd)
        if owner is not None:
            os.chown(name, *owner, dir_fd=to_fd, follow_symlinks=False)
        return os.stat(name, dir_fd=to_fd, follow_symlinks=False).st_size
    try:
        try:
            info = os.fstat(source)
        except OSError as error:
            raise _Unreadable(f"{name} cannot be read: {error.strerror}") from None
        copy = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                       stat.S_IMODE(info.st_mode), dir_fd=to_fd)
        try:
            _copy_bytes(source, copy, info.st_size)
            if owner is not None:
                os.fchown(copy, *owner)
            if info.st_mode & 0o077:  # what the umask may have taken from the create
                os.fchmod(copy, stat.S_IMODE(info.st_mode))
            os.utime(copy, ns=(info.st_atime_ns, info.st_mtime_ns))
        finally:
            os.close(copy)
    finally:
        os.close(source)
    return info.st_size


def _copy_bytes(source: int, copy: int, size: int) -> None:
    """`size` bytes: by `sendfile`, which keeps them in the kernel, else read and written.

    No read past `size` to see whether the file grew: a cache entry is never written once
    stored, and that read was one system call more for each of thousands of files."""
    left = size
    with contextlib.suppress(OSError, AttributeError):
        while left > 0:
            sent = os.sendfile(copy, source, size - left, left)
            if sent == 0:
                break
            left -= sent
    offset = size - left
    while left > 0:
        chunk = os.pread(source, min(left, 1 << 20), offset)
        if not chunk:
            return
        os.write(copy, chunk)
        offset += len(chunk)
        left -= len(chunk)


def _main(args: list[str]) -> int:
    """`restorecopy.py ENTRY TARGET VERSION [UID GID]`: `restore`'s answer on stdout."""
    entry, target, version = Path(args[0]), Path(args[1]), args[2]
    owner = (int(args[3]), int(args[4])) if len(args) == 5 else None
    try:
        sys.stdout.write(restore(entry, target, version, owner) or "")
    except OSError as error:  # the gate copies again itself, and reports what it meets
        sys.stderr.write(f"{error}\n")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
