"""Statements read without sqlglot where it cannot change a finding, with it where it can.

`reader.read` takes the words from our lexer and asks sqlglot's parser only about the
statements the syntax check covers; `lex.lex` gives up on text it does not read, and sqlglot's
tokenizer reads that instead. (tests/test_sql_properties.py compares the two lexers on random
SQL; bench/lint_diff.py compares the findings on the whole corpus.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migration_gate.sql.lex import is_command, lex
from migration_gate.sql.lint import lint_text
from migration_gate.sql.reader import doubtful, read
from migration_gate.sql.tokens import NAME, STRING, WORD, Parsed, Word, reparse
from tests.conftest import clean_env

TYPICAL = """\
CREATE TABLE sak (
    id             uuid PRIMARY KEY,
    soknad         BYTEA        NOT NULL,
    opprettet_av   VARCHAR      NOT NULL DEFAULT 'VL',
    endret_tid     TIMESTAMP(3) NOT NULL DEFAULT localtimestamp
);
CREATE INDEX ON sak (opprettet_av);
INSERT INTO søknad (id, data) VALUES (1, '{"a": 1}'::jsonb);
UPDATE søknad SET data = data #- '{a}' WHERE data ->> 'b' = 'x';
COMMENT ON TABLE sak IS 'saker';
DO $$ BEGIN RAISE NOTICE 'hi'; END $$;
"""


def test_a_typical_migration_is_linted_without_importing_sqlglot(tmp_path: Path) -> None:
    """The one-file lint of a pre-commit hook: sqlglot's import alone (80–135 ms) was most of
    its budget, and its parse could not change a finding of these statements."""
    (tmp_path / "V1__sak.sql").write_text(TYPICAL, encoding="utf-8")
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "migration_gate", "lint",
                           "--no-cache", "V1__sak.sql"], cwd=tmp_path, env=clean_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "prefer-robust-stmts" in done.stdout  # it did lint the file
    assert "migration_gate.sql.reader" in done.stderr
    assert "sqlglot" not in done.stderr


def test_a_flyway_placeholder_is_still_a_syntax_error() -> None:
    """Real world: navikt/familie-ef-sak V55__fagsak_ekstern_id_start_value.sql starts with
    Flyway's `${ignoreIfProd}`; linted as plain SQL it cannot run, and sqlglot says so."""
    sql = "${ignoreIfProd} ALTER SEQUENCE fagsak_ekstern_id_seq RESTART with 200000000;\n"
    assert lex(sql, 0, "postgres") is None  # our lexer leaves `${` to sqlglot
    (finding,) = [d for d in lint_text(sql, "V55__x.sql") if d.rule == "syntax-error"]
    assert "unexpected `{`" in finding.message


@pytest.mark.parametrize(("sql", "rejected"), [
    ("SELECT * FROM WHERE id = 1", True), ("CREATE TABLE (", True), ("UPDATE SET x = 1", True),
    ("SELECT (1", True), ("DELETE FROM t WHERE", True), ("UPDATE t SET", False),
    ("ALTER TABLE t ADD COLUMN a int,", False), ("CREATE INDEX i ON t (a,,b)", False),
])
def test_words_that_look_wrong_are_asked_of_sqlglot(sql: str, rejected: bool) -> None:
    """sqlglot's verdict, as before; it is lenient with some (`UPDATE t SET`): the replay
    judges those, as it did."""
    words = lex(sql, 0, "postgres")
    assert words is not None and doubtful(words)
    assert read(sql, 0, "postgres").error == reparse(sql, "postgres")
    assert ("syntax-error" in {d.rule for d in lint_text(sql + ";", "V1__x.sql")}) is rejected


@pytest.mark.parametrize("sql", [
    "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id) ON DELETE SET NULL",
    "ALTER TABLE t ALTER COLUMN c SET NOT NULL", "SELECT FROM t", "PRAGMA foreign_keys = ON",
    "INSERT INTO t SELECT * FROM u WHERE a IN (SELECT b FROM v)", "SELECT *",
    "CREATE TABLE t (a int[] DEFAULT '{}', b text COLLATE \"C\")",
])
def test_well_formed_statements_are_not_parsed(sql: str) -> None:
    words = lex(sql, 0, "postgres")
    assert words is not None and not doubtful(words)
    assert read(sql, 0, "postgres").error is None


