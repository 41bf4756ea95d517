"""The working-tree files of the migrations folder that git vouches are the base's blobs, so
that a check need not read them (issue 16: 5,000 unchanged migrations per warm check).

git keeps each tracked file's stat data in its index; one `ls-files` of the folder answers from
it, started as soon as the folder is known and read once the merge-base is. Whatever git cannot
answer leaves every file to be read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from migration_gate.gitrun import GitError, run_git
from migration_gate.gittree import _blob_entries, folder_prefix

#: An `ls-files` started early: the folder it lists (repository-relative) and its wait.
Pending = tuple[str, Callable[[], bytes | None]]


#: The modes of a regular file: a symbolic link (refinery reads its target, which may change
#: while the link does not) or a submodule is never vouched for.
_REGULAR_MODES = ("100644", "100755")


def index_listing(root: Path, folder: str) -> bytes | None:
    """What `unchanged_in_worktree` reads: one `ls-files` of the folder, each index entry's
    tag, mode, blob and stage, then the entries git finds modified or deleted in the working
    tree. None when git cannot answer (every file is read then)."""
    try:
        return run_git(["--literal-pathspecs", "ls-files", "-z", "-s", "-t", "-v", "-c", "-m",
                        "-d", "--", folder_prefix(folder) or "."], root)
    except GitError:
        return None


def start_index_listing(root: Path, folder: str) -> Callable[[], bytes | None]:
    """`index_listing` started at once, in a thread: git looks at the folder's files while
    this process resolves the base (one `lstat` per file, ~15 ms on 5,000; issue 16). The
    function returned waits for it. Any failure is None, as in `index_listing`."""
    import threading

    found: list[bytes | None] = [None]

    def run() -> None:
        try:
            found[0] = index_listing(root, folder)
        except Exception:  # nothing vouched for: every file is read
            found[0] = None

    thread = threading.Thread(target=run, name="ls-files", daemon=True)
    thread.start()

    def wait() -> bytes | None:
        thread.join()
        return found[0]

    return wait


def unchanged_in_worktree(root: Path, commit: str, folder: str,
                          listing: bytes | None = None) -> frozenset[str]:
    """The files of `folder` (paths relative to it) that git vouches are, in the working tree,
    the blob `commit` has at the same path: they need not be read to be compared (issue 16).

    From `index_listing` (run here unless given). git tells a modified file by the stat data
    it keeps, and where that cannot decide (a file touched, a racily clean entry) by hashing
    the file as `git add` would; a file is vouched for only when its entry is plainly cached
    (`H`: not assume-unchanged, skip-worktree or unmerged, where git would not look at the
    file), not listed again as modified (`C`) or deleted (`R`), a regular file, and its
    staged blob and mode are the commit's. A file staged but not committed, untracked,
    edited, touched and edited, replaced by a link or a folder is not. Whatever git cannot
    answer leaves every file to be read (an empty set)."""
    if listing is None:
        listing = index_listing(root, folder)
        if listing is None:
            return frozenset()
    prefix = folder_prefix(folder)
    records = listing.decode("utf-8", "surrogateescape").split("\0")
    # the few records that are not plainly cached: modified, deleted, flagged, unmerged
    doubted = {record.partition("\t")[2] for record in records if record[:2] != "H "}
    cached = set(records)
    # an entry vouched for is the very record the base's blob would make: one set lookup
    return frozenset(
        rel for rel, (obj, mode) in _blob_entries(root, commit, prefix).items()
        if mode in _REGULAR_MODES and f"H {mode} {obj} 0\t{prefix}{rel}" in cached
        and prefix + rel not in doubted)


def start(repo_root: Path | None, in_repo: str | None) -> Pending | None:
    """The folder's `ls-files` started (None outside a repository or for a folder outside it)."""
    if repo_root is None or in_repo is None:
        return None
    return in_repo, start_index_listing(repo_root, in_repo)


def vouched(repo_root: Path, commit: str, in_repo: str, pending: Pending | None = None
            ) -> frozenset[str]:
    """`unchanged_in_worktree` of the folder, from the `ls-files` started early when it is of
    this folder (the base's configuration may have named another one since)."""
    if pending is not None and pending[0] == in_repo:
        output = pending[1]()
        if output is None:
            return frozenset()
        return unchanged_in_worktree(repo_root, commit, in_repo, output)
    return unchanged_in_worktree(repo_root, commit, in_repo)
