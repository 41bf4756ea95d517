"""Benchmark `migration-gate check` the way it runs on every commit, against the previous release.

Scenarios (each run on the previous release, `--baseline REF`, and on the current code, in
alternation; the targets are the README's Performance section):

  check 500+2, cold    a refinery repository of 500 real migrations whose branch adds 2 files:
                       `check --no-verify`, every run with a new, empty cache folder
                       (`MIGRATION_GATE_CACHE_DIR`, `XDG_CACHE_HOME`)          target <= 0.2 s
  check 500+2, warm    the same, its cache filled by a run that is not timed   target <= 0.15 s
  check 5,000+2, warm  the same on 5,000 migrations                            target <= 0.4 s
  lint one file, cold  `lint --no-cache FILE`, a new cache folder              target <= 0.2 s
  --version            start-up alone                                          target <= 0.06 s
  peak memory          the largest resident set of the warm 500 case (wait4) target <= 40 MiB
  no bytecode          the warm 500 case under PYTHONDONTWRITEBYTECODE=1 from a copy of each
                       side's package that never wrote its bytecode (a Docker image or CI job
                       with an editable install): every module it imports is compiled per run
  first run after install
                       the cold 500 case from a copy of each side's package with the bytecode
                       pip writes at install but not the table of compiled data-class methods
                       and patterns the first run writes (`migration_gate/compile_cache.py`):
                       PYTHONDONTWRITEBYTECODE=1 keeps it from being written, so every run is
                       that first one (the other rows keep the table, as they keep the bytecode)

The migrations are real files from the corpus named by MIGRATION_GATE_CORPUS (its PostgreSQL
projects, cycled past 2,758), renamed V0001.. so that they form one refinery folder.

Usage: python bench/check_bench.py [--runs N] [--baseline REF]
"""

from __future__ import annotations

import argparse
import itertools
import re
import shutil
import subprocess
import tempfile
from contextlib import nullcontext
from pathlib import Path

from harness import (
    DEFAULT_BASELINE,
    Command,
    Series,
    Side,
    alternate,
    baseline_checkout,
    corpus_root,
    current_side,
    freshly_installed,
    mib,
    postgres_files,
    print_table,
    ratio_text,
    without_bytecode,
)

#: scenario -> (target text, bound in seconds, or in MiB for the memory row)
TARGETS = {
    "check 500+2, cold": ("≤ 0.2 s", 0.2),
    "check 500+2, warm": ("≤ 0.15 s", 0.15),
    "check 5,000+2, warm": ("≤ 0.4 s", 0.4),
    "lint one file, cold": ("≤ 0.2 s", 0.2),
    "--version": ("≤ 0.06 s", 0.06),
    "check 500+2, warm, PYTHONDONTWRITEBYTECODE=1, no bytecode": ("(warm: ≤ 0.15 s)", 0.15),
    "check 500+2, cold, first run after install": ("(cold: ≤ 0.2 s)", 0.2),
}
MEMORY_TARGET_MIB = 40.0


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
        cwd=cwd, check=True, capture_output=True,
    )


def build_repo(where: Path, sources: list[Path], base_count: int, added: int) -> Path:
    """`base_count` real migrations committed on main, `added` more on a branch `feature`."""
    repo = where / f"repo-{base_count}"
    folder = repo / "migrations"
    folder.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    for index, source in enumerate(itertools.islice(itertools.cycle(sources), base_count),
                                   start=1):
        # refinery's names are `\w+`: a corpus name with hyphens would make a Flyway folder
        name = re.sub(r"\W", "_", source.stem.split("__")[-1])[:40] or "m"
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


def side_cases(side: Side, small: Path, big: Path, one_file: Path, temp: Path
               ) -> dict[str, Command]:
    cache = temp / f"cache-{side.name.replace(' ', '-')}"
    env = side.env(MIGRATION_GATE_CACHE_DIR=str(cache), XDG_CACHE_HOME=str(cache))
    check = side.argv("check", "--no-verify")
    bare = without_bytecode(side, temp)
    bare_env = bare.env(MIGRATION_GATE_CACHE_DIR=str(cache), XDG_CACHE_HOME=str(cache),
                        PYTHONDONTWRITEBYTECODE="1")
    fresh = freshly_installed(side, temp)
    fresh_env = fresh.env(MIGRATION_GATE_CACHE_DIR=str(cache), XDG_CACHE_HOME=str(cache),
                          PYTHONDONTWRITEBYTECODE="1")
    return {
        "check 500+2, cold": Command(check, small, env, fresh_cache=True),
        "check 500+2, warm": Command(check, small, env),
        "check 5,000+2, warm": Command(check, big, env),
        "lint one file, cold": Command(side.argv("lint", "--no-cache", str(one_file)), small,
                                       env, fresh_cache=True),
        "--version": Command(side.argv("--version"), small, env, ok=frozenset({0})),
        "check 500+2, warm, PYTHONDONTWRITEBYTECODE=1, no bytecode":
            Command(bare.argv("check", "--no-verify"), small, bare_env),
        "check 500+2, cold, first run after install":
            Command(fresh.argv("check", "--no-verify"), small, fresh_env, fresh_cache=True),
    }


def rows(results: dict[str, Series], base: Side | None, now: Side) -> list[list[str]]:
    table: list[list[str]] = []
    for scenario, (text, bound) in TARGETS.items():
        mine = results[f"{scenario}|{now.name}"]
        old = results.get(f"{scenario}|{base.name}") if base else None
        met = "met" if mine.median <= bound else "NOT met"
        table.append([scenario, old.wall_text() if old else "–", mine.wall_text(),
                      ratio_text(mine.median, old.median) if old else "–", f"{text} ({met})"])
    mine = results[f"check 500+2, warm|{now.name}"]
    old = results.get(f"check 500+2, warm|{base.name}") if base else None
    met = "met" if mine.peak_rss <= MEMORY_TARGET_MIB * 2**20 else "NOT met"
    table.append(["peak memory, check 500+2, warm", mib(old.peak_rss) if old else "–",
                  mib(mine.peak_rss), ratio_text(mine.peak_rss, old.peak_rss) if old else "–",
                  f"≤ {MEMORY_TARGET_MIB:.0f} MiB ({met})"])
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline", default=DEFAULT_BASELINE,
                        help="the previous release to compare with (a git ref; '' for none)")
    args = parser.parse_args()
    sources = postgres_files(corpus_root())
    now = current_side()
    with tempfile.TemporaryDirectory(prefix="bench-check-") as name, \
            baseline_checkout(args.baseline) if args.baseline else nullcontext() as base:
        temp = Path(name)
        small = build_repo(temp, sources, 500, 2)
        big = build_repo(temp, sources, 5000, 2)
        cases: dict[str, Command] = {}
        sides = [s for s in (base, now) if s is not None]
        per_side = {s.name: side_cases(s, small, big, sources[0], temp) for s in sides}
        for scenario in TARGETS:  # scenario by scenario, the sides next to each other
            for side in sides:
                cases[f"{scenario}|{side.name}"] = per_side[side.name][scenario]
        results = alternate(cases, args.runs)
    print_table(["scenario", "baseline", "now", "ratio", "target"], rows(results, base, now),
                title=f"check (baseline {args.baseline or 'none'})", runs=args.runs)
    print("\nCPU time (median, children included):")
    for key, series in results.items():
        print(f"  {key:<75} {series.cpu:.3f} s")


if __name__ == "__main__":
    main()
