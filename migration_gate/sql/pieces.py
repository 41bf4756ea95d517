"""What the replay sends, one piece per statement: the file cut as refinery's driver would
have it reach the server.

Apart from the splitter (`split`), which finds the statements for the lint: the replay needs,
on top of each statement, the text before it that the server still reads (a comment, a stray
`DELIMITER` line, a comment never closed).
"""

from __future__ import annotations

from dataclasses import dataclass

from migration_gate.sql.split import Positions, Span, Statement, scan_text, to_statements
from migration_gate.types import Dialect


@dataclass(frozen=True)
class Piece:
    """What the replay sends for one statement: `text[start:end]`, as refinery's driver would
    have it reach the server (with the comments, and any stray text, before the statement)."""

    statement: Statement
    start: int
    end: int


def replay_pieces(text: str, dialect: Dialect = "postgres") -> list[Piece]:
    """The file cut into the pieces the replay sends one by one.

    Joined with the terminators they are the file's exact text, but for white space and the
    comments of empty statements (`;;`, a trailing `-- end`), which no server reads: a
    byte-order mark, a comment that is never closed, a `DELIMITER` line reach the database
    as they do under refinery, which sends the whole file at once.
    """
    found = scan_text(text, dialect)
    positions = Positions(text)
    statements = to_statements(text, list(found.statements), positions)
    pieces = [Piece(statement, *_trimmed(text, start, end))
              for statement, (start, end) in zip(statements, found.sent, strict=True)]
    if found.tail is not None:
        start, end = _trimmed(text, *found.tail)
        (statement,) = to_statements(text, [(start, max(start + 1, end))], positions)
        pieces.append(Piece(statement, start, end))
    return pieces


def _trimmed(text: str, start: int, end: int) -> Span:
    """`start, end` without the white space at either end (every server skips it)."""
    body = text[start:end]
    return start + len(body) - len(body.lstrip()), start + len(body.rstrip())
