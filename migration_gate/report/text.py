"""The terminal view, modelled on ruff's and squawk's: a header saying what ran, then per file
(in version order) each finding as `path:line:col rule severity: message`, the source line(s)
with the offending clause underlined, and the fix; a count at the end.

Excerpts come from the text each file had when it was linted (`ReportOptions.texts`), else
from the working tree at report time: bounded (a few lines per finding, long lines cut), with
control characters escaped so that a file cannot drive the terminal.

A corpus-sized run prints thousands of findings, so the loop below is kept lean (issue 14): a
file's lines are split once, styles are plain strings (empty without colour), and a line that
is already printable is not escaped again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.console import in_actions, visible
from migration_gate.console import safe_line as _safe_line
from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.report import ReportOptions

if TYPE_CHECKING:
    from migration_gate.pipeline import Result

_COLORS = {"error": "\033[31m", "warning": "\033[33m", "bold": "\033[1m", "dim": "\033[2m",
           "caret": "\033[1;36m"}
_RESET = "\033[0m"
#: At most this many source lines per finding, each cut at this many characters.
MAX_LINES = 3
MAX_WIDTH = 120
#: At most this many bytes of a file are shown from (the rest of a huge dump is not needed).
MAX_SOURCE_BYTES = 1_000_000


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_COLORS[style]}{text}{_RESET}" if color else text


class _Styles:
    """Each style's opening and closing sequences; empty strings without colour, so that
    painting is string formatting and never a branch per piece."""

    def __init__(self, color: bool) -> None:
        def pair(style: str) -> tuple[str, str]:
            return (_COLORS[style], _RESET) if color else ("", "")

        self.color = color
        self.bold = pair("bold")
        self.dim = pair("dim")
        self.caret = pair("caret")
        self.severity = {s.value: pair(s.value) for s in (Severity.ERROR, Severity.WARNING)}

    def of(self, severity: str) -> tuple[str, str]:
        found = self.severity.get(severity)
        if found is not None:
            return found
        return (_COLORS[severity], _RESET) if self.color else ("", "")


def render(result: Result, options: ReportOptions) -> str:
    actions = in_actions()  # asked once: a report of thousands of findings has many lines
    if not actions:
        return _render(result, options, _visible)

    def safe_line(line: str) -> str:
        return _safe_line(line, actions=actions)

    return _render(result, options, safe_line)


def _visible(line: str) -> str:
    """`console.safe_line` outside GitHub Actions, with its common case (nothing to escape)
    answered here."""
    return line if line.isprintable() else visible(line)


def _render(result: Result, options: ReportOptions, safe_line: Callable[[str], str]) -> str:
    """Every part that comes from the repository goes through `safe_line` before it is
    painted: a name's control characters are shown, never sent to the terminal."""
    lines: list[str] = []
    color = options.color
    styles = _Styles(color)
    if result.projects:
        count = len(result.projects)
        lines += [f"Checked {count} project{'s' if count != 1 else ''}: "
                  + ", ".join(result.projects), ""]
    if result.header:
        lines += [_paint(safe_line(result.header), "dim", color), ""]
    sources = _Sources(options.root, options.texts)
    path = None
    source: list[str] | None = None
    # a rule's id, severity and hint are the same on each of its findings: built once each
    labels: dict[tuple[str, str], str] = {}
    hints: dict[str, str] = {}
    for diagnostic in result.diagnostics:
        if diagnostic.path != path:
            path = diagnostic.path
            source = sources.lines(path)
        _finding_into(lines, diagnostic, source, styles, safe_line, labels, hints)
    if result.runner is not None:
        lines.append(safe_line(f"runner: {result.runner[0]} ({result.runner[1]})"))
    lines.append(safe_line(count_line(result)))
    return "\n".join(lines) + "\n"


def _finding_into(lines: list[str], diagnostic: Diagnostic, source: list[str] | None,
                  styles: _Styles, safe_line: Callable[[str], str],
                  labels: dict[tuple[str, str], str], hints: dict[str, str]) -> None:
    """One finding's lines, appended to `lines`: `path:line:col rule severity: message`, its
    excerpt, its hint and a blank line. `labels` and `hints` memoise what a rule's findings
    share."""
    bold_on, bold_off = styles.bold
    where = safe_line(f"{diagnostic.path}:{diagnostic.line}:{diagnostic.column}")
    severity = diagnostic.severity.value
    label = labels.get((diagnostic.rule, severity))
    if label is None:
        on, off = styles.of(severity)
        label = labels[diagnostic.rule, severity] = (
            f"{on}{safe_line(diagnostic.rule)}{off} {on}{severity}{off}")
    first, *rest = diagnostic.message.split("\n")
    lines.append(f"{bold_on}{where}{bold_off} {label}: {safe_line(first)}")
    if rest:
        lines.extend(f"    {safe_line(more)}" for more in rest)
    if source is not None:
        _excerpt_into(lines, diagnostic, source, styles)
    hint = diagnostic.hint
    if hint:
        shown = hints.get(hint)
        if shown is None:
            dim_on, dim_off = styles.dim
            shown = hints[hint] = f"{dim_on}{safe_line(f'  hint: {hint}')}{dim_off}"
        lines.append(shown)
    lines.append("")


