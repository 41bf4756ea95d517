"""The end of every reporting command: the report in the chosen format, then exit 0 or 1.

Exit codes: 0 clean, 1 findings at the failing severity (2, usage or environment errors, is
the group's: see `migration_gate.cli`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.diagnostics import Severity

if TYPE_CHECKING:
    from migration_gate.pipeline import CheckContext, Result


def runner_shown(context: CheckContext) -> tuple[str, str] | None:
    """The runner line the reports carry: (name, why)."""
    choice = context.runner_choice
    return (choice.name, choice.reason) if choice is not None else None


def default_format(fmt: str | None) -> str:
    """The format asked for, else `github` inside GitHub Actions, else `text`."""
    if fmt:
        return fmt
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


def finish(result: Result, *, fmt: str | None, output: Path | None, root: Path,
           fail_on: Severity, command: str, texts: Mapping[str, str] | None = None) -> None:
    """Report `result` and exit 0 or 1. `texts`: the files' texts the command read, by path
    (`ReportOptions.texts`)."""
    from migration_gate.report import ReportOptions, emit, use_color

    options = ReportOptions(root=root, color=use_color(sys.stdout), command=command,
                            texts=texts if texts is not None else {})
    emit(result, default_format(fmt), options, output)
    sys.exit(1 if result.failed(fail_on) else 0)
