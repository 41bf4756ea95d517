"""Benchmark `migration-gate lint` against squawk and the previous release on the corpus.

The files: every `.sql` file of the PostgreSQL projects of the corpus named by
MIGRATION_GATE_CORPUS (MANIFEST.json dialect `postgres`: 2,758 files from 23 projects), linted
as one list by each tool. Runs alternate (squawk, then each scenario on the previous release
and on the current code); medians with min–max, CPU time and the load average are printed.

  squawk     `squawk --assume-in-transaction FILES`: as refinery users must run it (refinery
             wraps each migration in a transaction), so squawk's transaction rules see what
             the database will do
  cold       `lint --no-cache FILES`: every file split, tokenized, parsed and checked, nothing
             read from or written to the findings cache
  warm       `lint FILES` with the findings cache (keyed by file content) already holding every
             file: the run that filled it is not timed
  one file   `lint --no-cache FILE`: start-up, imports and one file

Targets: cold <= 1.5x squawk, warm <= 0.3x squawk, one file <= 0.2 s.

Usage: python bench/lint_bench.py [--runs N] [--baseline REF]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
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
    gate_env,
    postgres_files,
    print_table,
    ratio_text,
)

BIN = Path(sys.executable).parent
#: scenario -> (target text, the bound, what the bound is relative to: "squawk" or "s")
TARGETS = {"cold": ("≤ 1.5× squawk", 1.5, "squawk"), "warm": ("≤ 0.3× squawk", 0.3, "squawk"),
           "one file": ("≤ 0.2 s", 0.2, "s")}


def squawk_binary() -> str:
    squawk = shutil.which("squawk", path=str(BIN)) or shutil.which("squawk")
    if squawk is None:
        raise SystemExit("needs squawk: pip install -e '.[bench]'")
    return squawk


def gate_cases(side: Side, paths: list[str], cwd: Path, cache: Path) -> dict[str, Command]:
    """The three scenarios on one side; its warm cache is its own folder (the cache format may
    differ between versions)."""
    env = side.env(MIGRATION_GATE_CACHE_DIR=str(cache))
    lint = side.argv("lint", "--dialect", "postgres")
    return {
        "cold": Command((*lint, "--no-cache", *paths), cwd, env),
        "warm": Command((*lint, *paths), cwd, env),
        "one file": Command((*lint, "--no-cache", paths[0]), cwd, env, fresh_cache=True),
    }


def measure(sides: list[Side], squawk: str, paths: list[str], cwd: Path, runs: int
            ) -> dict[str, Series]:
    with tempfile.TemporaryDirectory(prefix="bench-lint-") as temp:
        cases: dict[str, Command] = {
            "squawk": Command((squawk, "--assume-in-transaction", *paths), cwd, gate_env(),
                              ok=frozenset({0, 1, 2, 3})),
        }
        for index, side in enumerate(sides):
            for scenario, command in gate_cases(side, paths, cwd, Path(temp) / str(index)).items():
                cases[f"{scenario}|{side.name}"] = command
        return alternate(cases, runs)


def target_text(scenario: str, now: Series, squawk: Series) -> str:
    text, bound, unit = TARGETS[scenario]
    value = now.median / squawk.median if unit == "squawk" else now.median
    return f"{text} ({'met' if value <= bound else 'NOT met'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline", default=DEFAULT_BASELINE,
                        help="the previous release to compare with (a git ref; '' for none)")
    args = parser.parse_args()
    squawk = squawk_binary()
    corpus = corpus_root()
    files = postgres_files(corpus)
    cwd = corpus / "repos"
    paths = [str(p.relative_to(cwd)) for p in files]
    size = sum(p.stat().st_size for p in files)
    version = subprocess.run([squawk, "--version"], capture_output=True, text=True).stdout
    print(f"files: {len(files)} PostgreSQL migrations of {corpus} ({size / 1e6:.1f} MB); "
          f"{version.strip()}")
    now = current_side()
    with baseline_checkout(args.baseline) if args.baseline else nullcontext() as base:
        sides = [s for s in (base, now) if s is not None]
        results = measure(sides, squawk, paths, cwd, args.runs)
    theirs = results["squawk"]
    rows = [["squawk --assume-in-transaction", theirs.wall_text(), "", "", "", ""]]
    for scenario in TARGETS:
        mine = results[f"{scenario}|{now.name}"]
        old = results.get(f"{scenario}|{base.name}") if base else None
        rows.append([
            f"migration-gate lint, {scenario}",
            old.wall_text() if old else "–",
            mine.wall_text(),
            ratio_text(mine.median, old.median) if old else "–",
            ratio_text(mine.median, theirs.median),
            target_text(scenario, mine, theirs),
        ])
    print_table(["scenario", "baseline", "now", "now / baseline", "now / squawk", "target"],
                rows, title=f"lint, {len(files)} files (baseline {args.baseline or 'none'})",
                runs=args.runs)
    print("\nCPU time (median, children included):")
    for name, series in results.items():
        print(f"  {name:<40} {series.cpu:.3f} s")


if __name__ == "__main__":
    main()
