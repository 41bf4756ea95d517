"""The folder rules' findings over the whole corpus, recorded once and compared later: a
refactoring of the checks (issue 10: one body that asks the runner) must leave every finding
byte-for-byte what it was.

    MIGRATION_GATE_CORPUS=... python bench/folder_diff.py record before.json
    MIGRATION_GATE_CORPUS=... python bench/folder_diff.py compare before.json

Each project folder of MANIFEST.json runs as `check --no-verify --all --format json --dir
<folder> --runner <tool>` from the project's root (the corpus has no git: the history rules
are skipped), with PYTHONHASHSEED=0 so that nothing depends on set order by chance.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import corpus_root


def run_all(corpus: Path) -> dict[str, dict[str, object]]:
    """Every folder's exit code, stdout and stderr, by `repo:folder`."""
    manifest = json.loads((corpus / "MANIFEST.json").read_text(encoding="utf-8"))
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    results: dict[str, dict[str, object]] = {}
    for project in manifest:
        root = corpus / "repos" / project["repo"].replace("/", "__")
        for folder in project["migration_dir"]:
            done = subprocess.run(
                [sys.executable, "-m", "migration_gate", "check", "--no-verify", "--all",
                 "--format", "json", "--dir", folder, "--runner", project["tool"]],
                cwd=root, env=env, capture_output=True, text=True, check=False)
            results[f"{project['repo']}:{folder}"] = {
                "rc": done.returncode, "stdout": done.stdout, "stderr": done.stderr}
            print(f"{done.returncode} {project['repo']}:{folder}", file=sys.stderr)
    return results


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("record", "compare"):
        raise SystemExit("usage: folder_diff.py record|compare FILE.json")
    results = run_all(corpus_root())
    path = Path(argv[1])
    if argv[0] == "record":
        path.write_text(json.dumps(results, indent=1, sort_keys=True), encoding="utf-8")
        return 0
    before = json.loads(path.read_text(encoding="utf-8"))
    differing = sorted(k for k in before.keys() | results.keys()
                       if before.get(k) != results.get(k))
    for key in differing:
        print(f"DIFFERS: {key}")
    total = sum(str(r["stdout"]).count('"rule"') for r in results.values())
    print(f"{len(results)} folders, {total} findings, {len(differing)} differ")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
