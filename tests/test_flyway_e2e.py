"""A Flyway project through the real CLI, as a new user meets it (issue 10's "done when").

main holds `V1__init.sql`, `V1.1__add-name.sql`, `V2__add_age.sql` and `R__views.sql`; a
branch adds a second `V2`. Flyway's own rules decide: the duplicate fails naming both files
with a free `V3` as the fix, `next-version` is `V3`, an edited repeatable is fine, and `list`
shows the checksums Flyway would store. A refinery project keeps its old answers.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

from tests.conftest import Repo, make_repo, one_line_error, run_gate, seed_migrations

MAIN = {
    "V1__init.sql": "CREATE TABLE IF NOT EXISTS person (id bigint PRIMARY KEY);\n",
    "V1.1__add-name.sql": "ALTER TABLE person ADD COLUMN IF NOT EXISTS name text;\n",
    "V2__add_age.sql": "ALTER TABLE person ADD COLUMN IF NOT EXISTS age int;\n",
    "R__views.sql": "CREATE OR REPLACE VIEW adults AS SELECT id FROM person;\n",
}


def flyway_crc32(text: str) -> int:
    """Flyway's checksum computed independently: CRC32 over the lines without their line
    endings (Java's `BufferedReader.readLine`), as a signed 32-bit int."""
    value = zlib.crc32("".join(text.splitlines()).encode("utf-8"))
    return value - 2**32 if value >= 2**31 else value


@pytest.fixture
def flyway(tmp_path: Path) -> Repo:
    repo = make_repo(tmp_path / "flyway")
    for name, sql in MAIN.items():
        repo.write(f"migrations/{name}", sql)
    repo.commit("main")
    repo.git("checkout", "-q", "-b", "feature")
    return repo


def check_json(repo: Repo, *args: str) -> tuple[int, dict[str, object]]:
    done = repo.gate("check", "--no-verify", "--base", "main", "--format", "json", *args)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stdout + done.stderr
    document: dict[str, object] = json.loads(done.stdout)
    return done.returncode, document


@pytest.mark.slow
def test_a_second_v2_fails_naming_both_files_and_proposes_v3(flyway: Repo) -> None:
    flyway.write("migrations/V2__add-email.sql",
                 "ALTER TABLE person ADD COLUMN IF NOT EXISTS email text;\n")
    flyway.commit("email")
    code, document = check_json(flyway)
    assert code == 1
    assert document["runner"] == {
        "name": "flyway",
        "reason": "R__views.sql is a Flyway repeatable migration (migrations/R__views.sql)",
    }
    diagnostics = document["diagnostics"]
    assert isinstance(diagnostics, list)
    duplicates = [d for d in diagnostics if d["rule"] == "duplicate-version"]
    assert len(duplicates) == 1  # one finding per cause, the other file related to it
    assert {d["path"] for d in duplicates} | {r["path"] for d in duplicates
                                              for r in d.get("related", [])} == {
        "migrations/V2__add-email.sql", "migrations/V2__add_age.sql"}
    assert all("V2__add-email.sql" in d["message"] and "V2__add_age.sql" in d["message"]
               for d in duplicates)
    # the history findings' hints: a file's lock-timeout hint is another finding's
    hints = {d["path"]: d["hint"] for d in diagnostics
             if d["hint"] and d["rule"] in ("duplicate-version", "version-not-after-base")}
    assert hints["migrations/V2__add-email.sql"] == "rename to V3__add-email.sql"
    assert "migrations/V2__add_age.sql" not in hints  # the merged file keeps its version
    # no hyphenated or dotted name is "invalid" for Flyway
    assert not [d for d in diagnostics if d["rule"] in ("invalid-filename", "invalid-version")]
    text = flyway.gate("check", "--no-verify", "--base", "main")
    assert text.returncode == 1
    assert "runner: flyway (R__views.sql is a Flyway repeatable migration" in text.stdout
    assert "hint: rename to V3__add-email.sql" in text.stdout


@pytest.mark.slow
def test_next_version_and_new_follow_flyways_scheme(flyway: Repo) -> None:
    assert flyway.gate("next-version").stdout.strip() == "V3"
    assert flyway.gate("next-version", "add e-mail").stdout.strip() == "V3__add_e-mail.sql"
    created = flyway.gate("new", "add phone")
    assert created.returncode == 0, created.stderr
    assert (flyway.path / "migrations" / "V3__add_phone.sql").is_file()
    assert flyway.gate("next-version").stdout.strip() == "V4"


@pytest.mark.slow
def test_editing_a_repeatable_passes_but_editing_or_deleting_merged_ones_fails(
        flyway: Repo) -> None:
    flyway.write("migrations/R__views.sql",
                 "CREATE OR REPLACE VIEW adults AS SELECT id, name FROM person;\n")
    flyway.commit("views")
    code, document = check_json(flyway)
    assert code == 0, document
    flyway.write("migrations/V1.1__add-name.sql",
                 "ALTER TABLE person ADD COLUMN IF NOT EXISTS name varchar(80);\n")
    (flyway.path / "migrations" / "R__views.sql").unlink()
    flyway.commit("edit and delete")
    code, document = check_json(flyway)
    assert code == 1
    diagnostics = document["diagnostics"]
    assert isinstance(diagnostics, list)
    rules = {(d["rule"], d["path"]) for d in diagnostics}
    assert ("modified-migration", "migrations/V1.1__add-name.sql") in rules
    assert ("deleted-migration", "migrations/R__views.sql") in rules
    modified = next(d for d in diagnostics if d["rule"] == "modified-migration")
    old, new = MAIN["V1.1__add-name.sql"], (
        "ALTER TABLE person ADD COLUMN IF NOT EXISTS name varchar(80);\n")
    assert f"Flyway checksum {flyway_crc32(old)} → {flyway_crc32(new)}" in modified["message"]


def test_list_shows_the_checksums_flyway_stores(flyway: Repo) -> None:
    done = flyway.gate("list", "--format", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [(r["version"], r["path"]) for r in rows] == [
        ("1", "migrations/V1__init.sql"), ("1.1", "migrations/V1.1__add-name.sql"),
        ("2", "migrations/V2__add_age.sql"), (None, "migrations/R__views.sql")]
    for row in rows:
        sql = MAIN[row["path"].rsplit("/", 1)[1]]
        assert row["checksum"] == flyway_crc32(sql)
    assert rows[1]["name"] == "add-name" and rows[2]["name"] == "add age"


def test_bad_flyway_names_are_one_finding_each_with_a_fix(flyway: Repo) -> None:
    for name in ("V1..2__x.sql", "V__x.sql", "V3.sql", "R1__y.sql"):
        flyway.write(f"migrations/{name}", "SELECT 1;\n")
    flyway.write("migrations/V4__p.sql", "SELECT '${undefined_one}';\n")
    flyway.write("migrations/V5__u.sql", "SELECT '${oops';\n")
    flyway.write("migrations/U9__backfill.sql", "UPDATE person SET name = 'x';\n")
    flyway.commit("bad")
    code, document = check_json(flyway)
    assert code == 1
    diagnostics = document["diagnostics"]
    assert isinstance(diagnostics, list)
    by_file: dict[str, list[dict[str, object]]] = {}
    for d in diagnostics:
        by_file.setdefault(str(d["path"]).rsplit("/", 1)[1], []).append(d)
    for name in ("V1..2__x.sql", "V__x.sql", "V3.sql", "R1__y.sql"):
        assert len(by_file[name]) == 1, by_file[name]
        hint = str(by_file[name][0]["hint"])
        assert hint.startswith("rename to ") and "__" in hint, hint
    assert by_file["R1__y.sql"][0]["hint"] == "rename to R__y.sql"
    (placeholder,) = by_file["V4__p.sql"]
    assert placeholder["rule"] == "flyway-undefined-placeholder"
    assert placeholder["severity"] == "error"
    (unclosed,) = by_file["V5__u.sql"]
    assert unclosed["rule"] == "flyway-unclosed-placeholder" and unclosed["column"] == 9
    (mixed,) = by_file["U9__backfill.sql"]
    assert mixed["rule"] == "mixed-runners"
    assert str(mixed["hint"]).startswith("rename to V") and "__backfill.sql" in str(mixed["hint"])


@pytest.mark.slow
def test_runner_flag_and_configuration_key(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "plain")
    repo.write("migrations/V1__init.sql", "SELECT 1;\n")
    repo.write("migrations/V2__a-b.sql", "SELECT 1;\n")
    repo.commit()
    as_flyway = repo.gate("check", "--no-verify", "--runner", "flyway")
    assert as_flyway.returncode == 0, as_flyway.stdout
    assert "runner: flyway (runner flyway set by --runner)" in as_flyway.stdout
    repo.write(".migration-gate.yaml", "runner: flyway\n")
    configured = repo.gate("check", "--no-verify", "--format", "json")
    assert json.loads(configured.stdout)["runner"]["reason"] == (
        "runner flyway set by the configuration")
    repo.write(".migration-gate.yaml", "runner: liquibase\n")
    one_line_error(repo.gate("check", "--no-verify"), "`runner` must be one of refinery, flyway")


@pytest.mark.slow
def test_flyway_conf_settings_are_read(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "conf")
    repo.write("flyway.conf", "flyway.sqlMigrationPrefix=M\nflyway.placeholders.owner=app\n")
    repo.write("migrations/M1__init.sql", "CREATE SCHEMA IF NOT EXISTS ${owner};\n")
    repo.commit()
    done = repo.gate("check", "--no-verify", "--format", "json")
    document = json.loads(done.stdout)
    assert done.returncode == 0, document
    assert document["runner"] == {"name": "flyway", "reason": "flyway.conf at the repository root"}
    assert repo.gate("next-version").stdout.strip() == "M2"
    repo.write("flyway.conf", "flyway.mixed=perhaps\n")
    one_line_error(repo.gate("check", "--no-verify"), "flyway.conf", "flyway.mixed")


def test_a_refinery_project_is_unchanged(repo: Repo) -> None:
    seed_migrations(repo, 3)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V1.5__x.sql", "SELECT 1;\n")
    repo.commit()
    code, document = check_json(repo)
    assert code == 1
    assert document["runner"]["name"] == "refinery"  # type: ignore[index]
    (finding,) = [d for d in document["diagnostics"]  # type: ignore[attr-defined]
                  if d["rule"] == "invalid-version"]
    assert finding["hint"] == "rename to V004__x.sql"
    assert run_gate("next-version", cwd=repo.path).stdout.strip() == "V004"
