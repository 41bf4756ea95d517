"""Property tests: `refinery.parse_file_name` agrees with refinery's own pattern.

The reference below is built from the specification alone (docs/refinery.md#file-names):

    ^([U|V])(\\d+(?:\\.\\d+)?)__(\\w+)\\.(rs|sql)$        (Rust `regex` crate, Unicode mode)

Python's `re` is not Rust's `regex`: its `\\w` is "alphanumeric or `_`" and its `$` also matches
before a final newline. So the reference compiles a Python pattern whose word class is
*enumerated* from Unicode's definition of `\\w` (UTS #18 Annex C, what Rust implements):
Alphabetic | Mark | Decimal_Number | Connector_Punctuation | Join_Control, where Alphabetic =
Lu | Ll | Lt | Lm | Lo | Nl | Other_Alphabetic. Other_Alphabetic outside the marks is only the
circled and squared Latin letters (PropList.txt). The table is built over every code point
that this Python's `unicodedata` knows; characters assigned after its Unicode version are
unassigned here for the parser and the reference alike.

Unicode `\\w` edge cases chosen on purpose (where Python's `\\w` and Rust's differ, or nearly):
- `²` U+00B2 and `½` U+00BD (No): Python `\\w` accepts them, Rust rejects them;
- U+0301 COMBINING ACUTE ACCENT (Mn) and U+0903 DEVANAGARI SIGN VISARGA (Mc): Rust accepts
  marks, Python rejects them;
- `‿` U+203F UNDERTIE (Pc): Rust accepts connector punctuation, Python only `_`;
- U+200D ZERO WIDTH JOINER and U+200C ZWNJ (Cf, Join_Control): Rust accepts, Python rejects;
- `Ⓐ` U+24B6 and `🄰` U+1F130 (So, Other_Alphabetic): Rust accepts, Python rejects;
- `Ⅻ` U+216B (Nl): both accept; `ǅ` (Lt): both accept;
- `١` U+0661 ARABIC-INDIC DIGIT ONE (Nd): `\\d` matches, but the version is not an i32 → invalid;
- a final `\\n` (`V1__x.sql\\n`): Rust's `$` is the end of the text, so no match.
"""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from migration_gate import refinery
from migration_gate.checks.folder import corrected_name
from migration_gate.pipeline import format_version, normalise_description, suggest_file_name
from migration_gate.refinery import MigrationName, NameIssue, NameProblem, Prefix
from tests.conftest import clean_env

# --- the reference ----------------------------------------------------------------------------

_ALPHABETIC_CATEGORIES = {"Lu", "Ll", "Lt", "Lm", "Lo", "Nl"}
_OTHER_ALPHABETIC_NON_MARK = [(0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169),
                              (0x1F170, 0x1F189)]
_JOIN_CONTROL = {0x200C, 0x200D}


def _in_unicode_word(point: int) -> bool:
    category = unicodedata.category(chr(point))
    return (
        category in _ALPHABETIC_CATEGORIES
        or any(low <= point <= high for low, high in _OTHER_ALPHABETIC_NON_MARK)
        or category.startswith("M")
        or category in ("Nd", "Pc")
        or point in _JOIN_CONTROL
    )


def _word_class() -> str:
    ranges: list[tuple[int, int]] = []
    for point in range(0x110000):
        if 0xD800 <= point <= 0xDFFF or not _in_unicode_word(point):
            continue
        if ranges and ranges[-1][1] == point - 1:
            ranges[-1] = (ranges[-1][0], point)
        else:
            ranges.append((point, point))
    return "".join(
        re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
        for low, high in ranges
    )


#: `$` → `\Z`: Rust's `$` (without multi-line mode) only matches at the very end.
REFERENCE = re.compile(rf"^([U|V])(\d+(?:\.\d+)?)__([{_word_class()}]+)\.(rs|sql)\Z")
#: the reference's word class alone: a whole text of Rust `\\w` characters
_REFERENCE_WORD = re.compile(rf"[{_word_class()}]+")


def reference_parse(file_name: str, extensions: tuple[str, ...], int8: bool) -> object:
    match = REFERENCE.match(file_name)
    if match is None or match.group(4) not in extensions:
        return NameIssue.NO_MATCH
    prefix, version_text, name, extension = match.groups()
    # refinery parses the version first (`captures[2].parse()?`), then matches the prefix,
    # where `|` reaches `unreachable!()`. Rust's `str::parse::<i32>` takes ASCII digits only;
    # leading zeros are fine.
    limit = 2**63 - 1 if int8 else 2**31 - 1
    if not re.fullmatch(r"[0-9]+", version_text) or int(version_text) > limit:
        return NameIssue.INVALID_VERSION
    if prefix == "|":
        return NameIssue.PIPE_PREFIX
    return (prefix, int(version_text), name, extension)


def implementation_parse(file_name: str, extensions: tuple[str, ...], int8: bool) -> object:
    parsed = refinery.parse_file_name(file_name, extensions=extensions, int8_versions=int8)
    if isinstance(parsed, NameProblem):
        return parsed.issue
    return (parsed.prefix.value, parsed.version, parsed.name, parsed.extension)


