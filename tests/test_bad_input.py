"""Bad input: each case gets a finding or one clear exit-2 line, never a traceback or a hang.

"Unreadable" files: the tests run as root, for whom permission bits do not stop a read, so an
unreadable migration is made with a dangling symbolic link (and a symlink loop), which fail
for root too. A FIFO named like a migration is covered as well: the gate must not open it
(opening a FIFO for reading blocks until a writer comes); every run has a timeout anyway.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from migration_gate import refinery
from tests.conftest import (
    Repo,
    clean_env,
    make_repo,
    one_line_error,
    run_gate,
    seed_migrations,
)
from tests.test_git_gate import GIT_RULES


def check_json(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, Any, str]:
    done = run_gate("check", "--no-verify", "--format", "json", *args, cwd=cwd, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stderr
    document = json.loads(done.stdout)
    # only the folder and history rules are under test here (the SQL stage has its own tests)
    document["diagnostics"] = [d for d in document["diagnostics"] if d["rule"] in GIT_RULES]
    return done.returncode, document, done.stderr


def rules_by_path(document: Any) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for diagnostic in document["diagnostics"]:
        found.setdefault(diagnostic["path"], set()).add(diagnostic["rule"])
    return found


@pytest.fixture
def seeded(repo: Repo) -> Repo:
    seed_migrations(repo, count=3)
    return repo


@pytest.mark.slow
def test_missing_dir(seeded: Repo) -> None:
    for command in (["check", "--no-verify"], ["list"], ["next-version"], ["new", "x"]):
        one_line_error(seeded.gate(*command, "--dir", "nope"), "nope", "not found")


def test_no_migrations_folder_at_all(tmp_path: Path) -> None:
    one_line_error(run_gate("check", "--no-verify", cwd=tmp_path), "migrations", "--dir")


def test_dir_is_a_file(seeded: Repo) -> None:
    one_line_error(
        seeded.gate("check", "--no-verify", "--dir", "migrations/V001__create_table_1.sql"),
        "not a folder",
    )


def test_folder_named_like_a_migration(seeded: Repo) -> None:
    """refinery's walk matches the folder's name and then fails to read it as a file."""
    (seeded.path / "migrations" / "V5__x.sql").mkdir()
    (seeded.path / "migrations" / "V5__x.sql" / "notes.txt").write_text("hello\n")
    for command in (["check", "--no-verify"], ["list"]):
        one_line_error(seeded.gate(*command), "migrations/V5__x.sql", "a folder")


def test_folder_with_an_ordinary_name_is_walked(seeded: Repo) -> None:
    (seeded.path / "migrations" / "2024").mkdir()
    (seeded.path / "migrations" / "2024" / "V004__nested.sql").write_text(
        "CREATE TABLE IF NOT EXISTS n (id bigint PRIMARY KEY);\n"
    )
    rows = json.loads(seeded.gate("list", "--format", "json").stdout)
    assert "migrations/2024/V004__nested.sql" in [r["path"] for r in rows]


def test_dangling_symlink_named_like_a_migration(seeded: Repo) -> None:
    (seeded.path / "migrations" / "V004__gone.sql").symlink_to(seeded.path / "nowhere.sql")
    one_line_error(
        seeded.gate("check", "--no-verify"), "migrations/V004__gone.sql", "broken symbolic link"
    )


def test_symlink_loops(seeded: Repo) -> None:
    folder = seeded.path / "migrations"
    (folder / "loop").symlink_to(folder)  # a folder loop: symlinked folders are not followed
    (folder / "self").symlink_to(folder / "self")  # a file-like loop with an ordinary name
    code, document, _ = check_json(seeded.path)
    assert code == 0
    assert document["diagnostics"] == []
    (folder / "V004__loop.sql").symlink_to(folder / "V004__loop.sql")
    one_line_error(seeded.gate("check", "--no-verify"), "migrations/V004__loop.sql")


def test_symlinked_file_is_read(seeded: Repo, tmp_path: Path) -> None:
    """refinery reads symlinked files: the gate checks their content (and checksums it)."""
    target = tmp_path / "elsewhere.sql"
    target.write_text("SELECT 1;\n")
    (seeded.path / "migrations" / "V004__linked.sql").symlink_to(target)
    rows = json.loads(seeded.gate("list", "--format", "json").stdout)
    linked = next(r for r in rows if r["name"] == "linked")
    assert linked["checksum"] == str(refinery.checksum("linked", 4, b"SELECT 1;\n"))


def test_fifo_named_like_a_migration_does_not_hang(seeded: Repo) -> None:
    os.mkfifo(seeded.path / "migrations" / "V004__pipe.sql")
    one_line_error(seeded.gate("check", "--no-verify"), "V004__pipe.sql", "not a regular file")


def test_binary_file(seeded: Repo) -> None:
    seeded.write("migrations/V004__blob.sql", bytes(range(256)) * 4)
    code, document, _ = check_json(seeded.path)
    assert code == 1
    [finding] = [d for d in document["diagnostics"] if d["rule"] == "non-utf8-migration"]
    assert finding["path"] == "migrations/V004__blob.sql"
    assert "0x80" in finding["message"]


def test_latin1_file(seeded: Repo) -> None:
    content = "INSERT INTO t VALUES ('Café');\n".encode("latin-1")
    seeded.write("migrations/V004__latin1.sql", content)
    code, document, _ = check_json(seeded.path)
    assert code == 1
    assert "non-utf8-migration" in rules_by_path(document)["migrations/V004__latin1.sql"]


def test_non_utf8_on_the_base_and_edited(seeded: Repo) -> None:
    """A base file that was already not UTF-8 and is then changed: findings, no crash."""
    seeded.write("migrations/V004__latin1.sql", "SELECT 'é';\n".encode("latin-1"))
    seeded.commit("latin1")
    seeded.git("checkout", "-q", "-b", "edit")
    seeded.write("migrations/V004__latin1.sql", "SELECT 'é';\n")
    seeded.commit("now utf-8")
    code, document, _ = check_json(seeded.path, "--base", "main")
    assert code == 1
    assert "modified-migration" in rules_by_path(document)["migrations/V004__latin1.sql"]


@pytest.mark.slow
def test_twenty_megabyte_file(seeded: Repo) -> None:
    line = "-- " + "x" * 76 + "\n"
    content = (line * (20 * 1024 * 1024 // len(line)) + "SELECT 1;\n").encode()
    assert len(content) >= 20 * 1024 * 1024 - len(line)
    seeded.write("migrations/V004__huge.sql", content)
    rows = json.loads(seeded.gate("list", "--format", "json").stdout)
    huge = next(r for r in rows if r["name"] == "huge")
    assert huge["checksum"] == str(refinery.checksum("huge", 4, content))
    _, document, _ = check_json(seeded.path)
    assert "empty-migration" not in rules_by_path(document).get("migrations/V004__huge.sql", set())


def test_empty_and_comment_only_files(seeded: Repo) -> None:
    seeded.write("migrations/V004__empty.sql", "")
    seeded.write("migrations/V005__comments.sql", "-- todo\n/* later /* nested */ */\n;\n")
    code, document, _ = check_json(seeded.path)
    assert code == 0  # warnings only
    by_path = rules_by_path(document)
    assert "empty-migration" in by_path["migrations/V004__empty.sql"]
    assert "empty-migration" in by_path["migrations/V005__comments.sql"]


def test_bom_and_crlf_are_not_empty(seeded: Repo) -> None:
    seeded.write("migrations/V004__bom.sql", b"\xef\xbb\xbfSELECT 1;\r\n")
    _, document, _ = check_json(seeded.path)
    assert "empty-migration" not in rules_by_path(document).get("migrations/V004__bom.sql", set())


@pytest.mark.slow
def test_no_git_binary_on_path(tmp_path: Path) -> None:
    """In a repository, git missing is exit 2 (the history rules cannot run: issue 13.1);
    where there is no repository at all, the folder rules run and say so."""
    repo = make_repo(tmp_path / "repo")
    seed_migrations(repo, count=2)
    repo.write("migrations/v3__bad.sql", "SELECT 1;\n")
    bare_bin = tmp_path / "bin"
    bare_bin.mkdir()
    env = {"PATH": str(bare_bin)}
    assert shutil.which("git", path=env["PATH"]) is None
    one_line_error(run_gate("check", "--no-verify", cwd=repo.path, env=env),
                   "git is not installed", "is a git repository")
    one_line_error(run_gate("check", "--no-verify", "--base", "main", cwd=repo.path, env=env),
                   "git is not installed")
    one_line_error(run_gate("next-version", "--all-branches", cwd=repo.path, env=env))
    one_line_error(run_gate("next-version", cwd=repo.path, env=env), "git is not installed")
    shutil.rmtree(repo.path / ".git")
    code, document, stderr = check_json(repo.path, env=env)
    assert code == 1
    assert [d["rule"] for d in document["diagnostics"]] == ["invalid-filename"]
    assert "git is not installed" in stderr
    assert run_gate("next-version", cwd=repo.path, env=env).stdout.strip() == "V003"


def test_unknown_option_and_command_are_usage_errors(seeded: Repo) -> None:
    done = seeded.gate("check", "--frobnicate")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    done = seeded.gate("chekc")
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_output_to_an_unwritable_place(seeded: Repo) -> None:
    (seeded.path / "afile").write_text("x")
    done = seeded.gate("check", "--no-verify", "--format", "json", "--output", "afile/report.json")
    one_line_error(done, "afile/report.json")


def test_file_name_that_is_not_utf8(seeded: Repo) -> None:
    """refinery skips a name its `OsStr::to_str` cannot decode; the gate says so, printably."""
    (seeded.path / "migrations").joinpath(os.fsdecode(b"V004__caf\xe9.sql")).write_text("SELECT 1;")
    for fmt in ("text", "json"):
        done = seeded.gate("check", "--no-verify", "--format", fmt)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        assert "migrations/V004__caf\ufffd.sql" in done.stdout
        assert "not valid UTF-8" in done.stdout
        assert "rename to V004__caf.sql" in done.stdout


def test_report_files_with_a_name_that_is_not_utf8(tmp_path: Path) -> None:
    """`lint` of a file whose name is not UTF-8 (a shell passes its bytes): the report file
    and the JSON copy hold the name's own bytes, as stdout does, and SARIF percent-encodes
    them. All three used to fail with an internal error (found 2026-11-30)."""
    name = os.fsdecode(b"V1__caf\xe9.sql")
    (tmp_path / name).write_text("ALTER TABLE t ADD COLUMN c int;\n")
    env = clean_env({"MIGRATION_GATE_JSON_REPORT": str(tmp_path / "copy.json")})
    for fmt, report in (("json", "out.json"), ("sarif", "out.sarif")):
        done = subprocess.run(  # bytes: stdout's text view holds the name's own bytes too
            [sys.executable, "-m", "migration_gate", "lint", "--format", fmt, "--output",
             report, name], cwd=tmp_path, env=env, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert b"error" not in done.stderr, done.stderr
        assert b"V1__caf\xe9.sql:1:1 require-lock-timeout" in done.stdout
    assert b'"path": "V1__caf\xe9.sql"' in (tmp_path / "out.json").read_bytes()
    assert (tmp_path / "copy.json").read_bytes() == (tmp_path / "out.json").read_bytes()
    sarif = json.loads((tmp_path / "out.sarif").read_text(encoding="utf-8"))
    location = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "V1__caf%E9.sql"


def test_odd_names_are_findings_not_crashes(seeded: Repo) -> None:
    odd = ["V 4__space.sql", "V4__ünïcode.sql", "V4__x.sql.bak", ".V4__hidden.sql", "|4__pipe.sql",
           "V99999999999__big.sql", "V4__a.b.sql", "README.md", "V4__x.SQL", "V0__zero.sql"]
    for name in odd:
        seeded.write(f"migrations/{name}", "SELECT 1;\n")
    code, document, _ = check_json(seeded.path)
    assert code == 1
    by_path = rules_by_path(document)
    assert "invalid-filename" in by_path["migrations/|4__pipe.sql"]
    assert "invalid-version" in by_path["migrations/V99999999999__big.sql"]
    assert "invalid-filename" in by_path["migrations/V4__a.b.sql"]
    assert "invalid-filename" in by_path["migrations/V4__x.SQL"]
    assert "invalid-filename" in by_path["migrations/V 4__space.sql"]
    assert "migrations/README.md" not in by_path
    assert "migrations/V4__x.sql.bak" not in by_path
    for diagnostic in document["diagnostics"]:
        if diagnostic["rule"] in ("invalid-filename", "invalid-version"):
            fixed = diagnostic["hint"].removeprefix("rename to ")
            assert not isinstance(refinery.parse_file_name(fixed), refinery.NameProblem), fixed
