"""Running git, and telling "there is no repository here" from "git cannot be used here".

The history rules are the gate's point: when git cannot answer, the gate must stop (exit 2),
not carry on as if there were no history and pass an edited migration. Every failure of a git
command is classified from git's own exit status and stderr; only "no repository at all" (git
says so, and no `.git` exists on the way up, and `GIT_DIR` is not set) lets the history rules
be skipped. Everything else -- git missing next to a `.git`, a repository git refuses (another
user's, "dubious ownership"), a damaged HEAD, config, pack or object -- is a `GitError` naming
the cause and the fix.
"""

from __future__ import annotations

import enum
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from migration_gate.diagnostics import GateError


class Failure(enum.Enum):
    """Why a git command failed."""

    NO_GIT = "git cannot be run"
    NOT_A_REPOSITORY = "not a git repository"
    REFUSED = "git refuses the repository (dubious ownership)"
    BROKEN = "git cannot read the repository"


class GitError(GateError):
    """git could not be used: never a reason to skip the history rules."""

    def __init__(self, message: str, failure: Failure = Failure.BROKEN, stderr: str = "") -> None:
        super().__init__(message)
        self.failure = failure
        self.stderr = stderr


def classify(returncode: int, stderr: str) -> Failure:
    """git's own verdict: its exit status (128 for a fatal error) and its words on stderr."""
    if "dubious ownership" in stderr or "unsafe repository" in stderr:
        return Failure.REFUSED
    if returncode == 128 and re.search(r"^fatal: not a git repository", stderr, re.MULTILINE):
        return Failure.NOT_A_REPOSITORY
    return Failure.BROKEN


def git_says(stderr: str, returncode: int) -> str:
    """git's one-line reason: its first `fatal:` (else `error:`, else last) line, with the
    indented lines that continue it (`unknown repository extension found:\\n\\tfoo`)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    if not lines:
        return f"exit code {returncode}"
    index = next((i for i, line in enumerate(lines) if line.startswith("fatal:")), None)
    if index is None:
        index = next((i for i, line in enumerate(lines) if line.startswith("error:")),
                     len(lines) - 1)
    parts = [lines[index].strip()]
    parts.extend(line.strip() for line in lines[index + 1:] if line[:1] in "\t ")
    return " ".join(parts).removeprefix("fatal: ").removeprefix("error: ")


def git_available() -> bool:
    import shutil  # only when git is missing or no repository is found: not on every run

    return shutil.which("git") is not None


@dataclass(frozen=True)
class Completed:
    """A finished git command: its status, output and complaint."""

    returncode: int
    stdout: bytes
    stderr: str


def call_git(
    args: Sequence[str], cwd: Path, *, input: bytes | None = None, accept: Sequence[int] = (0,)
) -> Completed:
    """Run git; an exit status outside `accept` is a classified `GitError`.

    `accept` lists the statuses that are answers, not failures (1 for `merge-base` without a
    common ancestor, for `rev-parse --verify -q` of a missing name).
    """
    try:
        done = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True,
                              env=_git_env())
    except OSError as error:
        raise _not_runnable(error) from None
    return _judged(args, cwd, accept, done.returncode, done.stdout, done.stderr)


def _git_env() -> dict[str, str]:
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


def _not_runnable(error: OSError) -> GitError:
    reason = "not installed (or not on PATH)" if isinstance(error, FileNotFoundError) else (
        f"not runnable ({error.strerror})"
    )
    return GitError(f"git is {reason}", Failure.NO_GIT)


def _judged(args: Sequence[str], cwd: Path, accept: Sequence[int], returncode: int,
            stdout: bytes, raw_stderr: bytes) -> Completed:
    """A finished git command's answer, or its classified `GitError`."""
    stderr = raw_stderr.decode("utf-8", "replace")
    if returncode not in accept:
        failure = classify(returncode, stderr)
        raise GitError(describe(args, cwd, failure, returncode, stderr), failure, stderr)
    return Completed(returncode, stdout, stderr)


def run_git(args: Sequence[str], cwd: Path, *, input: bytes | None = None) -> bytes:
    """Run git and return its stdout; any failure is a one-line `GitError`."""
    return call_git(args, cwd, input=input).stdout


