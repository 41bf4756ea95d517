"""Where migration-gate and squawk agree, rule by rule, on the corpus's PostgreSQL migrations.

Both tools lint the same 2,758 files (MANIFEST.json dialect `postgres` of the corpus named by
MIGRATION_GATE_CORPUS): squawk as refinery users must run it (`--assume-in-transaction`,
`--reporter json`), migration-gate with `lint --format json --dialect postgres --no-cache` and
its opt-in rules that have a squawk counterpart turned on (so that the comparison is of what
each rule sees, not of defaults). A finding is keyed by (file, statement): each tool's line is
mapped to the statement that holds it (squawk counts lines from 0 and may point inside a
statement; migration-gate points at its start), split by migration-gate's splitter; for the
rules both report once per file (`PER_FILE`), by file (line 0 in the JSON).

Printed: per rule, the statements both tools flag, only squawk, only migration-gate. Written
(`--output`, default bench/results/agreement.json): every disagreement, with both tools'
messages, for the classification in docs/squawk-agreement.md.

Usage: python bench/agreement.py [--output FILE]
"""

from __future__ import annotations

import argparse
import bisect
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from harness import ROOT, corpus_root, load_text, postgres_files, print_table

sys.path.insert(0, str(ROOT))

#: squawk's rule -> migration-gate's (None: migration-gate has no such rule; the reason is in
#: docs/squawk-agreement.md). Most ids are the same on purpose (docs/rules.md: where squawk has
#: the same check, the id is squawk's).
SQUAWK_TO_OURS: dict[str, str | None] = {
    **{rule: rule for rule in (
        "adding-field-with-default", "adding-foreign-key-constraint",
        "adding-not-nullable-field", "adding-required-field", "adding-serial-primary-key-field",
        "ban-char-field", "ban-concurrent-index-creation-in-transaction", "ban-drop-column",
        "ban-drop-database", "ban-drop-not-null", "ban-drop-table", "ban-truncate-cascade",
        "changing-column-type", "constraint-missing-not-valid", "disallowed-unique-constraint",
        "prefer-bigint-over-int", "prefer-identity", "prefer-robust-stmts", "prefer-text-field",
        "renaming-column", "renaming-table", "require-concurrent-index-creation",
        "require-concurrent-index-deletion", "require-lock-timeout", "syntax-error",
        "transaction-nesting",
    )},
    "prefer-timestamp-tz": "prefer-timestamptz",
    "prefer-bigint-over-smallint": "prefer-bigint-over-int",  # ours covers smallint too
    "require-statement-timeout": None,
    "ban-drop-constraint": None,
    "ban-drop-view": None,
    "ban-drop-default": None,
    "ban-drop-type": None,
    "ban-drop-sequence": None,
    "ban-drop-function": None,
    "renaming-object": None,
    "require-enum-value-ordering": None,
    "identifier-too-long": None,
    "ban-create-domain-with-constraint": None,
    "ban-alter-domain-with-add-constraint": None,
}
#: Rules both tools report once per file (the first statement that needs it: one
#: `SET lock_timeout` at the top fixes the file), compared per file, not per statement.
PER_FILE = frozenset({"require-lock-timeout"})
#: migration-gate's opt-in rules with a squawk counterpart, turned on for the comparison.
OPT_IN = ("prefer-text-field", "prefer-bigint-over-int", "prefer-identity", "prefer-timestamptz",
          "ban-char-field", "ban-drop-database")


@dataclass(frozen=True)
class Finding:
    tool: str  # "squawk" or "migration-gate"
    rule: str  # migration-gate's id (squawk's when it has none: "squawk:<id>")
    file: str
    line: int  # 1-based line of the statement that holds the finding
    message: str


def statement_starts(text: str) -> tuple[list[int], list[int]]:
    from migration_gate.sql.split import split_statements

    statements = split_statements(text, "postgres")
    return [s.line for s in statements], [s.end_line for s in statements]


def statement_line(starts: list[int], ends: list[int], line: int) -> int:
    """The first line of the statement holding `line`; the next statement's when `line` is
    between statements (a comment), the line itself when none follows."""
    index = bisect.bisect_right(starts, line) - 1
    if index >= 0 and line <= ends[index]:
        return starts[index]
    return starts[index + 1] if index + 1 < len(starts) else line


