"""Ignore comments: `-- migration-gate: ignore a, b` (the next statement), `ignore-file` (the
whole file), and squawk's `-- squawk-ignore` / `-- squawk-ignore-file`.

An ignore names rules explicitly: a comma-separated list of rule ids, and anything written
after the list (a reason) never widens it. A name that is no rule, or an ignore that
suppresses nothing, is itself a finding (`unused-ignore`), so ignores cannot rot silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from migration_gate.catalog import Rule
from migration_gate.diagnostics import Severity

UNUSED_IGNORE = Rule(
    "unused-ignore", Severity.WARNING,
    "An ignore comment names an unknown rule, or suppresses nothing.",
    needs="stmt",
    why="A misspelt rule name silently ignores nothing, and an ignore left behind after the "
    "statement changed hides the next real finding there. Only the comma-separated rule list "
    "counts: text after it (a reason) never widens the ignore, and there is no ignore-all.",
    example="-- migration-gate: ignore ban-drop-colum\nALTER TABLE users DROP COLUMN IF EXISTS "
    "legacy;",
    instead="-- migration-gate: ignore ban-drop-column -- legacy column, unused since v2.3\n"
    "ALTER TABLE users DROP COLUMN IF EXISTS legacy;",
    hint="fix the rule id or remove the ignore comment",
    fires=(
        "-- migration-gate: ignore ban-drop-colum\nALTER TABLE u DROP COLUMN IF EXISTS x;",
        "-- migration-gate: ignore ban-drop-table\nSELECT 1;",
        "-- squawk-ignore-file no-such-rule\nSELECT 1;",
    ),
    passes=(
        "-- migration-gate: ignore ban-drop-column\nALTER TABLE u DROP COLUMN IF EXISTS x;",
        "-- squawk-ignore ban-drop-table\nDROP TABLE IF EXISTS t;",
        "-- migration-gate: ignore-file transaction-nesting because legacy\nBEGIN;\nCOMMIT;",
    ),
)
RULES = (UNUSED_IGNORE,)

_DIRECTIVE = re.compile(
    r"^\s*(?:migration-gate\s*:\s*(?P<ours>ignore-file|ignore)|squawk-(?P<squawk>ignore-file|ignore))"
    r"(?=[\s,:]|$)(?P<rest>.*)$",
    re.DOTALL,
)
_RULE_LIST = re.compile(r"^[\s:]*([A-Za-z0-9_-]+(?:[ \t]*,[ \t]*[A-Za-z0-9_-]+)*)")


@dataclass(frozen=True)
class Ignore:
    """One ignore comment: which rules, the whole file or the next statement, and where."""

    rules: tuple[str, ...]
    whole_file: bool
    start_offset: int
    end_offset: int


def comment_body(comment: str) -> str:
    if comment.startswith("/*"):
        return comment[2:-2] if comment.endswith("*/") else comment[2:]
    return comment[1:] if comment.startswith("#") else comment[2:]


def parse_ignore(comment: str, start: int, end: int) -> Ignore | None:
    """The ignore a comment holds, or None for an ordinary comment."""
    match = _DIRECTIVE.match(comment_body(comment))
    if match is None:
        return None
    kind = match.group("ours") or match.group("squawk")
    listed = _RULE_LIST.match(match.group("rest"))
    rules = tuple(r.strip() for r in listed.group(1).split(",")) if listed else ()
    return Ignore(rules, kind == "ignore-file", start, end)


def find_ignores(text: str, comments: Iterable[tuple[int, int]]) -> list[Ignore]:
    found = []
    for start, end in comments:
        ignore = parse_ignore(text[start:end], start, end)
        if ignore is not None:
            found.append(ignore)
    return found


@dataclass(frozen=True)
class Suppression:
    """The outcome of applying the ignores: kept findings' indexes and the unused entries."""

    kept: tuple[int, ...]  # indexes into the findings given
    unused: tuple[tuple[Ignore, str, str], ...]  # (ignore, rule or "", message)


def apply_ignores(
    ignores: Sequence[Ignore],
    statement_starts: Sequence[int],
    findings: Sequence[tuple[int, str]],
    known_rules: Iterable[str],
    judged_elsewhere: Iterable[str] = (),
) -> Suppression:
    """Which findings (statement index, rule) survive the ignores, and which ignores are unused.

    A next-statement ignore covers the first statement starting after the comment. Rules in
    `judged_elsewhere` are honoured by another stage (the database replay), so this one cannot
    tell whether ignoring them suppresses anything.
    """
    known = set(known_rules)
    elsewhere = set(judged_elsewhere)
    used: set[tuple[int, str]] = set()
    targets: list[int | None] = []
    for ignore in ignores:
        target = None
        if not ignore.whole_file:
            for index, start in enumerate(statement_starts):
                if start >= ignore.end_offset:
                    target = index
                    break
        targets.append(target)
    kept = []
    for position, (statement, rule) in enumerate(findings):
        suppressed = False
        for number, ignore in enumerate(ignores):
            if rule in ignore.rules and (ignore.whole_file or targets[number] == statement):
                used.add((number, rule))
                suppressed = True
        if not suppressed:
            kept.append(position)
    unused = []
    for number, ignore in enumerate(ignores):
        if not ignore.rules:
            unused.append((ignore, "", "this ignore names no rule: list the rule ids to ignore"))
        for rule in ignore.rules:
            if rule not in known:
                unused.append((ignore, rule, f"`{rule}` is not a rule id"))
            elif (number, rule) not in used and rule not in elsewhere:
                scope = "this file" if ignore.whole_file else "the next statement"
                unused.append((ignore, rule, f"ignoring `{rule}` suppresses nothing in {scope}"))
    return Suppression(tuple(kept), tuple(unused))
