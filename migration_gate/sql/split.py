"""Split a migration into statements with exact spans, without ever raising.

Why a scanner of our own rather than sqlglot's tokenizer: sqlglot's tokenizer raises on the
first unterminated string or comment (losing every later statement), records wrong offsets for
the text it folds into `Command` tokens (`VACUUM FULL t`), and drops the comments we need for
ignore directives. Splitting only needs to know where quoted text and comments start and end,
which this module does per dialect, jumping from one interesting character to the next with a
regular expression. `reader.read` then reads each statement (`lex.py`; sqlglot where needed).

The statements are the ones the database would see: a trigger's or routine's body is part of
its statement (`migration_gate.sql.blocks`), MySQL's `DELIMITER` lines (a mysql-client command)
change the terminator, and an unterminated comment or quoted text runs to the end of the file,
as it does for the server. What the server would choke on, or read differently from what the
author meant, is recorded as an `Issue` (the findings are `migration_gate.sql.hazards`).

Positions: offsets index the string passed in (`text[start_offset:end_offset]` is the
statement); lines and columns are 1-based, columns count characters, a leading byte-order mark
is not a column, and `\\r\\n`, `\\n` and a lone `\\r` each end one line. `end_line:end_column`
is the statement's last character (inclusive).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, repeat
from operator import add

from migration_gate.sql.blocks import Tracker, start_tracker
from migration_gate.types import Dialect

Span = tuple[int, int]

#: `Issue.kind` values.
BOM, NUL = "bom", "nul"
UNTERMINATED_COMMENT, UNTERMINATED_QUOTE, DELIMITER = (
    "unterminated-comment", "unterminated-quote", "delimiter")


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
class Issue:
    """Text that the database reads differently from a plain list of statements."""

    kind: str  # BOM, NUL, UNTERMINATED_COMMENT, UNTERMINATED_QUOTE or DELIMITER
    start: int
    end: int
    detail: str = ""  # the opening quote, the new delimiter, or how many NULs


@dataclass(frozen=True)
class Scan:
    """Where the statements, comments and issues of one text are."""

    statements: tuple[Span, ...]
    comments: tuple[Span, ...]
    #: Per statement: where the text that reaches the server with it begins (just after the
    #: previous terminator) and ends (at its own terminator, or the end of the text).
    sent: tuple[Span, ...]
    issues: tuple[Issue, ...]
    #: Text after the last terminator that still reaches the server (an unterminated comment,
    #: a `DELIMITER` line), or None when only white space and comments follow.
    tail: Span | None


@dataclass(frozen=True)
class _Lexicon:
    """What starts quoted text or a comment in one dialect."""

    name: Dialect
    special: re.Pattern[str]
    nested_comments: bool
    backslash_strings: bool  # MySQL: `\'` escapes in every string
    mysql: bool = False  # `DELIMITER` lines and `/*! ... */` executable comments


_IDENT_BEFORE = r"(?<![\w$])"
#: A dollar-quote tag's first character (a letter, `_` or any non-ASCII character) and the
#: others (digits too), written as what they exclude from ASCII: the same sets as
#: `[A-Za-z_\u0080-\U0010ffff]` and `[\w\u0080-\U0010ffff]` (checked on every code point),
#: which took `re` 8 ms to compile on every start, a one-file lint's budget.
_TAG_START = r"[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f]"
_TAG_REST = r"[^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"
_POSTGRES = _Lexicon(
    "postgres",
    # the lookahead first: `re` then skips to the next of these characters in C, instead of
    # trying each alternative at every character (the lookbehinds hid the first characters
    # from its prefix scan): the splitter's searches took a third of the time they took
    # a closed '…' or "…" is matched whole (`_Scanner.run` takes it as `_special` would,
    # without a second match for its end); an open one is its quote alone, as before
    re.compile(
        r"(?=[-/;eE'\"$])(?:--|/\*|;|" + _IDENT_BEFORE + r"[eE]'"
        + r"|'(?:[^']*(?:''[^']*)*')?|\"(?:[^\"]*(?:\"\"[^\"]*)*\")?|"
        + _IDENT_BEFORE + rf"\$(?:{_TAG_START}{_TAG_REST}*)?\$)"
    ),
    nested_comments=True,
    backslash_strings=False,
)
# MySQL's `--` starts a comment only before white space or a control character.
_MYSQL_QUOTES = r"--(?![^\x00-\x20])|#|/\*|'|\"|`"
_MYSQL = _Lexicon("mysql", re.compile(_MYSQL_QUOTES + r"|;"), nested_comments=False,
                  backslash_strings=True, mysql=True)
_SQLITE = _Lexicon("sqlite", re.compile(r"--|/\*|;|'|\"|`|\["), nested_comments=False,
                   backslash_strings=False)
_MSSQL = _Lexicon("mssql", re.compile(r"--|/\*|;|'|\"|\["), nested_comments=True,
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
_DELIMITER_LINE = re.compile(r"delimiter[ \t]+(\S+)[^\r\n]*", re.IGNORECASE)


@lru_cache(maxsize=16)
def _mysql_special(delimiter: str) -> re.Pattern[str]:
    """MySQL's interesting characters once `DELIMITER` chose another terminator."""
    return re.compile(re.escape(delimiter) + "|" + _MYSQL_QUOTES)


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


