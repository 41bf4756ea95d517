"""Bringing a missing base into a shallow or single-branch clone (CI checkouts), and deepening
a shallow one until the merge-base is in it.

Only the remote knows which of the fallbacks is the base: `origin/HEAD` is its default branch
(`master` in some projects, even where a `main` exists too), and `--base v1.0` may be a tag.
One `git ls-remote --symref` answers both before anything is fetched, so that a hint never
proposes fetching a branch the remote does not have.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from migration_gate.diagnostics import GateError
from migration_gate.gitrun import GitError, call_git, git_says, run_git

_DEEPEN_STEPS = (50, 500)
_NO_SUCH_REF = "couldn't find remote ref"


@lru_cache(maxsize=8)
def remotes(root: Path) -> list[str]:
    return run_git(["remote"], root).decode("utf-8", "surrogateescape").split()


@dataclass(frozen=True)
class _Plan:
    """How a candidate base could be fetched: from `remote`, the first of `refs` it has
    (`()`: its default branch, `HEAD`); `commit` for an object id."""

    candidate: str
    remote: str
    refs: tuple[str, ...]
    commit: bool = False

    @property
    def needs_listing(self) -> bool:
        return not self.commit and len(self.refs) != 1


def _plans(candidates: Sequence[str], known: list[str], wanted: str | None) -> list[_Plan]:
    plans = []
    for candidate in candidates:
        if len(candidate) >= 7 and all(c in "0123456789abcdef" for c in candidate):
            if "origin" in known:
                plans.append(_Plan(candidate, "origin", (candidate,), commit=True))
            continue
        remote, slash, branch = candidate.partition("/")
        if not slash or remote not in known or candidate.startswith("refs/"):
            continue
        if branch == "HEAD":
            plans.append(_Plan(candidate, remote, ()))
        elif wanted is not None and candidate == f"origin/{wanted}":
            # `--base v1.0` in a clone without it: a branch or a tag of origin
            plans.append(_Plan(candidate, remote, (f"refs/heads/{branch}", f"refs/tags/{branch}")))
        else:
            plans.append(_Plan(candidate, remote, (f"refs/heads/{branch}",)))
    return plans


@dataclass(frozen=True)
class _Listing:
    head: str | None  # the remote's default branch (`refs/heads/main`)
    refs: frozenset[str]


def _list_remote(root: Path, remote: str, plans: list[_Plan]) -> _Listing:
    refs = sorted({ref for plan in plans if plan.remote == remote for ref in plan.refs})
    try:
        output = run_git(["ls-remote", "--symref", remote, "HEAD", *refs], root)
    except GitError as error:
        raise GateError(
            f"the base branch is not in this clone and remote {remote} cannot be reached "
            f"({git_says(error.stderr, 128)}); check `git remote -v` and your access, then "
            f"fetch the base branch (`git fetch --depth=50 {remote} BRANCH`), or pass --base REF"
        ) from None
    head = None
    present = set()
    for line in output.decode("utf-8", "surrogateescape").splitlines():
        left, _, right = line.partition("\t")
        if left.startswith("ref: ") and right == "HEAD":
            head = left.removeprefix("ref: ")
        elif left and right:
            present.add(right)
    return _Listing(head, frozenset(present))


def fetch_base(root: Path, candidates: Sequence[str], *, wanted: str | None,
               shallow: bool) -> tuple[str, str] | None:
    """Fetch the first candidate the remote has: (its name, its commit), or None when no
    remote holds any. A fetch that fails for another reason is a `GateError` naming the
    exact `git fetch` to run."""
    plans = _plans(candidates, remotes(root), wanted)
    listings: dict[str, _Listing] = {}
    depth = ["--depth=50"] if shallow else []
    for plan in plans:
        if plan.needs_listing and plan.remote not in listings:
            listings[plan.remote] = _list_remote(root, plan.remote, plans)
        source = _source(plan, listings.get(plan.remote))
        if source is None:
            continue
        name, refspec, local = _destination(plan, source)
        args = ["fetch", "--no-tags", *depth, plan.remote, refspec]
        try:
            call_git(args, root)
        except GitError as error:
            if _NO_SUCH_REF in error.stderr:
                continue
            raise GateError(
                f"the base branch is not in this clone and fetching it failed "
                f"({git_says(error.stderr, 128)}); run `git {' '.join(args)}` (or pass --base REF)"
            ) from None
        done = call_git(["rev-parse", "--verify", "--quiet", "--end-of-options",
                         f"{local}^{{commit}}"], root, accept=(0, 1))
        tip = done.stdout.decode().strip()
        if tip:
            return name, tip
    return None


def _source(plan: _Plan, listing: _Listing | None) -> str | None:
    """The remote ref (or commit) to fetch for `plan`, None when the remote lacks it."""
    if plan.commit or listing is None:
        return plan.refs[0]
    if not plan.refs:
        return listing.head
    return next((ref for ref in plan.refs if ref in listing.refs), None)


def _destination(plan: _Plan, source: str) -> tuple[str, str, str]:
    """(the base's name in messages, the refspec, the local ref it lands in)."""
    if plan.commit:
        return plan.candidate, source, source
    if source.startswith("refs/tags/"):
        tag = source.removeprefix("refs/tags/")
        return tag, f"+{source}:{source}", source
    branch = source.removeprefix("refs/heads/")
    local = f"refs/remotes/{plan.remote}/{branch}"
    return f"{plan.remote}/{branch}", f"+{source}:{local}", local


def deepen_until_merge_base(root: Path, merge_base: Callable[[], str | None]) -> str | None:
    """Deepen a shallow clone step by step (then unshallow it) until `merge_base()` answers."""
    known = remotes(root)
    if not known:
        return None
    remote = "origin" if "origin" in known else known[0]
    for step in _DEEPEN_STEPS:
        if not _fetched(root, ["fetch", "--no-tags", f"--deepen={step}", remote]):
            return None
        found = merge_base()
        if found:
            return found
    if not _fetched(root, ["fetch", "--no-tags", "--unshallow", remote]):
        return None
    return merge_base()


def _fetched(root: Path, args: list[str]) -> bool:
    try:
        call_git(args, root)
    except GitError:
        return False
    return True