def describe(args: Sequence[str], cwd: Path, failure: Failure, returncode: int,
             stderr: str) -> str:
    """One line: what failed, git's reason, and what to do about it."""
    if failure is Failure.REFUSED:
        return refused(stderr, cwd)
    reason = git_says(stderr, returncode)
    command = f"git {args[0]}" if args else "git"
    if failure is Failure.NOT_A_REPOSITORY:
        return f"`{command}` failed in {cwd}: {reason}"
    return f"git cannot read the repository at {cwd} (`{command}`: {reason}); {_repair(stderr)}"


def _repair(stderr: str) -> str:
    """The fix for the damage git describes."""
    if "promisor remote" in stderr:
        fetch = next((line.removeprefix("fatal: ") for line in stderr.splitlines()
                      if "promisor remote" in line), "")
        return (f"this partial clone fetches missing objects from its remote and that failed "
                f"({fetch}): restore access to the remote (`git remote -v`), or clone without "
                "--filter")
    if re.search(r"\bbad (numeric )?config\b|config file", stderr):
        return "fix the configuration file git names (it cannot be read)"
    if "repository extension" in stderr or "repository version" in stderr.lower():
        return "a newer git wrote this repository (upgrade git), or its config is damaged"
    return "repair it (`git fsck` names the damage) or work in a fresh clone"


def refused(stderr: str, cwd: Path) -> str:
    """git's "dubious ownership" refusal, with the exact command git proposes."""
    match = re.search(r"repository at '([^']*)'", stderr) or re.search(
        r"unsafe repository \('([^']*)'", stderr
    )
    path = match.group(1) if match else str(cwd)
    fix = next((line.strip() for line in stderr.splitlines()
                if "safe.directory" in line and line.strip().startswith("git config")),
               f"git config --global --add safe.directory {path}")
    return (f"git refuses to use the repository at {path}: it is owned by another user "
            f"(git's \"dubious ownership\" check), so the history rules cannot run; if you "
            f"trust it, run `{fix}`")


# --- the repository around a folder ---------------------------------------------------------


@dataclass(frozen=True)
class Repository:
    """What one `git rev-parse` says about the repository around a folder."""

    root: Path  # the work tree's top level
    shallow: bool
    head: str | None  # HEAD's object id; None before the first commit
    objects_info: Path  # where git keeps its commit-graph


_PROBED: dict[Path, Repository | None] = {}
#: What `find_repository` asks git about a folder.
_PROBE = ("rev-parse", "--show-toplevel", "--is-shallow-repository", "--git-path",
          "objects/info", "--verify", "-q", "HEAD")
#: Probes started ahead (`start_probe`), by folder: each one's running git.
_STARTED: dict[Path, subprocess.Popen[bytes]] = {}


def start_probe(folder: Path) -> None:
    """Start the `git rev-parse` that `find_repository(folder)` will run, now: git answers on
    the other core while the run imports the pipeline, instead of after (~4 ms of every
    check). The answer is read, and judged, where it is asked for; when git cannot be
    started here, nothing is started and the probe says why then."""
    start = folder.absolute()
    if start in _PROBED or start in _STARTED:
        return
    try:
        _STARTED[start] = subprocess.Popen(["git", *_PROBE], cwd=start, stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, env=_git_env())
    except OSError:
        return


def find_repository(path: Path) -> Repository | None:
    """The repository containing `path`; None only when there is none at all (or no git and
    no `.git` either). Answers are kept for the run: `check` asks once."""
    start = (path if path.is_dir() else path.parent).absolute()
    if start not in _PROBED:
        found = _probe(start)
        _PROBED[start] = found
        if found is not None:
            _PROBED.setdefault(found.root, found)
    return _PROBED[start]


def repository_at(root: Path) -> Repository:
    """The repository whose top level is `root` (already found, usually)."""
    found = find_repository(root)
    if found is None:
        raise GitError(f"{root} is no longer a git repository", Failure.NOT_A_REPOSITORY)
    return found


