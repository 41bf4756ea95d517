"""Every line the gate prints, made safe to print: one function for notes, errors and reports.

File and folder names come from the repository under review, so whatever the gate prints may
carry characters its author chose:

* on a terminal, control characters (ESC sequences can move the cursor, retitle the window or
  hide text) are rendered visibly, `\\x1b`, never sent raw;
* inside GitHub Actions the runner executes any log line that starts with `::` (after leading
  blanks) as a workflow command (`::stop-commands::`, `::add-mask::`, `::error ...`), so a
  folder named `x\\n::error::...` printed raw would inject one. Every line is escaped as
  GitHub's toolkit escapes command data (`%` → `%25`, CR → `%0D`, LF → `%0A`, so the encoding
  stays unambiguous), a leading `::` becomes `%3A:` (and the legacy `##[` anywhere,
  `##%5B`), and the other control characters are
  shown as above. Only the github reporter's own annotations, built from escaped values,
  bypass this.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TextIO

#: Characters that are no control characters but still reorder or break what a terminal or a
#: log viewer shows (line and paragraph separators, bidirectional overrides).
_INVISIBLE = frozenset("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def in_actions() -> bool:
    """True inside a GitHub Actions job, where log lines may be workflow commands."""
    return os.environ.get("GITHUB_ACTIONS") == "true"


def visible(text: str) -> str:
    """`text` with every control character (tab aside) rendered as an escape: one line, no
    terminal sequence. `\\` itself is left alone: the escapes are for reading, not parsing."""
    if text.isprintable():
        return text
    return "".join(_render(char) for char in text)


def _render(char: str) -> str:
    if char == "\t" or (char not in _INVISIBLE and unicodedata.category(char) not in ("Cc",)):
        return char
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_for_actions(line: str) -> str:
    """One line as the Actions runner may see it without running it: `%`, CR and LF escaped as
    the toolkit escapes command data, and a leading `::` (after blanks) no longer one."""
    line = line.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    # the runner's legacy syntax, `##[command]data`, is a command anywhere in a line
    line = line.replace("##[", "##%5B")
    stripped = line.lstrip()
    if stripped.startswith("::"):
        blanks = line[: len(line) - len(stripped)]
        line = f"{blanks}%3A{stripped[1:]}"
    return line


def safe_line(line: str, *, actions: bool | None = None) -> str:
    """The one function every print path uses: one line, safe for a terminal and, inside
    GitHub Actions (or with `actions=True`), for the runner's command parser."""
    if in_actions() if actions is None else actions:
        line = escape_for_actions(line)
    return visible(line)


def safe_text(text: str, *, actions: bool | None = None) -> str:
    """Several lines (split on LF only) each made safe with `safe_line`."""
    return "\n".join(safe_line(line, actions=actions) for line in text.split("\n"))


def say(message: str) -> None:
    """`migration-gate: message` on stderr, made safe."""
    write_err(f"migration-gate: {message}")


def write_err(line: str) -> None:
    """One line on stderr, made safe. A closed or full stderr is given up on silently: there
    is nowhere left to say anything."""
    try:
        sys.stderr.write(safe_line(line) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


class OutputError(Exception):
    """Standard output cannot be written (closed, a full disk, a reader gone): the report is
    lost, so `migration_gate.cli.main` says so and exits 2."""


def write_out(text: str) -> None:
    """Text already made safe, on stdout."""
    stream = sys.stdout
    if stream is None:
        raise OutputError("standard output is closed")
    try:
        try:
            stream.write(text)
        except UnicodeEncodeError:
            _write_undecodable(stream, text)
    except (OSError, ValueError) as error:
        raise OutputError(getattr(error, "strerror", None) or str(error)) from None


def _write_undecodable(stream: TextIO, text: str) -> None:
    """A strict stdout (`PYTHONIOENCODING=utf-8`) refuses the surrogates that stand for the
    bytes of a file name that is not UTF-8: those bytes are written back as they were, as the
    default (`surrogateescape`) stdout writes them. Anything else it cannot encode still fails
    (`UnicodeEncodeError`), as before."""
    binary = getattr(stream, "buffer", None)
    data = text.encode(getattr(stream, "encoding", None) or "utf-8", "surrogateescape")
    if binary is None:
        raise UnicodeEncodeError("utf-8", text, 0, len(text), "no binary buffer")
    stream.flush()
    binary.write(data)


def print_raw(text: str = "") -> None:
    """One line on stdout exactly as given (JSON, a line already made safe, a workflow command
    built from escaped values), flushed at once, as `click.echo` wrote them before: a long
    run's log (`verify`) shows as it goes, a lost stdout fails here, at the line, and a stdout
    that says it is ASCII (`PYTHONIOENCODING=ascii`, a misconfigured locale) gets UTF-8 with
    `?` for what cannot be encoded, instead of failing on the first non-ASCII file name."""
    stream = sys.stdout
    if stream is None:
        raise OutputError("standard output is closed")
    line = text + "\n"
    try:
        binary = getattr(stream, "buffer", None) if _ascii(stream) else None
        if binary is None:
            stream.write(line)
            stream.flush()
        else:
            stream.flush()
            binary.write(line.encode("utf-8", "replace"))
            binary.flush()
    except (OSError, ValueError) as error:
        raise OutputError(getattr(error, "strerror", None) or str(error)) from None


def _ascii(stream: TextIO) -> bool:
    import codecs

    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "ascii").name == "ascii"
    except LookupError:
        return False


def echo(text: str) -> None:
    """Plain lines on stdout, made safe (for commands without a reporter: list, new...)."""
    write_out(safe_text(text) + "\n")
