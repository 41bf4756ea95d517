"""Burned versions: every version that was once in the migrations folder on the base branch and
is gone since (deleted, or renamed to another version).

Such a version may have been applied somewhere (the migration was deployed, failed or was
reverted, then deleted): a new migration reusing it is "missing" or "divergent" on those
databases, and refinery skips it there for ever. So it is never proposed again, and a branch
that adds it is told so.

One `git log --diff-filter=AD --no-renames --name-status` over the base's history of the folder
finds them all, whatever the length of the history; the answer is cached by commit and folder.
When the base moved on since the tip scanned last (and that tip is its ancestor), only
`git log <old tip>..<new tip>` is read and the cached answer extended.
"""

from __future__ import annotations

import marshal
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from migration_gate import refinery
from migration_gate.cachedir import cache_root, write_whole
from migration_gate.digest import sha256
from migration_gate.refinery import MigrationName, Prefix
from migration_gate.sources import EXTENSIONS

#: 4: the burned versions, then the latest additions, each marshalled (the first's length in
#: the file's first 4 bytes)
_CACHE_FORMAT = 4


@dataclass(frozen=True)
class BurnedVersion:
    """A version the base's history held and its folder no longer does."""

    version: int
    file_name: str  # the name it last had
    deleted_sha: str
    deleted_date: str  # YYYY-MM-DD, the committer date
    added_sha: str = ""
    added_date: str = ""

    def describe(self, ref: str) -> str:
        """`V5__x.sql existed on main from 2024-01-02 (abc1234) until 2024-02-03 (def5678)`."""
        since = f" from {self.added_date} ({self.added_sha[:7]})" if self.added_sha else ""
        return (f"{self.file_name} existed on {ref}{since} until {self.deleted_date} "
                f"({self.deleted_sha[:7]})")


@dataclass(frozen=True)
class Scan:
    """What one base tip's history says: the burned versions (their latest deletion and the
    addition before it), and every version's latest addition, which a later scan of only the
    commits after this tip needs (a version added before the tip may be deleted after it)."""

    found: dict[int, BurnedVersion]
    added: dict[int, tuple[str, str]]  # version -> (sha, date) of its latest addition

    def extended(self, newer: Scan) -> Scan:
        """This scan followed by `newer`, the scan of the commits after it: the answer of one
        scan over both."""
        found = dict(self.found)
        for version, burned in newer.found.items():
            if not burned.added_sha and version in self.added:
                sha, date = self.added[version]  # added before the range, deleted in it
                burned = replace(burned, added_sha=sha, added_date=date)
            found[version] = burned
        return Scan(found, {**self.added, **newer.added})


def parse_log(output: bytes, folder: str, int8_versions: bool = False
              ) -> dict[int, BurnedVersion]:
    """Versions deleted from `folder` by the log (newest first): the latest deletion of each,
    with the addition that preceded it. Whether the version is still in use is not judged here."""
    return scan_log(output, folder, int8_versions).found


def scan_log(output: bytes, folder: str, int8_versions: bool = False) -> Scan:
    """`parse_log`, and the latest addition of every version the log added."""
    prefix = "" if folder in ("", ".") else folder.rstrip("/") + "/"
    found: dict[int, BurnedVersion] = {}
    added: dict[int, tuple[str, str]] = {}
    added_seen: set[int] = set()
    sha = date = ""
    for raw in output.decode("utf-8", "surrogateescape").split("\n"):
        line = raw.rstrip("\r")
        if line.startswith("\x01"):
            sha, _, date = line[1:].partition(" ")
            continue
        status, tab, path = line.partition("\t")
        if not tab or not path.startswith(prefix) or status not in ("A", "D"):
            continue
        version = _version(posixpath.basename(path), int8_versions)
        if version is None:
            continue
        if status == "A":
            added.setdefault(version, (sha, date))
        if status == "D" and version not in found:
            found[version] = BurnedVersion(version, posixpath.basename(path), sha, date)
        elif status == "A" and version in found and version not in added_seen:
            added_seen.add(version)
            old = found[version]
            found[version] = BurnedVersion(old.version, old.file_name, old.deleted_sha,
                                           old.deleted_date, sha, date)
    return Scan(found, added)


def _version(file_name: str, int8_versions: bool) -> int | None:
    parsed = refinery.parse_file_name(file_name, extensions=EXTENSIONS,
                                      int8_versions=int8_versions)
    if isinstance(parsed, MigrationName) and parsed.prefix is Prefix.VERSIONED:
        return parsed.version
    return None


def burned_versions(root: Path, commit: str, folder: str, in_use: Iterable[int],
                    int8_versions: bool = False) -> tuple[BurnedVersion, ...]:
    """The versions `commit`'s history deleted from `folder` that are not in use (`in_use`:
    the versions the base holds now), oldest version first. One git call, cached per tip; when
    the base only moved forward since the tip scanned last, only the new commits are read."""
    pending = _PENDING.pop((root, commit, folder, int8_versions), None)
    scan = pending() if pending is not None else _cached(commit, folder, int8_versions,
                                                         with_added=False)
    if scan is None:
        scan = _scan(root, commit, folder, int8_versions)
    used = set(in_use)
    return tuple(scan.found[v] for v in sorted(scan.found) if v not in used)


def _scan(root: Path, commit: str, folder: str, int8_versions: bool) -> Scan:
    """The scan of a tip not cached yet, then cached."""
    scan = _incremental(root, commit, folder, int8_versions)
    if scan is None:
        scan = scan_log(_log(root, commit, folder), _repo_relative(folder), int8_versions)
    _store(commit, folder, int8_versions, scan)
    _remember_tip(root, commit, folder, int8_versions)
    return scan