def run_squawk(paths: list[str], cwd: Path) -> list[dict[str, object]]:
    squawk = Path(sys.executable).parent / "squawk"
    done = subprocess.run([str(squawk), "--assume-in-transaction", "--reporter", "json", *paths],
                          cwd=cwd, capture_output=True, text=True)
    if done.returncode not in (0, 1) or not done.stdout.startswith("["):
        raise SystemExit(f"squawk failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    found: list[dict[str, object]] = json.loads(done.stdout)
    return found


def run_gate(paths: list[str], cwd: Path) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="agreement-") as temp:
        config = Path(temp) / ".migration-gate.yaml"
        config.write_text("rules:\n" + "".join(f"  {rule}: warning\n" for rule in OPT_IN))
        done = subprocess.run([sys.executable, "-m", "migration_gate", "lint", "--no-cache",
                               "--format", "json", "--dialect", "postgres", "--config",
                               str(config), *paths], cwd=cwd, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"migration-gate failed ({done.returncode}): {done.stderr.strip()}")
    found: list[dict[str, object]] = json.loads(done.stdout)["diagnostics"]
    return found


def findings(paths: list[str], cwd: Path) -> list[Finding]:
    spans = {path: statement_starts((cwd / path).read_text(encoding="utf-8", errors="replace"))
             for path in paths}
    result: list[Finding] = []
    for item in run_squawk(paths, cwd):
        name = str(item["rule_name"])
        ours = SQUAWK_TO_OURS.get(name)
        path = str(item["file"])
        line = statement_line(*spans[path], int(str(item["line"])) + 1)
        result.append(Finding("squawk", ours or f"squawk:{name}", path, line,
                              str(item["message"])))
    for item in run_gate(paths, cwd):
        path = str(item["path"])
        line = statement_line(*spans[path], int(str(item["line"])))
        result.append(Finding("migration-gate", str(item["rule"]), path, line,
                              str(item["message"])))
    return result


@dataclass(frozen=True)
class RuleCount:
    rule: str
    both: int
    only_squawk: int
    only_us: int


def compare(found: list[Finding]) -> tuple[list[RuleCount], list[Finding]]:
    """Per rule, the (file, statement) keys each tool flags; the disagreements are every
    finding whose key the other tool does not flag under the same rule."""
    keys: dict[str, set[tuple[str, str, int]]] = {"squawk": set(), "migration-gate": set()}
    found = [replace(f, line=0) if f.rule in PER_FILE else f for f in found]
    for finding in found:
        keys[finding.tool].add((finding.rule, finding.file, finding.line))
    theirs, ours = keys["squawk"], keys["migration-gate"]
    both, only_squawk, only_us = (Counter(k[0] for k in keys) for keys in
                                  (theirs & ours, theirs - ours, ours - theirs))
    rules = sorted({*both, *only_squawk, *only_us},
                   key=lambda r: -(both[r] + only_squawk[r] + only_us[r]))
    counts = [RuleCount(r, both[r], only_squawk[r], only_us[r]) for r in rules]
    other = {"squawk": ours, "migration-gate": theirs}
    seen: set[tuple[str, str, str, int]] = set()
    disagreements: list[Finding] = []
    for finding in found:
        key = (finding.rule, finding.file, finding.line)
        if key not in other[finding.tool] and (finding.tool, *key) not in seen:
            seen.add((finding.tool, *key))
            disagreements.append(finding)
    return counts, disagreements


def commit_text() -> str:
    done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                          capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "bench/results/agreement.json")
    args = parser.parse_args()
    corpus = corpus_root()
    cwd = corpus / "repos"
    paths = [str(p.relative_to(cwd)) for p in postgres_files(corpus)]
    version = subprocess.run([str(Path(sys.executable).parent / "squawk"), "--version"],
                             capture_output=True, text=True).stdout.strip()
    counts, disagreements = compare(findings(paths, cwd))
    rows = [[c.rule, str(c.both), str(c.only_squawk), str(c.only_us)] for c in counts]
    print_table(["rule (migration-gate's id; squawk:<id> where we have none)", "both",
                 "only squawk", "only migration-gate"], rows,
                title=f"agreement with {version} on {len(paths)} files, migration-gate "
                      f"{commit_text()}", runs=None)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "taken": time.strftime("%Y-%m-%d %H:%M %Z"), "commit": commit_text(),
        "squawk": version, "files": len(paths), "load": load_text(),
        "counts": [asdict(c) for c in counts],
        "disagreements": [asdict(d) for d in disagreements],
    }, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\n{len(disagreements)} disagreements written to {args.output}")


if __name__ == "__main__":
    main()