def test_the_word_view_keeps_sqlglots_reading() -> None:
    """Two-word keywords carry the keyword's start as both offsets (as sqlglot's one token for
    them did); MySQL's double quotes are strings; commands keep the fallback lexer's words."""
    words = lex("x  PRIMARY\n KEY", 10, "postgres")
    assert words is not None
    assert words[1:] == (Word(WORD, "PRIMARY", 13, 13), Word(WORD, "KEY", 13, 13))
    mysql = lex('SELECT "a""b", `c`', 0, "mysql")
    assert mysql is not None and [(w.kind, w.text) for w in mysql[1:]] == [
        (STRING, 'a"b'), ("punct", ","), (NAME, "c")]
    assert is_command(lex("REINDEX TABLE t", 0, "postgres") or (), "postgres")
    assert not is_command(lex("LOCK TABLE t", 0, "mysql") or (), "mysql")
    assert is_command(lex("LOCK TABLES t WRITE", 0, "mysql") or (), "mysql")


# --- the plain INSERT a data migration is made of: proven by one match, not lexed -------------

_PIECES = ("INSERT", "INTO", "VALUES", " ", "\n", "\xa0", "(", ")", ",", ".", "::", "t", "c",
           "\"q\"", "'s'", "'a''b'", "'\\'", "1", "-2", "3.5", "1e5", "now", "now()", "f(1, 'x')",
           "NULL", "SET", "and", "from", "values", "ON", "CONFLICT", "DO", "NOTHING", "\u212a",
           "é", "--c\n", "/*c*/", "$1", "E'x'", "select")


@pytest.fixture(autouse=True)
def _plain_in_use() -> None:
    """`reader.plain` is asked in large runs only: these tests ask it directly."""
    from migration_gate.sql.reader import use_plain

    use_plain()


def _verdict(text: str) -> tuple[bool, str | None]:
    """What the lexer's path concludes about a statement read without its words: whether it is
    parsed (None when the lexer gives up) and sqlglot's error if so."""
    from migration_gate.sql.reader import _checked

    words = lex(text, 0, "postgres")
    parsed = words is None or (not is_command(words, "postgres")
                               and _checked(words, "postgres"))
    return parsed, reparse(text, "postgres") if parsed else None


@pytest.mark.parametrize("text", [
    "INSERT INTO t (a, b) VALUES (1, 'x'), (-2, NULL)",
    "insert into s.t values (now(), to_date('29.09.2025', 'DD.MM.YYYY'), 'a''b'::jsonb)",
    'INSERT INTO "t" ("a") VALUES (1) ON CONFLICT (a) DO NOTHING',
])
def test_a_plain_insert_is_matched_and_the_lexer_agrees(text: str) -> None:
    """The statements the match takes: the lexer reads them and `doubtful` passes them."""
    from migration_gate.sql.reader import _plain_insert

    assert _plain_insert().fullmatch(text) is not None
    assert _verdict(text) == (False, None)
    assert read(text, 0, "postgres", words=False) == Parsed((), None, None)


@pytest.mark.parametrize("text", [
    "INSERT INTO set VALUES (1)", "INSERT INTO t (and) VALUES (1)", "INSERT INTO t VALUES ()",
    "INSERT INTO t VALUES (1,)", "INSERT INTO t VALUES (1)\xa0", "INSERT INTO t VALUES ('\\')",
    "INSERT INTO \u212aey VALUES (1)", "INSERT INTO t VALUES (1e5)", "INSERT INTO t VALUES ($1)",
    "INSERT INTO t VALUES (1) -- c", "INSERT INTO t VALUES (E'x')",
])
def test_what_the_plain_insert_match_leaves_to_the_lexer(text: str) -> None:
    """Keywords `doubtful` tests, empty items, blanks the lexer does not read, backslashes,
    non-ASCII letters that fold to ASCII, comments: not matched, so the lexer decides."""
    from migration_gate.sql.reader import _plain_insert

    assert _plain_insert().fullmatch(text) is None


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=2, max_size=10))
def test_every_plain_insert_match_is_what_the_lexer_concludes(pieces: list[str]) -> None:
    """Random text from INSERT's pieces and the traps above: whatever the match takes, the
    lexer reads and `doubtful` passes (so skipping both changes no finding)."""
    from migration_gate.sql.reader import _plain_insert

    text = "INSERT INTO t VALUES (" + " ".join(pieces[1:]) + ")"
    if _plain_insert().fullmatch(text) is not None:
        assert _verdict(text) == (False, None)


