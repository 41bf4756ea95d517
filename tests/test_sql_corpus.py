"""Every migration of the real-world corpus lints without an exception (both cores, no cache)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from migration_gate.diagnostics import Diagnostic
from migration_gate.sql.engine import LintJob, lint_many
from migration_gate.sql.split import split_statements
from migration_gate.types import Dialect

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
if not (CORPUS / "MANIFEST.json").is_file():
    CORPUS = Path("/work/shared/corpus")

pytestmark = pytest.mark.skipif(not (CORPUS / "MANIFEST.json").is_file(),
                                reason="the corpus is not present")


def corpus_jobs() -> list[LintJob]:
    jobs = []
    for project in json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8")):
        base = CORPUS / "repos" / project["repo"].replace("/", "__")
        for folder in project["migration_dir"]:
            dialect: Dialect
            if "sqlite" in folder or project["dialect"] == "sqlite":
                dialect = "sqlite"
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
