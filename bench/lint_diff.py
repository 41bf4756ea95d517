"""Prove that a change to the SQL lint leaves its findings alone: old code vs this worktree.

Every `.sql` file of the corpus named by MIGRATION_GATE_CORPUS (3,128 files; each migration
folder with its project's dialect, as the corpus tests read them) is linted by
`python -m migration_gate lint --format json --no-cache --dialect D` once with the package as
it is at OLD_REF (extracted with `git archive` into a temporary folder, nothing checked out)
and once with this worktree's package, both with PYTHONHASHSEED=0. The two reports are
compared byte for byte; the differing lines are printed (a unified diff), and the exit status
is 1 when there are any.

Usage: python bench/lint_diff.py OLD_REF [--keep DIR]
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ROOT, corpus_root

#: Files per `lint` call: keeps command lines short and reports readable.
BATCH = 200


def _dialect(project: dict[str, object], folder: str) -> str:
    """As tests/corpus.py: mixed projects keep one folder per dialect, named so."""
    if "sqlite" in folder or project["dialect"] == "sqlite":
        return "sqlite"
    if "mysql" in folder or project["dialect"] == "mysql":
        return "mysql"
    return "postgres"


def groups(root: Path) -> list[tuple[str, list[str]]]:
    """(dialect, files relative to the corpus root) per migration folder, in a stable order."""
    found: list[tuple[str, list[str]]] = []
    for project in json.loads((root / "MANIFEST.json").read_text(encoding="utf-8")):
        base = root / "repos" / str(project["repo"]).replace("/", "__")
        for folder in project["migration_dir"]:
            files = [p.relative_to(root).as_posix() for p in sorted((base / folder).rglob("*.sql"))]
            for start in range(0, len(files), BATCH):
                found.append((_dialect(project, folder), files[start : start + BATCH]))
    return found


def extract(ref: str, into: Path) -> Path:
    """The package as it is at `ref`, in `into` (git archive: no worktree, no checkout)."""
    archive = subprocess.run(["git", "archive", ref, "migration_gate"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def report(code: Path, root: Path, work: list[tuple[str, list[str]]]) -> tuple[str, float]:
    """Every group's JSON report, one after the other, and the time it took."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(code),
           "MIGRATION_GATE_NO_CACHE": "1", "NO_COLOR": "1"}
    env.pop("GITHUB_ACTIONS", None)
    where = subprocess.run([sys.executable, "-c", "import migration_gate; "
                            "print(migration_gate.__file__)"], env=env, cwd=root,
                           capture_output=True, text=True, check=True).stdout.strip()
    if not where.startswith(str(code)):
        raise SystemExit(f"{code}: the package imported from {where} instead")
    out: list[str] = []
    started = time.perf_counter()
    for dialect, files in work:
        done = subprocess.run([sys.executable, "-m", "migration_gate", "lint", "--format", "json",
                               "--no-cache", "--dialect", dialect, *files], env=env, cwd=root,
                              capture_output=True, text=True)
        if done.returncode not in (0, 1):
            raise SystemExit(f"lint failed ({done.returncode}) in {code}: {done.stderr.strip()}")
        out.append(f"# {dialect} {files[0]} ({len(files)} files)\n{done.stdout}")
    return "".join(out), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old_ref", help="the git revision whose findings are the reference")
    parser.add_argument("--keep", type=Path, help="write old.json and new.json into this folder")
    args = parser.parse_args()
    root = corpus_root()
    work = groups(root)
    count = sum(len(files) for _, files in work)
    with tempfile.TemporaryDirectory(prefix="lint-diff-") as temp:
        old_code = extract(args.old_ref, Path(temp))
        old, old_time = report(old_code, root, work)
    new, new_time = report(ROOT, root, work)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        (args.keep / "old.json").write_text(old, encoding="utf-8")
        (args.keep / "new.json").write_text(new, encoding="utf-8")
    print(f"{count} files in {len(work)} lint runs; {args.old_ref}: {old_time:.1f} s, "
          f"this worktree: {new_time:.1f} s; reports {len(old):,} and {len(new):,} bytes")
    if old == new:
        print("identical: byte for byte")
        return
    diff = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                args.old_ref, "worktree", n=0)
    sys.stdout.writelines(diff)
    raise SystemExit(1)


if __name__ == "__main__":
    main()
