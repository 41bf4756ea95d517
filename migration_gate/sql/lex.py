"""Our own lexer for the rules' word view: the words sqlglot's tokenizer gives, without sqlglot.

The rules read `tokens.Word`s. They used to come from sqlglot's tokenizer, whose import
(80–135 ms) and per-statement cost were a third of a cold lint. This lexer gives the same words
for the text it knows — words (letters, digits, `_`), ASCII numbers, `'…'` strings, quoted
names, PostgreSQL's dollar quotes, comments, the dialect's operators, sqlglot's two-word
keywords (`PRIMARY KEY`, `ORDER BY`...) — and gives up (returns None) on anything else:
prefixed strings (`E'…'`, `X'…'`), backslashes, `$` outside a dollar quote (parameters,
Flyway placeholders `${x}`), braces, non-ASCII text other than letters outside strings, names
and comments, unterminated quotes or comments, numbers run into letters. For those few
statements (13 of the corpus's 13,926) the caller falls back to sqlglot's own tokenizer, so
the rules' view of a statement never depends on which lexer read it (`bench/lint_diff.py`
proves it on the corpus, `tests/test_sql_properties.py` on random SQL).

The operator and keyword tables below are sqlglot's (its tokenizer's `KEYWORDS` for each
dialect); where sqlglot has a quirk that no rule should see differently, it is kept: the words
of a two-word keyword all carry the keyword's start as both their offsets, as sqlglot's single
token for them did.
"""

from __future__ import annotations

import re

from migration_gate.sql.tokens import NAME, NUMBER, PUNCT, STRING, WORD, Word
from migration_gate.types import Dialect

_COMMON_OPERATORS = ("!=", "#>", "#>>", "&&", "&<", "&>", "->", "->>", "-|-", "::", ":=", "<->",
                     "<<->>", "<=", "<=>", "<>", "==", "=>", ">=", "?::", "??", "|>", "||", "~*",
                     "~~", "~~*", "~~~")
#: Multi-character operators sqlglot reads as one token, by dialect (its `KEYWORDS` symbols).
_OPERATORS: dict[str, frozenset[str]] = {
    "postgres": frozenset({*_COMMON_OPERATORS, "#-", "<@", "?&", "?|", "@>", "@?", "@@", "^@",
                           "|/", "||/", "~"}),
    "mysql": frozenset({*_COMMON_OPERATORS, "@@"}),
    "sqlite": frozenset(_COMMON_OPERATORS),
    "mssql": frozenset(_COMMON_OPERATORS),
}
_COMMON_PAIRS = ("CHAR VARYING", "CHARACTER VARYING", "CLUSTER BY", "CONNECT BY",
                 "DISTRIBUTE BY", "DOUBLE PRECISION", "FOREIGN KEY", "GROUP BY", "GROUPING SETS",
                 "ORDER BY", "PARTITION BY", "PARTITIONED BY", "PRIMARY KEY", "SIMILAR TO",
                 "SORT BY", "SQL SECURITY")
#: Two-word keywords sqlglot reads as one token, by dialect.
_PAIRS: dict[str, frozenset[tuple[str, str]]] = {
    dialect: frozenset(tuple(pair.split()) for pair in (*_COMMON_PAIRS, *extra))
    for dialect, extra in (
        ("postgres", ()),
        ("mysql", ("LOCK TABLES", "MEMBER OF", "SIGNED INTEGER", "UNLOCK TABLES",
                   "UNSIGNED INTEGER")),
        ("sqlite", ("INDEXED BY",)),
        ("mssql", ("CLUSTERED INDEX", "NONCLUSTERED INDEX", "UPDATE STATISTICS")),
    )
}
#: Statements sqlglot's tokenizer folds into a command by their first token (their words then
#: came from `tokens.regex_words`, and still do).
_COMMANDS: dict[str, frozenset[str]] = {
    "postgres": frozenset({"CALL", "DECLARE", "DO", "EXEC", "EXECUTE", "EXPLAIN", "FETCH",
                           "LOCK", "OPTIMIZE", "PREPARE", "REFRESH", "REINDEX", "RENAME",
                           "RESET", "SHOW", "VACUUM"}),
    "mysql": frozenset({"CALL", "EXECUTE", "FETCH", "LOCK", "OPTIMIZE", "PREPARE", "RENAME",
                        "REPLACE", "UNLOCK", "VACUUM"}),
    "sqlite": frozenset({"CALL", "EXECUTE", "EXPLAIN", "FETCH", "OPTIMIZE", "PREPARE", "RENAME",
                         "REPLACE", "SHOW", "VACUUM"}),
    "mssql": frozenset({"CALL", "END", "EXPLAIN", "FETCH", "GO", "OPTIMIZE", "PREPARE", "PRINT",
                        "RENAME", "SHOW", "UPDATE", "VACUUM"}),
}
#: mysql's LOCK/UNLOCK and mssql's UPDATE are commands only as the two-word keywords above.
_COMMAND_PAIRS = frozenset({"LOCK", "UNLOCK", "UPDATE"})

_TOKEN = re.compile(
    r"""(?P<space>[ \t\r\n\f\v]+)
      | (?P<word>[^\W\d]\w*)
      | (?P<number>[0-9]+(?:\.[0-9]+)?)
      | (?P<line>--[^\n]*)
      | (?P<block>/\*)
      | (?P<quote>['"`])
      | (?P<dollar>\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$)
      | (?P<punct>[!#%&()*+,\-./:;<=>?@\[\]^|~])""",
    re.VERBOSE,
)
#: What may follow a number for sqlglot to end it there (else we give up); a word may also be
#: followed by a dot (`schema.table`).
_ENDS_NUMBER = re.compile(r"[ \t\r\n\f\v!#%&()*+,\-/:;<=>?@\[\]^|~]|\Z")
_ENDS_WORD = re.compile(r"[ \t\r\n\f\v!#%&()*+,\-./:;<=>?@\[\]^|~]|\Z")
#: (string quotes, name quotes) by dialect; SQL Server's `"` is either, so it is not read here.
_QUOTES = {"postgres": ("'", '"'), "mysql": ("'\"", "`"), "sqlite": ("'", '"`'),
           "mssql": ("'", "")}


