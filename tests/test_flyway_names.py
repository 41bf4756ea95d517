"""Flyway's file names and versions (docs/flyway.md §1-2): `ResourceNameParser` and
`MigrationVersion`, table-driven and with properties.

The version reference below is written from Java's documented behaviour, independently of the
parser: `BigInteger(String)` takes an optional sign and `Character.digit` digits (BMP `Nd`),
`Pattern.split("\\\\.(?=\\\\d)")` splits only before ASCII digits.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migration_gate.runners import (
    RUNNERS,
    FlywayRunner,
    FlywaySettings,
    Kind,
    NameIssue,
    NameProblem,
    ParsedMigration,
    Version,
    flyway_version,
)
from migration_gate.runners.flyway_names import normalise_description
from migration_gate.runners.flyway_version import (
    VersionError,
    next_version,
    parse_version,
    read_version,
)

FLYWAY = FlywayRunner()
NOW = datetime(2024, 3, 9, 14, 5, 7)


def parsed(name: str, runner: FlywayRunner = FLYWAY) -> ParsedMigration:
    result = runner.parse_name(name)
    assert isinstance(result, ParsedMigration), result
    return result


def problem(name: str, runner: FlywayRunner = FLYWAY) -> NameProblem:
    result = runner.parse_name(name)
    assert isinstance(result, NameProblem), result
    return result


def v(text: str) -> Version:
    version = parse_version(text)
    assert version is not None, text
    return version


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "version", "description"),
    [
        ("V417__ny-egenskap-for-spesialsaker.sql", Kind.VERSIONED, "417",
         "ny-egenskap-for-spesialsaker"),
        ("V1__Create_person_table.sql", Kind.VERSIONED, "1", "Create person table"),
        ("V1.1__x.sql", Kind.VERSIONED, "1.1", "x"),
        ("V1_1__x.sql", Kind.VERSIONED, "1.1", "x"),
        ("V2024.01.15.1__import.sql", Kind.VERSIONED, "2024.01.15.1", "import"),
        ("V20240115103000__stamp.sql", Kind.VERSIONED, "20240115103000", "stamp"),
        ("V001__padded.sql", Kind.VERSIONED, "001", "padded"),
        ("V1__add users table.sql", Kind.VERSIONED, "1", "add users table"),
        ("V1__Æøå_ünïcode.sql", Kind.VERSIONED, "1", "Æøå ünïcode"),
        ("V1__a__b.sql", Kind.VERSIONED, "1", "a  b"),
        ("V1__x.SQL", Kind.VERSIONED, "1", "x"),
        ("R__views.sql", Kind.REPEATABLE, None, "views"),
        ("R__refresh_materialized_views.sql", Kind.REPEATABLE, None, "refresh materialized views"),
        ("U2__drop_users.sql", Kind.UNDO, "2", "drop users"),
        ("B5__baseline.sql", Kind.BASELINE, "5", "baseline"),
        ("beforeMigrate.sql", Kind.CALLBACK, None, ""),
        ("afterMigrate__grants.sql", Kind.CALLBACK, None, "grants"),
        ("V١__arabic_digit.sql", Kind.VERSIONED, "١", "arabic digit"),
        ("V-1__negative.sql", Kind.VERSIONED, "-1", "negative"),
    ],
)
def test_names_flyway_accepts(name: str, kind: Kind, version: str | None,
                              description: str) -> None:
    result = parsed(name)
    assert result.kind is kind
    assert (result.version.display if result.version else None) == version
    assert result.description == description
    assert result.file_name == name


@pytest.mark.parametrize(
    ("name", "issue", "suggestion", "flyway_says"),
    [
        ("V1..2__x.sql", NameIssue.INVALID_VERSION, "V1.2__x.sql",
         "Invalid versioned migration name format: V1..2__x.sql (could not recognise version "
         "number 1..2)"),
        ("V__x.sql", NameIssue.MISSING_VERSION, None,
         "Invalid versioned migration name format: V__x.sql (It must contain a version and should "
         "look like this: V1.2__x.sql)"),
        ("V3.sql", NameIssue.MISSING_DESCRIPTION, "V3__migration.sql", None),
        ("R1__x.sql", NameIssue.UNEXPECTED_VERSION, "R__x.sql",
         "Invalid repeatable migration / callback name format: R1__x.sql (It cannot contain a "
         "version and should look like this: R__x.sql)"),
        ("v1__x.sql", NameIssue.NOT_A_MIGRATION, "V1__x.sql",
         "Unrecognised migration name format: v1__x.sql"),
        ("V1__x.txt", NameIssue.NOT_A_MIGRATION, "V1__x.sql", None),
        ("V1-x.sql", NameIssue.INVALID_VERSION, "V1__x.sql",
         "Invalid versioned migration name format: V1-x.sql (could not recognise version number "
         "1-x)"),
        ("V1.2a__x.sql", NameIssue.INVALID_VERSION, "V1.2__x.sql", None),
        ("Vcurrent__x.sql", NameIssue.RESERVED_VERSION, None, None),
        ("VLATEST__x.sql", NameIssue.RESERVED_VERSION, None, None),
        ("V9223372036854775807__x.sql", NameIssue.RESERVED_VERSION, None, None),
        ("V𝟏__math_digit.sql", NameIssue.INVALID_VERSION, None, None),
        ("1__no_prefix.sql", NameIssue.NOT_A_MIGRATION, "V1__no_prefix.sql", None),
        ("r__views.sql", NameIssue.NOT_A_MIGRATION, "R__views.sql", None),
        ("R.sql", NameIssue.MISSING_DESCRIPTION, "R__migration.sql", None),
    ],
)
def test_bad_names_give_one_problem_with_a_fix(
    name: str, issue: NameIssue, suggestion: str | None, flyway_says: str | None
) -> None:
    found = problem(name)
    assert found.issue is issue
    assert found.reason and "\n" not in found.reason
    assert found.suggestion == suggestion
    if flyway_says is not None:
        assert found.runner_message == flyway_says
    if found.suggestion is not None:
        fixed = parsed(found.suggestion)
        assert fixed.kind is found.fix.kind
    else:  # the caller allocates the version; the rest of the fix is there
        assert found.fix.version is None
        assert found.fix.kind is Kind.VERSIONED


def test_flyway_runs_v3_sql_without_description() -> None:
    found = problem("V3.sql")
    assert found.accepted_as is not None and found.accepted_as.version == v("3")
    assert found.accepted_as.description == ""
    assert problem("R.sql").accepted_as is None  # shorter than prefix + suffix: never resolved


def test_validate_migration_naming_makes_bad_names_fatal() -> None:
    strict = FlywayRunner(FlywaySettings(validate_migration_naming=True))
    assert problem("V1..2__x.sql", strict).runner_fails
    assert problem("v1__x.sql", strict).runner_fails
    assert not problem("V1..2__x.sql").runner_fails  # silently skipped by default
    assert not problem("V1__x.txt", strict).runner_fails  # not a .sql file: never looked at


def test_configured_prefixes_separator_and_suffixes() -> None:
    runner = FlywayRunner(FlywaySettings(
        sql_migration_prefix="M", repeatable_sql_migration_prefix="RR",
        sql_migration_separator="-", sql_migration_suffixes=(".pgsql", ".sql"),
        baseline_migration_prefix="BASE", undo_sql_migration_prefix=None))
    assert parsed("M1.2-add_users.pgsql", runner).version == v("1.2")
    assert parsed("RR-views.sql", runner).kind is Kind.REPEATABLE
    assert parsed("BASE3-all.sql", runner).kind is Kind.BASELINE
    assert problem("U1-undo.sql", runner).issue is NameIssue.NOT_A_MIGRATION  # Community
    assert problem("V1__x.sql", runner).issue is NameIssue.NOT_A_MIGRATION
    assert runner.file_name(Kind.REPEATABLE, None, "my views") == "RR-my_views.pgsql"
    assert runner.file_name(Kind.VERSIONED, v("7"), "a-b c") == "M7-a_b_c.pgsql"


def test_longest_prefix_wins() -> None:
    runner = FlywayRunner(FlywaySettings(repeatable_sql_migration_prefix="VR"))
    assert parsed("VR__views.sql", runner).kind is Kind.REPEATABLE
    assert parsed("V1__x.sql", runner).kind is Kind.VERSIONED


def test_clean_file_names_never_mix_kinds() -> None:
    assert FLYWAY.file_name(Kind.REPEATABLE, None, "views") == "R__views.sql"
    assert FLYWAY.file_name(Kind.REPEATABLE, v("4"), "views") == "R__views.sql"
    assert FLYWAY.file_name(Kind.VERSIONED, v("1_1"), "add users") == "V1_1__add_users.sql"
    assert FLYWAY.file_name(Kind.UNDO, v("2"), "drop") == "U2__drop.sql"
    assert FLYWAY.file_name(Kind.BASELINE, v("5"), "all") == "B5__all.sql"
    assert FLYWAY.file_name(Kind.VERSIONED, v("3"), "  ") == "V3__migration.sql"
    assert FLYWAY.file_name(Kind.VERSIONED, v("3"), "a/b:c") == "V3__a_b_c.sql"


# --- properties of the grammar ---------------------------------------------------------------

descriptions = st.text(
    st.one_of(st.characters(exclude_categories=["Cs"]), st.sampled_from("_- .ÆØÅ")), max_size=20)
version_texts = st.lists(st.integers(0, 10**20), min_size=1, max_size=5).flatmap(
    lambda parts: st.sampled_from([".", "_"]).map(lambda sep: sep.join(map(str, parts))))


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=40))
def test_parse_never_raises(name: str) -> None:
    result = FLYWAY.parse_name(name)
    assert isinstance(result, ParsedMigration | NameProblem)
    if isinstance(result, NameProblem):
        assert result.reason
        if result.suggestion is not None:
            assert isinstance(FLYWAY.parse_name(result.suggestion), ParsedMigration)


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(version_texts, descriptions, st.sampled_from([Kind.VERSIONED, Kind.UNDO, Kind.BASELINE,
                                                      Kind.REPEATABLE]))
def test_format_then_parse_round_trips(version_text: str, description: str, kind: Kind) -> None:
    version = v(version_text)
    name = FLYWAY.file_name(kind, version, description)
    result = parsed(name)
    assert result.kind is kind
    assert result.version == (None if kind is Kind.REPEATABLE else version)
    assert "__" not in result.raw_description
    assert result.description == result.raw_description.replace("_", " ")
    # a clean name is a fixed point
    assert FLYWAY.file_name(kind, result.version, result.description) == name


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["V", "R", "U", "B", "v", "", "X"]),
       st.one_of(version_texts, st.text(max_size=4), st.just("")),
       st.sampled_from(["__", "_", "", "___"]), descriptions,
       st.sampled_from([".sql", ".SQL", ".txt", ""]))
def test_parse_then_format_round_trips_clean_names(
    prefix: str, version_text: str, separator: str, description: str, suffix: str
) -> None:
    name = f"{prefix}{version_text}{separator}{description}{suffix}"
    result = FLYWAY.parse_name(name)
    if isinstance(result, NameProblem):
        fixed = result.accepted_as or (parsed(result.suggestion) if result.suggestion else None)
        assert fixed is None or fixed.kind is result.fix.kind
        return
    rebuilt = FLYWAY.file_name(result.kind, result.version, result.description)
    again = parsed(rebuilt)
    assert (again.kind, again.version) == (result.kind, result.version)
    expected = normalise_description(result.description) or "migration"
    assert again.raw_description == expected


# --- versions ----------------------------------------------------------------------------------


def _reference_parts(text: str) -> tuple[int, ...] | None:
    """`new MigrationVersion(text)` from Java's documented behaviour."""
    pieces = re.split(r"\.(?=[0-9])", text.replace("_", "."))
    parts = []
    for piece in pieces:
        match = re.fullmatch(r"([+-]?)(.+)", piece)
        if match is None or not all(ord(c) < 0x10000 and unicodedata.category(c) == "Nd"
                                    for c in match.group(2)):
            return None
        value = int("".join(str(unicodedata.digit(c)) for c in match.group(2)))
        parts.append(-value if match.group(1) == "-" else value)
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _reference_compare(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    width = max(len(a), len(b))
    for i in range(width):
        x = a[i] if i < len(a) else 0
        y = b[i] if i < len(b) else 0
        if x != y:
            return -1 if x < y else 1
    return 0


version_like = st.one_of(
    version_texts,
    st.text(st.sampled_from("0123456789._-+١２𝟏a "), min_size=1, max_size=10),
)


@pytest.mark.slow
@settings(max_examples=600, deadline=None)
@given(version_like)
def test_version_reading_matches_the_java_reference(text: str) -> None:
    read = read_version(text)
    if text.lower() in ("current", "next", "latest"):
        return
    expected = _reference_parts(text)
    if expected is None:
        assert read is VersionError.INVALID
    else:
        assert isinstance(read, Version)
        assert read.parts == expected and read.text == text
        assert read.display == text.replace("_", ".")


@pytest.mark.slow
@settings(max_examples=600, deadline=None)
@given(version_texts, version_texts, version_texts)
def test_version_order_is_a_total_order_consistent_with_flyway(a: str, b: str, c: str) -> None:
    x, y, z = v(a), v(b), v(c)
    expected = _reference_compare(x.parts, y.parts)
    assert (x < y, x == y, x > y) == (expected < 0, expected == 0, expected > 0)
    assert (x <= y) == (not x > y) and (x >= y) == (not x < y)
    if x == y:
        assert hash(x) == hash(y)
    if x <= y and y <= z:
        assert x <= z
    assert sorted([x, y, z]) == sorted([z, y, x])


def test_version_equalities_flyway_has() -> None:
    assert v("1.0") == v("1") == v("1.0.0") == v("1_0") == v("001")
    assert v("1_1") == v("1.1")
    assert v("1.1") < v("1.2") < v("1.10") < v("2")
    assert v("1.0.1") > v("1")
    assert v("-1") < v("0") < v("١")
    assert len({v("1.0"), v("1"), v("1.00")}) == 1


@pytest.mark.parametrize(
    ("versions", "expected"),
    [
        ([], "1"),
        (["1", "2", "3"], "4"),
        (["007", "008"], "009"),
        (["1.1", "1.2"], "1.3"),
        (["1.9"], "1.10"),
        (["1_9"], "1_10"),
        (["2.0.3", "1.9.9"], "2.0.4"),
        (["1.0"], "1.1"),
        (["20240101120000"], "20240309140507"),
        (["202401011200"], "202403091405"),
        (["20240101"], "20240309"),
        (["2024.01.15.1"], "2024.03.09.1"),
        (["2024.03.09.1"], "2024.03.09.2"),
        (["2024_01_15_1"], "2024_03_09_1"),
        (["2024.01.15"], "2024.03.09"),
        (["2024.03.09"], "2024.03.09.1"),
        (["2024.01.15.1030"], "2024.03.09.1405"),
        (["2024.01.15.10.30.00"], "2024.03.09.14.05.07"),
        (["20990101120000"], "20990101120001"),  # a clock behind the newest: count up instead
    ],
)
def test_next_version(versions: list[str], expected: str) -> None:
    assert next_version([v(t) for t in versions], NOW).text == expected
    assert FLYWAY.next_version([v(t) for t in versions], NOW).text == expected


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.lists(version_texts, min_size=1, max_size=6),
       st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2200, 1, 1)))
