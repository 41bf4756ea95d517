"""`migration-gate rules`: the rule catalogue, or one rule's documentation."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from migration_gate.commands.options import add_text_or_json
from migration_gate.console import echo
from migration_gate.diagnostics import GateError

if TYPE_CHECKING:
    from argparse import ArgumentParser

    from migration_gate.catalog import RuleDoc


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("rule_id", nargs="?", metavar="RULE_ID")
    add_text_or_json(parser)


def rules(rule_id: str | None, fmt: str) -> None:
    """Show the rule catalogue, or one rule's documentation."""
    from migration_gate.catalog import all_rules

    catalogue = all_rules()
    if rule_id is not None:
        doc = catalogue.get(rule_id)
        if doc is None:
            import difflib

            close = difflib.get_close_matches(rule_id, list(catalogue), n=1)
            extra = f" (did you mean {close[0]}?)" if close else ""
            raise GateError(f"unknown rule {rule_id!r}{extra}; `migration-gate rules` lists them")
        if fmt == "json":
            echo(json.dumps(_rule_json(doc), indent=2))
        else:
            echo(doc.render().rstrip("\n"))
        return
    if fmt == "json":
        echo(json.dumps([_rule_json(doc) for doc in catalogue.values()], indent=2))
        return
    width = max(len(rule) for rule in catalogue)
    echo(f"{'rule':<{width}}  {'severity':<8}  summary")
    for doc in catalogue.values():
        echo(f"{doc.id:<{width}}  {doc.severity.value:<8}  {doc.summary}")


def _rule_json(doc: RuleDoc) -> dict[str, str]:
    return {
        "id": doc.id, "severity": doc.severity.value, "needs": doc.needs, "summary": doc.summary,
        "why": doc.why, "example": doc.example, "instead": doc.instead,
    }
