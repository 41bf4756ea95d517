"""Does the length of the history change what `check` costs? (issue 16.3)

Two repositories, built with `git fast-import` (seconds, not minutes): the first commit adds 20
migrations, then `main` gets N-1 more commits (a docs file changes in each; the last one adds 2
migrations, so that both tips hold the same folder), and the checked-out `feature` branch forks
at the FIRST commit and adds 2 migrations -- the worst case for a merge-base walk: git must walk
all of main back to its root.

For N = 100 and N = 10,000 it prints the median wall time of `check --no-verify --base main`
and of the `git merge-base` the gate runs, in three states:
  first run     one run on a fresh repository (no commit-graph yet: the gate writes one when
                the walk is slow, as `git gc` would)
  no graph      git told to ignore commit-graphs (`core.commitGraph=false`): what scales
  commit-graph  the steady state once a graph exists
Runs alternate between repositories so that both see the same machine state.

Usage: python bench/history_bench.py [--runs N] [--commits 100,10000]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ENV = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_SYSTEM": os.devnull,
    "NO_COLOR": "1",
}
BASE_MIGRATIONS = 20
IDENTITY = b"bench <bench@example.com> 1700000000 +0000"


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def _migration(version: int) -> bytes:
    return f"CREATE TABLE IF NOT EXISTS t{version} (id bigint PRIMARY KEY);\n".encode()


def fast_import_stream(commits: int) -> Iterator[bytes]:
    """main: `commits` commits; feature: forks at the first and adds two migrations."""
    yield b"commit refs/heads/main\nmark :1\ncommitter " + IDENTITY + b"\n" + _data(b"base\n")
    for version in range(1, BASE_MIGRATIONS + 1):
        path = f"migrations/V{version:05d}__t{version}.sql".encode()
        yield b"M 100644 inline " + path + b"\n" + _data(_migration(version))
    for number in range(2, commits + 1):
        yield (b"commit refs/heads/main\nmark :%d\ncommitter " % number + IDENTITY + b"\n"
               + _data(b"change %d\n" % number))
        yield b"M 100644 inline docs/log.txt\n" + _data(b"%d\n" % number)
        if number == commits:  # the same folder at the tip whatever the length
            for version in (BASE_MIGRATIONS + 1, BASE_MIGRATIONS + 2):
                path = f"migrations/V{version:05d}__t{version}.sql".encode()
                yield b"M 100644 inline " + path + b"\n" + _data(_migration(version))
    yield b"commit refs/heads/feature\ncommitter " + IDENTITY + b"\n" + _data(b"feature\n")
    yield b"from :1\n"
    for offset in (1, 2):
        path = f"migrations/V{90000 + offset:05d}__added_{offset}.sql".encode()
        yield b"M 100644 inline " + path + b"\n" + _data(_migration(90000 + offset))
    yield b"done\n"


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=ENV, input=input,
                          capture_output=True, check=True)
    return done.stdout.decode().strip()


def build(where: Path, commits: int) -> Path:
    repo = where / f"history-{commits}"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "fast-import", "--quiet", "--done", input=b"".join(fast_import_stream(commits)))
    git(repo, "checkout", "-q", "-f", "feature")
    return repo


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall time, CPU time of the process and its children): on a shared machine the CPU
    time is the steadier of the two."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed in {cwd}: {done.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


GATE = [sys.executable, "-m", "migration_gate", "check", "--no-verify", "--base", "main"]
NO_GRAPH = {**ENV, "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.commitGraph",
            "GIT_CONFIG_VALUE_0": "false"}


def has_graph(repo: Path) -> bool:
    info = repo / ".git" / "objects" / "info"
    return (info / "commit-graph").exists() or (info / "commit-graphs").exists()


def measure(repos: dict[int, Path], runs: int, label: str, env: dict[str, str]) -> None:
    checks: dict[int, list[tuple[float, float]]] = {n: [] for n in repos}
    walks: dict[int, list[float]] = {n: [] for n in repos}
    for _ in range(runs):
        for commits, repo in repos.items():
            checks[commits].append(timed(GATE, repo, env))
            walks[commits].append(timed(["git", "merge-base", "HEAD", "main"], repo, env)[0])
    smallest = min(repos)
    base_wall = statistics.median(w for w, _ in checks[smallest])
    base_cpu = statistics.median(c for _, c in checks[smallest])
    for commits in repos:
        wall = statistics.median(w for w, _ in checks[commits])
        cpu = statistics.median(c for _, c in checks[commits])
        print(f"{label:<13} {commits:>6} commits: check wall {wall * 1000:6.1f} ms "
              f"({wall / base_wall:.2f}x), cpu {cpu * 1000:6.1f} ms ({cpu / base_cpu:.2f}x); "
              f"git merge-base wall {statistics.median(walks[commits]) * 1000:5.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--commits", default="100,10000")
    args = parser.parse_args()
    sizes = [int(n) for n in args.commits.split(",")]
    with tempfile.TemporaryDirectory() as temp:
        start = time.perf_counter()
        repos = {n: build(Path(temp), n) for n in sizes}
        print(f"built {', '.join(map(str, sizes))}-commit repositories in "
              f"{time.perf_counter() - start:.1f} s (git {git(Path(temp), 'version')[12:]})")
        for commits, repo in repos.items():
            first, _ = timed(GATE, repo, ENV)
            print(f"first run     {commits:>6} commits: check wall {first * 1000:6.1f} ms; "
                  f"commit-graph written: {'yes' if has_graph(repo) else 'no'}")
        measure(repos, args.runs, "no graph", NO_GRAPH)
        for repo in repos.values():
            if not has_graph(repo):
                git(repo, "commit-graph", "write", "--reachable")
        measure(repos, args.runs, "commit-graph", ENV)
        shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    main()
