"""The migrations folder as it is in a commit: names from one `ls-tree`, contents only where
they are not already at hand.

A base file whose blob id equals the git hash of a working-tree file has that file's bytes:
it need not be read (nor, in a partial clone, fetched). Only the files that differ -- edited,
deleted, renamed -- go through one `cat-file --batch`.
"""

from __future__ import annotations

import functools
import hashlib
import posixpath
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path

from migration_gate.gitrun import GitError, run_git

SYMLINK_MODE = "120000"


def blob_id(content: bytes, *, sha256: bool = False) -> str:
    """The id git gives a blob of `content` (`git hash-object`)."""
    digest = hashlib.sha256() if sha256 else hashlib.sha1()
    digest.update(b"blob %d\0" % len(content))
    digest.update(content)
    return digest.hexdigest()


@functools.lru_cache(maxsize=16)
def _ls_tree(root: Path, commit: str, prefix: str) -> bytes:
    """One commit's folder listing, read once per run however many trees look at it (the
    runner's detection and the base's discovery both do)."""
    return run_git(["ls-tree", "-r", "-z", "--full-tree", commit, "--", prefix], root)


#: Each folder's listing parsed, (root, commit, prefix) → entries: once per run however many
#: trees of that folder there are (runner detection and the base's discovery each make one),
#: filled by `_blob_entries` or, in the same `ls-tree` as the configuration, `listing_with`.
_ENTRIES: dict[tuple[Path, str, str], dict[str, tuple[str, str]]] = {}


def _blob_entries(root: Path, commit: str, prefix: str) -> dict[str, tuple[str, str]]:
    key = (root, commit, prefix)
    entries = _ENTRIES.get(key)
    if entries is None:
        entries = _parse_listing(_ls_tree(root, commit, prefix or "."), prefix, ())[0]
        _remember(key, entries)
    return entries


def _remember(key: tuple[Path, str, str], entries: dict[str, tuple[str, str]]) -> None:
    if len(_ENTRIES) >= 16:  # a commit's tree never changes; the bound is for long processes
        _ENTRIES.clear()
    _ENTRIES[key] = entries


def _parse_listing(output: bytes, prefix: str, paths: Sequence[str]
                   ) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """The blobs under `prefix` (relative path → (blob id, mode)), and those of `paths`
    (repository-relative path → (blob id, mode))."""
    entries = {}
    wanted = set(paths)
    found = {}
    # decoded once, not record by record: thousands of records per run
    for record in output.decode("utf-8", "surrogateescape").split("\0"):
        if not record:
            continue
        meta, _, path = record.partition("\t")
        mode, kind, obj = meta.split()
        if kind != "blob":
            continue
        if path.startswith(prefix):
            entries[path[len(prefix):]] = (obj, mode)
        if path in wanted:
            found[path] = (obj, mode)
    return entries, found


def folder_prefix(folder: str) -> str:
    """A repository-relative folder as the start of its files' paths (`db/` ; the root: ``)."""
    return "" if folder in ("", ".") else folder.rstrip("/") + "/"


def listing_with(root: Path, commit: str, folder: str, paths: Sequence[str]
                 ) -> dict[str, tuple[str, str]]:
    """The blobs of `paths` (repository-relative: the configuration's files) in `commit`, path →
    (blob id, mode), listed by the same `ls-tree` as the migrations `folder`, whose listing is
    kept for the run's `GitTree`s: one git process for both (issue 16)."""
    prefix = folder_prefix(folder)
    output = run_git(["ls-tree", "-r", "-z", "--full-tree", commit, "--", prefix or ".",
                      *paths], root)
    entries, found = _parse_listing(output, prefix, paths)
    if (root, commit, prefix) not in _ENTRIES:
        _remember((root, commit, prefix), entries)
    return found


