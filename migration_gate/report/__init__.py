"""Reporters: they turn a `Result` into text for a terminal, JSON, GitHub, SARIF or GitLab.

Each reporter module has `render(result: Result, options: ReportOptions) -> str`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from migration_gate.console import say, write_out
from migration_gate.diagnostics import GateError
from migration_gate.types import FORMATS as FORMATS

if TYPE_CHECKING:
    # not imported at run time: `lint` writes a cached text report without a `Result`, and
    # the pipeline's imports would be most of its start-up (issue 14)
    from migration_gate.pipeline import Result

#: A second copy of the report as JSON, whatever `--format` says: the GitHub Action reads it to
#: keep its pull-request comment up to date while `--format` serves annotations or SARIF.
JSON_COPY_ENV = "MIGRATION_GATE_JSON_REPORT"


@dataclass(frozen=True)
class ReportOptions:
    """How a report is written: paths relative to `root`, colour, the command's name."""

    root: Path  # the paths in diagnostics are relative to this
    color: bool = False
    command: str = "check"
    #: The text each file had when it was linted, by the diagnostics' path: the excerpts show
    #: what the findings were computed from, without reading the files again. A file not here
    #: is read from `root` at report time.
    texts: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)


def use_color(stream: TextIO) -> bool:
    """Colour only on a terminal, and never with NO_COLOR (https://no-color.org)."""
    if os.environ.get("NO_COLOR", "") != "":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def render(result: Result, fmt: str, options: ReportOptions) -> str:
    module = importlib.import_module(f"migration_gate.report.{fmt}")
    text: str = module.render(result, options)
    return text


def emit(result: Result, fmt: str, options: ReportOptions, output: Path | None) -> None:
    """Print the report; with `output`, write it there and still show the text view.

    Inside GitHub Actions the terminal view is the `github` one (annotations), so that
    `--format sarif --output FILE` in a workflow gets both the annotations and the file.
    """
    if output is None:
        terminal_fmt = fmt
    else:
        write_report(result, fmt, options, output)
        in_actions = os.environ.get("GITHUB_ACTIONS") == "true"
        terminal_fmt = "github" if fmt == "github" or in_actions else "text"
    write_out(render(result, terminal_fmt, options))
    if terminal_fmt == "github":
        append_step_summary(result, options)
    write_json_copy(result, options)


def write_report(result: Result, fmt: str, options: ReportOptions, output: Path) -> None:
    """The report in `fmt`, without colour, in the file `output` (its folder created)."""
    file_options = replace(options, color=False)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        # a file name that is not UTF-8 is written back as its own bytes, as on stdout
        output.write_text(render(result, fmt, file_options), encoding="utf-8",
                          errors="surrogateescape")
    except OSError as error:
        raise GateError(f"cannot write {output}: {error.strerror}") from None


def write_json_copy(result: Result, options: ReportOptions) -> None:
    """The JSON copy `$MIGRATION_GATE_JSON_REPORT` asks for. Like the step summary it serves a
    later step, so failing to write it is said and the exit code stays the findings' own."""
    target = os.environ.get(JSON_COPY_ENV)
    if not target:
        return
    try:
        write_report(result, "json", options, Path(target))
    except GateError as error:
        say(str(error))


def append_step_summary(result: Result, options: ReportOptions) -> None:
    """Append the Markdown table to `$GITHUB_STEP_SUMMARY` when the runner provides one.

    The summary is a convenience: failing to write it is said, and the exit code stays the
    findings' own.
    """
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary_path:
        return
    from migration_gate.report.github import step_summary

    try:
        with open(summary_path, "a", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(step_summary(result, options, os.environ))
    except OSError as error:
        say(f"cannot write the step summary {summary_path}: {error.strerror}")