def lex(text: str, offset: int, dialect: Dialect) -> tuple[Word, ...] | None:
    """The statement's words as sqlglot's tokenizer gives them, or None when the text has
    something this lexer does not read (the caller then asks sqlglot's tokenizer)."""
    words: list[Word] = []
    append = words.append
    operators = _OPERATORS.get(dialect, _OPERATORS["postgres"])
    pairs = _PAIRS.get(dialect, _PAIRS["postgres"])
    strings, names = _QUOTES.get(dialect, _QUOTES["postgres"])
    pos, length, spaced = 0, len(text), True
    while pos < length:
        match = _TOKEN.match(text, pos)
        if match is None:
            return None
        kind, end = match.lastgroup, match.end()
        if kind == "space":
            pos = end
            continue
        if kind == "line" and dialect == "mysql" and text[pos + 2 : pos + 3].strip():
            return None  # MySQL's `--` starts a comment only before a space
        if kind == "line" or kind == "block":
            end = _comment_end(text, end, dialect) if kind == "block" else end
            if end < 0:
                return None
            pos, spaced = end, False
            continue
        start = offset + pos
        if kind == "word":
            value = match.group()
            if _ENDS_WORD.match(text, end) is None or not (value.isascii() or _letters(value)):
                return None  # E'..', N'..', a$b, combining marks: sqlglot's own rules
            if value in ("U", "u") and text[end : end + 2] in ("&'", '&"'):
                return None  # U&'…': a Unicode escape string
            upper = value.upper()
            last = words[-1] if words else None
            if spaced and last is not None and last.kind == WORD and last.start != last.end and (
                (last.text, upper) in pairs
            ):
                words[-1] = Word(WORD, last.text, last.start, last.start)
                append(Word(WORD, upper, last.start, last.start))
            else:
                append(Word(WORD, upper, start, offset + end))
        elif kind == "number":
            if _ENDS_NUMBER.match(text, end) is None:
                return None  # 1e5, 1.5.3, 0x1F, 1_000
            append(Word(NUMBER, match.group(), start, offset + end))
        elif kind == "quote":
            quote = match.group()
            if quote not in strings and quote not in names:
                return None
            close = _quote_end(text, pos + 1, quote)
            if close < 0:
                return None
            body = text[pos + 1 : close].replace(quote * 2, quote)
            end = close + 1
            append(Word(STRING if quote in strings else NAME, body, start, offset + end))
        elif kind == "dollar":
            if dialect != "postgres":
                return None
            tag = match.group()
            close = text.find(tag, end)
            if close < 0:
                return None
            append(Word(STRING, text[end:close], start, offset + close + len(tag)))
            end = close + len(tag)
        else:
            if (match.group() == "#" and dialect == "mysql") or (
                match.group() in "[]" and dialect in ("sqlite", "mssql")
            ) or (match.group() in "#@" and dialect == "mssql"):
                return None  # a MySQL comment; bracketed names; SQL Server's #temp, @var
            end = _operator_end(text, pos, operators)
            append(Word(PUNCT, text[pos:end], start, offset + end))
        pos, spaced = end, True
    return tuple(words)


def is_command(words: tuple[Word, ...], dialect: Dialect) -> bool:
    """Whether sqlglot's tokenizer makes the statement a command (its first token one)."""
    if not words or words[0].kind != WORD:
        return False
    first = words[0].text
    if first not in _COMMANDS.get(dialect, _COMMANDS["postgres"]):
        return False
    if first in _COMMAND_PAIRS and dialect != "postgres":
        return len(words) > 1 and words[1].start == words[0].start  # read as one keyword
    return True


def _letters(word: str) -> bool:
    """Whether a non-ASCII word is one sqlglot reads as a word too: letters, digits and `_`,
    starting with a letter or `_` (sqlglot starts a number at anything `isdigit`)."""
    return (word[0].isalpha() or word[0] == "_") and all(c.isalnum() or c == "_" for c in word)


def _comment_end(text: str, after: int, dialect: Dialect) -> int:
    """The end of the block comment opened before `after`, or -1 for what we do not read:
    unterminated, nested (PostgreSQL nests them), MySQL's optimizer hints `/*+…*/`."""
    close = text.find("*/", after)
    if close < 0 or "/*" in text[after:close]:
        return -1
    if dialect == "mysql" and text[after : after + 1] == "+":
        return -1
    return close + 2


def _quote_end(text: str, pos: int, quote: str) -> int:
    """The index of the closing `quote` (a doubled one is part of the body), or -1 for an
    unterminated quote or a backslash (an escape in MySQL, sqlglot's rules elsewhere)."""
    while True:
        close = text.find(quote, pos)
        if close < 0 or "\\" in text[pos:close]:
            return -1
        if text[close + 1 : close + 2] != quote:
            return close
        pos = close + 2


def _operator_end(text: str, pos: int, operators: frozenset[str]) -> int:
    """The end of the longest operator of the dialect at `pos`, else of its one character."""
    for size in (5, 4, 3, 2):
        candidate = text[pos : pos + size]
        if len(candidate) == size and candidate in operators:
            return pos + size
    return pos + 1
