"""The word view the rules read, and sqlglot's tokenizer and parser where they are still used.

The rules read a flat list of `Word`s (keywords upper-cased, quoted names exact, strings as
their content) with absolute offsets. Our own lexer (`lex.py`) builds them for almost every
statement; `parse` here is the sqlglot path, for the statements our lexer does not read and for
the `syntax-error` check (`reader.py` says which statements it covers). Where sqlglot folds a
statement into `exp.Command` (`REINDEX`, `VACUUM`, `LOCK`, `DO`...) or cannot tokenize it, the
words come from a small regular-expression lexer (`regex_words`) instead, on both paths.
sqlglot is imported on first use (it costs ~150 ms) and its fallback warnings are silenced.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from migration_gate.types import Dialect

WORD, NAME, STRING, NUMBER, PUNCT = "word", "name", "string", "number", "punct"


class Word(NamedTuple):
    """One token: `text` is upper-case for keywords and bare names, exact for quoted names.

    A named tuple rather than a dataclass: hundreds of thousands are built per run.
    """

    kind: str
    text: str
    start: int  # absolute offsets in the file
    end: int

    @property
    def name(self) -> str:
        """The identifier as PostgreSQL folds it: bare names to lower case, quoted ones exact."""
        return self.text.lower() if self.kind == WORD else self.text


@dataclass(frozen=True)
class Parsed:
    """A statement's words, sqlglot's expression (or None), and why sqlglot could not parse it
    (or None): in plain words, with the absolute offset it points at when it says one."""

    words: tuple[Word, ...]
    expression: Any
    error: str | None
    error_offset: int | None = None


_SQLGLOT_DIALECTS = {"postgres": "postgres", "mysql": "mysql", "sqlite": "sqlite",
                     "mssql": "tsql"}


@cache
def _dialect(name: str) -> Any:
    import logging  # with sqlglot only: a lint that never parses does not pay for it

    logger = logging.getLogger("sqlglot")
    logger.setLevel(logging.CRITICAL)
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    from sqlglot.dialects.dialect import Dialect

    return Dialect.get_or_raise(_SQLGLOT_DIALECTS.get(name, "postgres"))


@cache
def _tokenizer(name: str) -> Any:
    """One tokenizer per dialect, reused: `tokenize` resets its state on every call."""
    dialect = _dialect(name)
    return dialect.tokenizer_class(dialect=dialect)


@cache
def _parser(name: str) -> Any:
    """One parser per dialect, reused: `parse` resets its state on every call."""
    return _dialect(name).parser()


@cache
def _token_kinds(name: str) -> tuple[frozenset[Any], frozenset[Any], Any, Any]:
    from sqlglot.tokenizer_core import TokenType

    strings = frozenset(t for t in TokenType if t.name.endswith("_STRING") or t.name == "STRING")
    commands = frozenset(_dialect(name).tokenizer_class.COMMANDS)
    return strings, commands, TokenType.IDENTIFIER, TokenType.NUMBER


def warm_up(dialect: Dialect) -> None:
    """Import sqlglot and build the dialect now (before forking workers)."""
    _tokenizer(dialect)
    _parser(dialect)
    _token_kinds(dialect)
    import migration_gate.sql.ignores
    import migration_gate.sql.lint
    import migration_gate.sql.reader
    import migration_gate.sql.rules  # noqa: F401  (imports every rule module)


class Deferred(BaseException):
    """`parse` in a worker process that leaves sqlglot to the main process (`defer_sqlglot`):
    the job is handed back whole. A `BaseException`, so that no `except Exception` around a
    parse takes it for sqlglot failing."""


#: How many more times this process hands a job back rather than import sqlglot (0: never;
#: `pool.run_jobs` sets it in its worker processes).
_DEFERRALS = 0


def defer_sqlglot(count: int) -> None:
    """Make this process's next `count` parses raise `Deferred` instead of importing sqlglot:
    a worker of a large cold run hands the few jobs that need sqlglot (18 statements of the
    2,758-file corpus) to the main process, so that one process imports sqlglot, not both
    (its import costs a fifth of a second of each core). After `count` of them, this process
    imports it itself (a project where every file needs it loses little)."""
    global _DEFERRALS
    _DEFERRALS = 0 if "sqlglot" in sys.modules else count  # inherited: nothing to save


def parse(text: str, offset: int, dialect: Dialect, *, words: bool = True) -> Parsed:
    """Tokenize and parse one statement (`offset`: where it starts in the file). Never raises
    (but `Deferred`, in a worker process that defers sqlglot).

    With `words=False` only sqlglot's verdict is wanted: no token view is built.
    """
    global _DEFERRALS
    if _DEFERRALS:
        _DEFERRALS -= 1
        raise Deferred
    from sqlglot.errors import SqlglotError

    try:
        tokens = _tokenizer(dialect).tokenize(text)
    except SqlglotError as token_error:
        return _failed(text, offset, words, token_error)
    except Exception:  # sqlglot bug on odd input: still lint from the words
        return Parsed(regex_words(text, offset) if words else (), None,
                      "the SQL tokenizer cannot read this statement")
    strings, commands, identifier, number = _token_kinds(dialect)
    expression: Any = None
    problem: str | None = None
    problem_at: int | None = None
    try:
        expressions = _parser(dialect).parse(tokens, text)
        expression = expressions[0] if expressions else None
    except SqlglotError as parse_error:
        failed = _failed(text, offset, False, parse_error)
        problem, problem_at = failed.error, failed.error_offset
    except Exception:
        problem = "the SQL parser cannot read this statement"
    if not words:
        return Parsed((), expression, problem, problem_at)
    if not tokens or tokens[0].token_type in commands:
        return Parsed(regex_words(text, offset), expression, problem, problem_at)
    view: list[Word] = []
    append, new = view.append, Word._make
    for token in tokens:
        start, end, text, kind = offset + token.start, offset + token.end + 1, token.text, \
            token.token_type
        if kind in strings:
            append(new((STRING, text, start, end)))
        elif kind is identifier:
            append(new((NAME, text, start, end)))
        elif kind is number:
            append(new((NUMBER, text, start, end)))
        elif text[:1].isalpha() or text[:1] == "_":
            if " " in text or "\n" in text or "\t" in text:  # PRIMARY KEY, ORDER BY...
                for part in text.split():
                    append(new((WORD, part.upper(), start, start)))
            else:
                append(new((WORD, text.upper(), start, end)))
        else:
            append(new((PUNCT, text, start, end)))
    return Parsed(tuple(view), expression, problem, problem_at)


def _failed(text: str, offset: int, words: bool, error: Exception) -> Parsed:
    """A statement sqlglot rejected: its words from the fallback lexer, the error in words."""
    from migration_gate.sql.forms import describe

    problem = describe(error, text)
    at = None if problem.offset is None else offset + problem.offset
    return Parsed(regex_words(text, offset) if words else (), None, problem.message, at)


def reparse(text: str, dialect: Dialect) -> str | None:
    """sqlglot's verdict on `text` alone: its error in words, or None when it parses."""
    return parse(text, 0, dialect, words=False).error


