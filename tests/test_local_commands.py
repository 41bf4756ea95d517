"""`next-version`, `new`, `list` and `rules`, as a developer runs them."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from migration_gate import refinery
from migration_gate.catalog import all_rules
from tests.conftest import Repo, make_repo, run_gate, seed_migrations
from tests.test_refinery import VECTORS


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout.strip()


@pytest.fixture
def seeded(repo: Repo) -> Repo:
    seed_migrations(repo)
    repo.git("config", "user.name", "Ada Lovelace")
    repo.git("config", "user.email", "ada@example.com")
    return repo


@pytest.mark.slow
def test_next_version_bare_and_with_description(seeded: Repo) -> None:
    assert ok(seeded.gate("next-version")) == "V008"
    assert ok(seeded.gate("next-version", "add profiles")) == "V008__add_profiles.sql"
    assert ok(seeded.gate("next-version", "Add Profiles!")) == "V008__add_profiles.sql"


def test_next_version_counts_the_working_tree_and_the_base(seeded: Repo) -> None:
    seeded.git("checkout", "-q", "-b", "feature")
    seeded.write("migrations/V008__mine.sql", "SELECT 1;\n")  # not even committed
    assert ok(seeded.gate("next-version")) == "V009"
    seeded.git("checkout", "-q", "main")
    seeded.write("migrations/V011__theirs.sql", "SELECT 1;\n")
    seeded.git("add", "-A")
    seeded.git("stash", "-q")
    seeded.git("checkout", "-q", "-b", "later")
    seeded.git("stash", "pop", "-q")
    seeded.commit("V011")
    seeded.git("checkout", "-q", "main")
    seeded.git("merge", "-q", "later")
    seeded.git("checkout", "-q", "feature")
    # main moved on to V011 after feature forked: the next free version is after it
    assert ok(seeded.gate("next-version")) == "V012"


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["V1__a.sql", "V2__b.sql", "V10__c.sql"], "V11"),
        (["V001__a.sql", "V002__b.sql"], "V003"),
        (["V0001__a.sql", "V0002__b.sql", "V0003__c.sql"], "V0004"),
        (["V099__a.sql", "V100__b.sql"], "V101"),
        (["V998__a.sql", "V999__b.sql"], "V1000"),
        (["U1__a.sql", "V2__b.sql"], "V3"),
        ([], "V1"),
    ],
)
def test_padding_is_inferred(tmp_path: Path, names: list[str], expected: str) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name in names:
        (folder / name).write_text("SELECT 1;\n")
    assert ok(run_gate("next-version", cwd=tmp_path)) == expected


def test_next_version_without_letters_is_one_line(seeded: Repo) -> None:
    done = seeded.gate("next-version", "!!!")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


@pytest.mark.slow
def test_next_version_without_any_base_branch(tmp_path: Path) -> None:
    """Only a `develop` branch: next-version still answers from the working tree, and says so;
    `check` needs a base and says which flag gives one."""
    repo = make_repo(tmp_path / "repo", branch="develop")
    seed_migrations(repo, count=2)
    done = repo.gate("next-version", "x")
    assert ok(done) == "V003__x.sql"
    assert "counting the working tree only" in done.stderr
    failed = repo.gate("check", "--no-verify")
    assert failed.returncode == 2 and "--base" in failed.stderr
    assert ok(repo.gate("next-version", "--base", "develop")) == "V003"


def test_all_branches_needs_a_repository(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    done = run_gate("next-version", "--all-branches", cwd=tmp_path)
    assert done.returncode == 2 and "git repository" in done.stderr


@pytest.mark.slow
def test_new_creates_the_file_with_a_header(seeded: Repo) -> None:
    printed = ok(seeded.gate("new", "add profiles"))
    assert printed == "migrations/V008__add_profiles.sql"
    content = (seeded.path / printed).read_text("utf-8")
    lines = content.splitlines()
    assert lines[0] == "-- add profiles"
    assert lines[1] == "-- author: Ada Lovelace <ada@example.com>"
    assert re.fullmatch(r"-- date: \d{4}-\d{2}-\d{2}", lines[2])
    assert lines[2][len("-- date: "):] in {
        date.today().isoformat(), datetime.now(timezone.utc).date().isoformat(),
    }
    # the next one takes the following version
    assert ok(seeded.gate("new", "add orders")) == "migrations/V009__add_orders.sql"
    # and the freshly created files do not trip the folder rules' naming checks
    done = seeded.gate("check", "--no-verify", "--format", "json")
    rules = {d["rule"] for d in json.loads(done.stdout)["diagnostics"]}
    assert not rules & {"invalid-filename", "naming-style", "duplicate-version", "version-gap"}


def test_new_keeps_a_multi_line_description_in_the_comment(seeded: Repo) -> None:
    printed = ok(seeded.gate("new", "add x\nDROP TABLE users;"))
    assert printed == "migrations/V008__add_x_drop_table_users.sql"
    content = (seeded.path / printed).read_text("utf-8")
    assert content.splitlines()[0] == "-- add x DROP TABLE users;"
    assert all(line.startswith("--") or not line for line in content.splitlines())


def test_new_prints_the_path_relative_to_where_it_runs(seeded: Repo) -> None:
    printed = ok(seeded.gate("new", "from inside", cwd=seeded.path / "migrations"))
    assert printed == "V008__from_inside.sql"
    assert (seeded.path / "migrations" / printed).is_file()


def test_new_refuses_to_overwrite(seeded: Repo) -> None:
    target = seeded.path / "migrations" / "V008__add_profiles.sql"
    seeded.git("checkout", "-q", "-b", "other")
    # a file the next-version logic cannot see yet: an excluded one, via configuration
    seeded.write(".migration-gate.yaml", "exclude: ['migrations/V008__*']\n")
    target.write_text("-- mine\n")
    done = seeded.gate("new", "add profiles")
    assert done.returncode == 2
    assert "already exists" in done.stderr and "Traceback" not in done.stderr
    assert target.read_text() == "-- mine\n"


def test_new_without_git_identity(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    printed = ok(run_gate("new", "first", cwd=tmp_path))
    assert printed == "migrations/V1__first.sql"
    lines = (tmp_path / printed).read_text().splitlines()
    assert lines[0] == "-- first" and lines[1].startswith("-- date: ")


def _vector_folder(root: Path) -> Path:
    folder = root / "migrations"
    folder.mkdir(parents=True)
    for vector in VECTORS["vectors"]:
        path = folder / f"V{vector['version']}__{vector['name']}.sql"
        if path.exists():
            path = folder / "nested" / path.name
            path.parent.mkdir(exist_ok=True)
        path.write_bytes(vector["sql"].encode("utf-8"))
    return folder


def test_list_json_checksums_equal_refinerys(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    _vector_folder(repo.path)
    (repo.path / "migrations" / "README.md").write_text("not a migration\n")
    rows = json.loads(ok(repo.gate("list", "--format", "json")))
    expected = {
        (v["version"], v["name"]): v["checksum"] for v in VECTORS["vectors"]
    }
    assert {(r["version"], r["name"]): r["checksum"] for r in rows} == expected
    for row in rows:
        assert set(row) >= {"version", "name", "path", "checksum"}
        assert row["path"].startswith("migrations/")
        assert (repo.path / row["path"]).is_file()
    assert [r["version"] for r in rows] == sorted(r["version"] for r in rows)


def test_list_text(tmp_path: Path) -> None:
    _vector_folder(tmp_path)
    out = ok(run_gate("list", cwd=tmp_path))
    initial = next(v for v in VECTORS["vectors"] if v["name"] == "initial")
    line = next(line for line in out.splitlines() if "initial" in line)
    assert initial["checksum"] in line and line.startswith("V1 ")


def test_list_rs_and_u_files(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "V1__a.sql").write_text("SELECT 1;\n")
    (folder / "U2__b.sql").write_text("SELECT 2;\n")
    (folder / "V3__c.rs").write_text("fn migration() -> String { String::new() }\n")
    rows = json.loads(ok(run_gate("list", "--format", "json", cwd=tmp_path)))
    by_name = {r["name"]: r for r in rows}
    assert by_name["b"]["prefix"] == "U"
    assert by_name["b"]["checksum"] == str(refinery.checksum("b", 2, b"SELECT 2;\n"))
    assert by_name["c"]["checksum"] is None  # a .rs migration has no static checksum


def test_list_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    assert ok(run_gate("list", cwd=tmp_path)) == "no migrations"
    assert json.loads(ok(run_gate("list", "--format", "json", cwd=tmp_path))) == []


@pytest.mark.slow
def test_rules_catalogue_and_one_rule(tmp_path: Path) -> None:
    listing = ok(run_gate("rules", cwd=tmp_path))
    for rule in all_rules():
        assert rule in listing
    one = ok(run_gate("rules", "version-not-after-base", cwd=tmp_path))
    assert "version-not-after-base" in one and "missing" in one
    data = json.loads(ok(run_gate("rules", "--format", "json", cwd=tmp_path)))
    assert {"id", "severity", "summary"} <= set(data[0])
    done = run_gate("rules", "duplicate-versoin", cwd=tmp_path)
    assert done.returncode == 2 and "duplicate-version" in done.stderr