# --- generated names --------------------------------------------------------------------------

EDGE_CHARS = "²½\u0301\u0903‿\u200d\u200cⒶ🄰Ⅻǅ١٣_aZz09-. |é\n\t/ßİ"
name_chars = st.one_of(st.sampled_from(EDGE_CHARS), st.characters(exclude_categories=["Cs"]))
digits = st.one_of(
    st.text(st.sampled_from("0123456789١٢²"), max_size=12),
    st.sampled_from(["2147483647", "2147483648", "9223372036854775807",
                     "9223372036854775808", "0", "007", "00000000000000000001"]),
)
versions = st.tuples(digits, st.one_of(st.just(""), digits.map(lambda d: "." + d))).map("".join)
file_names = st.one_of(
    st.tuples(
        st.sampled_from(["V", "U", "v", "u", "|", "X", "", "VV", " V"]),
        versions,
        st.sampled_from(["__", "_", "___", "-", "", "__ "]),
        st.text(name_chars, max_size=8),
        st.sampled_from([".sql", ".rs", ".SQL", ".txt", "", ".sql\n", ".sql.bak", "sql", ".Sql"]),
    ).map("".join),
    st.text(max_size=20),
)


PARSER_INPUTS = (file_names, st.sampled_from([("sql",), ("rs", "sql")]), st.booleans())


def assert_parser_agrees(file_name: str, extensions: tuple[str, ...], int8: bool) -> None:
    assert implementation_parse(file_name, extensions, int8) == reference_parse(
        file_name, extensions, int8
    )


# Each property runs twice: a sample in the fast loop, the thorough run (`slow`) in the full suite.


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(*PARSER_INPUTS)
def test_parser_agrees_with_refinery_pattern(
    file_name: str, extensions: tuple[str, ...], int8: bool
) -> None:
    assert_parser_agrees(file_name, extensions, int8)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(*PARSER_INPUTS)
def test_parser_agrees_with_refinery_pattern_thoroughly(
    file_name: str, extensions: tuple[str, ...], int8: bool
) -> None:
    assert_parser_agrees(file_name, extensions, int8)


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("V1__x².sql", NameIssue.NO_MATCH),
        ("V1__x½.sql", NameIssue.NO_MATCH),
        ("V1__cafe\u0301.sql", ("V", 1, "cafe\u0301", "sql")),
        ("V1__a‿b.sql", ("V", 1, "a‿b", "sql")),
        ("V1__a\u200db.sql", ("V", 1, "a\u200db", "sql")),
        ("V1__Ⓐ.sql", ("V", 1, "Ⓐ", "sql")),
        ("V1__Ⅻ.sql", ("V", 1, "Ⅻ", "sql")),
        ("V١__x.sql", NameIssue.INVALID_VERSION),
        ("V1__x.sql\n", NameIssue.NO_MATCH),
        ("V1.5__x.sql", NameIssue.INVALID_VERSION),
        ("V2147483648__x.sql", NameIssue.INVALID_VERSION),
        ("V2147483647__x.sql", ("V", 2147483647, "x", "sql")),
        ("|1__x.sql", NameIssue.PIPE_PREFIX),
        ("|1.5__x.sql", NameIssue.INVALID_VERSION),
        ("V1__a__b.sql", ("V", 1, "a__b", "sql")),
        ("V008__x.sql", ("V", 8, "x", "sql")),
        ("v1__x.sql", NameIssue.NO_MATCH),
        ("V1__x.SQL", NameIssue.NO_MATCH),
        ("V1_x.sql", NameIssue.NO_MATCH),
        ("V1__x.rs", ("V", 1, "x", "rs")),
        ("U3__x.sql", ("U", 3, "x", "sql")),
    ],
)
def test_documented_edge_cases(file_name: str, expected: object) -> None:
    extensions = ("rs", "sql")
    assert implementation_parse(file_name, extensions, False) == expected
    assert reference_parse(file_name, extensions, False) == expected


def test_int8_versions_widen_the_range() -> None:
    name = "V2147483648__x.sql"
    assert implementation_parse(name, ("sql",), True) == ("V", 2147483648, "x", "sql")
    assert implementation_parse("V9223372036854775808__x.sql", ("sql",), True) is (
        NameIssue.INVALID_VERSION
    )


def test_rs_is_only_for_embed_migrations() -> None:
    assert implementation_parse("V1__x.rs", ("sql",), False) is NameIssue.NO_MATCH


# --- the names the gate suggests --------------------------------------------------------------

paddings = st.integers(min_value=0, max_value=10)
good_versions = st.integers(min_value=1, max_value=2**31 - 1)


def _is_valid(file_name: str, version: int) -> bool:
    parsed = refinery.parse_file_name(file_name)
    return isinstance(parsed, MigrationName) and parsed.version == version


