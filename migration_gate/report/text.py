"""The terminal view: findings grouped by file, `path:line:col rule severity: message`."""

from __future__ import annotations

from itertools import groupby

from migration_gate.console import safe_line
from migration_gate.diagnostics import Severity
from migration_gate.pipeline import Result
from migration_gate.report import ReportOptions

_COLORS = {"error": "\033[31m", "warning": "\033[33m", "bold": "\033[1m", "dim": "\033[2m"}
_RESET = "\033[0m"


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_COLORS[style]}{text}{_RESET}" if color else text


def render(result: Result, options: ReportOptions) -> str:
    """Every part that comes from the repository goes through `safe_line` before it is
    painted: a name's control characters are shown, never sent to the terminal."""
    lines: list[str] = []
    color = options.color
    if result.projects:
        count = len(result.projects)
        lines += [f"Checked {count} project{'s' if count != 1 else ''}: "
                  + ", ".join(result.projects), ""]
    for _path, group in groupby(result.diagnostics, key=lambda d: d.path):
        for diagnostic in group:
            where = safe_line(f"{diagnostic.path}:{diagnostic.line}:{diagnostic.column}")
            severity = diagnostic.severity.value
            first, *rest = diagnostic.message.split("\n")
            rule = safe_line(diagnostic.rule)
            lines.append(
                f"{_paint(where, 'bold', color)} {_paint(rule, severity, color)} "
                f"{_paint(severity, severity, color)}: {safe_line(first)}"
            )
            lines.extend(f"    {safe_line(more)}" for more in rest)
            if diagnostic.hint:
                lines.append(_paint(safe_line(f"  hint: {diagnostic.hint}"), "dim", color))
        lines.append("")
    if result.runner is not None:
        lines.append(safe_line(f"runner: {result.runner[0]} ({result.runner[1]})"))
    lines.append(safe_line(summary_line(result)))
    return "\n".join(lines) + "\n"


def summary_line(result: Result) -> str:
    counts = result.counts()
    files = counts["files"]
    checked = f"{files} file{'s' if files != 1 else ''}"
    if not result.diagnostics:
        return f"No findings in {checked}."
    parts = []
    for key, label in (("errors", Severity.ERROR), ("warnings", Severity.WARNING)):
        count = counts[key]
        if count:
            parts.append(f"{count} {label.value}{'s' if count != 1 else ''}")
    return f"Found {' and '.join(parts)} in {checked}."
