"""GitHub Actions output: one workflow command per finding, and a step-summary table.

Annotations (`::error file=…,line=…::message`) put each finding on the offending line of the
pull request's diff. Everything a finding carries comes from the repository under review (file
names, SQL excerpts), so every value is escaped the way the runner decodes it: a newline left
raw in a message would start a new line, i.e. a new workflow command, under the author's control.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import groupby
from urllib.parse import quote

from migration_gate.console import safe_line, visible
from migration_gate.diagnostics import Diagnostic
from migration_gate.pipeline import Result
from migration_gate.report import ReportOptions
from migration_gate.report.text import summary_line


def escape_data(value: str) -> str:
    """The message part of a workflow command (`%`, CR and LF, as the runner decodes them);
    the legacy command syntax `##[` is broken up and other control characters (terminal
    sequences) are shown, not sent."""
    escaped = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return visible(escaped.replace("##[", "##%5B"))


def escape_property(value: str) -> str:
    """A `key=value` property: as data, plus the `:` and `,` that delimit properties."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def full_message(diagnostic: Diagnostic) -> str:
    """The message and, on its own line, the hint."""
    if diagnostic.hint:
        return f"{diagnostic.message}\nhint: {diagnostic.hint}"
    return diagnostic.message


def end_of(diagnostic: Diagnostic) -> tuple[int, int]:
    """(end line, end column): a finding without an end ends where it starts."""
    end_line = diagnostic.end_line if diagnostic.end_line is not None else diagnostic.line
    end_column = diagnostic.end_column if diagnostic.end_column is not None else diagnostic.column
    return end_line, end_column


def annotation(diagnostic: Diagnostic) -> str:
    """`::error file=…,line=…,col=…,endLine=…,endColumn=…,title=rule::message`."""
    end_line, end_column = end_of(diagnostic)
    properties = {
        "file": diagnostic.path,
        "line": str(diagnostic.line),
        "col": str(diagnostic.column),
        "endLine": str(end_line),
        "endColumn": str(end_column),
        "title": diagnostic.rule,
    }
    if end_line != diagnostic.line:
        # GitHub ignores columns on multi-line annotations; say so rather than send noise.
        del properties["col"], properties["endColumn"]
    joined = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{diagnostic.severity.value} {joined}::{escape_data(full_message(diagnostic))}"


def render(result: Result, options: ReportOptions) -> str:
    """The annotations (our own workflow commands, every value escaped), then the one-line
    summary, plain log text made safe like every other line the gate prints."""
    lines = [annotation(diagnostic) for diagnostic in result.diagnostics]
    lines.append(safe_line(summary_line(result), actions=True))
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """Text that stays inside one Markdown table cell and renders as text, not HTML."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace("|", "\\|").replace("\r\n", "<br>").replace("\n", "<br>").replace("\r", "<br>")
    )


def _code(text: str) -> str:
    """Inline code in a cell (backticks in the text would close it, so they become quotes)."""
    return f"`{_cell(text).replace('`', chr(39))}`"


def blob_url(environ: Mapping[str, str], path: str, line: int) -> str | None:
    """A link to the line in the commit under review, when the runner says where that is."""
    server = environ.get("GITHUB_SERVER_URL")
    repository = environ.get("GITHUB_REPOSITORY")
    sha = environ.get("GITHUB_SHA")
    if not (server and repository and sha):
        return None
    return f"{server}/{repository}/blob/{sha}/{quote(path)}#L{line}"


def step_summary(result: Result, options: ReportOptions, environ: Mapping[str, str]) -> str:
    """A Markdown section for `$GITHUB_STEP_SUMMARY`: one table, rows grouped by file."""
    title = f"### migration-gate {options.command}"
    if not result.diagnostics:
        return f"{title}\n\n:white_check_mark: {summary_line(result)}\n\n"
    icon = ":x:" if any(d.severity.value == "error" for d in result.diagnostics) else ":warning:"
    lines = [
        title, "", f"{icon} {summary_line(result)}", "",
        "| File | Line | Severity | Rule | Message |",
        "| --- | ---: | --- | --- | --- |",
    ]
    # the result is in report order already (files by version, errors first): keep it
    for path, group in groupby(result.diagnostics, key=lambda d: d.path):
        for index, diagnostic in enumerate(group):
            file_cell = _code(path) if index == 0 else ""
            url = blob_url(environ, path, diagnostic.line)
            line_cell = f"[{diagnostic.line}]({url})" if url else str(diagnostic.line)
            lines.append(
                f"| {file_cell} | {line_cell} | {diagnostic.severity.value} | "
                f"{_code(diagnostic.rule)} | {_cell(full_message(diagnostic))} |"
            )
    return "\n".join(lines) + "\n\n"
