"""Property tests: random bytes and token soups never crash `lint` (or the splitter)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migration_gate.cli import run
from migration_gate.sql.lint import lint_text
from migration_gate.types import Dialect

TOKENS = [
    "CREATE", "INDEX", "CONCURRENTLY", "TABLE", "ALTER", "ADD", "COLUMN", "CONSTRAINT", "DROP",
    "NOT", "NULL", "VALID", "SET", "LOCAL", "RESET", "DEFAULT", "IF", "EXISTS", "ON", "ONLY",
    "UPDATE", "DELETE", "FROM", "WHERE", "BEGIN", "COMMIT", "VACUUM", "FULL", "LOCK", "REINDEX",
    "TRUNCATE", "CASCADE", "RENAME", "TO", "TYPE", "PRIMARY", "KEY", "UNIQUE", "USING",
    "FOREIGN", "REFERENCES", "CHECK", "GENERATED", "STORED", "DO", "users", "t", "x", "(", ")",
    ",", ";", ".", "=", "'", "''", '"', "$$", "$f$", "--", "/*", "*/", "\n", " ", "\r\n",
    "E'\\'", "1", "random()", "varchar(20)", "timestamp", "-- migration-gate: ignore ",
    "-- squawk-ignore-file ", "ban-drop-table", "unused-ignore", "`", "[", "]", "#", "\ufeff",
]
SOUP = st.lists(st.sampled_from(TOKENS), max_size=80).map(" ".join)
DIALECTS = st.sampled_from(["postgres", "mysql", "sqlite", "mssql"])


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(SOUP, DIALECTS)
def test_token_soups_never_crash_the_linter(sql: str, dialect: Dialect) -> None:
    for diagnostic in lint_text(sql, "V1__soup.sql", dialect):
        assert diagnostic.line >= 1 and diagnostic.column >= 1
        assert diagnostic.end_line is not None and diagnostic.end_line >= diagnostic.line
        if "failed:" in diagnostic.message:  # sqlglot itself crashed: reported, not raised
            assert diagnostic.rule == "syntax-error"


@pytest.mark.slow
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=400), SOUP.map(lambda s: s.encode("utf-8"))), DIALECTS)
def test_random_bytes_never_crash_the_lint_command(tmp_path: Path, data: bytes,
                                                   dialect: str) -> None:
    target = tmp_path / "V1__random.sql"
    target.write_bytes(data)
    with contextlib.redirect_stdout(io.StringIO()) as output:
        code = run(["lint", "--no-cache", "--dialect", dialect, "--format", "json", str(target)])
    # `run` turns any exception into exit 2 and one line on stderr
    assert code in (0, 1), output.getvalue()
    assert '"tool": "migration-gate"' in output.getvalue()


#: SQL-ish pieces for comparing our lexer with sqlglot's tokenizer: what the corpus has
#: (two-word keywords across lines, JSON operators, casts, dollar quotes, Norwegian names) and
#: what our lexer must give up on (prefixed strings, parameters, placeholders, backslashes).
WORD_PIECES = [
    "PRIMARY", "KEY", "FOREIGN", "ORDER", "GROUP", "BY", "DOUBLE", "PRECISION", "CHARACTER",
    "VARYING", "LOCK", "TABLES", "UNLOCK", "UPDATE", "STATISTICS", "CREATE", "TABLE", "SELECT",
    "INSERT", "INTO", "VALUES", "DO", "REINDEX", "søknad", "fødselså", "_x", "a1", "t.c", "x$y",
    "1", "1.5", "1.", ".5", "1e5", "0x1F", "1_000", "3abc", "'s'", "'it''s'", "'a\\'b'",
    "E'x'", "N'x'", "X'ff'", "U&'x'", '"Q"', '"a""b"', "`b`", "[c]", "$1", "${p}", "$$b$$",
    "$f$ x $f$", "$x", "->", "->>", "#>>", "#-", "@>", "<@", "::", "||", "!=", "<>", "<=>",
    ":=", "~*", "?|", "#", "%", "^", "&", "|", "!", "{", "}", "(", ")", ",", ";", ".", "=",
    "*", "-", "+", "/", "<", ">", "?", "@", "--c\n", "/* c */", "/*! 40101 */", "/*+ h */",
    "/* a /* b */ c */", " ", "\n", "\t", "\r\n", "\u00a0", "'", '"', "`", "/*", "\\",
]


PIECES = st.lists(st.sampled_from(WORD_PIECES), max_size=30)
GLUE = st.sampled_from(["", " "])


def same_words(pieces: list[str], dialect: Dialect, glue: str) -> None:
    """The rules' word view of any statement is the one the sqlglot-only reader built."""
    from migration_gate.sql.reader import read
    from migration_gate.sql.tokens import parse

    text = glue.join(pieces)
    assert read(text, 7, dialect).words == parse(text, 7, dialect).words


# A sample in the fast loop, the thorough run (`slow`) in the full suite.
@settings(max_examples=400, deadline=None)
@given(PIECES, DIALECTS, GLUE)
def test_our_lexer_gives_the_words_sqlglots_tokenizer_gave(pieces: list[str], dialect: Dialect,
                                                          glue: str) -> None:
    same_words(pieces, dialect, glue)


@pytest.mark.slow
@settings(max_examples=5000, deadline=None)
@given(PIECES, DIALECTS, GLUE)
def test_our_lexer_gives_the_words_sqlglots_tokenizer_gave_thorough(
    pieces: list[str], dialect: Dialect, glue: str,
) -> None:
    same_words(pieces, dialect, glue)
