"""The terminal view, modelled on ruff's and squawk's: a header saying what ran, then per file
(in version order) each finding as `path:line:col rule severity: message`, the source line(s)
with the offending clause underlined, and the fix; a count at the end.

Excerpts are read from the working tree at report time: bounded (a few lines per finding, long
lines cut), with control characters escaped so that a file cannot drive the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from itertools import groupby
from pathlib import Path

from migration_gate.console import in_actions
from migration_gate.console import safe_line as _safe_line
from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.pipeline import Result
from migration_gate.report import ReportOptions

_COLORS = {"error": "\033[31m", "warning": "\033[33m", "bold": "\033[1m", "dim": "\033[2m",
           "caret": "\033[1;36m"}
_RESET = "\033[0m"
#: At most this many source lines per finding, each cut at this many characters.
MAX_LINES = 3
MAX_WIDTH = 120


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_COLORS[style]}{text}{_RESET}" if color else text


def render(result: Result, options: ReportOptions) -> str:
    actions = in_actions()  # asked once: a report of thousands of findings has many lines

    def safe_line(line: str) -> str:
        return _safe_line(line, actions=actions)

    return _render(result, options, safe_line)


def _render(result: Result, options: ReportOptions, safe_line: Callable[[str], str]) -> str:
    """Every part that comes from the repository goes through `safe_line` before it is
    painted: a name's control characters are shown, never sent to the terminal."""
    lines: list[str] = []
    color = options.color
    if result.projects:
        count = len(result.projects)
        lines += [f"Checked {count} project{'s' if count != 1 else ''}: "
                  + ", ".join(result.projects), ""]
    if result.header:
        lines += [_paint(safe_line(result.header), "dim", color), ""]
    sources = _Sources(options.root)
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
            lines += excerpt(diagnostic, sources.lines(diagnostic.path), color)
            if diagnostic.hint:
                lines.append(_paint(safe_line(f"  hint: {diagnostic.hint}"), "dim", color))
            lines.append("")
    if result.runner is not None:
        lines.append(safe_line(f"runner: {result.runner[0]} ({result.runner[1]})"))
    lines.append(safe_line(count_line(result)))
    return "\n".join(lines) + "\n"


class _Sources:
    """The working tree's files, read once each (None: not there, or not text)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, list[str] | None] = {}

    def lines(self, path: str) -> list[str] | None:
        if path not in self._cache:
            self._cache[path] = self._read(path)
        return self._cache[path]

    def _read(self, path: str) -> list[str] | None:
        if not path:
            return None
        try:
            data = (self.root / path).read_bytes()[:1_000_000]
        except OSError:
            return None
        text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
        return text.splitlines()


def _escaped(char: str) -> str:
    """A character as it is safe to print: tabs as one space, other controls as `\\xNN`."""
    if char == "\t":
        return " "
    code = ord(char)
    if code < 32 or code == 127 or 0x80 <= code < 0xA0:
        return f"\\x{code:02x}"
    if code in (0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068,
                0x2069):
        return f"\\u{code:04x}"  # bidirectional controls could reorder what the reader sees
    return char


def excerpt(diagnostic: Diagnostic, source: list[str] | None, color: bool) -> list[str]:
    """The finding's source lines (at most `MAX_LINES`) with `^` under its span."""
    if source is None or not _has_place(diagnostic) or diagnostic.line > len(source):
        return []
    end_line = diagnostic.end_line if diagnostic.end_line is not None else diagnostic.line
    end_line = min(end_line, len(source))
    last = min(end_line, diagnostic.line + MAX_LINES - 1)
    width = len(str(last))
    out = [_paint(f"  {' ' * width} |", "dim", color)]
    for number in range(diagnostic.line, last + 1):
        text = source[number - 1]
        start = diagnostic.column - 1 if number == diagnostic.line else _indent(text)
        if number == end_line and diagnostic.end_column is not None:
            stop = diagnostic.end_column
        else:  # a line the span covers to its end, or a finding without an end
            stop = len(text.rstrip())
        shown, marks = _underlined(text, start, max(stop, start + 1))
        out.append(f"  {_paint(str(number).rjust(width) + ' |', 'dim', color)} {shown}")
        if marks.strip():
            out.append(f"  {_paint(' ' * width + ' |', 'dim', color)} "
                       f"{_paint(marks.rstrip(), 'caret', color)}")
    if last < end_line:
        more = end_line - last
        out.append(_paint(f"  {' ' * width} | ... ({more} more line{'s' if more != 1 else ''})",
                          "dim", color))
    return out