@pytest.mark.parametrize("text", [
    "UPDATE t SET a = 1 WHERE id = 'x'",
    "update s.t set a = now(), b = 'x'::text where c <> 2 and d in ('a', 'b') or e is not null",
    "UPDATE t SET p = ST_MakePoint(57.1, -2.09) WHERE o ILIKE 'AB%'",
])
def test_a_plain_update_is_matched_and_the_lexer_agrees(text: str) -> None:
    """The UPDATEs the match takes: the lexer reads them, `doubtful` passes them, and the
    one rule reading an UPDATE's words finds nothing, even after DDL (they have a WHERE)."""
    from migration_gate.sql.reader import plain

    assert plain(text)
    assert _verdict(text) == (False, None)
    found = lint_text(f"ALTER TABLE t ADD COLUMN IF NOT EXISTS a int;\n{text};\n", "V1__x.sql")
    assert "unbounded-data-change" not in {d.rule for d in found}


@pytest.mark.parametrize("text", [
    "UPDATE t SET a = 1", "UPDATE set SET a = 1 WHERE b = 1", "UPDATE t SET a = WHERE b = 1",
    "UPDATE t SET a = 1 WHERE b = 1 AND", "UPDATE t SET a = 1 WHERE b = (SELECT 1)",
    "UPDATE t SET a = set_config('lock_timeout', '1s', true) WHERE b = 1",
])
def test_what_the_plain_update_match_leaves_to_the_lexer(text: str) -> None:
    """No WHERE (the rule reads those), keywords as names, dangling clauses, subqueries, and
    calls of anything but plain values of a `set_config` name too are read word by word."""
    from migration_gate.sql.reader import plain

    assert not plain(text) or "set_config" in text


_UPDATE_PIECES = ("SET", "WHERE", "AND", "OR", "AND", "OR", "IS", "NOT", "NULL", "IN", "LIKE",
                  "=", "<>", "!=", "<", "a", "b.c", "'s'", "1", "-2", "f(1)", "(", ")", ",",
                  "::", "int", "\xa0", "'\\'", "--c\n", "from", "set_config", "a = 1",
                  "b <> 'x'", "c IS NULL", "d IS NOT NULL", "e IN (1, -2)", "f LIKE 'a%'",
                  "g = f(1)::int")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_UPDATE_PIECES), min_size=1, max_size=9))
def test_every_plain_update_match_is_what_the_lexer_concludes(pieces: list[str]) -> None:
    """Random UPDATEs from its pieces and traps: whatever the match takes, the lexer reads,
    `doubtful` passes, and it has a WHERE at depth 0 (so no rule finds anything in it)."""
    from migration_gate.sql.reader import plain

    text = "UPDATE t SET a = 1 WHERE " + " ".join(pieces)
    if plain(text):
        assert _verdict(text) == (False, None)
        words = lex(text, 0, "postgres")
        assert words is not None and any(w.text == "WHERE" and w.kind == WORD for w in words)


def test_the_rules_that_read_an_update_are_the_ones_plain_updates_were_proven_against() -> None:
    """A plain UPDATE gets no words (`lint_text`), proven safe for the checks that read an
    UPDATE today; a new check reading UPDATEs must be proven too (then added here)."""
    from migration_gate.sql.rules import registry

    checks = registry.for_dialect("postgres").by_word["UPDATE"]
    assert sorted(f"{c.__module__}.{c.__name__}" for c in checks) == [
        "migration_gate.sql.rules.robustness._unparsed_statement",
        "migration_gate.sql.rules.transactions._unbounded"]
