"""Benchmark `migration-gate check` the way it runs on every commit and pull request.

Scenarios (the targets of the README's Performance section):
  precommit  a repository of 500 real migrations whose branch adds 2 files:
             `check --no-verify` (target: under 0.3 s)
  folder     `check --all --no-verify` on a folder of 2,000 real migrations with a base,
             side by side with squawk on the same files (target: within 2x of squawk)

The migrations are real files from the corpus named by MIGRATION_GATE_CORPUS (its
PostgreSQL projects), renamed
V0001..V2000 so that they form one refinery folder. Runs alternate between tools; medians
are printed. Usage: python bench/check_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The real-world corpus (MANIFEST.json and repos/): not part of the repository, named by the
#: environment variable MIGRATION_GATE_CORPUS, as for the corpus-wide tests.
CORPUS_ENV = "MIGRATION_GATE_CORPUS"


def corpus_root() -> Path:
    root = Path(os.environ.get(CORPUS_ENV, "").strip() or "/nonexistent")
    if not (root / "MANIFEST.json").is_file():
        raise SystemExit(f"set {CORPUS_ENV} to the real-world corpus (a folder with "
                         "MANIFEST.json and repos/)")
    return root


def postgres_files(corpus: Path) -> list[Path]:
    manifest = json.loads((corpus / "MANIFEST.json").read_text())
    files: list[Path] = []
    for project in manifest:
        if project["dialect"] != "postgres":
            continue
        folder = corpus / "repos" / project["repo"].replace("/", "__")
        files.extend(sorted(folder.rglob("*.sql")))
    return files


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
        cwd=cwd, check=True, capture_output=True,
    )


def build_repo(where: Path, sources: list[Path], base_count: int, added: int) -> Path:
    repo = where / f"repo-{base_count}"
    folder = repo / "migrations"
    folder.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    for index, source in enumerate(sources[:base_count], start=1):
        name = source.stem.split("__")[-1][:40] or "m"
        shutil.copyfile(source, folder / f"V{index:04d}__{name}.sql")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    for offset in range(added):
        version = base_count + offset + 1
        (folder / f"V{version:04d}__added_{offset}.sql").write_text(
            f"ALTER TABLE IF EXISTS t{offset} ADD COLUMN IF NOT EXISTS c{offset} text;\n"
        )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", "feature")
    return repo


def timed(command: list[str], cwd: Path, *, cold: bool = False) -> float:
    """Wall time of one run; `cold` turns off the lint cache (keyed by file content)."""
    env = {**os.environ, "NO_COLOR": "1"}
    if cold:
        env["MIGRATION_GATE_NO_CACHE"] = "1"
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, capture_output=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    gate = [sys.executable, "-m", "migration_gate"]
    squawk = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    corpus = corpus_root()
    sources = postgres_files(corpus)
    print(f"corpus: {len(sources)} PostgreSQL migration files from {corpus}")
    with tempfile.TemporaryDirectory() as temp:
        small = build_repo(Path(temp), sources, 500, 2)
        big = build_repo(Path(temp), sources, min(2000, len(sources)), 0)
        big_files = sorted(str(p) for p in (big / "migrations").glob("*.sql"))
        for cold in (True, False):
            label = "cold" if cold else "warm"
            pre = [timed([*gate, "check", "--no-verify"], small, cold=cold)
                   for _ in range(args.runs)]
            print(f"precommit  {label}: 500 base + 2 added, check --no-verify: "
                  f"median {statistics.median(pre):.3f} s "
                  f"(min {min(pre):.3f}, max {max(pre):.3f}; target < 0.3 s)")
        ours: dict[bool, list[float]] = {True: [], False: []}
        theirs: list[float] = []
        for _ in range(args.runs):
            for cold in (True, False):
                ours[cold].append(timed([*gate, "check", "--all", "--no-verify"], big, cold=cold))
            if os.path.exists(squawk):
                theirs.append(timed([squawk, *big_files], big))
        for cold in (True, False):
            median = statistics.median(ours[cold])
            line = (f"folder     {'cold' if cold else 'warm'}: {len(big_files)} files, "
                    f"check --all --no-verify: median {median:.3f} s")
            if theirs:
                ratio = median / statistics.median(theirs)
                line += (f"; squawk median {statistics.median(theirs):.3f} s; "
                         f"ratio {ratio:.2f}x (target <= 2x)")
            print(line)


if __name__ == "__main__":
    main()