class _Scanner:
    """One pass over one text; `run` returns the `Scan`."""

    def __init__(self, text: str, lexicon: _Lexicon) -> None:
        self.text = text
        self.lexicon = lexicon
        self.statements: list[Span] = []
        self.comments: list[Span] = []
        self.sent: list[Span] = []
        self.issues: list[Issue] = []
        self.start: int | None = None  # first significant character of the current statement
        self.last = 0  # end of its last significant character
        self.lead = 0  # just after the previous terminator
        self.tracker: Tracker | None = None
        self.delimiter = ";"

    def run(self) -> Scan:
        text, length = self.text, len(self.text)
        pos = 1 if text.startswith("\ufeff") else 0
        if pos:
            self.issues.append(Issue(BOM, 0, 1))
        special = self.lexicon.special
        statements, sent = self.statements, self.sent
        while pos < length:
            match = special.search(text, pos)
            plain_end = match.start() if match else length
            if plain_end > pos:
                if self.start is None or self.tracker is not None:
                    skip_to = self._plain(pos, plain_end)
                    if skip_to is not None:  # a DELIMITER line
                        pos = skip_to
                        special = (self.lexicon.special if self.delimiter == ";"
                                   else _mysql_special(self.delimiter))
                        continue
                else:  # the common case, inlined: more of a statement already begun
                    segment = text[pos:plain_end]
                    if not segment.isspace():
                        self.last = pos + len(segment.rstrip())
            if match is None:
                break
            token, at = match.group(), match.start()
            if token == self.delimiter and self.tracker is None and self.start is not None:
                statements.append((self.start, self.last))  # the common case, inlined
                pos = at + len(token)
                sent.append((self.lead, at))
                self.start, self.lead = None, pos
                continue
            if len(token) > 1 and token[0] in "'\"":  # closed quoted text, whole: `_special`
                if self.start is None:                # without finding its end again
                    self._begin(at)
                if self.tracker is not None:
                    self.tracker.quoted()
                    if self.tracker.done:
                        self.tracker = None
                pos = self.last = match.end()
                continue
            pos = self._special(token, at)
        return self._finish()

    def _plain(self, pos: int, end: int) -> int | None:
        """Plain text between interesting characters; the end of a DELIMITER line if it is one."""
        segment = self.text[pos:end]
        stripped = segment.lstrip()
        if not stripped:
            return None
        begin = end - len(stripped)
        if self.start is None:
            if self.lexicon.mysql:
                directive = self._delimiter_line(begin)
                if directive is not None:
                    return directive
            self._begin(begin)
        if self.tracker is not None:
            self.tracker.feed(stripped)
            if self.tracker.done:
                self.tracker = None
        self.last = pos + len(segment.rstrip())
        return None

    def _begin(self, at: int) -> None:
        self.start = at
        self.tracker = (start_tracker(self.lexicon.name, self.text[at])
                        if self.delimiter == ";" else None)

    def _delimiter_line(self, at: int) -> int | None:
        """A mysql-client `DELIMITER x` line starting at `at`: record it, return its end."""
        text = self.text
        if text[at] not in "Dd":
            return None
        before = at
        while before > 0 and text[before - 1] in " \t":
            before -= 1
        if before > 0 and text[before - 1] not in "\r\n":
            return None
        match = _DELIMITER_LINE.match(text, at)
        if match is None:
            return None
        self.delimiter = match.group(1)
        self.issues.append(Issue(DELIMITER, at, match.end(), self.delimiter))
        return match.end()

    def _special(self, token: str, at: int) -> int:
        """Handle the interesting text `token` at `at`; return where scanning goes on."""
        if token == self.delimiter:
            return self._terminator(at, at + len(token))
        if token == "--" or token == "#":
            end = _line_end(self.text, at)
            self.comments.append((at, end))
            return end
        if token == "/*":
            return self._block_comment(at)
        closed = _quoted_end(self.text, at, token, self.lexicon)
        if self.start is None:
            self._begin(at)
        if self.tracker is not None:
            self.tracker.quoted()
            if self.tracker.done:
                self.tracker = None
        if closed is None:  # the server reads everything after it as quoted text
            self.issues.append(Issue(UNTERMINATED_QUOTE, at, len(self.text), token))
            self.last = len(self.text.rstrip())
            return len(self.text)
        self.last = closed
        return closed

    def _terminator(self, at: int, end: int) -> int:
        if self.start is None:  # an empty statement: its text reaches the server only if
            if not self.issues or self.issues[-1].start < self.lead:  # something is in it
                self.lead = end
            return end
        if self.tracker is not None and not self.tracker.semicolon_ends():
            self.last = end  # a `;` inside a trigger's or routine's body
            return end
        self.statements.append((self.start, self.last))
        self.sent.append((self.lead, at))
        self.start, self.tracker, self.lead = None, None, end
        return end

    def _block_comment(self, at: int) -> int:
        text = self.text
        executable = self.lexicon.mysql and (text.startswith("!", at + 2)
                                             or text.startswith("M!", at + 2))
        closed = _block_comment_end(text, at, self.lexicon.nested_comments)
        if closed is None:  # the server reads the rest of the file as a comment
            self.issues.append(Issue(UNTERMINATED_COMMENT, at, len(text)))
            closed = len(text)
        if executable:  # MySQL runs the text of `/*! ... */`: it is SQL, not a comment
            if self.start is None:
                self._begin(at)
            self.last = closed if closed < len(text) else len(text.rstrip())
        else:
            self.comments.append((at, closed))
        return closed

    def _finish(self) -> Scan:
        length = len(self.text)
        if self.start is not None:
            self.statements.append((self.start, self.last))
            self.sent.append((self.lead, length))
            tail = None
        else:
            reaching = [i for i in self.issues if i.start >= self.lead]
            tail = (self.lead, length) if reaching else None
        nul = self.text.find("\0")
        if nul >= 0:
            self.issues.append(Issue(NUL, nul, nul + 1, str(self.text.count("\0"))))
        return Scan(tuple(self.statements), tuple(self.comments), tuple(self.sent),
                    tuple(sorted(self.issues, key=lambda issue: issue.start)), tail)


def scan_text(text: str, dialect: Dialect = "postgres") -> Scan:
    """The statements, comments and issues of `text`, in order. Never raises."""
    return _Scanner(text, _LEXICONS.get(dialect.lower(), _POSTGRES)).run()


def scan(text: str, dialect: Dialect = "postgres") -> tuple[list[Span], list[Span]]:
    """Statement spans and comment spans, as (start, end) offsets, in order."""
    found = scan_text(text, dialect)
    return list(found.statements), list(found.comments)


def _line_end(text: str, at: int) -> int:
    match = _LINE_END.search(text, at)
    return len(text) if match is None else match.start()


class Positions:
    """Offsets to 1-based line and column, with `\\r\\n`, `\\n`, `\\r` line ends and a BOM."""

    def __init__(self, text: str) -> None:
        if "\r" in text:
            self._starts = [0, *(m.end() for m in _LINE_END.finditer(text))]
        else:  # `\n` ends every line: each starts one past the lengths before it (in C)
            lengths = map(len, text.split("\n")[:-1])
            self._starts = [0, *accumulate(map(add, lengths, repeat(1)))]
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
