"""git at the edge: the repository root, the base branch, its merge-base and its tree.

A `check` costs five git processes whatever the size of the folder or the length of the
history: one `rev-parse` (root, shallowness, HEAD), one `for-each-ref` (every candidate base at
once), one `merge-base`, one `ls-tree`, one `ls-files` (the files unchanged since the base,
`worktree_index`) -- plus one `cat-file --batch` for the base files that
differ from the working tree, one `ls-tree` of the base's tip when it moved on since the
merge-base, and the network only when the base is not in the clone.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from migration_gate.diagnostics import GateError
from migration_gate.gitrun import (
    GitError,
    Repository,
    call_git,
    find_repository,
    git_available,
    repository_at,
    run_git,
)
from migration_gate.gittree import SYMLINK_MODE, GitTree, cat_blobs

__all__ = [
    "FALLBACK_BASES", "SYMLINK_MODE", "Base", "GitError", "GitTree", "base_candidates",
    "cat_blobs", "config_value", "git_available", "remote_tracking_refs", "repository_root",
    "resolve_base", "run_git",
]

#: The order in which a base is looked for when none is configured (README.md#check-the-whole-gate).
FALLBACK_BASES = ("origin/HEAD", "origin/main", "main", "origin/master", "master")
#: A merge-base walk slower than this in a repository without a commit-graph writes one.
GRAPH_AFTER_SECONDS = 0.05


def repository_root(path: Path) -> Path | None:
    """The work tree root containing `path`; None only where there is no repository at all.

    A repository git cannot use (refused, damaged, git missing) raises `GitError`."""
    found = find_repository(path)
    return found.root if found else None


@dataclass(frozen=True)
class Base:
    """The base branch a change is compared with: the ref asked for, its tip and the merge-base."""

    ref: str
    tip: str
    merge_base: str


def base_candidates(configured: str | None, environ: dict[str, str] | None = None) -> list[str]:
    """Where to look for the base, in order (README.md#check-the-whole-gate): configuration,
    GITHUB_BASE_REF, fallbacks."""
    env = os.environ if environ is None else environ
    candidates = []
    if configured:
        return [configured]
    github_base = env.get("GITHUB_BASE_REF")
    if github_base:
        candidates.append(f"origin/{github_base}")
    candidates.extend(FALLBACK_BASES)
    return candidates


# --- resolving names, all at once -------------------------------------------------------------

_BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|/\.|\.lock(/|$)")
#: Names git reads as something else first: pseudo-refs (`FETCH_HEAD`), (abbreviated) ids.
_PSEUDO_REF = re.compile(r"[A-Z_]*HEAD")
_MAYBE_ID = re.compile(r"[0-9a-f]{4,64}")


def is_ref_name(name: str) -> bool:
    """A name `git check-ref-format --allow-onelevel` accepts (branch, tag, remote branch)."""
    return bool(name) and name != "@" and not _BAD_REF.search(name) and not name.startswith(
        ("/", ".", "-")
    ) and not name.endswith(("/", "."))


def dwim_refs(name: str) -> list[str]:
    """The full ref names git tries for `name`, in its order (`git help revisions`)."""
    rules = [f"refs/{name}", f"refs/tags/{name}", f"refs/heads/{name}", f"refs/remotes/{name}",
             f"refs/remotes/{name}/HEAD"]
    return [name, *rules] if name.startswith("refs/") else rules


def resolve_commits(root: Path, names: Sequence[str]) -> dict[str, str | None]:
    """Each name's commit (tags peeled), or None where it names nothing.

    Branch-like names are looked up in one `for-each-ref`, which also reads every object it
    lists: a ref to a missing or corrupt object is a `GitError`, not a base that silently
    falls through to the next candidate. Other names (a commit id, `HEAD~2`) each get a
    `rev-parse --verify`."""
    ref_names = [name for name in names if is_ref_name(name) and not _PSEUDO_REF.fullmatch(name)]
    patterns = sorted({ref for name in ref_names for ref in dwim_refs(name)})
    found: dict[str, str | None] = {}  # None: a tag of a tag, peeled by rev-parse below
    if patterns:
        fmt = "%(refname)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)"
        output = run_git(["for-each-ref", f"--format={fmt}", *patterns], root)
        for line in output.decode("utf-8", "surrogateescape").splitlines():
            refname, kind, obj, peeled_kind, peeled = line.split("\0")
            if kind == "commit" or peeled_kind == "commit":
                found[refname] = obj if kind == "commit" else peeled
            elif peeled_kind == "tag":
                found[refname] = None
    result: dict[str, str | None] = {}
    for name in names:
        matches = [ref for ref in dwim_refs(name) if ref in found] if name in ref_names else []
        if matches:
            result[name] = found[matches[0]] or _rev_parse_commit(root, matches[0])
        elif name not in ref_names or _MAYBE_ID.fullmatch(name):
            result[name] = _rev_parse_commit(root, name)
        else:
            result[name] = None
    return result


def head_commit(root: Path) -> str | None:
    """HEAD's commit, or None before the first commit (from the run's one `rev-parse`)."""
    from migration_gate.gitrun import find_repository

    repo = find_repository(root)
    return repo.head if repo is not None else None


def _rev_parse_commit(root: Path, name: str) -> str | None:
    done = call_git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{name}^{{commit}}"],
                    root, accept=(0, 1))
    return done.stdout.decode().strip() or None


# --- the base and its merge-base ---------------------------------------------------------------


def resolve_base(root: Path, explicit: str | None, configured: str | None) -> Base | None:
    """Find the base and its merge-base with HEAD, fetching in a shallow clone when possible.

    Returns None only when HEAD has no commit yet (a repository's first commit): everything
    is new then. Raises `GateError` with the exact git command to run when the base cannot be
    had: an explicit base that does not exist, none of the fallbacks present, or a shallow
    clone whose history cannot be deepened; `GitError` when git cannot read the repository.
    """
    repo = repository_at(root)
    if repo.head is None:
        return None
    wanted = explicit or configured
    candidates = base_candidates(wanted)
    if wanted and is_ref_name(wanted) and not wanted.startswith(("origin/", "refs/")):
        # `--base main` in a clone that has no local main (CI checkouts): origin's main is meant
        candidates.append(f"origin/{wanted}")
    tips = resolve_commits(root, candidates)
    chosen = next((c for c in candidates if tips[c] is not None), None)
    if chosen is not None:
        tip = tips[chosen]
        assert tip is not None
    else:
        from migration_gate.gitfetch import fetch_base  # only when the base is not here

        fetched = fetch_base(root, candidates, wanted=wanted, shallow=repo.shallow)
        if fetched is None:
            raise GateError(_not_found(root, candidates, wanted))
        chosen, tip = fetched
    merge_base = _merge_base(repo, tip)
    if merge_base is None and repo.shallow:
        from migration_gate.gitfetch import deepen_until_merge_base

        merge_base = deepen_until_merge_base(root, lambda: _merge_base(repo, tip))
    if merge_base is None:
        if repo.shallow:
            raise GateError(_shallow_hint(root, chosen))
        raise GateError(f"HEAD and {chosen} have no common ancestor")
    return Base(ref=chosen, tip=tip, merge_base=merge_base)


def _merge_base(repo: Repository, tip: str) -> str | None:
    """`git merge-base HEAD tip`: None when there is no common ancestor (exit 1).

    The walk goes back to the fork point, through history of any length; a commit-graph makes
    each step a table lookup (7x faster over 10,000 commits). When the walk was slow and the
    repository has none, one is written for the next run, as `git gc` would."""
    start = time.perf_counter()
    done = call_git(["merge-base", "HEAD", tip], repo.root, accept=(0, 1))
    if time.perf_counter() - start > GRAPH_AFTER_SECONDS:
        write_commit_graph(repo)
    return done.stdout.decode().strip() or None


def has_commit_graph(repo: Repository) -> bool:
    info = repo.objects_info
    return (info / "commit-graph").exists() or (info / "commit-graphs").is_dir()


def write_commit_graph(repo: Repository) -> bool:
    """Write the commit-graph git's own maintenance would (`gc.writeCommitGraph`); never in a
    shallow clone (git ignores it there). A failure (read-only clone) only loses the speed-up."""
    if repo.shallow or has_commit_graph(repo):
        return False
    try:
        call_git(["commit-graph", "write", "--reachable", "--no-progress"], repo.root)
    except GitError:
        return False
    return True


def _not_found(root: Path, candidates: list[str], wanted: str | None) -> str:
    from migration_gate.gitfetch import remotes

    known = remotes(root)
    if wanted:
        where = " or on origin" if "origin" in known and is_ref_name(wanted) else ""
        return (f"base `{wanted}` is not a branch, tag or commit in this repository{where} "
                "(`git branch --all` lists the branches)")
    elsewhere = [r for r in known if r != "origin"]
    hint = (f"pass --base REF (this clone's remote is `{elsewhere[0]}`, not origin: e.g. "
            f"--base {elsewhere[0]}/BRANCH)" if elsewhere and "origin" not in known
            else "pass --base REF")
    return (f"no base branch found (tried {', '.join(candidates)}); {hint} or set `base` in "
            "the configuration")


def _shallow_hint(root: Path, chosen: str) -> str:
    from migration_gate.gitfetch import remotes

    known = remotes(root)
    problem = f"this is a shallow clone and the merge-base of HEAD and {chosen} is not in it"
    if not known:
        return (f"{problem}, and it has no remote to fetch the history from; add one "
                "(`git remote add origin URL`), then run `git fetch --unshallow origin`")
    remote = "origin" if "origin" in known else known[0]
    return f"{problem}; run `git fetch --unshallow {remote}` (or check out with fetch-depth: 0)"


# --- other questions ---------------------------------------------------------------------------


def remote_tracking_refs(root: Path) -> list[str]:
    """Every remote-tracking branch (for `next-version --all-branches`)."""
    listing = run_git(["for-each-ref", "--format=%(refname:short)", "refs/remotes"], root)
    refs = listing.decode("utf-8", "surrogateescape").split()
    return [ref for ref in refs if not ref.endswith("/HEAD") and "/" in ref]


def config_value(root: Path, key: str) -> str | None:
    """A configuration value; None when it is not set (exit 1)."""
    done = call_git(["config", "--get", key], root, accept=(0, 1))
    return done.stdout.decode("utf-8", "replace").strip() or None
