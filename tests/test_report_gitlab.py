"""The `gitlab` reporter: GitLab's Code Quality JSON, valid against GitLab's own schema and its
documented fields, with fingerprints that survive a line shift and never collide."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.pipeline import Result
from migration_gate.report import FORMATS, ReportOptions
from migration_gate.report.gitlab import render
from tests.conftest import CHECKOUT, Repo, run_gate, seed_migrations

SCHEMA_PATH = Path(__file__).parent / "data" / "gitlab-codeclimate.json"
SEVERITIES = {"info", "minor", "major", "critical", "blocker"}
INDEX = "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_id ON orders (id);\n"


@pytest.fixture(scope="module")
def validator() -> Any:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def assert_code_quality(validator: Any, text: str) -> list[dict[str, Any]]:
    """Valid for GitLab: its schema for every entry, and the fields its documentation asks."""
    assert not text.startswith("\ufeff")  # GitLab's parser refuses a byte order mark
    document = json.loads(text)
    assert isinstance(document, list)
    for entry in document:
        errors = list(validator.iter_errors(entry))
        assert not errors, [e.message for e in errors]
        for field in ("description", "check_name", "fingerprint"):
            assert isinstance(entry[field], str) and entry[field], (field, entry)
        assert entry["severity"] in SEVERITIES
        assert isinstance(entry["location"]["path"], str) and entry["location"]["path"]
        begin = entry["location"]["lines"]["begin"]
        assert isinstance(begin, int) and not isinstance(begin, bool) and begin >= 1
    return document


def test_the_vendored_schema_rejects_what_gitlab_drops(validator: Any) -> None:
    assert not list(validator.iter_errors({"description": "x", "fingerprint": "f",
                                           "severity": "minor", "location": {"path": "a"}}))
    assert list(validator.iter_errors({"description": "x", "severity": "minor",
                                       "location": {"path": "a"}}))  # no fingerprint
    assert list(validator.iter_errors({"description": "x", "fingerprint": "f",
                                       "severity": "minor",
                                       "location": {"path": "a", "lines": {"begin": "3"}}}))


def test_entries_carry_rule_severity_place_and_hint(validator: Any, tmp_path: Path) -> None:
    result = Result((
        Diagnostic("ban-drop-column", Severity.WARNING, "db/V2__drop.sql", "drops x",
                   line=4, column=1, end_line=6, end_column=3, hint="stop using x first"),
        Diagnostic("duplicate-version", Severity.ERROR, "db/V2__other.sql", "V2 twice"),
    ), files_checked=2)
    entries = assert_code_quality(validator, render(result, ReportOptions(root=tmp_path)))
    assert [e["check_name"] for e in entries] == ["ban-drop-column", "duplicate-version"]
    assert [e["severity"] for e in entries] == ["minor", "major"]
    assert entries[0]["location"] == {"path": "db/V2__drop.sql",
                                      "lines": {"begin": 4, "end": 6}}
    assert entries[0]["description"] == "drops x (hint: stop using x first)"
    assert entries[1]["description"] == "V2 twice"


def test_no_findings_is_an_empty_array(validator: Any, tmp_path: Path) -> None:
    text = render(Result((), files_checked=3), ReportOptions(root=tmp_path))
    assert assert_code_quality(validator, text) == []


def lint_gitlab(folder: Path, name: str) -> list[dict[str, Any]]:
    done = run_gate("lint", "--format", "gitlab", name, cwd=folder)
    assert done.returncode == 1, done.stderr
    entries: list[dict[str, Any]] = json.loads(done.stdout)
    return entries


@pytest.mark.slow
def test_fingerprints_survive_a_line_shift_and_tell_twins_apart(validator: Any,
                                                                tmp_path: Path) -> None:
    migration = tmp_path / "V1__index.sql"
    migration.write_text(INDEX + INDEX, encoding="utf-8")  # the same statement twice
    before = lint_gitlab(tmp_path, migration.name)
    assert [e["location"]["lines"]["begin"] for e in before] == [1, 2]
    assert before[0]["fingerprint"] != before[1]["fingerprint"]  # the widget would merge them

    migration.write_text("-- orders by id\n\n" + INDEX + INDEX, encoding="utf-8")
    after = lint_gitlab(tmp_path, migration.name)
    assert [e["location"]["lines"]["begin"] for e in after] == [3, 4]
    assert [e["fingerprint"] for e in after] == [e["fingerprint"] for e in before]

    migration.write_text(INDEX.replace("orders_id", "orders_by_id") + INDEX, encoding="utf-8")
    edited = lint_gitlab(tmp_path, migration.name)
    assert edited[0]["fingerprint"] not in {e["fingerprint"] for e in before}


def test_check_writes_a_report_gitlab_accepts(validator: Any, repo: Repo) -> None:
    seed_migrations(repo, count=2)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/v3__bad_name.sql", "SELECT 1;\n")
    repo.write("migrations/V4__index.sql", INDEX)
    report = repo.path / "gl-code-quality-report.json"
    done = repo.gate("check", "--no-verify", "--base", "main", "--format", "gitlab",
                     "--output", str(report))
    assert done.returncode == 1, done.stdout + done.stderr
    entries = assert_code_quality(validator, report.read_text(encoding="utf-8"))
    places = {(e["check_name"], e["location"]["path"]) for e in entries}
    assert ("invalid-filename", "migrations/v3__bad_name.sql") in places
    assert ("ban-concurrent-index-creation-in-transaction", "migrations/V4__index.sql") in places
    assert len({e["fingerprint"] for e in entries}) == len(entries)
    assert "invalid-filename" in done.stdout  # the terminal still shows the text view


def test_every_format_is_a_cli_choice_and_a_reporter() -> None:
    from migration_gate.commands import load_command
    from migration_gate.commands._parser import UsageError, parse

    for name in ("check", "lint"):
        command = load_command(name)
        for fmt_name in FORMATS:
            assert parse(command, ["--format", fmt_name])["fmt"] == fmt_name
        with pytest.raises(UsageError, match="invalid choice: 'yaml'") as refused:
            parse(command, ["--format", "yaml"])
        assert all(repr(fmt_name) in str(refused.value) for fmt_name in FORMATS)
    for fmt_name in FORMATS:
        assert (CHECKOUT / "migration_gate" / "report" / f"{fmt_name}.py").is_file()


def documented_gitlab_jobs() -> list[tuple[str, str]]:
    """(document, YAML) of every `.gitlab-ci.yml` snippet in the README and the docs."""
    found = []
    for name in ("README.md", "docs/github-action.md"):
        text = (CHECKOUT / name).read_text(encoding="utf-8")
        found += [(name, block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)
                  if "codequality:" in block]
    return found


@pytest.mark.slow
def test_documented_gitlab_jobs_are_valid_and_publish_the_written_report(tmp_path: Path) -> None:
    jobs = documented_gitlab_jobs()
    assert {name for name, _ in jobs} == {"README.md", "docs/github-action.md"}
    for index, (name, block) in enumerate(jobs):
        path = tmp_path / f"gitlab-ci-{index}.yml"
        path.write_text(block, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.gitlab-ci",
             str(path)], capture_output=True, text=True,
        )
        assert done.returncode == 0, (name, done.stdout + done.stderr)
        job = yaml.safe_load(block)["migration-gate"]
        report = job["artifacts"]["reports"]["codequality"]
        command = " ".join(job["script"])
        assert f"--format gitlab --output {report}" in command, name
