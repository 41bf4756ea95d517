"""Every runner in the registry honours the `Runner` contract on any input: no exception,
parse∘format round trips, the next version is above all, problems carry a fix."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migration_gate.runners import (
    RUNNER_NAMES,
    RUNNERS,
    ContentProblem,
    Kind,
    NameProblem,
    ParsedMigration,
    PlaceholderResult,
    Runner,
    RunnerName,
    ScriptTransaction,
)
from migration_gate.types import Dialect

NOW = datetime(2024, 3, 9, 14, 5, 7)
runners = st.sampled_from([RUNNERS[name] for name in RUNNER_NAMES])
names = st.one_of(
    st.text(max_size=30),
    st.tuples(st.sampled_from(["V", "R", "U", "B", "v", "|", ""]),
              st.sampled_from(["1", "1.1", "1_1", "", "1..2", "x", "007", "-1"]),
              st.sampled_from(["__", "_", ""]), st.text(max_size=8),
              st.sampled_from([".sql", ".rs", ".SQL", ""])).map("".join),
)


def test_registry() -> None:
    assert set(RUNNERS) == set(RUNNER_NAMES) == {"refinery", "flyway"}
    for name, runner in RUNNERS.items():
        assert runner.name == name
        assert runner.kinds and runner.history.column_names
        assert runner.execution.notes
        hash(runner)  # frozen: usable as a cache key


@pytest.mark.slow
@settings(max_examples=500, deadline=None)
@given(runners, names)
def test_parse_name_never_raises_and_problems_have_fixes(runner: Runner, name: str) -> None:
    result = runner.parse_name(name)
    if isinstance(result, ParsedMigration):
        assert result.kind in runner.kinds and result.file_name == name
        assert (result.version is None) == (result.kind in (Kind.REPEATABLE, Kind.CALLBACK))
        return
    assert isinstance(result, NameProblem)
    assert result.reason and result.fix.kind in runner.kinds
    version = result.fix.version or runner.next_version([], NOW)
    fixed = runner.parse_name(runner.file_name(result.fix.kind, version, result.fix.description))
    assert isinstance(fixed, ParsedMigration)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(runners, st.lists(st.integers(1, 10**6), min_size=0, max_size=5), st.text(max_size=20))
def test_next_version_and_file_name(runner: Runner, numbers: list[int], description: str) -> None:
    versions = [v for v in (runner.parse_version(str(n)) for n in numbers) if v is not None]
    after = runner.next_version(versions, NOW)
    assert all(after > v for v in versions)
    made = runner.parse_name(runner.file_name(Kind.VERSIONED, after, description))
    assert isinstance(made, ParsedMigration) and made.version == after


@settings(max_examples=200, deadline=None)
@given(runners, st.lists(st.text(max_size=40), max_size=4),
       st.sampled_from(["postgres", "mysql", "sqlite", "mssql"]))
def test_script_transaction_never_raises(runner: Runner, statements: list[str],
                                         dialect: Dialect) -> None:
    script = runner.script_transaction(statements, dialect)
    assert isinstance(script, ScriptTransaction)
    assert all(0 <= index < len(statements) for index, _ in script.failing)
    assert all(0 <= index < len(statements) for index in script.non_transactional)


@settings(max_examples=200, deadline=None)
@given(runners, st.text(max_size=60), st.binary(max_size=40))
def test_placeholders_and_checksums_never_raise(runner: Runner, text: str, data: bytes) -> None:
    assert isinstance(runner.replace_placeholders(text, "V1__x.sql", NOW), PlaceholderResult)
    migration = runner.parse_name("V1__x.sql")
    assert isinstance(migration, ParsedMigration)
    assert isinstance(runner.checksum(migration, data), int | ContentProblem)


@pytest.mark.parametrize("name", RUNNER_NAMES)
def test_history_ddl_names_the_table(name: RunnerName) -> None:
    runner = RUNNERS[name]
    for dialect in ("postgres", "mysql", "sqlite", "mssql"):
        assert runner.history.default_name in runner.history_ddl(dialect)
        assert "my_history" in runner.history_ddl(dialect, "my_history")