#: Scans started early (`prefetch`), by (root, tip, folder, int8_versions): each one's wait.
_PENDING: dict[tuple[Path, str, str, bool], Callable[[], Scan | None]] = {}


def prefetch(root: Path, commit: str, folder: str, int8_versions: bool) -> None:
    """Start the scan of a tip not cached yet in a thread, as soon as the tip is known: its
    `git log` runs while the base's configuration and folder are read (a cold check's ~15 ms,
    issue 16). `burned_versions` with the same arguments waits for it; with others (the base's
    configuration named another folder) it is not used. git's failure is raised there, as
    without the prefetch."""
    if _cache_file(commit, folder, int8_versions).exists():
        return
    import threading

    outcome: list[Scan | BaseException | None] = [None]

    def run() -> None:
        try:
            outcome[0] = _scan(root, commit, folder, int8_versions)
        except BaseException as error:  # raised again where the scan is needed
            outcome[0] = error

    def wait() -> Scan | None:
        thread.join()
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    thread = threading.Thread(target=run, name="burned", daemon=True)
    thread.start()
    _PENDING[(root, commit, folder, int8_versions)] = wait


def _log(root: Path, revisions: str, folder: str) -> bytes:
    from migration_gate.gitbase import run_git

    return run_git(
        ["-c", "core.quotePath=false", "log", "--format=%x01%H %cs", "--name-status",
         "--diff-filter=AD", "--no-renames", "--no-color", revisions, "--", folder or "."],
        root,
    )


def _incremental(root: Path, commit: str, folder: str, int8_versions: bool) -> Scan | None:
    """The scan of the tip this repository scanned last, extended by `git log old..new`; None
    when there is none, or it is not an ancestor of `commit` (a force-pushed base)."""
    from migration_gate.gitrun import call_git

    old = _last_tip(root, folder, int8_versions)
    if old is None or old == commit:
        return None
    previous = _cached(old, folder, int8_versions)
    if previous is None:
        return None
    ancestor = call_git(["merge-base", "--is-ancestor", old, commit], root, accept=(0, 1, 128))
    if ancestor.returncode != 0:
        return None
    newer = scan_log(_log(root, f"{old}..{commit}", folder), _repo_relative(folder),
                     int8_versions)
    return previous.extended(newer)


def _repo_relative(folder: str) -> str:
    return "" if folder in ("", ".") else folder


def _cache_file(commit: str, folder: str, int8_versions: bool) -> Path:
    key = _hex(f"{_CACHE_FORMAT}\0{commit}\0{folder}\0{int8_versions}")[:24]
    return cache_root() / "burned" / f"{key}.bin"


def _tip_file(root: Path, folder: str, int8_versions: bool) -> Path:
    """Where the tip this repository's folder was scanned at last is noted."""
    key = _hex(f"{_CACHE_FORMAT}\0tip\0{root.resolve()}\0{folder}\0{int8_versions}")[:24]
    return cache_root() / "burned" / f"tip-{key}.txt"


def _hex(text: str) -> str:
    """The SHA-256 of `text` (`digest.sha256`: a warm check does not load OpenSSL for it)."""
    data = text.encode("utf-8", "surrogateescape")
    digest = sha256(len(data))
    digest.update(data)
    return digest.hexdigest()


def _last_tip(root: Path, folder: str, int8_versions: bool) -> str | None:
    try:
        text = _tip_file(root, folder, int8_versions).read_bytes().decode("ascii").strip()
    except (OSError, ValueError):
        return None
    return text if len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text) else None


def _remember_tip(root: Path, commit: str, folder: str, int8_versions: bool) -> None:
    write_whole(_tip_file(root, folder, int8_versions), commit.encode("ascii"), make_folder=True)


def _cached(commit: str, folder: str, int8_versions: bool, with_added: bool = True
            ) -> Scan | None:
    """A commit's history never changes, so its answer can be kept (a corrupt or foreign cache
    file is ignored: the log is cheap enough to run again). `with_added=False`: the latest
    additions (one per version ever added, thousands), after the burned versions, are not
    even decoded, for a scan that is read, neither extended nor stored again (a warm check
    over 5,000 files: 3 ms). `marshal`, not `json`: built in, where `json` is four modules
    to import on every check."""
    try:
        data = _cache_file(commit, folder, int8_versions).read_bytes()
        size = int.from_bytes(data[:4], "little")
        if len(data) < 4 + size:
            return None  # cut short
        found = {int(row["version"]): BurnedVersion(**row)
                 for row in marshal.loads(data[4:4 + size])}
        added = {int(v): (str(pair[0]), str(pair[1]))
                 for v, pair in marshal.loads(data[4 + size:]).items()} if with_added else {}
    except (OSError, ValueError, EOFError, TypeError, KeyError, IndexError, AttributeError):
        return None
    return Scan(found, added)


def _store(commit: str, folder: str, int8_versions: bool, scan: Scan) -> None:
    """The burned versions, then the latest additions, marshalled; the first's length ahead."""
    first = marshal.dumps([vars(b) for b in scan.found.values()])
    second = marshal.dumps({v: list(pair) for v, pair in scan.added.items()})
    # a read-only cache only costs the next run one git call
    write_whole(_cache_file(commit, folder, int8_versions),
                len(first).to_bytes(4, "little") + first + second, make_folder=True)
