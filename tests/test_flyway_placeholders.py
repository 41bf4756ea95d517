"""Flyway's placeholders (docs/flyway.md §5): `PlaceholderReplacingReader` and the defaults of
`ParsingContext`."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from migration_gate.runners import (
    RUNNERS,
    FlywayRunner,
    FlywaySettings,
    ParsedMigration,
    PlaceholderIssue,
    PlaceholderResult,
)
from migration_gate.runners.flyway_checksum import checksum
from migration_gate.runners.flyway_placeholders import (
    BUILTIN_NAMES,
    builtin_placeholders,
    replace_placeholders,
)

NOW = datetime(2024, 3, 9, 14, 5, 7)
SETTINGS = FlywaySettings(placeholders=(("schema", "app"), ("Owner", "admin"), ("empty", "")))


def run(text: str, settings: FlywaySettings = SETTINGS, **known: str) -> PlaceholderResult:
    runner = FlywayRunner(settings)
    return runner.replace_placeholders(text, "V1__x.sql", NOW, known)


def test_user_placeholders_are_replaced_case_insensitively() -> None:
    result = run("CREATE SCHEMA ${schema}; ALTER SCHEMA ${SCHEMA} OWNER TO ${owner};")
    assert result.text == "CREATE SCHEMA app; ALTER SCHEMA app OWNER TO admin;"
    assert result.problems == ()


def test_everywhere_even_in_strings_and_comments() -> None:
    result = run("-- for ${schema}\nSELECT '${schema}'; /* ${schema} */")
    assert result.text == "-- for app\nSELECT 'app'; /* app */"


def test_builtins() -> None:
    text = ("${flyway:defaultSchema} ${flyway:user} ${flyway:database} ${flyway:timestamp} "
            "${flyway:filename} ${flyway:workingDirectory} ${flyway:table} "
            "${flyway:environment}")
    result = run(text, SETTINGS, user="gate", database="app_db", current_schema="public",
                 working_directory="/srv")
    assert result.problems == ()
    assert result.text == ("public gate app_db 2024-03-09 14:05:07 V1__x.sql /srv "
                           "flyway_schema_history default")
    assert BUILTIN_NAMES == ("defaultSchema", "user", "database", "timestamp", "filename",
                             "workingDirectory", "table", "environment")


def test_builtins_follow_the_configuration() -> None:
    settings = FlywaySettings(schemas=("s1", "s2"), table="history", environment="prod",
                              placeholder_separator="_")
    values = builtin_placeholders(settings, file_name="R__v.sql", now=NOW)
    assert values["flyway_defaultSchema"] == "s1"
    assert values["flyway_table"] == "history" and values["flyway_environment"] == "prod"
    assert "flyway_database" not in values  # only a connection knows it
    assert values["flyway_user"] is None  # Flyway's null: replaced by nothing
    assert run("[${flyway_user}]", settings).text == "[]"


def test_builtins_win_over_user_placeholders_of_the_same_name() -> None:
    settings = FlywaySettings(placeholders=(("flyway:table", "mine"),))
    assert run("${flyway:table}", settings).text == "flyway_schema_history"


def test_empty_value_and_values_not_rescanned() -> None:
    settings = FlywaySettings(placeholders=(("a", "${b}"), ("b", "B"), ("e", "")))
    assert run("[${e}] ${a}", settings).text == "[] ${b}"


def test_undefined_placeholder_is_a_problem_with_its_place() -> None:
    result = run("SELECT 1;\n  SELECT ${nope}, ${flyway:nothing};")
    assert [(p.issue, p.name, p.line, p.column) for p in result.problems] == [
        (PlaceholderIssue.UNDEFINED, "nope", 2, 10),
        (PlaceholderIssue.UNDEFINED, "flyway:nothing", 2, 19),
    ]
    assert result.problems[0].message == (
        "No value provided for placeholder: ${nope}.  Check your configuration!")
    assert result.problems[1].message == (
        "Failed to populate value for default placeholder: ${flyway:nothing}")
    assert "flyway.placeholders.nope" in result.problems[0].hint
    assert result.text == "SELECT 1;\n  SELECT ${nope}, ${flyway:nothing};"


def test_unclosed_placeholder_is_a_problem() -> None:
    result = run("SELECT ${schema};\r\nSELECT '${oops;\nSELECT 2;")
    [found] = result.problems
    assert (found.issue, found.line, found.column) == (PlaceholderIssue.UNCLOSED, 2, 9)
    assert "never closed" in found.message
    assert result.text == "SELECT app;\r\nSELECT '${oops;\nSELECT 2;"


def test_a_dollar_before_the_prefix_hides_the_placeholder() -> None:
    """Flyway hands back read-ahead characters without re-scanning them."""
    assert run("$${schema} $x${schema} $").text == "$${schema} $xapp $"


def test_configured_prefix_and_suffix() -> None:
    settings = FlywaySettings(placeholder_prefix="#[", placeholder_suffix="]#",
                              placeholders=(("s", "app"),))
    assert run("#[s]# ${s} #[s] ]#", settings).text == "app ${s} #[s] ]#"
    assert run("##[s]#", settings).text == "##[s]#"  # the same read-ahead quirk


def test_replacement_can_be_switched_off() -> None:
    off = FlywaySettings(placeholder_replacement=False)
    assert run("${nope}", off).problems == ()
    assert replace_placeholders("${nope}", SETTINGS, {}, enabled=False).text == "${nope}"


def test_flyway_runner_checksums_repeatables_after_replacement() -> None:
    runner = RUNNERS["flyway"]
    assert isinstance(runner, FlywayRunner)
    repeatable = runner.parse_name("R__grants.sql")
    versioned = runner.parse_name("V1__grants.sql")
    assert isinstance(repeatable, ParsedMigration) and isinstance(versioned, ParsedMigration)
    content = b"GRANT SELECT ON t TO ${flyway:user};\n"
    as_gate = runner.repeatable_checksum(repeatable, content, {"flyway:user": "gate"})
    as_other = runner.repeatable_checksum(repeatable, content, {"flyway:user": "other"})
    assert as_gate != as_other  # a changed value re-runs a repeatable
    assert as_gate == checksum(b"GRANT SELECT ON t TO gate;\n")
    assert runner.repeatable_checksum(versioned, content, {"flyway:user": "gate"}) == (
        runner.checksum(versioned, content))


@given(st.text(st.characters(exclude_categories=["Cs"], exclude_characters="$"), max_size=60))
def test_text_without_the_prefix_is_untouched(text: str) -> None:
    assert run(text) == PlaceholderResult(text)


@given(st.text(st.sampled_from("${}ab:\n"), max_size=30))
def test_never_raises_and_problems_point_at_a_prefix(text: str) -> None:
    result = run(text)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for found in result.problems:
        assert lines[found.line - 1][found.column - 1:].startswith("${")