class FileBlocks:
    """The text report one file at a time, for a command that keeps each file's part (`lint`
    caches it with the file's findings, issue 14): `block(path, findings)` is exactly what
    `render` prints for those findings when they are all the file's, in that order, and
    `count` its last line. A report is its files' blocks in path order, then the count line
    (for a result without projects, header or runner, as `lint`'s)."""

    def __init__(self, options: ReportOptions) -> None:
        self.actions = in_actions()
        self.color = options.color
        self._styles = _Styles(options.color)
        self._sources = _Sources(options.root, options.texts)
        self._labels: dict[tuple[str, str], str] = {}
        self._hints: dict[str, str] = {}

    def safe_line(self, line: str) -> str:
        return _safe_line(line, actions=True) if self.actions else _visible(line)

    def block(self, path: str, diagnostics: Iterable[Diagnostic],
              text: str | None = None) -> str:
        """The lines of `path`'s findings, each ended by a newline ("" for none); the
        excerpts from `text` when given, as if it were `path`'s text in `options.texts`."""
        lines: list[str] = []
        source = self._sources.lines(path) if text is None else _source_lines(text)
        for diagnostic in diagnostics:
            _finding_into(lines, diagnostic, source, self._styles, self.safe_line,
                          self._labels, self._hints)
        return "".join(f"{line}\n" for line in lines)

    def count(self, errors: int, warnings: int, files: int, checked: int) -> str:
        """The count line, with its newline: `files` is how many files have findings."""
        return self.safe_line(count_text(errors, warnings, files, checked)) + "\n"


class _Sources:
    """Each file's lines, split once: from the text it was linted from when the command gave
    it, else read from the working tree (None: not there, or not text)."""

    def __init__(self, root: Path, texts: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.texts = texts or {}
        self._cache: dict[str, list[str] | None] = {}

    def lines(self, path: str) -> list[str] | None:
        if path not in self._cache:
            text = self.texts.get(path)
            self._cache[path] = self._read(path) if text is None else _source_lines(text)
        return self._cache[path]

    def _read(self, path: str) -> list[str] | None:
        if not path:
            return None
        try:
            data = (self.root / path).read_bytes()[:MAX_SOURCE_BYTES]
        except OSError:
            return None
        text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
        return text.splitlines()


def _source_lines(text: str) -> list[str]:
    """The lines `_Sources._read` would give for a file holding `text` (UTF-8): the same cut
    at `MAX_SOURCE_BYTES`, so both ways show the same excerpt."""
    if len(text) * 4 > MAX_SOURCE_BYTES:  # may be longer than that in UTF-8: cut as read
        data = text.encode("utf-8", "surrogatepass")[:MAX_SOURCE_BYTES]
        text = data.decode("utf-8", errors="replace")
    return text.removeprefix("\ufeff").splitlines()


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
    out: list[str] = []
    if source is not None:
        _excerpt_into(out, diagnostic, source, _Styles(color))
    return out


def _excerpt_into(out: list[str], diagnostic: Diagnostic, source: list[str],
                  styles: _Styles) -> None:
    """`excerpt`, appended to `out`."""
    line = diagnostic.line
    end_line = diagnostic.end_line
    if end_line is None:
        if line == 1 and diagnostic.column == 1:
            return  # a finding about a whole file (its name, its history): no clause to show
        end_line = line
    count = len(source)
    if line > count:
        return
    end_line = min(end_line, count)
    last = min(end_line, line + MAX_LINES - 1)
    width = len(str(last))
    dim_on, dim_off = styles.dim
    caret_on, caret_off = styles.caret
    pad = " " * width
    out.append(f"{dim_on}  {pad} |{dim_off}")
    end_column = diagnostic.end_column
    for number in range(line, last + 1):
        text = source[number - 1]
        start = diagnostic.column - 1 if number == line else _indent(text)
        # else a line the span covers to its end, or a finding without an end
        stop = (end_column if number == end_line and end_column is not None
                else len(text.rstrip()))
        stop = max(stop, start + 1)
        length = len(text)
        if (length <= MAX_WIDTH and (stop <= MAX_WIDTH or start <= MAX_WIDTH // 3)
                and text.isascii() and text.isprintable()):
            # most lines: `_underlined_plain` with nothing cut, inlined
            low = min(max(start, 0), length)
            high = max(min(stop, length), low)
            marks = " " * low + "^" * (high - low)
            if stop > length and start >= length:
                marks += "^"  # a span at the end of the line (a missing `;`...)
            shown = text
        else:
            shown, marks = _underlined(text, start, stop)
            marks = marks.rstrip()
        out.append(f"  {dim_on}{str(number).rjust(width)} |{dim_off} {shown}")
        if marks.endswith("^"):
            out.append(f"  {dim_on}{pad} |{dim_off} {caret_on}{marks}{caret_off}")
    if last < end_line:
        more = end_line - last
        out.append(f"{dim_on}  {pad} | ... ({more} more line{'s' if more != 1 else ''})"
                   f"{dim_off}")


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
    return count_text(counts["errors"], counts["warnings"],
                      len({d.path for d in result.diagnostics}), counts["files"])


def count_text(errors: int, warnings: int, files: int, checked: int) -> str:
    """`count_line` from the counts: `files` is how many files have findings."""
    if not files:
        return f"No findings in {checked} file{'s' if checked != 1 else ''}."
    parts = _severity_counts({"errors": errors, "warnings": warnings})
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
