"""Statement forms the database accepts but sqlglot cannot parse, and syntax errors in words.

A `syntax-error` finding must mean that the statement is wrong, not that sqlglot lacks a form.
Each form below is one the database's own grammar has; it is recognised from the statement's
words, and wherever possible the part sqlglot does know is parsed again on its own (the
`UPDATE` without `IGNORE`, the `SELECT` without its trailing `INTO @v`, the column list of
`ADD (...)` as a `CREATE TABLE`), so that a mistake elsewhere in the statement is still found.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from migration_gate.sql.tokens import NAME, PUNCT, STRING, WORD, Word, regex_words
from migration_gate.types import Dialect

#: Parses a statement again: its error message, or None when it parses.
Reparse = Callable[[str], "str | None"]

DIALECT_NAMES = {"postgres": "PostgreSQL", "mysql": "MySQL", "sqlite": "SQLite",
                 "mssql": "SQL Server"}


def engine_accepts(text: str, dialect: Dialect, reparse: Reparse) -> bool:
    """Whether `text` is a form of `dialect` that sqlglot cannot parse but the database can."""
    words = regex_words(text)
    if not words:
        return False
    for form in _FORMS.get(dialect, ()):
        verdict = form(text, words, reparse)
        if verdict is not None:
            return verdict
    return False


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with the given spans replaced by spaces (offsets and lines unchanged)."""
    chars = list(text)
    for start, end in spans:
        for index in range(start, end):
            if chars[index] not in "\r\n":
                chars[index] = " "
    return "".join(chars)


def _keys(words: tuple[Word, ...]) -> list[str]:
    return [w.text if w.kind in (WORD, PUNCT) else "\0" + w.kind for w in words]


def _depths(keys: list[str]) -> list[int]:
    depths, depth = [], 0
    for key in keys:
        if key == ")":
            depth = max(0, depth - 1)
        depths.append(depth)
        if key == "(":
            depth += 1
    return depths


def _closing(keys: list[str], depths: list[int], open_index: int) -> int:
    for index in range(open_index + 1, len(keys)):
        if keys[index] == ")" and depths[index] == depths[open_index]:
            return index
    return -1


# --- MySQL ----------------------------------------------------------------------------------------


def _update_modifiers(text: str, words: tuple[Word, ...], reparse: Reparse) -> bool | None:
    """`UPDATE [LOW_PRIORITY] [IGNORE] t ... SET ...` (MySQL's multi-table UPDATE too)."""
    keys = _keys(words)
    if keys[0] != "UPDATE":
        return None
    modifiers = [w for w in words[1:3] if w.kind == WORD and w.text in ("LOW_PRIORITY", "IGNORE")]
    if not modifiers or "SET" not in keys:
        return None
    return reparse(_blank(text, [(w.start, w.end) for w in modifiers])) is None


def _select_into(text: str, words: tuple[Word, ...], reparse: Reparse) -> bool | None:
    """`SELECT ... FROM ... INTO @a, @b` (or `INTO OUTFILE 'f'`): MySQL allows the INTO clause
    after the FROM clause and at the end."""
    keys = _keys(words)
    if keys[0] not in ("SELECT", "(") or "INTO" not in keys:
        return None
    depths = _depths(keys)
    at = next((i for i, k in enumerate(keys) if k == "INTO" and depths[i] == 0), -1)
    if at < 0:
        return None
    end = _into_end(words, keys, at + 1)
    if end is None:
        return None
    return reparse(_blank(text, [(words[at].start, words[end - 1].end)])) is None


def _into_end(words: tuple[Word, ...], keys: list[str], index: int) -> int | None:
    """The index after `@a, @b` or `OUTFILE 'f'` / `DUMPFILE 'f'` (without export options)."""
    if index + 1 < len(keys) and keys[index] in ("OUTFILE", "DUMPFILE") and (
        words[index + 1].kind == STRING
    ):
        return index + 2
    while index + 1 < len(keys) and keys[index] == "@" and words[index + 1].kind in (WORD, NAME,
                                                                                   STRING):
        index += 2
        if index < len(keys) and keys[index] == ",":
            index += 1
            continue
        return index
    return None