def test_next_version_is_above_every_version(texts: list[str], now: datetime) -> None:
    versions = [v(t) for t in texts]
    after = next_version(versions, now)
    assert all(after > existing for existing in versions)
    assert parse_version(after.text) == after
    assert isinstance(FLYWAY.parse_name(FLYWAY.file_name(Kind.VERSIONED, after, "x")),
                      ParsedMigration)


def test_registry_holds_flyway_defaults() -> None:
    assert RUNNERS["flyway"] == FlywayRunner()
    assert RUNNERS["flyway"].kinds >= {Kind.VERSIONED, Kind.REPEATABLE, Kind.UNDO, Kind.BASELINE}


# --- the ASCII fast path (issue 16) -----------------------------------------------------------


def _digit_by_digit(part: str) -> int | None:
    """`new BigInteger(part)` the slow way, every character through `Character.digit`."""
    sign, body = (-1 if part[:1] == "-" else 1), part[1:] if part[:1] in ("+", "-") else part
    if not body:
        return None
    value = flyway_version._unicode_digits(body)
    return None if value is None else sign * value


def _marker_char_by_char(text: str) -> bool:
    return text == flyway_version.LATEST_DIGITS or any(
        len(text) == len(marker) and all(
            a.upper() == b.upper() or a.lower() == b.lower()
            for a, b in zip(text, marker, strict=True))
        for marker in ("current", "next", "latest"))


