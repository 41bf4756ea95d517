"""git at the edge: the repository root, the base branch, its merge-base and its tree.

Plain `git` subprocesses (one `ls-tree`, one `cat-file --batch`) keep start-up cheap and scale
linearly with the number of migrations, whatever the length of the history.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from migration_gate.diagnostics import GateError

#: The order in which a base is looked for when none is configured (README.md#check-the-whole-gate).
FALLBACK_BASES = ("origin/HEAD", "origin/main", "main", "origin/master", "master")
_DEEPEN_STEPS = (50, 500)


class GitError(GateError):
    """A git command failed."""


def git_available() -> bool:
    return shutil.which("git") is not None


def run_git(args: Sequence[str], cwd: Path, *, input: bytes | None = None) -> bytes:
    """Run git and return its stdout; a failure becomes a one-line `GitError`."""
    try:
        completed = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=input,
            capture_output=True,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = message[-1] if message else f"exit code {completed.returncode}"
        raise GitError(f"`git {' '.join(args)}` failed: {detail}")
    return completed.stdout


def _try_git(args: Sequence[str], cwd: Path) -> str | None:
    try:
        return run_git(args, cwd).decode("utf-8", "replace").strip()
    except GitError:
        return None


def repository_root(path: Path) -> Path | None:
    """The work tree root containing `path`, or None outside a repository (or without git)."""
    if not git_available():
        return None
    start = path if path.is_dir() else path.parent
    root = _try_git(["rev-parse", "--show-toplevel"], start)
    return Path(root).resolve() if root else None


def resolve_commit(root: Path, ref: str) -> str | None:
    return _try_git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], root
    )


def head_commit(root: Path) -> str | None:
    return resolve_commit(root, "HEAD")


def is_shallow(root: Path) -> bool:
    return _try_git(["rev-parse", "--is-shallow-repository"], root) == "true"


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


def _remote_branch(ref: str) -> tuple[str, str] | None:
    """`origin/main` → (`origin`, `main`) when it names a remote-tracking branch."""
    if "/" not in ref or ref.startswith("refs/"):
        return None
    remote, branch = ref.split("/", 1)
    return (remote, branch) if branch != "HEAD" else None


def _remotes(root: Path) -> list[str]:
    listing = _try_git(["remote"], root)
    return listing.split() if listing else []


def _fetch_args(root: Path, ref: str) -> list[str] | None:
    """The `git fetch` that brings a missing base into a shallow or single-branch clone."""
    split = _remote_branch(ref)
    remotes = _remotes(root)
    depth = ["--depth=50"] if is_shallow(root) else []
    if split and split[0] in remotes:
        remote, branch = split
        refspec = f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"
        return ["fetch", "--no-tags", *depth, remote, refspec]
    if len(ref) >= 7 and all(c in "0123456789abcdef" for c in ref) and "origin" in remotes:
        return ["fetch", "--no-tags", *depth, "origin", ref]
    return None


def _merge_base(root: Path, tip: str) -> str | None:
    return _try_git(["merge-base", "HEAD", tip], root)


def resolve_base(root: Path, explicit: str | None, configured: str | None) -> Base | None:
    """Find the base and its merge-base with HEAD, fetching in a shallow clone when possible.

    Returns None only when HEAD has no commit yet (a repository's first commit): everything
    is new then. Raises `GateError` with the exact git command to run when the base cannot be
    had: an explicit base that does not exist, none of the fallbacks present, or a shallow
    clone whose history cannot be deepened.
    """
    if head_commit(root) is None:
        return None
    wanted = explicit or configured
    candidates = base_candidates(wanted)
    if wanted and not wanted.startswith(("origin/", "refs/")) and "origin" in _remotes(root):
        # `--base main` in a clone that has no local main (CI checkouts): origin's main is meant
        candidates.append(f"origin/{wanted}")
    tip = None
    chosen = candidates[0]
    failed_fetches: list[str] = []
    for candidate in candidates:
        tip = resolve_commit(root, candidate)
        fetch = _fetch_args(root, candidate) if tip is None else None
        if fetch is not None:
            if _try_git(fetch, root) is None:
                failed_fetches.append("git " + " ".join(fetch))
            else:
                tip = resolve_commit(root, candidate)
        if tip is not None:
            chosen = candidate
            break
    if tip is None:
        if failed_fetches:
            raise GateError(
                f"the base branch is not in this clone and fetching it failed; run "
                f"`{failed_fetches[0]}` (or pass --base REF)"
            )
        if wanted:
            # no `origin` to fetch from: suggesting `git fetch origin` would only fail again
            hint = (f"try `git fetch origin {_branch_of(wanted)}`" if "origin" in _remotes(root)
                    else "`git branch --all` lists the branches")
            raise GateError(
                f"base `{wanted}` is not a branch, tag or commit in this repository ({hint})"
            )
        raise GateError(
            "no base branch found (tried " + ", ".join(candidates) + "); "
            "pass --base REF or set `base` in the configuration"
        )
    merge_base = _merge_base(root, tip)
    if merge_base is None and is_shallow(root):
        merge_base = _deepen_until_merge_base(root, tip)
    if merge_base is None:
        if is_shallow(root):
            raise GateError(
                f"this is a shallow clone and the merge-base of HEAD and {chosen} is not in it; "
                f"run `git fetch --unshallow origin` (or check out with fetch-depth: 0)"
            )
        raise GateError(f"HEAD and {chosen} have no common ancestor")
    return Base(ref=chosen, tip=tip, merge_base=merge_base)


def _branch_of(ref: str) -> str:
    split = _remote_branch(ref)
    return split[1] if split else ref


def _deepen_until_merge_base(root: Path, tip: str) -> str | None:
    remotes = _remotes(root)
    if not remotes:
        return None
    remote = "origin" if "origin" in remotes else remotes[0]
    for step in _DEEPEN_STEPS:
        if _try_git(["fetch", "--no-tags", f"--deepen={step}", remote], root) is None:
            return None
        found = _merge_base(root, tip)
        if found:
            return found
    if _try_git(["fetch", "--no-tags", "--unshallow", remote], root) is None:
        return None
    return _merge_base(root, tip)


@dataclass(frozen=True)
class GitTree:
    """The migrations folder as it is in a commit (the base)."""

    root: Path
    commit: str
    folder: str  # repository-relative, POSIX

    @cached_property
    def _prefix(self) -> str:
        return "" if self.folder in ("", ".") else self.folder.rstrip("/") + "/"

    @cached_property
    def _entries(self) -> list[tuple[str, str, str]]:
        prefix = self._prefix
        output = run_git(
            ["ls-tree", "-r", "-z", "--full-tree", self.commit, "--", prefix or "."], self.root
        )
        entries = []
        for record in output.split(b"\0"):
            if not record:
                continue
            meta, _, path_bytes = record.partition(b"\t")
            mode, kind, obj = meta.decode().split()
            path = path_bytes.decode("utf-8", "surrogateescape")
            if kind != "blob" or not path.startswith(prefix):
                continue
            entries.append((path[len(prefix) :], obj, mode))
        return entries

    def list_files(self) -> list[str]:
        return [rel for rel, _, _ in self._entries]

    def read_many(self, rels: Sequence[str]) -> dict[str, bytes | str]:
        """Blob contents; a symbolic link is followed inside the commit, as refinery reads a
        symlinked file's target (an unresolvable link gets a reason instead of content)."""
        entries = {rel: (obj, mode) for rel, obj, mode in self._entries}
        wanted = [rel for rel in rels if rel in entries]
        if not wanted:
            return {}
        contents = cat_blobs(self.root, [entries[rel][0] for rel in wanted])
        result: dict[str, bytes | str] = {}
        links: dict[str, str] = {}
        for rel, data in zip(wanted, contents, strict=True):
            if data is None:
                result[rel] = "missing from the git object database"
            elif entries[rel][1] == SYMLINK_MODE:
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
        in git 2.39), so it is only asked for files whose raw content differs."""
        try:
            name = f"{self.commit}:{self._prefix}{rel}"
            return run_git(["cat-file", "--filters", name], self.root)
        except GitError:
            return None

    def _link_target(self, rel: str, data: bytes) -> str | None:
        target = data.decode("utf-8", "surrogateescape")
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(self._prefix + rel), target))
        if target.startswith("/") or joined.startswith("..") or "\n" in joined:
            return None
        return joined


SYMLINK_MODE = "120000"


def cat_blobs(root: Path, names: Sequence[str]) -> list[bytes | None]:
    """The contents of many blobs in one `git cat-file --batch`; None for a missing object or
    one that is not a blob (a link to a folder)."""
    data = "".join(name + "\n" for name in names).encode("utf-8", "surrogateescape")
    output = run_git(["cat-file", "--batch"], root, input=data)
    result: list[bytes | None] = []
    offset = 0
    for _ in names:
        header_end = output.index(b"\n", offset)
        header = output[offset:header_end].split()
        offset = header_end + 1
        # `<name> missing` (a name may hold spaces) or `<oid> <type> <size>`
        if header[-1] in (b"missing", b"ambiguous") or len(header) != 3:
            result.append(None)
            continue
        size = int(header[2])
        result.append(output[offset : offset + size] if header[1] == b"blob" else None)
        offset += size + 1
    return result


def remote_tracking_refs(root: Path) -> list[str]:
    """Every remote-tracking branch (for `next-version --all-branches`)."""
    listing = _try_git(["for-each-ref", "--format=%(refname:short)", "refs/remotes"], root)
    refs = listing.split() if listing else []
    return [ref for ref in refs if not ref.endswith("/HEAD") and "/" in ref]


def config_value(root: Path, key: str) -> str | None:
    return _try_git(["config", "--get", key], root)
