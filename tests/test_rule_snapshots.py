"""Golden snapshots: what each SQL rule reports, exactly, on its own `fires` cases.

One file per rule, `tests/snapshots/<rule-id>.txt`: each `fires` case of the rule's declaration
is linted as a migration of its own (in the rule's first dialect), and the rule's findings on
it are written below it: span (line:column-line:column), rule, severity, message and hint.
Only the rule's own findings, so that a new rule adds its snapshot file and changes no other.

After adding or changing a rule, refresh the snapshots, review the diff, and commit it:

    UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_rule_snapshots.py

(Refreshing also deletes the snapshot of a rule that no longer exists.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from migration_gate.catalog import Rule, all_rules
from migration_gate.sql.lint import lint_text

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"
REFRESH = "UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_rule_snapshots.py"

#: The rules the SQL lint reports: every rule with `fires` cases.
SNAPSHOT_RULES = tuple(rule for rule in all_rules().values() if rule.fires)


def snapshot(rule: Rule) -> str:
    dialect = rule.dialects[0]
    parts = [f"# {rule.id}: each `fires` case linted as one {dialect} migration, then the "
             "rule's findings on it"]
    for number, sql in enumerate(rule.fires, start=1):
        parts += ["", f"## case {number}", sql.rstrip("\n"), "## findings"]
        for found in lint_text(sql, "V1__case.sql", dialect):
            if found.rule != rule.id:
                continue
            end = f"{found.end_line}:{found.end_column}" if found.end_line is not None else "?"
            parts.append(f"{found.line}:{found.column}-{end} {found.rule} "
                         f"{found.severity.value}: {found.message}")
            if found.hint:
                parts.append(f"    hint: {found.hint}")
    return "\n".join(parts) + "\n"


def test_there_is_a_rule_to_snapshot() -> None:
    assert len(SNAPSHOT_RULES) >= 30


@pytest.mark.parametrize("rule", SNAPSHOT_RULES, ids=lambda rule: rule.id)
def test_rule_snapshot(rule: Rule) -> None:
    path = SNAPSHOTS / f"{rule.id}.txt"
    text = snapshot(rule)
    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        if not path.is_file() or path.read_bytes().decode("utf-8") != text:
            path.write_bytes(text.encode("utf-8"))
        return
    assert path.is_file(), f"no snapshot for {rule.id}: run {REFRESH}"
    assert text == path.read_bytes().decode("utf-8"), f"review, then refresh: {REFRESH}"


def test_every_snapshot_belongs_to_a_rule() -> None:
    known = {f"{rule.id}.txt" for rule in SNAPSHOT_RULES}
    orphans = sorted(p for p in SNAPSHOTS.glob("*.txt") if p.name not in known)
    if UPDATE:
        for orphan in orphans:
            orphan.unlink()
        return
    assert not orphans, f"snapshots of rules that no longer exist; {REFRESH} deletes them"