def _has_place(diagnostic: Diagnostic) -> bool:
    """A finding about a whole file (its name, its history) has no clause to show."""
    return not (diagnostic.end_line is None and diagnostic.line == 1 and diagnostic.column == 1)


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())


def _underlined(text: str, start: int, stop: int) -> tuple[str, str]:
    """`text` escaped and cut to `MAX_WIDTH`, and the caret line under [start, stop)."""
    begin = 0
    if stop > MAX_WIDTH and start > MAX_WIDTH // 3:
        begin = start - MAX_WIDTH // 3  # keep the clause in view on a long line
    if _PRINTABLE_ASCII.match(text, begin, begin + MAX_WIDTH):
        return _underlined_plain(text, start, stop, begin)
    shown: list[str] = ["..." if begin else ""]
    marks: list[str] = [" " * len(shown[0])]
    used = len(shown[0])
    for index in range(begin, len(text)):
        piece = _escaped(text[index])
        if used + len(piece) > MAX_WIDTH:
            shown.append("...")
            break
        shown.append(piece)
        marks.append(("^" if start <= index < stop else " ") * len(piece))
        used += len(piece)
    if stop > len(text) and start >= len(text):
        marks.append("^")  # a span at the end of the line (a missing `;`...)
    return "".join(shown), "".join(marks)


#: A run of characters that print as themselves, one column each (most SQL lines): they need
#: no escaping, so the line can be cut and underlined with slices instead of char by char.
_PRINTABLE_ASCII = re.compile(r"[ -~]*\Z")


def _underlined_plain(text: str, start: int, stop: int, begin: int) -> tuple[str, str]:
    """`_underlined` for a window of printable ASCII: the same two lines, built with slices."""
    prefix = "..." if begin else ""
    room = MAX_WIDTH - len(prefix)
    body = text[begin:begin + room]
    suffix = "..." if len(text) - begin > room else ""
    low = min(max(start, begin) - begin, len(body))
    high = max(min(stop, begin + len(body)) - begin, low)
    marks = " " * (len(prefix) + low) + "^" * (high - low) + " " * (len(body) - high)
    if stop > len(text) and start >= len(text):
        marks += "^"  # a span at the end of the line (a missing `;`...)
    return prefix + body + suffix, marks


def count_line(result: Result) -> str:
    """`2 errors, 3 warnings in 4 files (13 checked).`"""
    counts = result.counts()
    checked = counts["files"]
    if not result.diagnostics:
        return f"No findings in {checked} file{'s' if checked != 1 else ''}."
    parts = _severity_counts(counts)
    files = len({d.path for d in result.diagnostics})
    return (f"{', '.join(parts)} in {files} file{'s' if files != 1 else ''} "
            f"({checked} checked).")


def summary_line(result: Result) -> str:
    """The one-line summary of the GitHub log, step summary and pull-request comment."""
    counts = result.counts()
    files = counts["files"]
    checked = f"{files} file{'s' if files != 1 else ''}"
    if not result.diagnostics:
        return f"No findings in {checked}."
    return f"Found {' and '.join(_severity_counts(counts))} in {checked}."


def _severity_counts(counts: Mapping[str, int]) -> list[str]:
    """`["2 errors", "1 warning"]`: the non-zero counts, as both summary lines say them."""
    parts = []
    for key, label in (("errors", Severity.ERROR), ("warnings", Severity.WARNING)):
        count = counts[key]
        if count:
            parts.append(f"{count} {label.value}{'s' if count != 1 else ''}")
    return parts
