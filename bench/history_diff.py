"""The history rules' findings on small real git repositories, old code against new: a
refactoring of the checks (issue 10: one body that asks the runner) must leave every finding
byte-for-byte what it was, for refinery and for Flyway.

    python bench/history_diff.py [REF]      (REF: the code to compare with, default main)

Each scenario is a repository whose `main` holds merged migrations and whose `feature` branch
modifies, deletes, moves, renames and adds some (below the base, with gaps, dotted versions,
a CRLF-only change, a repeatable edit). Both sides run `check --no-verify --base main
--format json --runner <tool>` in the same repository (PYTHONHASHSEED=0); REF's side runs
from `git archive REF` with PYTHONPATH.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE = "CREATE TABLE IF NOT EXISTS t{n} (id bigint PRIMARY KEY);\n"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b",
                        "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"})


def _write(repo: Path, files: dict[str, str | None]) -> None:
    for rel, text in files.items():
        path = repo / "migrations" / rel
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))


def _scenario(repo: Path, base: dict[str, str | None], branch: dict[str, str | None],
              moves: dict[str, str] | None = None) -> None:
    _git(repo, "init", "-q", "-b", "main")
    _write(repo, base)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    _git(repo, "checkout", "-q", "-b", "feature")
    for old, new in (moves or {}).items():
        (repo / "migrations" / new).parent.mkdir(parents=True, exist_ok=True)
        _git(repo, "mv", f"migrations/{old}", f"migrations/{new}")
    _write(repo, branch)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "branch")


def refinery_history(repo: Path) -> None:
    base = {f"V{n:03d}__create_t{n}.sql": TABLE.format(n=n) for n in range(1, 9)}
    _scenario(repo, base, {
        "V002__create_t2.sql": TABLE.format(n=2) + "ALTER TABLE t2 ADD c int;\n",  # modified
        "V003__create_t3.sql": None,  # deleted
        "V006__below_base.sql": TABLE.format(n=60),
        "V011__gap.sql": TABLE.format(n=11),
        "V012__after_gap.sql": TABLE.format(n=12),
        "U13__unversioned.sql": TABLE.format(n=13),
    }, moves={"V004__create_t4.sql": "sub/V004__create_t4.sql",  # moved: harmless
              "V005__create_t5.sql": "V005__create_t5_renamed.sql",  # renamed: divergent
              "V007__create_t7.sql": "V010__create_t7.sql"})  # renumbered


def refinery_clean(repo: Path) -> None:
    base = {f"V{n}__t{n}.sql": TABLE.format(n=n) for n in range(1, 4)}
    _scenario(repo, base, {"V4__t4.sql": TABLE.format(n=4)},
              moves={"V1__t1.sql": "old/V1__t1.sql"})


def refinery_burned(repo: Path) -> None:
    """V3 merged, then deleted on main: burned; the branch reuses it and leaves a gap."""
    _git(repo, "init", "-q", "-b", "main")
    _write(repo, {f"V{n}__t{n}.sql": TABLE.format(n=n) for n in range(1, 4)})
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    _write(repo, {"V3__t3.sql": None})
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "drop V3")
    _git(repo, "checkout", "-q", "-b", "feature")
    _write(repo, {"V3__reused.sql": TABLE.format(n=30), "V7__gap.sql": TABLE.format(n=7)})
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "branch")


def flyway_history(repo: Path) -> None:
    base = {f"V{n}__create_t{n}.sql": TABLE.format(n=n) for n in range(1, 7)}
    base |= {"R__views.sql": "CREATE OR REPLACE VIEW v AS SELECT 1;\n",
             "V6_1__dotted.sql": TABLE.format(n=61)}
    _scenario(repo, base, {
        "V2__create_t2.sql": TABLE.format(n=2) + "ALTER TABLE t2 ADD c int;\n",  # modified
        "V3__create_t3.sql": TABLE.format(n=3).replace("\n", "\r\n"),  # CRLF only
        "R__views.sql": "CREATE OR REPLACE VIEW v AS SELECT 2;\n",  # repeatable edit
        "V4__create_t4.sql": None,  # deleted
        "V1_5__below_base.sql": TABLE.format(n=15),
        "V9__gap.sql": TABLE.format(n=9),
        "V9_1__dotted_after_gap.sql": TABLE.format(n=91),
        "U20__undo_of_nothing.sql": TABLE.format(n=20),
    }, moves={"V1__create_t1.sql": "sub/V1__create_t1.sql",
              "V5__create_t5.sql": "V5__create t5 renamed.sql"})


def flyway_integers(repo: Path) -> None:
    base = {f"V{n}__t{n}.sql": TABLE.format(n=n) for n in range(1, 4)}
    _scenario(repo, base, {"V6__t6.sql": TABLE.format(n=6), "V7__t7.sql": TABLE.format(n=7),
                           "V2__t2.sql": TABLE.format(n=22)})


SCENARIOS: dict[str, tuple[str, Callable[[Path], None]]] = {
    "refinery-history": ("refinery", refinery_history),
    "refinery-clean": ("refinery", refinery_clean),
    "refinery-burned": ("refinery", refinery_burned),
    "flyway-history": ("flyway", flyway_history),
    "flyway-integers": ("flyway", flyway_integers),
}


def _run(code: Path | None, repo: Path, runner: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GIT_"))}
    env["PYTHONHASHSEED"] = "0"
    if code is not None:
        env["PYTHONPATH"] = str(code)
    done = subprocess.run(
        [sys.executable, "-m", "migration_gate", "check", "--no-verify", "--base", "main",
         "--format", "json", "--runner", runner],
        cwd=repo, env=env, capture_output=True, text=True, check=False)
    return f"rc={done.returncode}\n{done.stdout}\n{done.stderr}"


def main(argv: list[str]) -> int:
    ref = argv[0] if argv else "main"
    differing = 0
    with tempfile.TemporaryDirectory(prefix="history-diff-") as temp:
        old_code = Path(temp) / "old"
        old_code.mkdir()
        archive = subprocess.run(["git", "archive", ref, "migration_gate"], cwd=ROOT,
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old_code)], input=archive, check=True)
        for name, (runner, build) in SCENARIOS.items():
            repo = Path(temp) / name
            repo.mkdir()
            build(repo)
            before, after = _run(old_code, repo, runner), _run(None, repo, runner)
            rules = sorted({line.split('"')[3] for line in after.splitlines()
                            if line.strip().startswith('"rule"')})
            same = before == after
            differing += not same
            print(f"{'same' if same else 'DIFFERS'}: {name} ({', '.join(rules)})")
            if not same:
                print(before, after, sep="\n----\n")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