def _alter_add_list(text: str, words: tuple[Word, ...], reparse: Reparse) -> bool | None:
    """`ALTER TABLE t ADD [COLUMN] (a int, b int, CONSTRAINT ...)`: MySQL's list form, checked
    as the `CREATE TABLE` element list it is, and the other actions as an `ALTER TABLE`."""
    keys = _keys(words)
    if keys[:2] != ["ALTER", "TABLE"]:
        return None
    depths = _depths(keys)
    lists, others, begin = [], [], None
    index = 2
    while index < len(keys) and keys[index] not in ("ADD", "DROP", "MODIFY", "CHANGE", "ALTER",
                                                    "RENAME", ","):
        index += 1
    head_end = words[index - 1].end if index < len(words) else len(text)
    begin = index
    for end in [*(i for i in range(index, len(keys)) if keys[i] == "," and depths[i] == 0),
                len(keys)]:
        action = keys[begin:end]
        opens = 2 if action[:2] == ["ADD", "COLUMN"] else 1
        if action[:1] == ["ADD"] and action[opens : opens + 1] == ["("] and (
            _closing(keys, depths, begin + opens) == end - 1
        ):
            lists.append(text[words[begin + opens].end : words[end - 1].start])
        elif begin < end:
            others.append(text[words[begin].start : words[end - 1].end])
        begin = end + 1
    if not lists:
        return None
    checks = [f"CREATE TABLE _gate_check ({inner})" for inner in lists]
    if others:
        checks.append(text[:head_end] + " " + ", ".join(others))
    return all(reparse(check) is None for check in checks)


_COMPOUND_KINDS = frozenset({"TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"})


def _compound(text: str, words: tuple[Word, ...], reparse: Reparse) -> bool | None:
    """`CREATE ... PROCEDURE|FUNCTION|TRIGGER|EVENT ... BEGIN ...; ...; END`: a compound
    statement (DECLARE, IF, LOOP... in its body), which the server reads whole. Accepted when
    its blocks close exactly at its end, as the splitter reads them."""
    from migration_gate.sql.split import scan_text

    del reparse
    keys = _keys(words)
    head = keys[: keys.index("(")] if "(" in keys else keys
    if keys[0] != "CREATE" or not _COMPOUND_KINDS & set(head) or "BEGIN" not in keys:
        return None
    found = scan_text(text + ";", "mysql")
    return (len(found.statements) == 1 and found.sent[0][1] == len(text)
            and not found.issues)


# --- SQLite ---------------------------------------------------------------------------------------

_VIRTUAL_TABLE = re.compile(
    r"CREATE\s+VIRTUAL\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:\S+\s*\.\s*)?\S+\s+USING\s+"
    r"[A-Za-z_]\w*\s*(?P<args>\(.*\))?\s*$",
    re.IGNORECASE | re.DOTALL,
)


def _virtual_table(text: str, words: tuple[Word, ...], reparse: Reparse) -> bool | None:
    """`CREATE VIRTUAL TABLE t USING fts5(...)`: the module's arguments are free text in
    balanced parentheses, which only the module reads (SQLite's grammar)."""
    del reparse
    keys = _keys(words)
    if keys[:3] != ["CREATE", "VIRTUAL", "TABLE"]:
        return None
    if _VIRTUAL_TABLE.match(text) is None:
        return False
    depths = _depths(keys)
    return keys.count("(") == keys.count(")") and all(d >= 0 for d in depths)


# --- PostgreSQL -----------------------------------------------------------------------------------


