"""The base's `git ls-tree` listings, kept in the gate's cache folder (issue 16).

Every `check` lists the migrations folder (and the configuration files) as they are at the
merge-base: one git process, 5-10 ms of a warm pre-commit run, with the same answer until the
branch is rebased or merges its base. A listing is a fact about the commit id and the paths
asked alone (a commit's id covers its whole tree), so it is kept by them: the last `KEPT`
listings, each in a file of its own (a 5,000-file folder lists in ~0.5 MB).

A file that is not a whole listing (every record of `ls-tree -z` ends with NUL) is ignored
and written again; `rm -r` of the cache folder clears them all.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from migration_gate.cachedir import cache_root, write_whole
from migration_gate.gitrun import run_git

#: Listings kept: the bases of the branches a developer switches between.
KEPT = 16
_FOLDER = "listings"


def ls_tree(root: Path, commit: str, pathspec: Sequence[str]) -> bytes:
    """`git ls-tree -r -z --full-tree COMMIT -- PATHSPEC...` in the repository at `root`."""
    target = _cache_file(commit, pathspec)
    if target is not None:
        try:
            kept = target.read_bytes()
        except OSError:
            pass
        else:
            if kept.endswith(b"\0") or kept == b"":
                return kept
    output = run_git(["ls-tree", "-r", "-z", "--full-tree", commit, "--", *pathspec], root)
    if target is not None:
        _store(target, output)
    return output


def _cache_file(commit: str, pathspec: Sequence[str]) -> Path | None:
    """Named by the commit id and a digest of the paths; None for a commit that is not an
    object id (its tree could change)."""
    if len(commit) not in (40, 64) or not all(c in "0123456789abcdef" for c in commit):
        return None
    from migration_gate.digest import sha256

    asked = "\0".join(pathspec).encode("utf-8", "surrogateescape")
    digest = sha256(len(asked))
    digest.update(asked)
    return cache_root() / _FOLDER / f"{commit}-{digest.hexdigest()[:16]}"


def _store(target: Path, output: bytes) -> None:
    """Written whole or not at all; the oldest listings beyond `KEPT` go. A cache folder that
    cannot be written only costs the next run the git process."""
    if not write_whole(target, output, make_folder=True):
        return
    try:
        entries = [e for e in os.scandir(target.parent) if not e.name.endswith(".tmp")]
        if len(entries) > KEPT:
            entries.sort(key=lambda e: e.stat().st_mtime_ns, reverse=True)
            for old in entries[KEPT:]:
                os.unlink(old.path)
    except OSError:
        return