_LEXER = re.compile(
    r"""(?P<space>\s+)
      | (?P<comment>--[^\n]*|\#[^\n]*)
      | (?P<block>/\*)
      | (?P<dollar>\$(?:[A-Za-z_][\w]*)?\$)
      | (?P<estring>[eE]'(?:[^'\\]|\\.|'')*'?)
      | (?P<string>[nNbBxX]?'(?:[^']|'')*'?)
      | (?P<name>"(?:[^"]|"")*"?|`[^`]*`?)
      | (?P<word>[^\W\d]\w*)
      | (?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
      | (?P<punct>::|<>|!=|<=|>=|\|\||.)""",
    re.VERBOSE | re.DOTALL,
)


def regex_words(text: str, offset: int = 0) -> tuple[Word, ...]:
    """Words for a statement sqlglot could not tokenize or folded into a Command."""
    words: list[Word] = []
    pos, length = 0, len(text)
    while pos < length:
        match = _LEXER.match(text, pos)
        if match is None:  # pragma: no cover - the last alternative matches any character
            break
        kind, value, end = match.lastgroup, match.group(), match.end()
        if kind == "block":
            close = text.find("*/", end)
            end = length if close < 0 else close + 2
        elif kind == "dollar":
            close = text.find(value, end)
            body_end = length if close < 0 else close
            words.append(Word(STRING, text[end:body_end], offset + pos,
                              offset + min(length, body_end + len(value))))
            end = min(length, body_end + len(value))
        elif kind in ("estring", "string"):
            body = value[value.index("'") + 1 :]
            body = body[:-1] if body.endswith("'") and len(body) > 0 else body
            words.append(Word(STRING, body.replace("''", "'"), offset + pos, offset + end))
        elif kind == "name":
            quote = value[0]
            body = value[1:-1] if len(value) > 1 and value.endswith(quote) else value[1:]
            words.append(Word(NAME, body.replace(quote * 2, quote), offset + pos, offset + end))
        elif kind == "word":
            words.append(Word(WORD, value.upper(), offset + pos, offset + end))
        elif kind == "number":
            words.append(Word(NUMBER, value, offset + pos, offset + end))
        elif kind == "punct":
            words.append(Word(PUNCT, value, offset + pos, offset + end))
        pos = end
    return tuple(words)
