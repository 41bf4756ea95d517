"""Statements PostgreSQL refuses inside a transaction block (SQLSTATE 25001), and a small
tokenizer shaped like Flyway's `Parser.readToken` that both this and the Flyway model use.

This is the database's truth, whatever the runner: refinery runs every statement inside a
transaction, so these fail there; Flyway detects only some of them (flyway_transactions).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from migration_gate.runners.model import ScriptVerdict


@dataclass(frozen=True)
class Token:
    """One token of a statement, with its parenthesis depth."""

    kind: str  # "keyword", "identifier", "string", "comment", "number", "symbol"
    text: str
    depth: int


def _is_letter(char: str) -> bool:
    """Java's `Character.isLetter` on one UTF-16 unit (a supplementary character is two
    surrogates, neither a letter)."""
    return ord(char) <= 0xFFFF and char.isalpha()


def _is_word_part(char: str) -> bool:
    return char in "_$" or _is_letter(char) or (ord(char) <= 0xFFFF and char.isdecimal())


def _is_numeric(char: str) -> bool:
    return char == "." or (ord(char) <= 0xFFFF and char.isdecimal())


def _skip_quoted(text: str, start: int, quote: str, backslash: bool = False) -> int:
    """The index after a literal opened at `start`, the quote doubled to escape it."""
    position = start
    while True:
        found = text.find(quote, position)
        if found < 0:
            return len(text)
        if backslash and found > 0 and text[found - 1] == "\\":
            position = found + 1
            continue
        if text.startswith(quote, found + 1):
            position = found + 2
            continue
        return found + 1


def _skip_comment(text: str, start: int) -> int:
    """After a `/* */` comment, nested as Flyway's `handleMultilineComment` reads it."""
    depth, position = 1, start + 2
    while depth and position < len(text):
        if text.startswith("/*", position):
            depth, position = depth + 1, position + 2
        elif text.startswith("*/", position):
            depth, position = depth - 1, position + 2
        else:
            position += 1
    return position


def tokens(statement: str) -> list[Token]:
    """The tokens of one statement, in the order `Parser.readToken` tries them (PostgreSQL)."""
    found: list[Token] = []
    depth, position, end = 0, 0, len(statement)
    while position < end:
        char = statement[position]
        start = position
        if char == "$":
            tag_end = statement.find("$", position + 1)
            if tag_end < 0:
                break
            tag = statement[position: tag_end + 1]
            close = statement.find(tag, tag_end + 1)
            position = end if close < 0 else close + len(tag)
            found.append(Token("string", "", depth))
        elif char == "'":
            position = _skip_quoted(statement, position + 1, "'")
            found.append(Token("string", "", depth))
        elif char in "()":
            depth += 1 if char == "(" else -1
            position += 1
        elif char == '"':
            position = _skip_quoted(statement, position + 1, '"')
            while statement.startswith(".", position):
                position = _word_end(statement, position + 1)
            found.append(Token("identifier", statement[start:position], depth))
        elif statement.startswith("--", position):
            line_end = re.compile(r"[\r\n]").search(statement, position)
            position = end if line_end is None else line_end.start()
            found.append(Token("comment", "", depth))
        elif statement.startswith("/*", position):
            position = _skip_comment(statement, position)
            found.append(Token("comment", "", depth))
        elif ord(char) <= 0xFFFF and char.isdecimal():
            while position < end and _is_numeric(statement[position]):
                position += 1
            found.append(Token("number", statement[start:position], depth))
        elif statement.startswith(("B'", "E'", "X'", "U&'"), position):
            opening = statement.index("'", position)
            position = _skip_quoted(statement, opening + 1, "'", backslash=True)
            found.append(Token("string", "", depth))
        elif char == "_" or _is_letter(char):
            position = _word_end(statement, position)
            word, dotted = statement[start:position], statement.startswith(".", position)
            while statement.startswith(".", position):
                position = _word_end(statement, position + 1)
            keyword = not dotted and all(c == "_" or _is_letter(c) for c in word)
            text = statement[start:position]
            found.append(Token("keyword" if keyword else "identifier", text, depth))
        elif char.isspace() or char == "\u00a0":
            position += 1
        else:
            position += 1
            found.append(Token("symbol", char, depth))
    return found


