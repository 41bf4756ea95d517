"""Every migration of the real-world corpus lints without an exception (both cores, no cache).

The corpus (a folder with MANIFEST.json and repos/) is found through the environment variable
MIGRATION_GATE_CORPUS; without it these tests are skipped.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import pytest

from migration_gate.diagnostics import Diagnostic
from migration_gate.sql.engine import LintJob, lint_many
from migration_gate.sql.split import replay_pieces, split_statements
from migration_gate.types import Dialect

CORPUS = Path(os.environ.get("MIGRATION_GATE_CORPUS", "/nonexistent"))

pytestmark = pytest.mark.skipif(not (CORPUS / "MANIFEST.json").is_file(),
                                reason="no corpus: set MIGRATION_GATE_CORPUS")


def corpus_jobs() -> list[LintJob]:
    jobs = []
    for project in json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8")):
        base = CORPUS / "repos" / project["repo"].replace("/", "__")
        for folder in project["migration_dir"]:
            if "sqlite" in folder or project["dialect"] == "sqlite":
                dialect: Dialect = "sqlite"
            elif "mysql" in folder or project["dialect"] == "mysql":
                dialect = "mysql"
            else:
                dialect = "postgres"
            for path in sorted((base / folder).rglob("*.sql")):
                text = path.read_bytes().decode("utf-8")
                jobs.append(LintJob(path.relative_to(CORPUS).as_posix(), text, dialect))
    return jobs


@pytest.fixture(scope="module")
def linted() -> list[tuple[LintJob, list[Diagnostic]]]:
    jobs = corpus_jobs()
    return list(zip(jobs, lint_many(jobs, use_cache=False), strict=True))


def test_every_corpus_file_lints_without_an_exception(
    linted: list[tuple[LintJob, list[Diagnostic]]],
) -> None:
    assert len(linted) >= 3000
    for job, diagnostics in linted:
        for diagnostic in diagnostics:
            assert diagnostic.path == job.path
            assert "failed:" not in diagnostic.message, (job.path, diagnostic.message)
    postgres = [job for job, _ in linted if job.dialect == "postgres"]
    assert len(postgres) >= 2758


CONCURRENT = re.compile(r"^(CREATE\s+(UNIQUE\s+)?INDEX|DROP\s+INDEX)\s+CONCURRENTLY\b",
                        re.IGNORECASE)


def test_every_concurrent_index_statement_of_the_corpus_is_found(
    linted: list[tuple[LintJob, list[Diagnostic]]],
) -> None:
    """A cross-check with an independent reading: the split statements and a regex."""
    checked = 0
    for job, diagnostics in linted:
        if job.dialect != "postgres":
            continue
        lines = {d.line for d in diagnostics
                 if d.rule == "ban-concurrent-index-creation-in-transaction"}
        for statement in split_statements(job.text):
            if CONCURRENT.match(statement.text):
                checked += 1
                assert statement.line in lines, (job.path, statement.line)
    assert checked > 20


INTERNALS = re.compile(r"<class|<Token|sqlglot\.|Required keyword|TokenType|\x1b")


def test_syntax_errors_of_the_corpus_are_plain_words(
    linted: list[tuple[LintJob, list[Diagnostic]]],
) -> None:
    messages = [d.message for _, found in linted for d in found if d.rule == "syntax-error"]
    assert all(not INTERNALS.search(message) for message in messages), messages


def test_sqlite_files_split_where_sqlite_says(
    linted: list[tuple[LintJob, list[Diagnostic]]],
) -> None:
    """SQLite's own verdict (`sqlite3_complete`) on every piece the replay would send, and no
    trigger's `END` taken for a transaction statement."""
    checked = 0
    for job, found in linted:
        if job.dialect != "sqlite":
            continue
        for piece in replay_pieces(job.text, "sqlite"):
            assert sqlite3.complete_statement(job.text[piece.start : piece.end] + ";"), (
                job.path, piece.statement.line)
            checked += 1
        assert not [d for d in found if d.rule == "transaction-nesting"
                    and job.text.splitlines()[d.line - 1].strip().upper().startswith("END")]
    assert checked > 100
