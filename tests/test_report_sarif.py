"""The `sarif` reporter: valid SARIF 2.1.0 (the official schema), every rule documented,
results placed with repository-relative URIs under %SRCROOT%."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from migration_gate.catalog import all_rules
from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.pipeline import Result
from migration_gate.report import ReportOptions
from migration_gate.report.sarif import render
from tests.conftest import DATA, Repo, seed_migrations

#: The official schema, kept in the repository (tests/data/README.md).
SCHEMA_PATH = DATA / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def validator() -> Any:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def assert_valid(validator: Any, document: dict[str, Any]) -> None:
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def sample_result() -> Result:
    return Result(
        (
            Diagnostic("ban-concurrent-index-creation-in-transaction", Severity.ERROR,
                       "db/migrations/V2__index.sql", "CONCURRENTLY inside a transaction",
                       line=4, column=1, end_line=4, end_column=48, hint="run it outside"),
            Diagnostic("naming-style", Severity.WARNING, "db/migrations/V3__odd name ü.sql",
                       "name breaks the convention"),
            Diagnostic("rule-from-elsewhere", Severity.WARNING, "db/migrations/V4__x.sql", "x",
                       line=2, column=3, end_line=5, end_column=1),
        ),
        files_checked=3,
    )


def test_document_is_valid_sarif_2_1_0(validator: Any, tmp_path: Path) -> None:
    document = json.loads(render(sample_result(), ReportOptions(root=tmp_path)))
    assert_valid(validator, document)
    assert document["version"] == "2.1.0"


def test_a_broken_document_is_rejected_by_the_same_validator(validator: Any,
                                                             tmp_path: Path) -> None:
    document = json.loads(render(sample_result(), ReportOptions(root=tmp_path)))
    document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"][
        "startLine"] = 0
    assert list(validator.iter_errors(document))


def test_every_catalogue_rule_is_described_with_its_documentation(tmp_path: Path) -> None:
    document = json.loads(render(Result((), 0), ReportOptions(root=tmp_path)))
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    by_id = {rule["id"]: rule for rule in rules}
    catalogue = all_rules()
    assert list(by_id) == list(catalogue)
    for rule_id, doc in catalogue.items():
        rule = by_id[rule_id]
        assert rule["shortDescription"]["text"] == doc.summary
        assert rule["help"]["text"] == doc.render()
        assert rule["fullDescription"]["text"] == (doc.why or doc.summary)
        expected_level = {"error": "error", "warning": "warning"}.get(doc.severity.value)
        if expected_level:
            assert rule["defaultConfiguration"]["level"] == expected_level
        else:
            assert rule["defaultConfiguration"]["enabled"] is False


def test_results_point_at_repository_relative_regions(tmp_path: Path) -> None:
    document = json.loads(render(sample_result(), ReportOptions(root=tmp_path)))
    run = document["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    rules = run["tool"]["driver"]["rules"]
    first, second, third = run["results"]
    assert rules[first["ruleIndex"]]["id"] == first["ruleId"]
    assert first["level"] == "error"
    assert first["message"]["text"] == "CONCURRENTLY inside a transaction\nhint: run it outside"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "db/migrations/V2__index.sql",
                                            "uriBaseId": "%SRCROOT%"}
    # our end column is the last character; SARIF's is the one after it
    assert location["region"] == {"startLine": 4, "startColumn": 1, "endLine": 4,
                                  "endColumn": 49}
    assert second["level"] == "warning"
    uri = second["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "db/migrations/V3__odd%20name%20%C3%BC.sql"
    # a rule missing from this build's catalogue still gets a descriptor to point at
    assert rules[third["ruleIndex"]]["id"] == "rule-from-elsewhere"


@pytest.mark.slow
def test_check_writes_sarif_and_the_terminal_keeps_the_text_view(repo: Repo, tmp_path: Path,
                                                                 validator: Any) -> None:
    seed_migrations(repo, count=2)
    repo.write("migrations/V1__again.sql", "CREATE TABLE IF NOT EXISTS again (id int);\n")
    target = tmp_path / "reports" / "gate.sarif"
    done = repo.gate("check", "--no-verify", "--format", "sarif", "--output", str(target))
    assert done.returncode == 1, done.stderr
    assert "migrations/V1__again.sql:1:1 duplicate-version error" in done.stdout
    document = json.loads(target.read_text(encoding="utf-8"))
    assert_valid(validator, document)
    found = {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
        for r in document["runs"][0]["results"]
    }
    assert ("duplicate-version", "migrations/V1__again.sql") in found
    # the reused version is below the base's highest too: the same cause, said as a related
    # location of the one result rather than as a second result
    assert ("version-not-after-base", "migrations/V1__again.sql") not in found
    [reuse] = [r for r in document["runs"][0]["results"] if r["ruleId"] == "duplicate-version"]
    assert any(location["message"]["text"].startswith("version-not-after-base: ")
               for location in reuse["relatedLocations"])


def test_sarif_on_stdout_is_the_document(repo: Repo, validator: Any) -> None:
    seed_migrations(repo, count=1)
    done = repo.gate("check", "--no-verify", "--format", "sarif")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert_valid(validator, document)
    assert document["runs"][0]["results"] == []


def test_lint_sarif_places_the_clause(repo: Repo, validator: Any) -> None:
    repo.write("migrations/V1__index.sql",
               "CREATE TABLE IF NOT EXISTS t (id int);\n"
               "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_id ON t (id);\n")
    done = repo.gate("lint", "--format", "sarif", "migrations/V1__index.sql")
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert_valid(validator, document)
    results = [r for r in document["runs"][0]["results"]
               if r["ruleId"] == "ban-concurrent-index-creation-in-transaction"]
    assert len(results) == 1
    location = results[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "migrations/V1__index.sql"
    # the CONCURRENTLY keyword, not the statement (SARIF's end column is exclusive)
    assert location["region"] == {"startLine": 2, "startColumn": 14, "endLine": 2,
                                  "endColumn": 26}
