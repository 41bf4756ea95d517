"""Benchmark `migration-gate check` WITH the ephemeral database on a pull request.

Scenario (README.md, Performance): a repository whose `main` holds 300 migrations (a schema
that grows the usual way: tables, columns, indexes, foreign keys, views, seed rows) and whose
branch adds 2 (one risky ALTER on a base table, one new table). Each run is the real command
line in a child process, `check --verify --format json`, timed from start to exit:

  cold      an empty cache folder: initdb, replay of the 300 base migrations, the branch
            (and the base schema saved for the next run)
  cold-base the PostgreSQL template is cached but this base is not (a new base commit)
  warm      the same base again: the cached base schema is copied, only the branch runs

Targets: cold under 3 s, warm under 1 s. Medians are printed.

`--scenario prefix` (issue 12): the same pull request over a large base (3,000 migrations by
default) after `main` gained one migration and the branch was rebased on it, alternating:

  gained    the cache holds the base WITHOUT main's new migration: the longest cached prefix
            is restored, the one new base migration applied, the new base saved, the branch run
  warm      the cache already holds the new base

Target: gained within 1.5x warm, warm under 1 s. Medians with min-max, and the load average.

`--baseline PYTHON` times another checkout the same way, run for run in alternation (the same
repository and cache copies): an interpreter whose `migration_gate` is that checkout, e.g.
`../other-checkout/.venv/bin/python`. On a shared machine, only side-by-side figures compare.
Usage: python bench/db_bench.py [--runs N] [--base-count 300] [--scenario default|prefix]
                                [--baseline PYTHON]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
        cwd=cwd, check=True, capture_output=True,
    )


def base_migration(number: int) -> str:
    """The n-th migration of a growing schema (every fifth creates a table)."""
    table = f"entity_{(number - 1) // 5 + 1}"
    step = (number - 1) % 5
    if step == 0:
        previous = f"entity_{(number - 1) // 5}" if number > 5 else None
        reference = (f",\n    parent_id bigint REFERENCES {previous} (id)" if previous else "")
        return (f"CREATE TABLE IF NOT EXISTS {table} (\n    id bigserial PRIMARY KEY,\n"
                f"    name text NOT NULL,\n    created_at timestamptz NOT NULL DEFAULT now()"
                f"{reference}\n);\n")
    if step == 1:
        return (f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS status text NOT NULL "
                "DEFAULT 'new';\n")
    if step == 2:
        return f"CREATE INDEX IF NOT EXISTS {table}_created_at ON {table} (created_at);\n"
    if step == 3:
        return (f"INSERT INTO {table} (name) SELECT 'seed ' || g FROM generate_series(1, 20) g;"
                "\n")
    return (f"CREATE OR REPLACE VIEW {table}_recent AS\n    SELECT id, name FROM {table}\n"
            "    WHERE created_at > now() - interval '7 days';\n")


def build_repo(where: Path, base_count: int) -> Path:
    repo = where / "repo"
    folder = repo / "migrations"
    folder.mkdir(parents=True)
    for number in range(1, base_count + 1):
        (folder / f"V{number:04d}__step_{number}.sql").write_text(base_migration(number))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    (folder / f"V{base_count + 1:04d}__add_priority.sql").write_text(
        "ALTER TABLE entity_1 ADD COLUMN priority integer NOT NULL DEFAULT 0;\n"
        "CREATE INDEX entity_1_priority ON entity_1 (priority);\n"
    )
    (folder / f"V{base_count + 2:04d}__create_notes.sql").write_text(
        "CREATE TABLE notes (\n    id bigserial PRIMARY KEY,\n"
        "    entity_id bigint NOT NULL REFERENCES entity_2 (id),\n    body text\n);\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "branch")
    return repo


def timed_check(repo: Path, cache: Path, python: str = sys.executable
                ) -> tuple[Timing, dict[str, object]]:
    """Wall time and CPU time (user + system, of the gate and every process it waited for:
    the server, cp, the restore's child), and the JSON report."""
    env = {**os.environ, "MIGRATION_GATE_CACHE_DIR": str(cache), "NO_COLOR": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [python, "-m", "migration_gate", "check", "--base", "main", "--verify",
         "--format", "json"],
        cwd=repo, env=env, capture_output=True, text=True,
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        raise SystemExit(f"check failed ({done.returncode}): {done.stderr}")
    report: dict[str, object] = json.loads(done.stdout)
    return (elapsed, cpu), report


def main_gains_one(repo: Path, base_count: int) -> None:
    """`main` merges one more migration; the branch is rebased on it and renumbers its two."""
    folder = repo / "migrations"
    git(repo, "checkout", "-q", "main")
    (folder / f"V{base_count + 1:04d}__gained.sql").write_text(
        "CREATE TABLE gained (id bigserial PRIMARY KEY, note text);\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "main gains one")
    git(repo, "checkout", "-q", "feature")
    git(repo, "rebase", "-q", "main")
    for offset, name in ((2, "create_notes"), (1, "add_priority")):
        old = folder / f"V{base_count + offset:04d}__{name}.sql"
        old.rename(folder / f"V{base_count + offset + 1:04d}__{name}.sql")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "renumber after main")


def copied(pristine: Path, target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run(["cp", "-a", str(pristine), str(target)], check=True)
    return target


#: One timed run: wall seconds, CPU seconds.
Timing = tuple[float, float]


def sides(baseline: str | None) -> dict[str, str]:
    """The interpreters to time, by the name shown: this checkout, and the baseline's."""
    return {"this": sys.executable, **({"baseline": baseline} if baseline else {})}


def print_rows(times: dict[str, list[Timing]]) -> None:
    """Wall-time medians with min-max, and the CPU time's median (steadier on a busy machine:
    waiting for a core is not in it)."""
    for name, values in times.items():
        wall = [w for w, _ in values]
        cpu = statistics.median(c for _, c in values)
        print(f"  {name:<20} median {statistics.median(wall):6.2f} s   "
              f"(min {min(wall):.2f}, max {max(wall):.2f})   CPU {cpu:.2f} s")


def median_wall(values: list[Timing]) -> float:
    return statistics.median(w for w, _ in values)


def prefix_scenario(work: Path, base_count: int, runs: int, baseline: str | None) -> None:
    """A PR over `base_count` base migrations after main gained one, vs fully warm."""
    repo = build_repo(work, base_count)
    before = work / "cache-before"
    start = time.perf_counter()
    timed_check(repo, before)  # the template and the base without main's new migration
    main_gains_one(repo, base_count)
    after = copied(before, work / "cache-after")
    timed_check(repo, after)  # ... and the base with it
    setup = time.perf_counter() - start
    pythons = sides(baseline)
    for python in pythons.values():  # untimed: each side's bytecode written
        timed_check(repo, copied(after, work / "run"), python)
    times: dict[str, list[Timing]] = {f"{kind} ({side})": [] for side in pythons
                                      for kind in ("gained", "warm")}
    for _run in range(runs):  # alternating, each from a fresh copy of its cache
        for side, python in pythons.items():
            times[f"gained ({side})"].append(
                timed_check(repo, copied(before, work / "run"), python)[0])
            stored = [e for e in (work / "run").iterdir() if e.name.startswith("base-")]
            assert len(stored) == 2, "the new base was not stored next to its prefix"
            times[f"warm ({side})"].append(
                timed_check(repo, copied(after, work / "run"), python)[0])
    load = os.getloadavg()
    print(f"check --verify, PR of 2 over {base_count} base migrations after main gained 1 "
          f"({runs} alternating runs each; setup {setup:.0f} s; load average "
          f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs):")
    print_rows(times)
    for side in pythons:
        ratio = median_wall(times[f"gained ({side})"]) / median_wall(times[f"warm ({side})"])
        print(f"  gained / warm ({side}): {ratio:.2f}x (target <= 1.5x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--base-count", type=int, default=None)
    parser.add_argument("--scenario", choices=("default", "prefix"), default="default")
    parser.add_argument("--baseline", metavar="PYTHON", default=None,
                        help="also time this interpreter's migration_gate, in alternation")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="migration-gate-db-bench-"))
    # Bytecode written as a user's install would, for both sides, but not into the checkouts:
    # a shell with PYTHONDONTWRITEBYTECODE=1 and bytecode next to only one side's sources had
    # the other side compile every module on every run (+0.3 s of a 1.5 s check).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    if args.scenario == "prefix":
        try:
            prefix_scenario(work, args.base_count or 3000, args.runs, args.baseline)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    args.base_count = args.base_count or 300
    try:
        repo = build_repo(work, args.base_count)
        pythons = sides(args.baseline)
        for side, python in pythons.items():  # untimed: each side's bytecode written
            timed_check(repo, work / f"warm-up-{side}", python)
        times: dict[str, list[Timing]] = {f"{kind} ({side})": [] for side in pythons
                                          for kind in ("cold", "cold-base", "warm")}
        rules: set[str] = set()
        for run in range(args.runs):
            for side, python in pythons.items():
                cache = work / f"cache-{side}-{run}"
                elapsed, report = timed_check(repo, cache, python)
                times[f"cold ({side})"].append(elapsed)
                for entry in cache.iterdir():
                    if entry.name.startswith("base-"):
                        shutil.rmtree(entry)
                times[f"cold-base ({side})"].append(timed_check(repo, cache, python)[0])
                elapsed, report = timed_check(repo, cache, python)
                times[f"warm ({side})"].append(elapsed)
                diagnostics = report["diagnostics"]
                assert isinstance(diagnostics, list)
                rules |= {str(d["rule"]) for d in diagnostics}
        load = os.getloadavg()
        print(f"check --verify, {args.base_count} base migrations + 2 on the branch "
              f"({args.runs} runs each, alternating; load average {load[0]:.1f} {load[1]:.1f} "
              f"{load[2]:.1f} on {os.cpu_count()} CPUs):")
        print_rows(times)
        print(f"  findings on the branch: {', '.join(sorted(rules)) or 'none'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