def _probe(start: Path) -> Repository | None:
    dot_git = _dot_git_above(start)
    git_dir = os.environ.get("GIT_DIR")
    started = _STARTED.pop(start, None)
    try:
        if started is None:
            done = call_git(_PROBE, start, accept=(0, 1))
        else:
            stdout, stderr = started.communicate()
            done = _judged(_PROBE, start, (0, 1), started.returncode, stdout, stderr)
    except GitError as error:
        if error.failure is Failure.NO_GIT:
            if dot_git is None and not git_dir:
                return None  # no git and no repository: nothing is lost
            where = dot_git.parent if dot_git else f"GIT_DIR={git_dir}"
            raise GitError(f"{error}, but {where} is a git repository: the history rules need "
                           "git; install it (or put it on PATH)", Failure.NO_GIT) from None
        if error.failure is not Failure.NOT_A_REPOSITORY:
            raise
        reason = git_says(error.stderr, 128)
        if git_dir:
            raise GitError(f"GIT_DIR={git_dir} is not a git repository ({reason}); unset GIT_DIR "
                           "or point it at the repository's .git folder") from None
        if dot_git is not None:
            raise GitError(_damaged(dot_git, reason)) from None
        return None
    lines = done.stdout.decode("utf-8", "surrogateescape").splitlines()
    if len(lines) < 3:
        raise GitError(f"`git rev-parse` gave an unexpected answer in {start}: {lines}")
    root = Path(lines[0]).resolve()
    if dot_git is not None and not git_dir and root in dot_git.parent.resolve().parents:
        # git walked past a `.git` it could not use, up to an enclosing repository
        raise GitError(_damaged(dot_git, f"git used the enclosing repository {root} instead"))
    head = lines[3] if len(lines) > 3 else None
    if head is None:
        _check_unborn(start)
    return Repository(root, lines[1] == "true", head, (start / lines[2]).resolve())


def _check_unborn(cwd: Path) -> None:
    """HEAD resolves to nothing: a branch without a commit yet, or a damaged ref? Only the
    former may be read as "everything is new"."""
    try:
        call_git(["symbolic-ref", "HEAD"], cwd)
    except GitError as error:
        if error.failure is not Failure.BROKEN:
            raise
        raise GitError(
            f"HEAD of the repository at {cwd} names no commit and is no branch waiting for its "
            f"first commit ({git_says(error.stderr, 128)}); repair it (`git fsck`) or work in "
            "a fresh clone"
        ) from None


def _dot_git_above(start: Path) -> Path | None:
    """The nearest `.git` (folder or `gitdir:` file) from `start` up, as git looks for it:
    it does not look in or above a `GIT_CEILING_DIRECTORIES` entry."""
    ceilings = {Path(p) for p in os.environ.get("GIT_CEILING_DIRECTORIES", "").split(":") if p}
    for folder in (start, *start.parents):
        if folder != start and folder in ceilings:
            return None
        candidate = folder / ".git"
        if os.path.lexists(candidate):
            return candidate
    return None


def _damaged(dot_git: Path, reason: str) -> str:
    """Why git does not take `dot_git` for a repository, and what repairs it."""
    if reason.startswith("not a git repository (or any"):
        reason = ""  # git's generic words: the cause is found below
    prefix = f"{dot_git} exists but git does not take it for a repository" + (
        f" ({reason})" if reason else ""
    )
    try:
        if dot_git.is_file():
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if not text.startswith("gitdir:"):
                return f"{prefix}: it is a file but not a `gitdir:` link; remove or repair it"
            target = (dot_git.parent / text.removeprefix("gitdir:").strip()).resolve()
            if not target.exists():
                return (f"{prefix}: it links to {target}, which does not exist (a moved or "
                        "deleted worktree or submodule); `git worktree repair` from the main "
                        "checkout, or clone again")
            return f"{prefix}; repair the repository it links to ({target})"
        head = dot_git / "HEAD"
        content = head.read_text(encoding="utf-8", errors="replace").strip()
    except OSError as error:
        return f"{prefix}: cannot read it ({error.strerror}); fix its permissions"
    if not content.startswith("ref: refs/") and not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}",
                                                                   content):
        return (f"{prefix}: {head} is damaged (it holds neither `ref: refs/heads/BRANCH` nor a "
                f"commit id); restore it, e.g. `printf 'ref: refs/heads/main\\n' > {head}`")
    return f"{prefix}; repair it (`git fsck`) or work in a fresh clone"
