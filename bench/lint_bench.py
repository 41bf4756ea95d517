"""Benchmark `migration-gate lint` against squawk on the corpus's PostgreSQL migrations.

The files: every `.sql` file of the PostgreSQL projects of the corpus named by
MIGRATION_GATE_CORPUS (MANIFEST.json dialect `postgres`: 2,758 files from 23 projects), linted
as one folder by both tools.
Runs alternate (squawk, migration-gate cold, migration-gate warm, ...) so that both see the
same machine state; medians are printed, with the ratio to squawk and migration-gate's time
for a single file (start-up included).

  cold  `lint --no-cache`: every file split, tokenized and parsed by sqlglot, rules applied,
        on both cores
  warm  the findings cache (keyed by file content) already holds every file: what a second
        run on unchanged files costs

Usage: python bench/lint_bench.py [--runs N]
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
BIN = Path(sys.executable).parent

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
    manifest = json.loads((corpus / "MANIFEST.json").read_text(encoding="utf-8"))
    files: list[Path] = []
    for project in manifest:
        if project["dialect"] != "postgres":
            continue
        base = corpus / "repos" / project["repo"].replace("/", "__")
        for folder in project["migration_dir"]:
            files.extend(sorted((base / folder).rglob("*.sql")))
    return files


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1) and "squawk" not in command[0]:
        raise SystemExit(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    squawk = shutil.which("squawk", path=str(BIN)) or shutil.which("squawk")
    gate = shutil.which("migration-gate", path=str(BIN)) or shutil.which("migration-gate")
    if squawk is None or gate is None:
        raise SystemExit("needs squawk and migration-gate: pip install -e '.[bench]'")
    corpus = corpus_root()
    files = postgres_files(corpus)
    if not files:
        raise SystemExit(f"no PostgreSQL migrations in {corpus}")
    paths = [str(p.relative_to(corpus / "repos")) for p in files]
    cwd = corpus / "repos"
    size = sum(p.stat().st_size for p in files)
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "MIGRATION_GATE_CACHE_DIR": cache, "NO_COLOR": "1"}
        env.pop("MIGRATION_GATE_NO_CACHE", None)
        squawk_cmd = [squawk, *paths]
        cold_cmd = [gate, "lint", "--no-cache", "--dialect", "postgres", *paths]
        warm_cmd = [gate, "lint", "--dialect", "postgres", *paths]
        single_cmd = [gate, "lint", "--no-cache", "--dialect", "postgres", paths[0]]
        single_warm_cmd = [gate, "lint", "--dialect", "postgres", paths[0]]
        timed(warm_cmd, env, cwd)  # fills the cache, and warms the OS file cache for everyone
        timed(squawk_cmd, env, cwd)
        results: dict[str, list[float]] = {
            "squawk": [], "cold": [], "warm": [], "single": [], "single-warm": []
        }
        for _ in range(args.runs):
            results["squawk"].append(timed(squawk_cmd, env, cwd))
            results["cold"].append(timed(cold_cmd, env, cwd))
            results["warm"].append(timed(warm_cmd, env, cwd))
            results["single"].append(timed(single_cmd, env, cwd))
            results["single-warm"].append(timed(single_warm_cmd, env, cwd))
    median = {name: statistics.median(times) for name, times in results.items()}
    print(f"files: {len(files)} PostgreSQL migrations of {corpus} ({size / 1e6:.1f} MB); "
          f"{args.runs} alternating runs; {os.cpu_count()} cores; load average before: "
          f"{load_before}")
    version = subprocess.run([squawk, "--version"], capture_output=True, text=True).stdout
    print(f"{version.strip()}                           median {median['squawk']:.3f} s")
    print(f"migration-gate lint, cold (--no-cache)  median {median['cold']:.3f} s  "
          f"ratio {median['cold'] / median['squawk']:.2f}x squawk  (target <= 2x)")
    print(f"migration-gate lint, warm (cached)      median {median['warm']:.3f} s  "
          f"ratio {median['warm'] / median['squawk']:.2f}x squawk")
    print(f"migration-gate lint, one file, cold     median {median['single']:.3f} s  "
          "(target < 0.3 s; start-up + sqlglot import)")
    print(f"migration-gate lint, one file, cached   median {median['single-warm']:.3f} s")
    for name, times in results.items():
        print(f"  {name:<11} " + " ".join(f"{t:.3f}" for t in times))


if __name__ == "__main__":
    main()