CORRECTION_INPUTS = (st.one_of(file_names, st.text(name_chars, max_size=30)), good_versions,
                     paddings)
SUGGESTION_INPUTS = (st.text(name_chars, max_size=30), good_versions, paddings)


def assert_corrected_name_is_valid(file_name: str, version: int, padding: int) -> None:
    fixed = corrected_name(file_name, version, padding)
    assert _is_valid(fixed, version), fixed


@settings(max_examples=100, deadline=None)
@given(*CORRECTION_INPUTS)
def test_every_corrected_name_is_valid_for_refinery(
    file_name: str, version: int, padding: int
) -> None:
    assert_corrected_name_is_valid(file_name, version, padding)


@pytest.mark.slow
@settings(max_examples=800, deadline=None)
@given(*CORRECTION_INPUTS)
def test_every_corrected_name_is_valid_for_refinery_thoroughly(
    file_name: str, version: int, padding: int
) -> None:
    assert_corrected_name_is_valid(file_name, version, padding)


def assert_suggestion_is_valid(description: str, version: int, padding: int) -> None:
    name = normalise_description(description)
    assume(name)
    suggestion = suggest_file_name(version, name, padding)
    assert _is_valid(suggestion, version), suggestion
    parsed = refinery.parse_file_name(suggestion)
    assert isinstance(parsed, MigrationName) and parsed.prefix is Prefix.VERSIONED
    if description.isascii():
        assert re.fullmatch(r"[a-z0-9_]+", name)  # the default naming pattern


@settings(max_examples=100, deadline=None)
@given(*SUGGESTION_INPUTS)
def test_every_suggested_file_name_is_valid_for_refinery(
    description: str, version: int, padding: int
) -> None:
    assert_suggestion_is_valid(description, version, padding)


@pytest.mark.slow
@settings(max_examples=800, deadline=None)
@given(*SUGGESTION_INPUTS)
def test_every_suggested_file_name_is_valid_for_refinery_thoroughly(
    description: str, version: int, padding: int
) -> None:
    assert_suggestion_is_valid(description, version, padding)


@given(good_versions, paddings)
def test_format_version_is_padded_and_round_trips(version: int, padding: int) -> None:
    text = format_version(version, padding)
    assert text.startswith("V") and int(text[1:]) == version
    assert len(text) - 1 == max(padding, len(str(version)))


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("add profiles", "add_profiles"),
        ("Add Profiles!", "add_profiles"),
        ("  add--profiles__table ", "add_profiles_table"),
        ("Café crème", "cafe_creme"),
        ("x²", "x2"),
        ("добавить профиль", "добавить_профиль"),
        ("!!!", ""),
    ],
)
def test_normalise_description(description: str, expected: str) -> None:
    assert normalise_description(description) == expected


@pytest.fixture(scope="module")
def plain_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("nv") / "project"
    (project / "migrations").mkdir(parents=True)
    for number in (1, 2, 3):
        (project / "migrations" / f"V{number:04d}__m{number}.sql").write_text("SELECT 1;\n")
    return project


@pytest.mark.slow
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(description=st.text(name_chars, min_size=1, max_size=20))
def test_next_version_output_always_parses(plain_project: Path, description: str) -> None:
    """The real command: its answer is a valid name, or one clear exit-2 line."""
    assume("\x00" not in description and not description.startswith("-"))
    done = subprocess.run(
        [sys.executable, "-m", "migration_gate", "next-version", description],
        cwd=plain_project, env=clean_env(), capture_output=True, text=True, timeout=60,
    )
    assert "Traceback" not in done.stderr
    if done.returncode == 2:
        assert len(done.stderr.strip().splitlines()) == 1
        assert normalise_description(description) == ""
        return
    assert done.returncode == 0, done.stderr
    assert _is_valid(done.stdout.strip(), 4)
    assert done.stdout.startswith("V0004__")


# --- the ASCII fast path (issue 16) -----------------------------------------------------------

_ASCII_TEXT = st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=30)


@settings(max_examples=600, deadline=None)
@given(_ASCII_TEXT)
def test_ascii_fast_path_agrees_with_the_per_character_check(name: str) -> None:
    """One regular expression for ASCII names, the Unicode category test per character for the
    rest: on any ASCII text both must say the same, the empty text included."""
    slow = bool(name) and all(refinery.is_rust_word_char(c) for c in name)
    assert refinery.is_rust_word(name) is slow
    assert (refinery.is_rust_word(name) is True) == (_REFERENCE_WORD.fullmatch(name) is not None)


@settings(max_examples=300, deadline=None)
@given(_ASCII_TEXT, st.text(alphabet=st.characters(min_codepoint=0x80), min_size=1, max_size=3))
def test_a_non_ascii_character_takes_the_unicode_path(name: str, extra: str) -> None:
    """The fast path must not swallow a name that is not all ASCII (`é` and `²` differ)."""
    text = name + extra
    assert refinery.is_rust_word(text) == all(refinery.is_rust_word_char(c) for c in text)
