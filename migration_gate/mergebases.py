"""The merge-bases already asked of git, kept in the gate's cache folder (issue 16).

`git merge-base HEAD base` is one of the five git processes of every `check`: 5-10 ms of a
warm pre-commit run, asked again with the same two commits until one of them moves. Its
answer is a fact about the two commit ids alone: a commit's id covers its parents, so any
repository holding both full histories walks the same graph to the same answer. It is kept
here, in one small file for every repository (the last `KEPT` pairs asked).

Not kept: anything from a shallow clone (its graph is cut, and deepening it changes the
answer; `gitbase.resolve_base` never asks then). Not covered: history rewritten in place with
`git replace` or grafts between two runs on the same commits (git's own commit-graph is
turned off by them too); `rm -r` of the cache folder clears it.
"""

from __future__ import annotations

from pathlib import Path

from migration_gate.cachedir import cache_root, write_whole

#: Pairs remembered: the branches a developer switches between, and their bases.
KEPT = 32
_FILE_NAME = "merge-bases.txt"


def known(head: str, tip: str) -> str | None:
    """The merge-base of commits `head` and `tip` as git answered it before, or None."""
    for line in _lines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[0] == head and parts[1] == tip:
            return parts[2]
    return None


def remember(head: str, tip: str, merge_base: str) -> None:
    """Keep git's answer for `head` and `tip` (most recent first). A cache folder that cannot
    be written only costs the next run the git process."""
    if not all(_is_object_id(value) for value in (head, tip, merge_base)):
        return
    entry = f"{head} {tip} {merge_base}"
    kept = [entry, *(line for line in _lines() if not line.startswith(f"{head} {tip} "))]
    write_whole(_cache_file(), ("\n".join(kept[:KEPT]) + "\n").encode("ascii"),
                make_folder=True)


def _lines() -> list[str]:
    try:
        # bytes decoded, not `read_text("ascii")`: a text file's codec lookup imports
        # `encodings.ascii` (a module more per warm check); `bytes.decode` has ASCII built in
        return _cache_file().read_bytes().decode("ascii").splitlines()
    except (OSError, ValueError):  # missing, unreadable, or not ASCII (not ours): start over
        return []


def _is_object_id(value: str) -> bool:
    return len(value) in (40, 64) and all(c in "0123456789abcdef" for c in value)


def _cache_file() -> Path:
    return cache_root() / _FILE_NAME
