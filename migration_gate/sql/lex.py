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
from collections.abc import Callable
from functools import cache, partial

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
#: The words `lex` looks back for: a command's first word, a two-word keyword's second.
_SPECIAL: dict[str, frozenset[str]] = {
    dialect: _COMMANDS[dialect] | {second for _first, second in _PAIRS[dialect]}
    for dialect in _COMMANDS
}
#: mysql's LOCK/UNLOCK and mssql's UPDATE are commands only as the two-word keywords above.
_COMMAND_PAIRS = frozenset({"LOCK", "UNLOCK", "UPDATE"})

#: What may follow a number for sqlglot to end it there (else we give up); a word may also be
#: followed by a dot (`schema.table`).
_ENDS_NUMBER = r"(?=[ \t\r\n\f\v!#%&()*+,\-/:;<=>?@\[\]^|~]|\Z)"
_ENDS_WORD = r"(?=[ \t\r\n\f\v!#%&()*+,\-./:;<=>?@\[\]^|~]|\Z)"
#: (string quotes, name quotes) by dialect; SQL Server's `"` is either, so it is not read here.
_QUOTES = {"postgres": ("'", '"'), "mysql": ("'\"", "`"), "sqlite": ("'", '"`'),
           "mssql": ("'", "")}
#: Single characters sqlglot reads as one token; left out: a MySQL comment (`#`), bracketed
#: names (SQLite, SQL Server), SQL Server's `#temp` and `@var`.
_SINGLES = {"postgres": "!#%&()*+,-./:;<=>?@[]^|~", "mysql": "!%&()*+,-./:;<=>?@[]^|~",
            "sqlite": "!#%&()*+,-./:;<=>?@^|~", "mssql": "!%&()*+,-./:;<=>?^|~"}


#: Blanks between tokens (a token's match starts with those before it).
_BLANKS = " \t\r\n\f\v"


@cache
def _pattern(dialect: str) -> re.Pattern[str]:
    """One regular expression for every token of `dialect` this lexer reads, comments and
    dollar-quoted strings whole; anything else is one character of its own (`bad`: a quote
    left open, a backslash, a word run into a quote...), so that `findall` reads a statement
    in one call, the tokens end to end. The blanks before a token are the first group of its
    match (no alternative starts with a blank), so they cost no match of their own.

    A block comment is read to the first `*/`; when a `/*` comes first (PostgreSQL nests
    them; `/*/` opens one more too), none does, or it is MySQL's optimizer hint `/*+…*/`, the
    token is its `/*` alone, which the lexer does not read. A dollar quote is read to the
    first copy of its opening delimiter."""
    strings, names = _QUOTES.get(dialect, _QUOTES["postgres"])

    def quoted(quotes: str) -> str:  # the unrolled loop: linear even when the quote is open
        return "|".join(rf"{q}[^{q}\\]*(?:{q}{q}[^{q}\\]*)*{q}" for q in quotes) or "(?!)"

    single = _SINGLES.get(dialect, _SINGLES["postgres"])
    left_out = set(_SINGLES["postgres"]) - set(single)  # nor the operators that contain them
    # longest first; then in order, so that the pattern's text is the same in every process
    # (the operators are a set) and its compiled form can be kept (`compile_cache`)
    operators = sorted((o for o in _OPERATORS.get(dialect, _OPERATORS["postgres"])
                        if not left_out & set(o)), key=lambda o: (-len(o), o))
    singles = re.escape(single)
    # the most common punctuation, `(),;`..., first: no operator or comment starts with it
    marks = re.escape("".join(c for c in single if c not in "-/" and not any(
        o.startswith(c) for o in operators)))
    line = "--(?=[ \t\r\n\f\v]|\\Z)" if dialect == "mysql" else "--"  # MySQL: `-- `
    dollar = ("\\$(?P<tag>(?:[A-Za-z_][A-Za-z0-9_]*)?)\\$[\\s\\S]*?\\$(?P=tag)\\$"
              if dialect == "postgres" else "(?P<tag>(?!))")
    hint = "(?!\\+)" if dialect == "mysql" else ""
    return re.compile(
        f"([{_BLANKS}]*)(?:"  # the blanks before a token are part of its match
        f"(?P<word>(?![Uu]&['\"])[^\\W\\d]\\w*){_ENDS_WORD}"  # not U&'…' (Unicode escapes)
        f"|(?P<mark>[{marks}])"
        f"|(?P<number>[0-9]+(?:\\.[0-9]+)?){_ENDS_NUMBER}"
        f"|(?P<line>{line}[^\n]*)"
        f"|(?P<block>/\\*(?:{hint}(?:[^*/]|\\*(?!/)|/(?!\\*))*\\*/)?)"
        f"|(?P<string>{quoted(strings)})"
        f"|(?P<name>{quoted(names)})"
        f"|(?P<dollar>{dollar})"
        f"|(?P<punct>{'|'.join(map(re.escape, operators))}|[{singles}])"
        f"|(?P<bad>[\\s\\S]))"
    )