def _comment_on_constraint(text: str, words: tuple[Word, ...], reparse: Reparse) -> bool | None:
    """`COMMENT ON CONSTRAINT c ON [DOMAIN] [schema.]t IS 'text' | NULL`."""
    del text, reparse
    keys = _keys(words)
    if keys[:3] != ["COMMENT", "ON", "CONSTRAINT"]:
        return None
    index = 4 if len(words) > 3 and words[3].kind in (WORD, NAME) else 0
    if not index or keys[index : index + 1] != ["ON"]:
        return False
    index += 2 if keys[index + 1 : index + 2] == ["DOMAIN"] else 1
    name_end = _qualified_name_end(words, keys, index)
    return (name_end is not None and keys[name_end : name_end + 1] == ["IS"]
            and len(words) == name_end + 2
            and (words[name_end + 1].kind == STRING or keys[name_end + 1] == "NULL"))


def _qualified_name_end(words: tuple[Word, ...], keys: list[str], index: int) -> int | None:
    if index >= len(words) or words[index].kind not in (WORD, NAME):
        return None
    index += 1
    while keys[index : index + 1] == ["."] and index + 1 < len(words) and (
        words[index + 1].kind in (WORD, NAME)
    ):
        index += 2
    return index


Form = Callable[[str, tuple[Word, ...], Reparse], "bool | None"]
_FORMS: dict[str, tuple[Form, ...]] = {
    "mysql": (_update_modifiers, _select_into, _alter_add_list, _compound),
    "sqlite": (_virtual_table,),
    "postgres": (_comment_on_constraint,),
}


# --- syntax errors in words -----------------------------------------------------------------------


@dataclass(frozen=True)
class SyntaxProblem:
    """What is wrong, in words, and where in the statement (an offset into its text)."""

    message: str
    offset: int | None = None


_EXPECTING = re.compile(r"^Expecting (.+)$")
_EXPECTED_GOT = re.compile(r"^Expected (.+?) but got <Token token_type: [\w.]+, text: (.*?), "
                           r"line: \d+")
_INTERNAL = re.compile(r"<|sqlglot|Token|class |\bkeyword\b|\bexpression\b", re.IGNORECASE)


def describe(error: Exception, text: str) -> SyntaxProblem:
    """sqlglot's error as a plain sentence, without its internals, and where it happened."""
    details = getattr(error, "errors", None)
    if not details:
        near = re.search(r"Error tokenizing '(.*)'", str(error), re.DOTALL)
        snippet = _snippet(near.group(1)) if near else ""
        return SyntaxProblem(f"cannot read the text near `{snippet}`" if snippet
                             else "cannot read this statement")
    first = details[0]
    highlight = str(first.get("highlight") or "")
    description = str(first.get("description") or "")
    offset = _offset(text, first.get("line"), first.get("col"), highlight)
    return SyntaxProblem(_words(description, highlight), offset)


def _words(description: str, highlight: str) -> str:
    near = f"`{_snippet(highlight)}`" if highlight.strip() else "the end of the statement"
    expecting = _EXPECTING.match(description)
    if expecting and not _INTERNAL.search(expecting.group(1)):
        return f"expected `{expecting.group(1)}` at {near}"
    expected = _EXPECTED_GOT.match(description)
    if expected and not _INTERNAL.search(expected.group(1)):
        return f"expected {expected.group(1)} at {near}"
    return f"unexpected {near}"


def _snippet(text: str, limit: int = 30) -> str:
    words = " ".join(text.split())
    return words if len(words) <= limit else words[: limit - 1] + "…"


def _offset(text: str, line: object, column: object, highlight: str) -> int | None:
    """The offset in `text` of the token sqlglot reports at (1-based) `line`, whose last
    character is at `column`."""
    if not isinstance(line, int) or not isinstance(column, int) or line < 1:
        return None
    start = 0
    for _ in range(line - 1):
        newline = text.find("\n", start)
        if newline < 0:
            return None
        start = newline + 1
    offset = start + column - max(1, len(highlight))
    return min(max(offset, 0), max(len(text) - 1, 0))
