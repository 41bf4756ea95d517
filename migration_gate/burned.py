"""Burned versions: every version that was once in the migrations folder on the base branch and
is gone since (deleted, or renamed to another version).

Such a version may have been applied somewhere (the migration was deployed, failed or was
reverted, then deleted): a new migration reusing it is "missing" or "divergent" on those
databases, and refinery skips it there for ever. So it is never proposed again, and a branch
that adds it is told so.

One `git log --diff-filter=AD --no-renames --name-status` over the base's history of the folder
finds them all, whatever the length of the history; the answer is cached by commit and folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from migration_gate import refinery
from migration_gate.migrations import EXTENSIONS
from migration_gate.refinery import MigrationName, Prefix

_CACHE_FORMAT = 1


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


def parse_log(output: bytes, folder: str, int8_versions: bool = False
              ) -> dict[int, BurnedVersion]:
    """Versions deleted from `folder` by the log (newest first): the latest deletion of each,
    with the addition that preceded it. Whether the version is still in use is not judged here."""
    prefix = "" if folder in ("", ".") else folder.rstrip("/") + "/"
    found: dict[int, BurnedVersion] = {}
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
        if status == "D" and version not in found:
            found[version] = BurnedVersion(version, posixpath.basename(path), sha, date)
        elif status == "A" and version in found and version not in added_seen:
            added_seen.add(version)
            old = found[version]
            found[version] = BurnedVersion(old.version, old.file_name, old.deleted_sha,
                                           old.deleted_date, sha, date)
    return found


def _version(file_name: str, int8_versions: bool) -> int | None:
    parsed = refinery.parse_file_name(file_name, extensions=EXTENSIONS,
                                      int8_versions=int8_versions)
    if isinstance(parsed, MigrationName) and parsed.prefix is Prefix.VERSIONED:
        return parsed.version
    return None


def burned_versions(root: Path, commit: str, folder: str, in_use: Iterable[int],
                    int8_versions: bool = False) -> tuple[BurnedVersion, ...]:
    """The versions `commit`'s history deleted from `folder` that are not in use (`in_use`:
    the versions the base holds now), oldest version first. One git call, cached."""
    found = _cached(root, commit, folder, int8_versions)
    if found is None:
        from migration_gate.gitbase import run_git

        output = run_git(
            ["-c", "core.quotePath=false", "log", "--format=%x01%H %cs", "--name-status",
             "--diff-filter=AD", "--no-renames", "--no-color", commit, "--", folder or "."],
            root,
        )
        found = parse_log(output, _repo_relative(folder), int8_versions)
        _store(root, commit, folder, int8_versions, found)
    used = set(in_use)
    return tuple(found[v] for v in sorted(found) if v not in used)


def _repo_relative(folder: str) -> str:
    return "" if folder in ("", ".") else folder


def _cache_root() -> Path:
    """The gate's cache folder, as `ephemeral.postgres.cache_root` finds it (not imported from
    there: a check without the replay must not load the database code)."""
    explicit = os.environ.get("MIGRATION_GATE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "migration-gate"


def _cache_file(commit: str, folder: str, int8_versions: bool) -> Path:
    key = hashlib.sha256(f"{_CACHE_FORMAT}\0{commit}\0{folder}\0{int8_versions}".encode(
        "utf-8", "surrogateescape")).hexdigest()[:24]
    return _cache_root() / "burned" / f"{key}.json"


def _cached(root: Path, commit: str, folder: str, int8_versions: bool
            ) -> dict[int, BurnedVersion] | None:
    """A commit's history never changes, so its answer can be kept (a corrupt or foreign cache
    file is ignored: the log is cheap enough to run again)."""
    del root
    try:
        data = json.loads(_cache_file(commit, folder, int8_versions).read_text("utf-8"))
        return {int(row["version"]): BurnedVersion(**row) for row in data}
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _store(root: Path, commit: str, folder: str, int8_versions: bool,
           found: dict[int, BurnedVersion]) -> None:
    del root
    target = _cache_file(commit, folder, int8_versions)
    rows = [vars(b) for b in found.values()]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps(rows), "utf-8")
        temporary.replace(target)
    except OSError:
        pass  # a read-only cache only costs the next run one git call
