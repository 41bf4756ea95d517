"""The refinery runner is today's refinery behaviour, byte for byte: the same parse results,
checksums and DDL as `migration_gate.refinery`, over the repository's existing vectors."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migration_gate import refinery
from migration_gate.checks.folder import corrected_name
from migration_gate.pipeline import normalise_description, suggest_file_name
from migration_gate.runners import (
    RUNNERS,
    HistoryRowPlacement,
    Kind,
    NameIssue,
    NameProblem,
    NonTransactionalPolicy,
    ParsedMigration,
    RefineryRunner,
    ScriptVerdict,
)
from migration_gate.runners.refinery import refinery_version
from migration_gate.types import Dialect
from tests.test_names_property import file_names, name_chars

#: the golden vectors of tests/test_refinery.py (refinery's own test suite and real deployments),
#: copied here so that this test reads them from the repository itself
VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "refinery-checksums.json").read_text("utf-8"))

NOW = datetime(2024, 5, 4, 9, 2, 41, tzinfo=timezone.utc)
RUNNER = RefineryRunner()
EMBED = RefineryRunner(extensions=("rs", "sql"))


def _same(runner: RefineryRunner, file_name: str, int8: bool = False) -> None:
    old = refinery.parse_file_name(file_name, extensions=runner.extensions, int8_versions=int8)
    new = RefineryRunner(int8_versions=int8, extensions=runner.extensions).parse_name(file_name)
    if isinstance(old, refinery.MigrationName):
        assert isinstance(new, ParsedMigration)
        assert new.version is not None
        assert (new.prefix, new.version.parts, new.version.text, new.raw_description) == (
            old.prefix.value, (old.version,), old.version_text, old.name)
        assert new.suffix == f".{old.extension}"
        assert new.kind is (Kind.VERSIONED if old.prefix is refinery.Prefix.VERSIONED
                            else Kind.UNVERSIONED)
        assert f"{new.prefix}{new.version.display}__{new.description}" == old.display
    else:
        assert isinstance(new, NameProblem)
        assert new.reason == old.reason
        assert new.issue is {
            refinery.NameIssue.NO_MATCH: NameIssue.NOT_A_MIGRATION,
            refinery.NameIssue.INVALID_VERSION: NameIssue.INVALID_VERSION,
            refinery.NameIssue.PIPE_PREFIX: NameIssue.PIPE_PREFIX,
        }[old.issue]
        assert new.runner_fails is (old.issue is not refinery.NameIssue.NO_MATCH)


@pytest.mark.slow
@settings(max_examples=600, deadline=None)
@given(file_names, st.booleans(), st.booleans())
def test_parse_name_agrees_with_refinery_module(file_name: str, embed: bool, int8: bool) -> None:
    _same(EMBED if embed else RUNNER, file_name, int8)


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_checksum_vectors_unchanged(vector: dict[str, Any]) -> None:
    file_name = f"V{vector['version']}__{vector['name']}.sql"
    parsed = RUNNER.parse_name(file_name)
    assert isinstance(parsed, ParsedMigration)
    assert str(RUNNER.checksum(parsed, vector["sql"].encode("utf-8"))) == vector["checksum"]


@pytest.mark.parametrize("vector", VECTORS["int8_versions_vectors"], ids=lambda v: v["name"])
def test_int8_checksum_vectors_unchanged(vector: dict[str, Any]) -> None:
    runner = RefineryRunner(int8_versions=True)
    parsed = runner.parse_name(f"V{vector['version']}__{vector['name']}.sql")
    assert isinstance(parsed, ParsedMigration)
    assert str(runner.checksum(parsed, vector["sql"].encode("utf-8"))) == vector["checksum"]


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite", "mssql"])
@pytest.mark.parametrize("int8", [False, True])
def test_history_ddl_is_refinerys(dialect: Dialect, int8: bool) -> None:
    runner = RefineryRunner(int8_versions=int8)
    assert runner.history_ddl(dialect) == refinery.history_table_ddl(dialect, int8=int8)
    assert runner.history_ddl(dialect, "hist") == refinery.history_table_ddl(
        dialect, "hist", int8=int8)
    assert runner.history.default_name == refinery.DEFAULT_TABLE
    assert runner.history.column_names == ("version", "name", "applied_on", "checksum")


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.text(name_chars, max_size=25), st.integers(1, 2**31 - 1), st.integers(0, 8))
def test_file_name_is_the_folder_rules_suggestion(description: str, number: int,
                                                  padding: int) -> None:
    name = normalise_description(description)
    version = refinery_version(number, f"{number:0{padding}d}")
    made = RUNNER.file_name(Kind.VERSIONED, version, description)
    assert made == suggest_file_name(number, name or "migration", padding)
    parsed = RUNNER.parse_name(made)
    assert isinstance(parsed, ParsedMigration) and parsed.version == version


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(file_names)
def test_name_problem_fix_is_the_folder_rules_fix(file_name: str) -> None:
    problem = RUNNER.parse_name(file_name)
    if not isinstance(problem, NameProblem):
        return
    assert problem.fix.version is None  # refinery fixes take the next free version
    version = refinery_version(42)
    fixed = RUNNER.file_name(problem.fix.kind, version, problem.fix.description)
    assert fixed == corrected_name(file_name, 42, 0)


def test_next_version_counts_up_and_keeps_padding() -> None:
    versions = [refinery_version(n, f"{n:03d}") for n in (1, 7, 3)]
    assert RUNNER.next_version(versions, NOW).text == "008"
    assert RUNNER.next_version([refinery_version(9)], NOW).text == "10"
    assert RUNNER.next_version([], NOW) == refinery_version(1)
    assert RUNNER.next_version([refinery_version(99, "099")], NOW).text == "100"


def test_parse_version_is_refinerys_integer() -> None:
    assert RUNNER.parse_version("008") == refinery_version(8)
    assert RUNNER.parse_version("1.5") is None
    assert RUNNER.parse_version("2147483648") is None
    assert RefineryRunner(int8_versions=True).parse_version("2147483648") is not None
    assert RUNNER.parse_version("١") is None


def test_execution_model_and_transactions() -> None:
    execution = RUNNER.execution
    assert execution.transaction_per_file
    assert execution.history_row is HistoryRowPlacement.SEPARATE_TRANSACTION
    assert execution.non_transactional is NonTransactionalPolicy.FAILS
    script = RUNNER.script_transaction(
        ["CREATE TABLE t (a int)", "CREATE INDEX CONCURRENTLY i ON t (a)"])
    assert script.verdict is ScriptVerdict.MIXED
    assert script.in_transaction and script.error is None and script.non_transactional == ()
    assert [index for index, _ in script.failing] == [1]
    assert "cannot run inside a transaction block" in script.failing[0][1]
    assert RUNNER.script_transaction(["SELECT 1"]).verdict is ScriptVerdict.TRANSACTIONAL
    mysql = RUNNER.script_transaction(["CREATE INDEX CONCURRENTLY i ON t (a)"], "mysql")
    assert mysql.failing == ()


def test_no_placeholders_in_refinery() -> None:
    result = RUNNER.replace_placeholders("SELECT '${x}';", "V1__x.sql", NOW)
    assert result.text == "SELECT '${x}';" and result.problems == ()


def test_registry_holds_the_default_refinery() -> None:
    assert RUNNERS["refinery"] == RefineryRunner()
    assert RUNNERS["refinery"].name == "refinery"
    assert RUNNERS["refinery"].kinds == {Kind.VERSIONED, Kind.UNVERSIONED}


def test_refinery_cannot_name_a_repeatable() -> None:
    with pytest.raises(ValueError, match="no repeatable"):
        RUNNER.file_name(Kind.REPEATABLE, None, "views")


def test_problem_kinds_map() -> None:
    problem = RUNNER.parse_name("V1.5__x.sql")
    assert isinstance(problem, NameProblem) and problem.issue is NameIssue.INVALID_VERSION
    assert problem.runner_message == "migration version must be a valid integer"
    pipe = RUNNER.parse_name("|1__x.sql")
    assert isinstance(pipe, NameProblem) and pipe.issue is NameIssue.PIPE_PREFIX
    assert pipe.runner_fails
