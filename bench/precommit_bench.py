"""The cost per commit of each pre-commit hook, through the real pre-commit framework.

    python bench/precommit_bench.py [--runs N]

Builds a small repository (20 committed migrations, a commit that adds one), installs the
hooks from a snapshot of this checkout (the environments are built once, in a private
PRE_COMMIT_HOME, and not timed), runs each hook once to warm it (the replay's PostgreSQL
template is made then), then times `pre-commit run <hook>` N times and prints the median:
what a developer waits for on each commit that touches a migration.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import clean_env, make_repo, seed_migrations, snapshot_checkout

HOOKS = ("migration-gate-lint", "migration-gate", "migration-gate-replay")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        snapshot = snapshot_checkout(root / "gate")
        repo = make_repo(root / "project")
        seed_migrations(repo, count=20)
        sha = snapshot.git("rev-parse", "HEAD")
        hooks = "".join(f"      - id: {hook}\n" for hook in HOOKS)
        repo.write(".pre-commit-config.yaml",
                   f"repos:\n  - repo: {snapshot.path}\n    rev: {sha}\n    hooks:\n{hooks}")
        repo.git("checkout", "-q", "-b", "feature")
        repo.write("migrations/V021__add_profiles.sql",
                   "CREATE TABLE IF NOT EXISTS profiles (id bigint PRIMARY KEY);\n")
        repo.git("add", "-A")
        env = clean_env({"PRE_COMMIT_HOME": str(root / "home"), "PRE_COMMIT_COLOR": "never",
                         "MIGRATION_GATE_CACHE_DIR": str(root / "cache")})

        def run(*args: str) -> float:
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=repo.path,
                                  env=env, capture_output=True, text=True)
            elapsed = time.perf_counter() - started
            if done.returncode not in (0, 1):
                raise SystemExit(done.stdout + done.stderr)
            return elapsed

        print(f"install-hooks (every environment, once): {run('install-hooks'):.1f} s")
        for hook in HOOKS:
            first = run("run", hook)
            times = [run("run", hook) for _ in range(runs)]
            print(f"{hook}: first run {first:.2f} s; warm median {statistics.median(times):.2f}"
                  f" s (min {min(times):.2f}, max {max(times):.2f}, {runs} runs)")


if __name__ == "__main__":
    main()
