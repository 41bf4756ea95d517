"""Real migrations lint without an exception (both cores, no cache), and every concurrent index
statement is found: over the sample kept in the repository always, and over the whole
real-world corpus when `MIGRATION_GATE_CORPUS` names it (skipped, with the reason, otherwise)."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from migration_gate.diagnostics import Diagnostic
from migration_gate.sql.engine import LintJob, lint_many
from migration_gate.sql.pieces import replay_pieces
from migration_gate.sql.split import split_statements
from tests.corpus import SAMPLE, corpus_files, full_corpus, read_manifest


@dataclass(frozen=True)
class Linted:
    """A corpus's files with their findings, and the floor its cross-check must reach."""

    results: list[tuple[LintJob, list[Diagnostic]]]
    expected_files: int
    min_concurrent: int


#: The least number of CONCURRENTLY statements each corpus holds (so the check checks).
MIN_CONCURRENT = {"sample": 26, "corpus": 69}


def _root(kind: str) -> Path:
    return SAMPLE if kind == "sample" else full_corpus()


@pytest.fixture(scope="module",
                params=["sample", pytest.param("corpus", marks=pytest.mark.slow)])
def linted(request: pytest.FixtureRequest) -> Linted:
    root = _root(request.param)
    jobs = [LintJob(f.rel, f.text(), f.dialect) for f in corpus_files(root)]
    results = list(zip(jobs, lint_many(jobs, use_cache=False), strict=True))
    expected = sum(project["files"] for project in read_manifest(root))
    return Linted(results, expected, MIN_CONCURRENT[request.param])


def test_every_file_lints_without_an_exception(linted: Linted) -> None:
    assert len(linted.results) == linted.expected_files
    for job, diagnostics in linted.results:
        for diagnostic in diagnostics:
            assert diagnostic.path == job.path
            assert "failed:" not in diagnostic.message, (job.path, diagnostic.message)
    dialects = {job.dialect for job, _ in linted.results}
    assert dialects == {"postgres", "mysql", "sqlite"}


CONCURRENT = re.compile(r"^(CREATE\s+(UNIQUE\s+)?INDEX|DROP\s+INDEX)\s+CONCURRENTLY\b",
                        re.IGNORECASE)


def test_every_concurrent_index_statement_is_found(linted: Linted) -> None:
    """A cross-check with an independent reading: the split statements and a regex."""
    checked = 0
    for job, diagnostics in linted.results:
        if job.dialect != "postgres":
            continue
        lines = {d.line for d in diagnostics
                 if d.rule == "ban-concurrent-index-creation-in-transaction"}
        for statement in split_statements(job.text):
            if CONCURRENT.match(statement.text):
                checked += 1
                assert statement.line in lines, (job.path, statement.line)
    assert checked >= linted.min_concurrent


#: sqlglot's own words, which a syntax-error message must never show a user.
INTERNALS = re.compile(r"<class|<Token|sqlglot\.|Required keyword|TokenType|\x1b")


def test_syntax_errors_are_plain_words(linted: Linted) -> None:
    messages = [d.message for _, found in linted.results for d in found
                if d.rule == "syntax-error"]
    assert all(not INTERNALS.search(message) for message in messages), messages


def test_sqlite_files_split_where_sqlite_says(linted: Linted) -> None:
    """SQLite's own verdict (`sqlite3_complete`) on every piece the replay would send, and no
    trigger's `END` taken for a transaction statement."""
    checked = 0
    for job, found in linted.results:
        if job.dialect != "sqlite":
            continue
        for piece in replay_pieces(job.text, "sqlite"):
            assert sqlite3.complete_statement(job.text[piece.start : piece.end] + ";"), (
                job.path, piece.statement.line)
            checked += 1
        assert not [d for d in found if d.rule == "transaction-nesting"
                    and job.text.splitlines()[d.line - 1].strip().upper().startswith("END")]
    assert checked > 0
