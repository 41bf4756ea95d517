"""Machine-readable output: `{"tool", "version", "diagnostics", "summary"}`, and the way back
from that document to a `Result` for the steps that run after the gate (the pull-request
comment).

The contract users parse is documented in README.md#output-formats.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from migration_gate import __version__
from migration_gate.diagnostics import Diagnostic, GateError, Related, Severity
from migration_gate.pipeline import Result
from migration_gate.report import ReportOptions


def render(result: Result, options: ReportOptions) -> str:
    document: dict[str, object] = {
        "tool": "migration-gate",
        "version": __version__,
        "command": options.command,
        "diagnostics": [d.as_dict() for d in result.diagnostics],
        "summary": result.counts(),
        "notes": list(result.notes),
        **({"projects": list(result.projects)} if result.projects else {}),
    }
    if result.runner is not None:
        document["runner"] = {"name": result.runner[0], "reason": result.runner[1]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Report:
    """A JSON report read back: the result and the command that produced it."""

    result: Result
    command: str


def parse(text: str, source: str) -> Report:
    """The document `render` wrote; anything else is one clear error naming `source`."""
    try:
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("tool") != "migration-gate":
            raise ValueError("not a migration-gate JSON report")
        diagnostics = tuple(_diagnostic(item) for item in document["diagnostics"])
        files = int(document["summary"]["files"])
        notes = tuple(str(note) for note in document.get("notes", ()))
        command = str(document.get("command", "check"))
    except (ValueError, KeyError, TypeError) as error:
        detail = error.args[0] if isinstance(error, ValueError) else f"missing or bad {error}"
        raise GateError(f"{source}: not a migration-gate JSON report ({detail})") from None
    return Report(Result(diagnostics, files_checked=files, notes=notes), command)


def _diagnostic(item: dict[str, object]) -> Diagnostic:
    def number(key: str) -> int:
        value = item[key]
        if not isinstance(value, int):
            raise TypeError(key)
        return value

    hint = item.get("hint")
    related = item.get("related", [])
    if not isinstance(related, list):
        raise TypeError("related")
    return Diagnostic(
        rule=str(item["rule"]),
        severity=Severity(item["severity"]),
        path=str(item["path"]),
        message=str(item["message"]),
        line=number("line"),
        column=number("column"),
        end_line=number("end_line"),
        end_column=number("end_column"),
        hint=None if hint is None else str(hint),
        related=tuple(_related(entry) for entry in related),
    )


def _related(entry: object) -> Related:
    if not isinstance(entry, dict) or not isinstance(entry.get("line"), int):
        raise TypeError("related")
    column = entry.get("column", 1)
    return Related(str(entry["rule"]), str(entry["path"]), int(entry["line"]),
                   str(entry["message"]), column if isinstance(column, int) else 1)
