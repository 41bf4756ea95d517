"""Split a migration into statements with exact spans, without ever raising.

Why a scanner of our own rather than sqlglot's tokenizer: sqlglot's tokenizer raises on the
first unterminated string or comment (losing every later statement), records wrong offsets for
the text it folds into `Command` tokens (`VACUUM FULL t`), and drops the comments we need for
ignore directives. Splitting only needs to know where quoted text and comments start and end,
which this module does per dialect, jumping from one interesting character to the next with a
regular expression. sqlglot then tokenizes and parses each statement (`migration_gate.sql.parse`).

Positions: offsets index the string passed in (`text[start_offset:end_offset]` is the
statement); lines and columns are 1-based, columns count characters, a leading byte-order mark
is not a column, and `\\r\\n`, `\\n` and a lone `\\r` each end one line. `end_line:end_column`
is the statement's last character (inclusive).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from migration_gate.types import Dialect

Span = tuple[int, int]


@dataclass(frozen=True)
class Statement:
    """One statement: its source without the terminating `;` and the comments before it."""

    text: str
    start_offset: int
    end_offset: int  # exclusive
    line: int
    column: int
    end_line: int
    end_column: int  # column of the last character


@dataclass(frozen=True)
class _Lexicon:
    """What starts quoted text or a comment in one dialect."""

    special: re.Pattern[str]
    nested_comments: bool
    backslash_strings: bool  # MySQL: `\'` escapes in every string


_IDENT_BEFORE = r"(?<![\w$])"
_POSTGRES = _Lexicon(
    re.compile(
        r"--|/\*|;|" + _IDENT_BEFORE + r"[eE]'|'|\"|"
        + _IDENT_BEFORE + r"\$(?:[A-Za-z_\u0080-\U0010ffff][\w\u0080-\U0010ffff]*)?\$"
    ),
    nested_comments=True,
    backslash_strings=False,
)
_MYSQL = _Lexicon(re.compile(r"--|#|/\*|;|'|\"|`"), nested_comments=False,
                  backslash_strings=True)
_SQLITE = _Lexicon(re.compile(r"--|/\*|;|'|\"|`|\["), nested_comments=False,
                   backslash_strings=False)
_MSSQL = _Lexicon(re.compile(r"--|/\*|;|'|\"|\["), nested_comments=True,
                  backslash_strings=False)

_LEXICONS = {
    "postgres": _POSTGRES, "postgresql": _POSTGRES, "mysql": _MYSQL, "mariadb": _MYSQL,
    "sqlite": _SQLITE, "mssql": _MSSQL, "tsql": _MSSQL,
}

# Closing patterns, matched right after the opening delimiter.
_CLOSE = {
    "'": re.compile(r"[^']*(?:''[^']*)*'"),
    "'\\": re.compile(r"[^'\\]*(?:(?:\\.|'')[^'\\]*)*'", re.DOTALL),
    '"': re.compile(r'[^"]*(?:""[^"]*)*"'),
    '"\\': re.compile(r'[^"\\]*(?:(?:\\.|"")[^"\\]*)*"', re.DOTALL),
    "`": re.compile(r"[^`]*(?:``[^`]*)*`"),
    "[": re.compile(r"[^\]]*(?:\]\][^\]]*)*\]"),
}
_COMMENT_MARK = re.compile(r"/\*|\*/")
_LINE_END = re.compile(r"\r\n?|\n")


def _block_comment_end(text: str, start: int, nested: bool) -> int | None:
    """The offset after the `*/` closing the comment opened at `start`, or None."""
    if not nested:
        close = text.find("*/", start + 2)
        return None if close < 0 else close + 2
    depth, pos = 1, start + 2
    while True:
        match = _COMMENT_MARK.search(text, pos)
        if match is None:
            return None
        depth += 1 if match.group() == "/*" else -1
        pos = match.end()
        if depth == 0:
            return pos


def _quoted_end(text: str, start: int, opener: str, lexicon: _Lexicon) -> int | None:
    """The offset after the quoted text opened by `opener` at `start`, or None if unclosed."""
    body = start + len(opener)
    if opener.startswith("$"):
        close = text.find(opener, body)
        return None if close < 0 else close + len(opener)
    if opener in ("e'", "E'"):
        key = "'\\"
    elif opener in ("'", '"') and lexicon.backslash_strings:
        key = opener + "\\"
    else:
        key = opener
    match = _CLOSE[key].match(text, body)
    return None if match is None else match.end()


def scan(text: str, dialect: Dialect = "postgres") -> tuple[list[Span], list[Span]]:
    """Statement spans and comment spans, as (start, end) offsets, in order.

    Unterminated quoted text is not a quote (its opening character counts as an ordinary one)
    and an unterminated block comment ends with its line, so the rest of the file still splits.
    """
    lexicon = _LEXICONS.get(dialect.lower(), _POSTGRES)
    special = lexicon.special
    statements: list[Span] = []
    comments: list[Span] = []
    length = len(text)
    pos = 1 if text.startswith("\ufeff") else 0
    start: int | None = None  # first significant character of the current statement
    last = 0  # end of its last significant character

    while pos < length:
        match = special.search(text, pos)
        plain_end = match.start() if match else length
        if plain_end > pos:
            segment = text[pos:plain_end]
            stripped = segment.lstrip()
            if stripped:
                if start is None:
                    start = plain_end - len(stripped)
                last = pos + len(segment.rstrip())
        if match is None:
            break
        token, at = match.group(), match.start()
        if token == ";":
            if start is not None:
                statements.append((start, last))
                start = None
            pos = at + 1
            continue
        if token in ("--", "#"):
            end = _line_end(text, at)
            comments.append((at, end))
            pos = end
            continue
        if token == "/*":
            closed = _block_comment_end(text, at, lexicon.nested_comments)
            end = closed if closed is not None else _line_end(text, at)
            comments.append((at, end))
            pos = end
            continue
        closed = _quoted_end(text, at, token, lexicon)
        if start is None:
            start = at
        if closed is None:  # not really quoted: the opener is an ordinary character
            pos = at + 1
            last = pos
        else:
            pos = last = closed
    if start is not None:
        statements.append((start, last))
    return statements, comments


def _line_end(text: str, at: int) -> int:
    match = _LINE_END.search(text, at)
    return len(text) if match is None else match.start()


class Positions:
    """Offsets to 1-based line and column, with `\\r\\n`, `\\n`, `\\r` line ends and a BOM."""

    def __init__(self, text: str) -> None:
        self._starts = [0, *(m.end() for m in _LINE_END.finditer(text))]
        self._bom = text.startswith("\ufeff")

    def at(self, offset: int) -> tuple[int, int]:
        index = bisect_right(self._starts, offset) - 1
        column = offset - self._starts[index] + 1
        if index == 0 and self._bom and offset > 0:
            column -= 1
        return index + 1, column


def split_statements(text: str, dialect: Dialect = "postgres") -> list[Statement]:
    """Every non-empty statement of `text`, in order, with exact spans. Never raises."""
    spans, _comments = scan(text, dialect)
    return to_statements(text, spans, Positions(text))


def to_statements(text: str, spans: list[Span], positions: Positions) -> list[Statement]:
    statements = []
    for start, end in spans:
        line, column = positions.at(start)
        end_line, end_column = positions.at(max(start, end - 1))
        statements.append(
            Statement(text[start:end], start, end, line, column, end_line, end_column)
        )
    return statements