def _word_end(text: str, position: int) -> int:
    if text.startswith('"', position):
        return _skip_quoted(text, position + 1, '"')
    while position < len(text) and _is_word_part(text[position]) and text[position] != ";":
        position += 1
    return position


#: (pattern over the statement's words outside parentheses, whole statement?, what it is);
#: `{what}` is the named group `what`
_PG_REFUSES = tuple(
    (re.compile(pattern), whole, label) for pattern, whole, label in (
        (r"(?P<what>CREATE( UNIQUE)? INDEX|DROP INDEX) CONCURRENTLY\b", False,
         "{what} CONCURRENTLY"),
        (r"REINDEX( VERBOSE)? (INDEX|TABLE|SCHEMA|DATABASE|SYSTEM) CONCURRENTLY\b", False,
         "REINDEX ... CONCURRENTLY"),
        (r"REINDEX( VERBOSE)? (?P<what>SCHEMA|DATABASE|SYSTEM)\b", False, "REINDEX {what}"),
        (r"VACUUM\b", False, "VACUUM"),
        (r"(?P<what>(CREATE|DROP) (DATABASE|TABLESPACE))\b", False, "{what}"),
        (r"ALTER DATABASE \S+ SET TABLESPACE\b", False, "ALTER DATABASE ... SET TABLESPACE"),
        (r"ALTER SYSTEM\b", False, "ALTER SYSTEM"),
        (r"ALTER TABLE .*\bDETACH PARTITION .*\bCONCURRENTLY\b", False,
         "DETACH PARTITION ... CONCURRENTLY"),
        (r"(?P<what>(CREATE|DROP) SUBSCRIPTION)\b", False, "{what}"),
        (r"CLUSTER( VERBOSE)?", True, "CLUSTER without a table"),
        (r"DISCARD ALL", True, "DISCARD ALL"),
        (r"(?P<what>(COMMIT|ROLLBACK) PREPARED)\b", False, "{what}"),
    )
)
_NO_SLOT = re.compile(r"\b(create_slot|connect)\s*=\s*(false|off|0)\b", re.IGNORECASE)


def postgres_refusal(statement: str, postgres_major: int = 16) -> str | None:
    """Why PostgreSQL refuses `statement` inside a transaction block (SQLSTATE 25001), or None.

    Words inside parentheses are not looked at (`REINDEX (VERBOSE) INDEX CONCURRENTLY i`).
    `CREATE SUBSCRIPTION ... WITH (create_slot = false)` (or `connect = false`) may run in a
    transaction; `DROP SUBSCRIPTION` only when the subscription has no replication slot, which
    is assumed not to be the case.
    """
    words = " ".join(t.text.upper() for t in tokens(statement)
                     if t.depth == 0 and t.kind in ("keyword", "identifier"))
    if postgres_major < 12 and re.match(r"ALTER TYPE .*\bADD VALUE\b", words):
        return "ALTER TYPE ... ADD VALUE cannot run inside a transaction block before PostgreSQL 12"
    for pattern, whole, label in _PG_REFUSES:
        match = pattern.fullmatch(words) if whole else pattern.match(words)
        if match is None:
            continue
        if label == "{what}" and match.group("what") == "CREATE SUBSCRIPTION" and _NO_SLOT.search(
            statement
        ):
            continue
        what = match.groupdict().get("what") or ""
        return label.format(what=what) + " cannot run inside a transaction block"
    return None


def refusals(statements: Sequence[str], postgres_major: int = 16) -> tuple[tuple[int, str], ...]:
    """(index, reason) of every statement PostgreSQL refuses inside a transaction block."""
    found = [(index, postgres_refusal(text, postgres_major))
             for index, text in enumerate(statements)]
    return tuple((index, reason) for index, reason in found if reason is not None)


def verdict_of(flags: Sequence[bool]) -> ScriptVerdict:
    """TRANSACTIONAL when no flag (statement outside a transaction) is set, NON_TRANSACTIONAL
    when all are, MIXED otherwise."""
    if not any(flags):
        return ScriptVerdict.TRANSACTIONAL
    return ScriptVerdict.NON_TRANSACTIONAL if all(flags) else ScriptVerdict.MIXED