#: `Word._make` without its Python frame: a corpus run builds 300,000 words.
_new_word: Callable[[tuple[str, str, int, int]], Word] = partial(tuple.__new__, Word)


def lex(text: str, offset: int, dialect: Dialect) -> tuple[Word, ...] | None:
    """The statement's words as sqlglot's tokenizer gives them, or None when the text has
    something this lexer does not read (the caller then asks sqlglot's tokenizer).

    The tokens come from one `findall` (`_pattern`: every character is in one of them, so each
    starts where the one before ended); this loop only turns them into words. It used to ask
    for one token at a time: the Python calls per token were a third of a cold lint's time."""
    words: list[Word] = []
    append, new = words.append, _new_word
    pairs = _PAIRS.get(dialect, _PAIRS["postgres"])
    commands = _COMMANDS.get(dialect, _COMMANDS["postgres"])
    special = _SPECIAL[dialect] if dialect in _SPECIAL else _SPECIAL["postgres"]
    pos, spaced = offset, True
    # blanks at the end belong to no token (`rstrip` copies nothing when there are none)
    for (space, word, mark, number, line, block, string, name, dollar, tag, punct,
         _bad) in _pattern(dialect).findall(text.rstrip(_BLANKS)):
        pos += len(space)
        if word:
            end = pos + len(word)
            if not word.isascii() and not _letters(word):
                return None  # combining marks and the like: sqlglot's own rules
            upper = word.upper()
            last = words[-1] if words and upper in special else None
            if last is not None and last.text == ";" and upper in commands:
                return None  # sqlglot reads the rest as the command's text (a compound body)
            if spaced and last is not None and last.kind == WORD and last.start != last.end and (
                (last.text, upper) in pairs
            ):
                words[-1] = new((WORD, last.text, last.start, last.start))
                append(new((WORD, upper, last.start, last.start)))
            else:
                append(new((WORD, upper, pos, end)))
        elif mark or punct:
            punct = mark or punct
            end = pos + len(punct)
            append(new((PUNCT, punct, pos, end)))
        elif line or block:
            if len(block) == 2:
                return None  # a `/*` that is not read (see `_pattern`)
            pos, spaced = pos + len(line or block), False
            continue
        elif number:
            if words and words[-1].text == "@" and "." in number:
                return None  # sqlglot reads `@ 1.5` as a parameter: `1`, `.`, `5`
            end = pos + len(number)
            append(new((NUMBER, number, pos, end)))
        elif string or name:
            value = string or name
            quote = value[0]
            end = pos + len(value)
            append(new((STRING if string else NAME, value[1:-1].replace(quote * 2, quote),
                        pos, end)))
        elif dollar:
            end = pos + len(dollar)
            append(new((STRING, dollar[len(tag) + 2 : -len(tag) - 2], pos, end)))
        else:  # `bad`: E'..', N'..', a$b, `\`, an open quote: sqlglot's own rules
            return None
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
    if close < 0 or text.find("/*", after, close + 1) >= 0:  # `/*/` opens one more too
        return -1
    if dialect == "mysql" and text[after : after + 1] == "+":
        return -1
    return close + 2