class GitTree:
    """The migrations folder as it is in a commit (the base): a source of `MigrationFile`s,
    no data to compare, so a plain class (a dataclass costs every run's import ~0.5 ms).

    `folder` is repository-relative, POSIX; `known`: contents already at hand (the working
    tree's files), a blob among them is not read."""

    def __init__(self, root: Path, commit: str, folder: str, known: tuple[bytes, ...] = ()
                 ) -> None:
        self.root = root
        self.commit = commit
        self.folder = folder
        self.known = known

    def __repr__(self) -> str:
        return f"GitTree({self.root!r}, {self.commit!r}, {self.folder!r})"

    @cached_property
    def _prefix(self) -> str:
        return folder_prefix(self.folder)

    @cached_property
    def _entries(self) -> dict[str, tuple[str, str]]:
        """relative path → (blob id, mode), blobs only (shared, never modified)."""
        return _blob_entries(self.root, self.commit, self._prefix)

    @cached_property
    def _sha256(self) -> bool:
        """Whether the repository names its objects by SHA-256 (64 hex digits), not SHA-1."""
        return any(len(obj) == 64 for obj, _ in self._entries.values())

    @cached_property
    def _known_by_id(self) -> dict[str, bytes]:
        return {blob_id(content, sha256=self._sha256): content for content in self.known}

    def list_files(self) -> list[str]:
        return list(self._entries)

    def unchanged(self, contents: Mapping[str, bytes]) -> set[str]:
        """The paths (relative to the folder) whose blob here is, byte for byte, the content
        given for that path: nearly every file of a branch's folder. Told by hashing the
        contents at hand, never by reading git; a symbolic link never is (refinery reads its
        target, not the link)."""
        entries = self._entries
        digest = hashlib.sha256 if self._sha256 else hashlib.sha1
        same = set()
        for rel, content in contents.items():
            entry = entries.get(rel)
            # `blob_id` inlined: one call per file of the folder
            if entry is not None and entry[1] != SYMLINK_MODE and entry[0] == digest(
                    b"blob %d\0%b" % (len(content), content)).hexdigest():
                same.add(rel)
        return same

    def read_many(self, rels: Sequence[str]) -> dict[str, bytes | str]:
        """Blob contents; a symbolic link is followed inside the commit, as refinery reads a
        symlinked file's target (an unresolvable link gets a reason instead of content).

        A blob missing from the object database raises `GitError`: unlike a broken link, it
        says nothing about the file and everything about the clone."""
        entries = {rel: self._entries[rel] for rel in rels if rel in self._entries}
        result: dict[str, bytes | str] = {}
        to_read = []
        for rel, (obj, mode) in entries.items():
            if mode != SYMLINK_MODE and obj in self._known_by_id:
                result[rel] = self._known_by_id[obj]
            else:
                to_read.append(rel)
        if not to_read:
            return result
        contents, complaint = _cat_blobs(self.root, [entries[rel][0] for rel in to_read])
        links: dict[str, str] = {}
        for rel, data in zip(to_read, contents, strict=True):
            if data is None:
                state = f"cannot be read ({complaint})" if complaint else "is missing"
                raise GitError(
                    f"{self._prefix}{rel} of commit {self.commit[:12]} (blob "
                    f"{entries[rel][0][:12]}) {state} from the git object database; repair "
                    "the clone (`git fsck` names the damage) or work in a fresh one"
                )
            if entries[rel][1] == SYMLINK_MODE:
                target = self._link_target(rel, data)
                if target is None:
                    result[rel] = "a symbolic link that leaves the repository"
                else:
                    links[rel] = target
            else:
                result[rel] = data
        if links:
            targets = cat_blobs(self.root, [f"{self.commit}:{path}" for path in links.values()])
            for rel, data in zip(links, targets, strict=True):
                result[rel] = data if data is not None else "a broken symbolic link"
        return result

    def read_checked_out(self, rel: str) -> bytes | None:
        """The content as a checkout writes it: `.gitattributes` end-of-line conversion and
        filters applied. One git call per file (`cat-file --batch --filters` misreports sizes
        in git 2.39), so it is only asked for files whose raw content differs. None for a
        symbolic link (its blob is the link, not the content refinery reads)."""
        entry = self._entries.get(rel)
        if entry is None or entry[1] == SYMLINK_MODE:
            return None
        return run_git(["cat-file", "--filters", f"{self.commit}:{self._prefix}{rel}"],
                       self.root)

    def _link_target(self, rel: str, data: bytes) -> str | None:
        target = data.decode("utf-8", "surrogateescape")
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(self._prefix + rel), target))
        if target.startswith("/") or joined.startswith("..") or "\n" in joined:
            return None
        return joined


def cat_blobs(root: Path, names: Sequence[str]) -> list[bytes | None]:
    """The contents of many blobs in one `git cat-file --batch`; None for a missing object or
    one that is not a blob (a link to a folder)."""
    return _cat_blobs(root, names)[0]


def _cat_blobs(root: Path, names: Sequence[str]) -> tuple[list[bytes | None], str]:
    """`cat_blobs` and git's complaint: a corrupt object is reported `missing`, its damage is
    only told on stderr. Every read of the run shares one `cat-file --batch` (gitbatch.py)."""
    from migration_gate import gitbatch

    return gitbatch.reader(root).read(names)