_ASCII_PART = st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=12) | st.from_regex(
    r"[+-]?[0-9_ ]{0,8}", fullmatch=True) | st.sampled_from(
    ["NEXT", "Current", "latest", "lAtEsT", "9223372036854775807", "+", "-", "1_0", " 1"])


def _fast_path_agrees(part: str) -> None:
    """`int()` on ASCII digits, `Character.digit` per character otherwise: the same number, the
    same refusals (`int()` alone would take `1_0` and ` 1`, which BigInteger refuses)."""
    assert flyway_version._big_integer(part) == _digit_by_digit(part)
    assert flyway_version._is_marker(part) == _marker_char_by_char(part)


# a sample in the fast loop, the thorough run (`slow`) in the full suite
@settings(max_examples=100, deadline=None)
@given(_ASCII_PART)
def test_version_fast_path_agrees_with_the_digit_by_digit_read(part: str) -> None:
    _fast_path_agrees(part)


@pytest.mark.slow
@settings(max_examples=800, deadline=None)
@given(_ASCII_PART)
def test_version_fast_path_agrees_thoroughly(part: str) -> None:
    _fast_path_agrees(part)


@pytest.mark.slow  # over 0.6 s in the fast loop
@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"[0-9]{1,4}", fullmatch=True),
       st.sampled_from(["\u0661", "\uff11", "\u0966", "\U0001D7CE", "\u00b2", "\u0131"]))
def test_a_non_ascii_version_takes_the_unicode_path(digits: str, extra: str) -> None:
    """Arabic-Indic and full-width digits are BMP decimal digits Java reads; `𝟎` (outside the
    BMP) and `²` are not; `ı` upper-cases to `I` (a marker test must not fold it away)."""
    part = digits + extra
    assert flyway_version._big_integer(part) == _digit_by_digit(part)
    assert flyway_version._is_marker(part) == _marker_char_by_char(part)
