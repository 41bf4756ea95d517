"""refinery's semantics (docs/refinery.md): checksum vectors, SipHash, applied_on, plan_run."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migration_gate import refinery, siphash
from migration_gate.refinery import (
    AppliedMigration,
    Migration,
    Prefix,
    Verdict,
    format_applied_on,
    is_valid_applied_on,
    plan_run,
)
from tests.conftest import DATA


def _vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "refinery-checksums.json").read_text("utf-8"))
    return data


VECTORS = _vectors()


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_checksum_equals_refinery(vector: dict[str, Any]) -> None:
    got = refinery.checksum(vector["name"], vector["version"], vector["sql"].encode("utf-8"))
    assert str(got) == vector["checksum"]


@pytest.mark.parametrize("vector", VECTORS["int8_versions_vectors"], ids=lambda v: v["name"])
def test_checksum_with_int8_versions(vector: dict[str, Any]) -> None:
    sql = vector["sql"].encode("utf-8")
    got = refinery.checksum(vector["name"], vector["version"], sql, int8_versions=True)
    assert str(got) == vector["checksum"]
    assert refinery.checksum(vector["name"], vector["version"], sql) != got


def test_vectors_are_all_covered() -> None:
    assert len(VECTORS["vectors"]) >= 5 and VECTORS["int8_versions_vectors"]


def test_checksum_is_byte_exact() -> None:
    """A BOM or CRLF changes the checksum (refinery reads bytes as they are)."""
    plain = refinery.checksum("x", 1, b"SELECT 1;\n")
    assert refinery.checksum("x", 1, b"\xef\xbb\xbfSELECT 1;\n") != plain
    assert refinery.checksum("x", 1, b"SELECT 1;\r\n") != plain
    assert refinery.checksum("y", 1, b"SELECT 1;\n") != plain
    assert refinery.checksum("x", 2, b"SELECT 1;\n") != plain


def test_native_large_input_equals_pure() -> None:
    assert siphash._native_available()
    rng = random.Random(7)
    data = bytes(rng.getrandbits(8) for _ in range(siphash.NATIVE_THRESHOLD + 13))
    pure = siphash.siphash13(bytes(16), data)
    assert siphash._native_hash(data) == pure
    assert siphash.siphash13_zero_key(data) == pure


def test_large_migration_checksum_goes_native_and_agrees() -> None:
    sql = ("INSERT INTO t VALUES (1, 'é');\n" * 40_000).encode("utf-8")
    assert len(sql) > siphash.NATIVE_THRESHOLD
    message = b"big\xff" + (3).to_bytes(4, "little", signed=True) + sql + b"\xff"
    assert refinery.checksum("big", 3, sql) == siphash.siphash13(bytes(16), message)


def test_pure_siphash13_matches_cpython_on_every_length() -> None:
    """CPython's C SipHash-1-3 under PYTHONHASHSEED=0 (a zero key) is an independent oracle:
    every tail length (0..7 bytes after the blocks) and several block counts, in one child."""
    rng = random.Random(11)
    inputs = [bytes(rng.getrandbits(8) for _ in range(length)) for length in range(1, 90)]
    script = (
        "import sys\n"
        "for line in sys.stdin.read().split():\n"
        "    print(hash(bytes.fromhex(line)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", script], input="\n".join(b.hex() for b in inputs),
        capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"}, check=True,
    )
    native = [int(line) & 0xFFFFFFFFFFFFFFFF for line in done.stdout.split()]
    assert native == [siphash.siphash13(bytes(16), data) for data in inputs]


# --- applied_on -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2024, 5, 4, 9, 2, 41, 500000, tzinfo=timezone.utc), "2024-05-04T09:02:41.5Z"),
        (datetime(2024, 5, 4, 9, 2, 41, tzinfo=timezone.utc), "2024-05-04T09:02:41Z"),
        (datetime(2024, 5, 4, 9, 2, 41, 123456, tzinfo=timezone.utc),
         "2024-05-04T09:02:41.123456Z"),
        (datetime(2024, 5, 4, 9, 2, 41, 1, tzinfo=timezone.utc), "2024-05-04T09:02:41.000001Z"),
        (datetime(2024, 5, 4, 11, 2, 41, tzinfo=timezone(timedelta(hours=2))),
         "2024-05-04T09:02:41Z"),
    ],
)
def test_applied_on_format(moment: datetime, text: str) -> None:
    assert format_applied_on(moment) == text
    assert is_valid_applied_on(text)


@given(st.datetimes(timezones=st.just(timezone.utc)))
def test_applied_on_always_readable_back(moment: datetime) -> None:
    text = format_applied_on(moment)
    assert is_valid_applied_on(text)
    assert not text.endswith("0Z") or "." not in text  # trailing zeros of the fraction stripped
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert parsed == moment


@pytest.mark.parametrize("bad", ["2024-05-04", "2024-05-04T09:02:41", "yesterday", ""])
def test_applied_on_rejects_what_refinery_cannot_read(bad: str) -> None:
    assert not is_valid_applied_on(bad)


def test_checksum_text_validation() -> None:
    assert refinery.is_valid_checksum_text("18446744073709551615")
    assert not refinery.is_valid_checksum_text("18446744073709551616")
    assert not refinery.is_valid_checksum_text("-1")
    assert not refinery.is_valid_checksum_text("")


# --- plan_run (docs/refinery.md#how-a-run-decides) ---------------------------------------------


def v(version: int, name: str, digest: int = 1, prefix: Prefix = Prefix.VERSIONED) -> Migration:
    return Migration(prefix, version, name, digest)


def row(version: int, name: str, digest: int = 1) -> AppliedMigration:
    return AppliedMigration(version, name, digest, "2024-05-04T09:02:41Z")


def test_plan_empty_history_applies_everything_in_version_order() -> None:
    plan = plan_run([], [v(3, "c"), v(1, "a"), v(2, "b")])
    assert plan.current == -1
    assert plan.issues == ()
    assert [m.version for m in plan.to_apply] == [1, 2, 3]


def test_plan_divergent_by_name() -> None:
    plan = plan_run([row(3, "a")], [v(3, "b")])
    [issue] = plan.issues
    assert issue.verdict is Verdict.DIVERGENT
    assert issue.message == "applied migration V3__a is different than filesystem one V3__b"
    assert plan.to_apply == ()


def test_plan_divergent_by_checksum() -> None:
    plan = plan_run([row(3, "a", digest=10)], [v(3, "a", digest=11)])
    [issue] = plan.issues
    assert issue.verdict is Verdict.DIVERGENT
    assert issue.message == "applied migration V3__a is different than filesystem one V3__a"


def test_plan_missing() -> None:
    plan = plan_run([row(1, "a"), row(2, "x")], [v(1, "a")])
    [issue] = plan.issues
    assert issue.verdict is Verdict.MISSING
    assert issue.message == "migration V2__x is missing from the filesystem"


def test_plan_versioned_file_below_current_is_reported_missing_and_skipped() -> None:
    plan = plan_run([row(1, "a"), row(3, "c")], [v(1, "a"), v(2, "b"), v(3, "c"), v(4, "d")])
    [issue] = plan.issues
    assert issue.verdict is Verdict.OUT_OF_ORDER
    assert issue.message == "migration V2__b is missing from the filesystem"
    assert [m.version for m in plan.to_apply] == [4]


def test_plan_unversioned_below_current_is_applied_out_of_order() -> None:
    local = [v(1, "a"), v(2, "b", prefix=Prefix.UNVERSIONED), v(3, "c")]
    plan = plan_run([row(1, "a"), row(3, "c")], local)
    assert plan.issues == ()
    assert [m.display for m in plan.to_apply] == ["U2__b"]


def test_plan_target_applies_up_to_it_and_never_rolls_back() -> None:
    local = [v(n, f"m{n}") for n in range(1, 6)]
    plan = plan_run([row(1, "m1")], local, target=3)
    assert [m.version for m in plan.to_apply] == [2, 3]


def test_plan_target_below_current_applies_nothing() -> None:
    local = [v(n, f"m{n}") for n in range(1, 6)]
    plan = plan_run([row(n, f"m{n}") for n in range(1, 5)], local, target=2)
    assert plan.to_apply == ()
    assert plan.issues == ()


def test_duplicate_message_text() -> None:
    assert (
        refinery.duplicate_message("V1__initial")
        == "migration V1__initial is repeated, migration versions must be unique"
    )


def test_history_ddl_matches_refinery() -> None:
    ddl = refinery.history_table_ddl("postgres")
    assert ddl.startswith("CREATE TABLE IF NOT EXISTS refinery_schema_history(")
    assert "version int4 PRIMARY KEY" in ddl and "checksum VARCHAR(255)" in ddl
    assert "version int8 PRIMARY KEY" in refinery.history_table_ddl("postgres", int8=True)
    mssql = refinery.history_table_ddl("mssql", "hist")
    assert mssql.startswith("IF NOT EXISTS(SELECT 1 FROM sys.Tables WHERE Name = N'hist')")
    assert "version INT PRIMARY KEY" in mssql
