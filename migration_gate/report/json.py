"""Machine-readable output: `{"tool", "version", "diagnostics", "summary"}`.

The contract users parse is documented in README.md#output-formats.
"""

from __future__ import annotations

import json

from migration_gate import __version__
from migration_gate.pipeline import Result
from migration_gate.report import ReportOptions


def render(result: Result, options: ReportOptions) -> str:
    document = {
        "tool": "migration-gate",
        "version": __version__,
        "command": options.command,
        "diagnostics": [d.as_dict() for d in result.diagnostics],
        "summary": result.counts(),
        "notes": list(result.notes),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
