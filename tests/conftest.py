"""Shared fixtures: real git repositories in temporary folders, and the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

#: A clean environment for git and the gate: no user config, fixed identity, no colour.
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_SYSTEM": os.devnull,
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_TERMINAL_PROMPT": "0",
}


#: Where child interpreters keep their bytecode when PYTHONDONTWRITEBYTECODE forbids writing it
#: beside the sources (set by `child_bytecode_outside_the_checkout`).
CHILD_BYTECODE: dict[str, str] = {}


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GIT_"))}
    env.pop("NO_COLOR", None)
    env.update(GIT_ENV)
    env["PYTHONIOENCODING"] = "utf-8"
    if CHILD_BYTECODE:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(CHILD_BYTECODE)
    env.update(extra or {})
    return env


@pytest.fixture(scope="session", autouse=True)
def child_bytecode_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The suite starts hundreds of gates. Under PYTHONDONTWRITEBYTECODE each of them would
    compile the package again (about a sixth of the suite's CPU time); instead they share
    bytecode in a folder of the session, so the checkout still gets no __pycache__."""
    if os.environ.get("PYTHONDONTWRITEBYTECODE") and not os.environ.get("PYTHONPYCACHEPREFIX"):
        CHILD_BYTECODE["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))


@pytest.fixture(scope="session", autouse=True)
def cache_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every gate the suite runs, in-process or child, caches in a folder of the session, not
    in the user's `~/.cache/migration-gate` (a test leaves nothing behind, and a cache filled by
    an earlier run or another checkout cannot hide a cold-path bug). Tests of the default
    location unset the variable themselves."""
    if os.environ.get("MIGRATION_GATE_CACHE_DIR"):
        yield
        return
    os.environ["MIGRATION_GATE_CACHE_DIR"] = str(tmp_path_factory.mktemp("user-cache"))
    try:
        yield
    finally:
        os.environ.pop("MIGRATION_GATE_CACHE_DIR", None)


@dataclass
class Repo:
    """A real git repository in a temporary folder."""

    path: Path

    def git(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.path, env=clean_env(), capture_output=True, text=True
        )
        if check and done.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
        return done.stdout.strip()

    def write(self, rel: str, content: str | bytes) -> Path:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        return target

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def gate(self, *args: str, cwd: Path | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_gate(*args, cwd=cwd or self.path, env=env)


def run_gate(*args: str, cwd: Path, env: dict[str, str] | None = None,
             input: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real command line, in a child process, as a user would run it."""
    return subprocess.run(
        [sys.executable, "-m", "migration_gate", *args],
        cwd=cwd, env=clean_env(env), capture_output=True, text=True, input=input, timeout=300,
    )


def one_line_error(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    """A user error: exit 2, no traceback, one `migration-gate: error:` line naming `needles`."""
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("migration-gate: error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def make_repo(path: Path, branch: str = "main") -> Repo:
    path.mkdir(parents=True, exist_ok=True)
    repo = Repo(path)
    repo.git("init", "-q", "-b", branch)
    return repo


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    yield make_repo(tmp_path / "repo")


def seed_migrations(repo: Repo, count: int = 7, folder: str = "migrations") -> None:
    """V001..V00N, each creating a table, committed on the current branch."""
    for number in range(1, count + 1):
        repo.write(
            f"{folder}/V{number:03d}__create_table_{number}.sql",
            f"CREATE TABLE IF NOT EXISTS table_{number} (id bigint PRIMARY KEY);\n",
        )
    repo.commit(f"V001..V{count:03d}")


def commit_then_delete_v2(repo: Repo, count: int = 3) -> str:
    """V1..V{count} committed, then V2 deleted in a commit of its own: the smallest history
    with a burned version (V2). Returns the tip."""
    for number in range(1, count + 1):
        repo.write(f"migrations/V{number}__t{number}.sql",
                   f"CREATE TABLE IF NOT EXISTS t{number} (id bigint);\n")
    repo.commit(f"V1..V{count}")
    repo.git("rm", "-q", "migrations/V2__t2.sql")
    return repo.commit("drop V2")


#: The migration-gate checkout these tests run from.
CHECKOUT = Path(__file__).resolve().parents[1]

#: Everything the tests read: inside the checkout, so that a clone runs its tests alone
#: (tests/data/README.md says where each file comes from).
DATA = Path(__file__).resolve().parent / "data"


def snapshot_checkout(dest: Path) -> Repo:
    """The checkout's files (tracked and not ignored) committed in a fresh repository.

    pre-commit and the action install the gate from a git repository or a directory; a
    snapshot makes them see the working tree as it is, uncommitted files included (pre-commit's
    own `try-repo` snapshot only takes tracked files), and keeps builds out of the checkout.
    """
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=CHECKOUT, env=clean_env(), capture_output=True, check=True,
    ).stdout.decode("utf-8", "surrogateescape")
    snapshot = make_repo(dest)
    for rel in filter(None, listing.split("\0")):
        source = CHECKOUT / rel
        if source.is_symlink() or not source.is_file():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
        target.chmod(source.stat().st_mode & 0o777)
    snapshot.commit("snapshot of the checkout under test")
    return snapshot


@pytest.fixture(scope="session")
def gate_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    return snapshot_checkout(tmp_path_factory.mktemp("gate-snapshot") / "migration-gate")


# Database fixtures: a session-scoped embedded PostgreSQL cluster, a throwaway MariaDB server.
from tests.mariadb_fixture import mariadb_binaries, mariadb_database, mariadb_server  # noqa: E402, F401
from tests.pgserver_fixture import gate_cache, pg_binaries, pg_cluster, pg_db, pg_dbname  # noqa: E402, F401
