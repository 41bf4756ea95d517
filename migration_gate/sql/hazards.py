"""Findings about the file's text as a whole, before any statement is parsed.

refinery sends a migration's exact text to the database in one piece
(docs/refinery.md#checksum, docs/refinery.md#transactions), so
what the server does with a byte-order mark, a NUL character, a comment or string left open, a
mysql-client `DELIMITER` line or a git conflict marker decides the migration's fate. Each is
one finding at its position (one per file), declared here with its documentation; the
statements they break get no `syntax-error` besides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from migration_gate.catalog import RuleDoc
from migration_gate.diagnostics import Severity
from migration_gate.sql.split import (
    BOM,
    DELIMITER,
    NUL,
    UNTERMINATED_COMMENT,
    UNTERMINATED_QUOTE,
    Scan,
    Span,
)
from migration_gate.types import Dialect

E = Severity.ERROR
ALL: tuple[Dialect, ...] = ("postgres", "mysql", "sqlite", "mssql")

HINTS = {
    "bom-in-migration": "save the file as UTF-8 without a byte-order mark",
    "nul-byte": "delete the NUL character (look at the file with `cat -A` or a hex viewer)",
    "unterminated-comment": "close the comment with */ (PostgreSQL comments nest: close each "
    "/*)",
    "unterminated-string": "close the quote; write an apostrophe inside a string as ''",
    "mysql-delimiter": "delete the DELIMITER lines and end each statement with ; (the server "
    "reads BEGIN ... END bodies whole)",
    "merge-conflict-marker": "resolve the conflict: keep one side, delete the marker lines",
}

BOM_IN_MIGRATION = RuleDoc(
    "bom-in-migration", E,
    "The file starts with a UTF-8 byte-order mark, which PostgreSQL and MySQL read as part of "
    "the first word.",
    needs="stmt", dialects=("postgres", "mysql"),
    why="refinery sends the file's bytes as they are (the mark is even part of the checksum). "
    "PostgreSQL takes U+FEFF for a letter of the first word and rejects the migration: "
    "`syntax error at or near \"\ufeffCREATE\"` (42601); MySQL does the same. psql and many "
    "editors hide the mark, so the file looks right and works when pasted by hand. (SQLite "
    "skips a byte-order mark: no finding there.)",
    example="\ufeffCREATE TABLE IF NOT EXISTS users (id bigint);  -- saved as \"UTF-8 with BOM\"",
    instead="CREATE TABLE IF NOT EXISTS users (id bigint);  -- saved as plain UTF-8",
    hint=HINTS["bom-in-migration"],
    fires=("\ufeffSELECT 1;", "\ufeff-- header\nCREATE TABLE IF NOT EXISTS t (a int);",
           "\ufeff\nSELECT 1;"),
    passes=("SELECT 1;", "SELECT '\ufeff';", "-- \ufeff in a comment\nSELECT 1;"),
)
NUL_BYTE = RuleDoc(
    "nul-byte", E,
    "The file contains a NUL character (U+0000).",
    needs="stmt",
    why="No SQL text may contain a NUL. refinery's PostgreSQL driver refuses to send the file "
    "and the migration fails; SQLite reads a statement only up to the NUL, so the rest of the "
    "file can be silently skipped. Editors rarely show it: it comes from a bad merge, a copy "
    "from a binary file or a file saved as UTF-16.",
    example="CREATE TABLE IF NOT EXISTS t (a int);\x00\nCREATE INDEX IF NOT EXISTS t_a ON t (a);",
    instead="CREATE TABLE IF NOT EXISTS t (a int);\nCREATE INDEX IF NOT EXISTS t_a ON t (a);",
    hint=HINTS["nul-byte"],
    fires=("SELECT 1;\x00", "\x00SELECT 1;", "SELECT '\x00';"),
    passes=("SELECT 1;", "SELECT '\\0';", "SELECT chr(0);"),
)
UNTERMINATED_COMMENT_RULE = RuleDoc(
    "unterminated-comment", E,
    "A `/*` comment is never closed: the rest of the file is a comment to the database.",
    needs="stmt",
    why="PostgreSQL and MySQL reject the migration (`unterminated /* comment`, 42601), and "
    "SQLite silently ignores everything after the `/*`, so the statements there never run. "
    "PostgreSQL nests comments: `/* a /* b */` is still open. The statements after the `/*` "
    "are not linted (they do not run).",
    example="/* disabled for now\nALTER TABLE users DROP COLUMN IF EXISTS legacy;",
    instead="/* disabled for now */\nALTER TABLE users DROP COLUMN IF EXISTS legacy;",
    hint=HINTS["unterminated-comment"],
    fires=("SELECT 1;\n/* oops\nSELECT 2;", "SELECT 1 /* unfinished", "/* a /* b */ SELECT 1;"),
    passes=("/* a /* b */ */ SELECT 1;", "SELECT '/*';", "-- /* in a line comment\nSELECT 1;"),
)
UNTERMINATED_STRING = RuleDoc(
    "unterminated-string", E,
    "A quoted string, quoted name or dollar-quoted body is never closed.",
    needs="stmt",
    why="The database reads the rest of the file as part of the string and rejects the "
    "migration (`unterminated quoted string`, `unterminated dollar-quoted string`, 42601). "
    "Usual causes: an apostrophe inside text (`'it's'`), a backslash escape that standard SQL "
    "strings do not have (`'C:\\'` is complete in PostgreSQL), a `$$` body without its "
    "closing `$$`. The statements after the opening quote are not linted (they are text).",
    example="INSERT INTO notes (body) VALUES ('it's done');\nSELECT 1;",
    instead="INSERT INTO notes (body) VALUES ('it''s done');\nSELECT 1;",
    hint=HINTS["unterminated-string"],
    fires=("SELECT 'abc;", "DO $$ BEGIN PERFORM 1; END;", 'SELECT 1 AS "open;'),
    passes=("SELECT 'it''s';", "SELECT $$a'b$$;", "SELECT 'C:\\';"),
)
MYSQL_DELIMITER = RuleDoc(
    "mysql-delimiter", E,
    "A `DELIMITER` line: a command of the mysql client, which the server does not know.",
    needs="stmt", dialects=("mysql",),
    why="refinery sends the file to the server as it is, and the server rejects the "
    "`DELIMITER` line (error 1064, syntax error): the migration fails. The mysql client needs "
    "`DELIMITER` to send a `BEGIN ... END` body in one piece; the server does not, as it reads "
    "a compound statement (`CREATE PROCEDURE ... BEGIN ...; ...; END;`) whole. Reported once "
    "per file; the statements are still split at the declared delimiter and linted.",
    example="DELIMITER $$\nCREATE PROCEDURE touch()\nBEGIN\n  UPDATE t SET n = n + 1;\nEND$$\n"
    "DELIMITER ;",
    instead="CREATE PROCEDURE touch()\nBEGIN\n  UPDATE t SET n = n + 1;\nEND;",
    hint=HINTS["mysql-delimiter"],
    fires=("DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END//\nDELIMITER ;",
           "delimiter $$\nSELECT 1$$", "SELECT 1;\nDELIMITER ;;\nSELECT 2;;"),
    passes=("CREATE PROCEDURE p() BEGIN SELECT 1; END;", "SELECT 'DELIMITER $$';",
            "-- DELIMITER $$\nSELECT 1;"),
)
MERGE_CONFLICT_MARKER = RuleDoc(
    "merge-conflict-marker", E,
    "The file still holds git conflict markers (`<<<<<<<`, `=======`, `>>>>>>>`).",
    needs="stmt",
    why="A merge or rebase was committed unresolved: both sides of the conflict are in the "
    "file, and the database rejects the first marker, so the migration fails. One finding per "
    "file, at the first marker; the statements the markers cut get no `syntax-error`.",
    example="<<<<<<< HEAD\nALTER TABLE users ADD COLUMN IF NOT EXISTS phone text;\n=======\n"
    "ALTER TABLE users ADD COLUMN IF NOT EXISTS mobile text;\n>>>>>>> feature",
    instead="ALTER TABLE users ADD COLUMN IF NOT EXISTS phone text;",
    hint=HINTS["merge-conflict-marker"],
    fires=("<<<<<<< HEAD\nSELECT 1;\n=======\nSELECT 2;\n>>>>>>> main\n",
           "SELECT 1;\n>>>>>>> theirs\n", "<<<<<<< ours\r\nSELECT 1;\r\n"),
    passes=("SELECT 1 << 2;", "-- =======\nSELECT 1;",
            "/*\n=======\nSection\n=======\n*/\nSELECT 1;"),
)
RULES = (BOM_IN_MIGRATION, NUL_BYTE, UNTERMINATED_COMMENT_RULE, UNTERMINATED_STRING,
         MYSQL_DELIMITER, MERGE_CONFLICT_MARKER)
BY_ID = {doc.id: doc for doc in RULES}

_MARKER = re.compile(r"^(<{7}|={7}|>{7}|\|{7})(?:[ \t][^\r\n]*)?\r?$", re.MULTILINE)
_QUOTES = {"'": "string", '"': "quoted name", "`": "quoted name", "[": "quoted name",
           "e'": "string", "E'": "string"}


@dataclass(frozen=True)
class TextFinding:
    """A finding located in the text (not at a statement): its rule, span and message."""

    rule: str
    start: int
    end: int  # exclusive
    message: str


def text_findings(text: str, found: Scan, dialect: Dialect) -> list[TextFinding]:
    """The file-level findings of `text` (already scanned as `found`), at most one per rule."""
    findings: list[TextFinding] = []
    for issue in found.issues:
        finding = _issue_finding(issue.kind, issue.start, issue.end, issue.detail, dialect)
        if (finding is not None and dialect in BY_ID[finding.rule].dialects
                and all(f.rule != finding.rule for f in findings)):
            findings.append(finding)
    conflict = conflict_markers(text)
    if conflict:
        start, end = conflict[0]
        findings.append(TextFinding(
            MERGE_CONFLICT_MARKER.id, start, end,
            f"git conflict markers ({len(conflict)} marker lines): a merge was committed "
            "unresolved, and the database rejects the first marker",
        ))
    return sorted(findings, key=lambda f: f.start)


def _issue_finding(kind: str, start: int, end: int, detail: str,
                   dialect: Dialect) -> TextFinding | None:
    if kind == BOM:
        return TextFinding(BOM_IN_MIGRATION.id, start, end,
                           "the file starts with a UTF-8 byte-order mark (U+FEFF): the "
                           "database reads it as part of the first word and rejects the "
                           "migration")
    if kind == NUL:
        count = "a NUL character" if detail == "1" else f"{detail} NUL characters"
        return TextFinding(NUL_BYTE.id, start, end,
                           f"the file contains {count} (U+0000), the first here: no database "
                           "reads SQL text past it")
    if kind == UNTERMINATED_COMMENT:
        effect = ("SQLite ignores the rest of the file" if dialect == "sqlite"
                  else "the database rejects the migration")
        return TextFinding(UNTERMINATED_COMMENT_RULE.id, start, start + 2,
                           f"this /* comment is never closed: {effect}, and no statement "
                           "after it runs")
    if kind == UNTERMINATED_QUOTE:
        what = "dollar-quoted body" if detail.startswith("$") else _QUOTES.get(detail, "string")
        return TextFinding(UNTERMINATED_STRING.id, start, start + len(detail),
                           f"this {what} ({detail}) is never closed: the database reads the "
                           "rest of the file as part of it and rejects the migration")
    if kind == DELIMITER:
        return TextFinding(MYSQL_DELIMITER.id, start, end,
                           "DELIMITER is a mysql-client command, not SQL: refinery sends it to "
                           "the server, which rejects it, so the migration fails")
    return None


def conflict_markers(text: str) -> list[Span]:
    """The git conflict-marker lines of `text`, if it has a `<<<<<<<` or `>>>>>>>` line (a
    lone `=======` line is a plausible decoration)."""
    if "<<<<<<<" not in text and ">>>>>>>" not in text:
        return []
    lines = [(m.start(), m.end()) for m in _MARKER.finditer(text)]
    if not any(text[start] in "<>" for start, _ in lines):
        return []
    return [(start, end - 1 if text[end - 1] == "\r" else end) for start, end in lines]


def muted_spans(text: str, found: Scan) -> list[Span]:
    """Text whose statements get no `syntax-error`: an open quote (to the end of the file), a
    NUL, conflict markers; their own finding says what is wrong."""
    spans = [(i.start, i.end) for i in found.issues if i.kind in (UNTERMINATED_QUOTE, NUL)]
    return spans + conflict_markers(text)
