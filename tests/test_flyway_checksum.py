"""Flyway's checksum (docs/flyway.md §3) against vectors computed by Java itself.

tests/data/flyway-checksums.json was produced by a throwaway Java 17 program (kept outside the
repository) running `ChecksumCalculator`'s loop: `BufferedReader.readLine` over a UTF-8
decoder that reports malformed input, the BOM dropped from the first line, `CRC32.update` on
each line's UTF-8 bytes, `(int) crc.getValue()`.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migration_gate.runners import RUNNERS, ContentProblem, ParsedMigration
from migration_gate.runners.flyway_checksum import checksum, checksum_text, to_int32

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "flyway-checksums.json").read_text("utf-8"))["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["name"])
def test_checksum_equals_java(vector: dict[str, Any]) -> None:
    got = checksum(bytes.fromhex(vector["content_hex"]))
    if vector["checksum"] == "error":
        assert isinstance(got, ContentProblem) and "Unable to calculate checksum" in got.reason
    else:
        assert got == vector["checksum"]


def test_vectors_cover_the_edge_cases() -> None:
    names = {v["name"] for v in VECTORS}
    assert {"empty", "lf", "crlf", "cr", "bom", "no-final-newline", "non-ascii", "blank-lines",
            "invalid-utf8"} <= names
    by_name = {v["name"]: v["checksum"] for v in VECTORS}
    # line endings, a BOM and the final newline never change Flyway's checksum
    assert by_name["lf"] == by_name["crlf"] == by_name["cr"] == by_name["bom"] == by_name[
        "no-final-newline"]
    assert by_name["empty"] == by_name["only-newlines"] == by_name["bom-only"] == 0
    assert any(isinstance(v["checksum"], int) and v["checksum"] < 0 for v in VECTORS)


def test_runner_checksum_is_the_stored_int() -> None:
    runner = RUNNERS["flyway"]
    migration = runner.parse_name("V1__Create_person_table.sql")
    assert isinstance(migration, ParsedMigration)
    sample = next(v for v in VECTORS if v["name"] == "flyway-sample")
    assert runner.checksum(migration, bytes.fromhex(sample["content_hex"])) == sample["checksum"]


lines = st.lists(st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"),
                         max_size=12), max_size=6)


@given(lines, st.lists(st.sampled_from(["\n", "\r\n", "\r", "\n\n", "\r\r\n"]), min_size=6,
                       max_size=6), st.booleans(), st.booleans())
def test_line_endings_bom_and_final_newline_do_not_matter(
    parts: list[str], endings: list[str], bom: bool, final: bool
) -> None:
    plain = "\n".join(parts)
    varied = "".join(p + e for p, e in zip(parts, endings, strict=False))
    if not final and parts:
        varied = varied[: len(varied) - len(endings[len(parts) - 1])]
    if bom and not plain.startswith("\ufeff"):
        varied = "\ufeff" + varied
    assert checksum(varied.encode("utf-8")) == checksum(plain.encode("utf-8"))


@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=40))
def test_checksum_is_crc32_of_the_lines_as_a_signed_int(text: str) -> None:
    got = checksum_text(text)
    assert -(2**31) <= got < 2**31
    body = text[1:] if text.startswith("\ufeff") else text
    expected = zlib.crc32(body.replace("\r", "").replace("\n", "").encode("utf-8"))
    assert to_int32(expected) == got
    assert got % 2**32 == expected


def test_other_characters_change_it() -> None:
    base = checksum(b"SELECT 1;\n")
    assert checksum(b"SELECT 1; \n") != base
    assert checksum(b"select 1;\n") != base
    assert checksum("SELECT 1;\u2028".encode()) != base  # not a line end for readLine


def test_declared_encoding() -> None:
    latin = "SELECT 'café';\n".encode("latin-1")
    assert isinstance(checksum(latin), ContentProblem)
    assert checksum(latin, "ISO-8859-1") == checksum("SELECT 'café';\n".encode())
    assert isinstance(checksum(b"x", "no-such-charset"), ContentProblem)
