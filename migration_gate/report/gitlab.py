"""GitLab Code Quality: the JSON array a job publishes with `artifacts: reports: codequality:`.

GitLab documents the format at https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format
(a subset of the Code Climate issue format): every entry needs `description`, `check_name`,
`fingerprint`, `severity` (`info`, `minor`, `major`, `critical` or `blocker`),
`location.path` (relative to the repository) and `location.lines.begin`.

The merge-request widget shows what a branch adds or resolves by comparing fingerprints with the
target branch's report, and it merges entries that share one. So the fingerprint is built from
what the finding *is* (rule, file, message and the offending source text), never from its line
number: a migration that gains a comment line above the finding keeps its fingerprint, and two
findings that would still collide get an occurrence number.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.pipeline import Result
from migration_gate.report import ReportOptions

#: Our errors fail the pipeline, as an ESLint error does: `major`, the level GitLab's own
#: linters use for errors; warnings are `minor`.
SEVERITIES = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.OFF: "info"}

#: The most source lines read into a fingerprint (a finding may span a whole statement).
_MAX_SOURCE_LINES = 200


def source_text(root: Path, diagnostic: Diagnostic) -> str | None:
    """The offending lines with whitespace collapsed, or None when the file cannot be read (a
    deleted migration, a finding about a folder)."""
    path = root / diagnostic.path
    try:
        if not path.is_file():
            return None
        with path.open(encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    end = diagnostic.end_line if diagnostic.end_line is not None else diagnostic.line
    end = min(end, diagnostic.line + _MAX_SOURCE_LINES - 1)
    chosen = lines[diagnostic.line - 1:end]
    return " ".join(" ".join(chosen).split()) or None


def fingerprint(diagnostic: Diagnostic, text: str | None, occurrence: int) -> str:
    """SHA-256 over rule, path, message, offending text and occurrence: stable when lines
    shift, different for every distinct finding."""
    identity = [diagnostic.rule, diagnostic.path, diagnostic.message, text or "", occurrence]
    encoded = json.dumps(identity, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def description(diagnostic: Diagnostic) -> str:
    """One line: the widget shows the description alone, so the hint goes in it too."""
    text = diagnostic.message if not diagnostic.hint else \
        f"{diagnostic.message} (hint: {diagnostic.hint})"
    return " ".join(text.split())


def issue(diagnostic: Diagnostic, print_: str) -> dict[str, object]:
    end_line = diagnostic.end_line if diagnostic.end_line is not None else diagnostic.line
    return {
        "type": "issue",
        "description": description(diagnostic),
        "check_name": diagnostic.rule,
        "fingerprint": print_,
        "severity": SEVERITIES[diagnostic.severity],
        "categories": ["Bug Risk"],
        "location": {
            "path": diagnostic.path.replace("\\", "/"),
            "lines": {"begin": diagnostic.line, "end": max(end_line, diagnostic.line)},
        },
    }


def issues(result: Result, root: Path) -> list[dict[str, object]]:
    """One entry per finding, in the report's order."""
    seen: Counter[tuple[str, str, str, str | None]] = Counter()
    entries = []
    for diagnostic in result.diagnostics:
        text = source_text(root, diagnostic)
        identity = (diagnostic.rule, diagnostic.path, diagnostic.message, text)
        occurrence = seen[identity]
        seen[identity] += 1
        entries.append(issue(diagnostic, fingerprint(diagnostic, text, occurrence)))
    return entries


def render(result: Result, options: ReportOptions) -> str:
    # No byte order mark: GitLab's parser refuses one (the file is written as plain UTF-8).
    return json.dumps(issues(result, options.root), indent=2, ensure_ascii=False) + "\n"
