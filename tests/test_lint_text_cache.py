"""`lint`'s text report from cached per-file blocks (issue 14): a warm run prints, byte for
byte, what the findings rendered afresh print, for every kind of file the command reads.

The CLI runs in a child process with its cache in a temporary folder; the lint, the cache
(the real SQLite file) and the renderer are the real ones.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from migration_gate.checks.folder import EMPTY_MIGRATION, has_statement
from migration_gate.commands._lint_text import PACK_NAME
from migration_gate.commands.lint import EMPTY_RULE, _has_statement
from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.pipeline import Result
from migration_gate.report import ReportOptions
from migration_gate.report.text import FileBlocks, render
from migration_gate.sql import pack
from tests.conftest import run_gate

DROP = "ALTER TABLE users DROP COLUMN legacy;\n"
FILES: dict[str, bytes] = {
    "V1__drop.sql": DROP.encode(),
    "V2__index.sql": b"-- note\nCREATE INDEX orders_idx ON orders (id);\n"
                     b"ALTER TABLE users ADD COLUMN phone VARCHAR(20) NOT NULL;\n",
    "V3__same.sql": DROP.encode(),  # one content, two paths
    "V4__block.sql": b"/* a /* nested */ comment */\nDROP TABLE t;\n",
    "V5__empty.sql": b"-- nothing yet\n/* still nothing */\n",
    "V6__latin1.sql": "SELECT 'Café';\n".encode("latin-1"),
    "V7__clean.sql": b"SELECT 1;\n",
    "V8__control.sql": b"ALTER TABLE t DROP COLUMN \x1b[31mred;\n",
}


def lint(cwd: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_gate("lint", "--dialect", "postgres", *args, *sorted(FILES), cwd=cwd,
                    env={"MIGRATION_GATE_CACHE_DIR": str(cache)})


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for name, data in FILES.items():
        (project / name).write_bytes(data)
    (project / ".migration-gate.yaml").write_text(
        "rules:\n  prefer-robust-stmts: 'off'\n  ban-drop-column: error\n",
        encoding="utf-8")
    return project


def test_the_cached_text_report_is_the_one_rendered_afresh(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    # with `--output`, the terminal's text report is `report.text.render`'s, of every finding
    fresh = lint(folder, cache, "--no-cache", "--output", str(tmp_path / "report.txt"))
    assert fresh.returncode == 1, fresh.stderr
    assert (tmp_path / "report.txt").read_text(encoding="utf-8") == fresh.stdout
    assert "V5__empty.sql:1:1 empty-migration" in fresh.stdout
    assert "V6__latin1.sql:1:1 non-utf8-migration" in fresh.stdout
    assert "ban-drop-column error" in fresh.stdout  # the configured severity
    assert "prefer-robust-stmts" not in fresh.stdout
    assert "\\x1b[31mred" in fresh.stdout and "\x1b" not in fresh.stdout
    uncached = lint(folder, cache, "--no-cache")  # rendered file by file, nothing stored
    assert not cache.exists()
    filling = lint(folder, cache)
    warm = lint(folder, cache)
    assert uncached.stdout == filling.stdout == warm.stdout == fresh.stdout
    assert uncached.returncode == filling.returncode == warm.returncode == 1
    with sqlite3.connect(cache / "lint-v1.sqlite") as connection:
        rows = dict(connection.execute("SELECT key, value FROM rendered").fetchall())
    assert len(rows) == 6  # the files linted: not the empty one, not the Latin-1 one
    assert sum(value.startswith("0 0\n") for value in rows.values()) == 1  # V7, no findings
    assert len(pack.read(cache / PACK_NAME).spans) == 6
    # a run prints the stored blocks: emptied in SQLite, with the pack gone, the linted files
    # have no findings left; that run's pack then holds the emptied blocks
    with sqlite3.connect(cache / "lint-v1.sqlite") as connection:
        connection.execute("UPDATE rendered SET value = '0 0\n'")
    (cache / PACK_NAME).unlink()
    emptied = lint(folder, cache)
    assert "V1__drop.sql" not in emptied.stdout and "V5__empty.sql:1:1" in emptied.stdout
    assert emptied.stdout.endswith("2 files (8 checked).\n"), emptied.stdout
    assert set(pack.read(cache / PACK_NAME).values().values()) == {b"0 0\n"}


@pytest.mark.slow
def test_a_renamed_file_and_a_changed_configuration_are_rendered_again(
        folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert lint(folder, cache).returncode == 1
    (folder / "V1__drop.sql").rename(folder / "V9__drop.sql")
    renamed = {**FILES}
    renamed["V9__drop.sql"] = renamed.pop("V1__drop.sql")
    names = sorted(renamed)
    env = {"MIGRATION_GATE_CACHE_DIR": str(cache)}
    report = str(tmp_path / "report.txt")
    warm = run_gate("lint", *names, cwd=folder, env=env)
    fresh = run_gate("lint", "--no-cache", "--output", report, *names, cwd=folder, env=env)
    assert warm.stdout == fresh.stdout and "V9__drop.sql:1:" in warm.stdout
    assert "V1__drop.sql" not in warm.stdout
    (folder / ".migration-gate.yaml").write_text("rules:\n  ban-drop-column: 'off'\n",
                                                  encoding="utf-8")
    warm = run_gate("lint", *names, cwd=folder, env=env)
    fresh = run_gate("lint", "--no-cache", "--output", report, *names, cwd=folder, env=env)
    assert warm.stdout == fresh.stdout and "ban-drop-column" not in warm.stdout
    assert "prefer-robust-stmts" in warm.stdout


def test_file_blocks_and_the_count_line_are_the_report() -> None:
    """`FileBlocks` is `render` cut at file boundaries, with and without colour."""
    text = "SELECT 1;\nALTER TABLE t DROP COLUMN c;\n\tDROP TABLE u;\n"
    found = [
        Diagnostic("ban-drop-column", Severity.ERROR, "a.sql", "drops c", 2, 15, 2, 29,
                   hint="keep it"),
        Diagnostic("ban-drop-table", Severity.WARNING, "a.sql", "drops u\nsecond line", 3, 2),
        Diagnostic("ban-drop-table", Severity.WARNING, "b.sql", "drops u", 3, 2, 3, 14),
        Diagnostic("file-rule", Severity.WARNING, "c.sql", "whole file", 1, 1),
    ]
    texts = {"a.sql": text, "b.sql": text}
    for color in (False, True):
        options = ReportOptions(root=Path("/nonexistent"), color=color, command="lint",
                                texts=texts)
        blocks = FileBlocks(options)
        parts = [blocks.block(path, [d for d in found if d.path == path])
                 for path in ("a.sql", "b.sql", "c.sql", "d.sql")]
        assert parts[3] == ""
        assert "".join(parts) + blocks.count(1, 3, 3, 4) == render(
            Result(tuple(found), files_checked=4), options)
    assert FileBlocks(ReportOptions(root=Path("."))).count(0, 0, 0, 1) == "No findings in 1 file.\n"


@pytest.mark.parametrize("text", [
    "", " \n\t", ";", "-", "--", "-- x", "-- x\nSELECT 1;", "/* a */", "/* a */ x",
    "/* /* */ */", "/* /* */ */ x", "/* open", "/* open */ -- c\n;", "\ufeff;-- x\n",
    "/*/ */", "/**/x", "/", "/x", "\x1c\x85\u3000", "-- a\r\n/* b */\r\nx",
])
def test_the_statement_test_is_the_folder_checks_one(text: str) -> None:
    assert _has_statement(text) == has_statement(text)


def test_the_empty_file_rule_is_the_folder_checks_one() -> None:
    assert (EMPTY_MIGRATION.id, EMPTY_MIGRATION.severity) == EMPTY_RULE


def test_a_pack_reads_back_what_was_written_and_a_damaged_one_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "p.pack"
    values = {"a" * 64: b"0 0\n", "b" * 64: "1 0\nx.sql:1:1 r error: é ✓\n\n".encode(),
              "c" * 64: b""}
    pack.write(path, values)
    assert pack.read(path).values() == values
    assert list(tmp_path.iterdir()) == [path]  # the temporary file is gone
    data = path.read_bytes()
    assert b"\n3 " in data  # the count line
    for damaged in (data[:-1], data + b"x", b"other\n" + data, data.replace(b"\n3 ", b"\n4 "),
                    b"\xff" + data, b"", data.replace(b"a" * 64, b"a" * 63 + b"\xff")):
        path.write_bytes(damaged)
        assert pack.read(path) == pack.Pack()
    assert pack.read(tmp_path / "missing") == pack.Pack()


def test_a_pack_keeps_older_values_while_it_stays_small(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         ) -> None:
    pack.write(tmp_path / "p.pack", {"a": b"1", "b": b"2"})
    old = pack.read(tmp_path / "p.pack")
    assert pack.merged(old, {"b": b"3", "c": b"4"}) == {"a": b"1", "b": b"3", "c": b"4"}
    monkeypatch.setattr(pack, "MAX_BYTES", 2)
    assert pack.merged(old, {"b": b"3", "c": b"4"}) == {"b": b"3", "c": b"4"}


def test_files_rendered_in_the_worker_processes_are_the_report(tmp_path: Path) -> None:
    """Over `PARALLEL_MIN_CHARS` of text, the files are linted and rendered in this process
    and a forked one: the report is the one rendered from every finding at the end."""
    from migration_gate.sql.engine import PARALLEL_MIN_CHARS

    notes = "-- " + "x" * 2_000 + "\n"  # text that counts, and costs little to lint
    names = []
    for n in range(40):
        names.append(f"V{n}__t.sql")
        (tmp_path / names[-1]).write_text(
            notes * 6 + f"CREATE TABLE t{n} (id int);\n" + ("DROP TABLE t;\n" * (n % 3)),
            encoding="utf-8")
    assert 40 * len(notes) * 6 > PARALLEL_MIN_CHARS
    env = {"MIGRATION_GATE_CACHE_DIR": str(tmp_path / "cache")}
    at_once = run_gate("lint", "--no-cache", "--output", str(tmp_path / "r.txt"), *names,
                       cwd=tmp_path, env=env)
    by_file = run_gate("lint", "--no-cache", *names, cwd=tmp_path, env=env)
    assert by_file.stdout == at_once.stdout and by_file.returncode == at_once.returncode
    assert by_file.stdout.count(" ban-drop-table warning: ") == 13 + 2 * 13


def test_a_cache_folder_that_cannot_be_made_only_costs_the_cache(folder: Path,
                                                                  tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    done = lint(folder, blocked / "cache")
    fresh = lint(folder, tmp_path / "unused", "--no-cache")
    assert done.returncode == fresh.returncode == 1, done.stderr
    assert done.stdout == fresh.stdout and "Traceback" not in done.stderr


def test_a_file_named_twice_is_reported_as_before(folder: Path, tmp_path: Path) -> None:
    """Its findings interleave with its twin's, which no per-file block can say: the report
    is rendered from every finding, as it always was."""
    env = {"MIGRATION_GATE_CACHE_DIR": str(tmp_path / "cache")}
    names = ("V1__drop.sql", "./V1__drop.sql", "V2__index.sql")
    done = run_gate("lint", *names, cwd=folder, env=env)
    fresh = run_gate("lint", "--output", str(tmp_path / "r.txt"), *names, cwd=folder, env=env)
    assert done.stdout == fresh.stdout and done.returncode == fresh.returncode == 1
    assert done.stdout.count("V1__drop.sql:1:19 ban-drop-column") == 2


@pytest.mark.slow
def test_a_file_name_that_is_not_utf8_is_reported_and_only_its_block_is_not_stored(
        tmp_path: Path) -> None:
    """Found on the branch: the block of `V1__caf\\xe9.sql` (a Latin-1 name, a lone surrogate
    once decoded) made SQLite raise UnicodeEncodeError, an internal error instead of the
    report. The name goes out as its own bytes (standard output under `surrogateescape`, as
    Python sets it in a POSIX locale)."""
    import os
    import sys

    from tests.conftest import clean_env

    folder = tmp_path / "project"
    folder.mkdir()
    (folder / os.fsdecode(b"V1__caf\xe9.sql")).write_bytes(DROP.encode())
    (folder / "V2__index.sql").write_bytes(FILES["V2__index.sql"])

    def lint_here(*args: str) -> subprocess.CompletedProcess[bytes]:
        env = clean_env({"MIGRATION_GATE_CACHE_DIR": str(tmp_path / "cache"),
                         "PYTHONIOENCODING": "utf-8:surrogateescape"})
        return subprocess.run([sys.executable, "-m", "migration_gate", "lint", *args, "."],
                              cwd=folder, env=env, capture_output=True, timeout=300)

    fresh = lint_here("--no-cache")
    assert fresh.returncode == 1, fresh.stderr  # V2's adding-required-field
    assert b"\nV1__caf\xe9.sql:1:19 ban-drop-column warning: " in fresh.stdout
    assert fresh.stdout.endswith(b"1 error, 7 warnings in 2 files (2 checked).\n")
    for _run in range(2):
        done = lint_here()
        assert (done.stdout, done.returncode) == (fresh.stdout, fresh.returncode), done.stderr
    with sqlite3.connect(tmp_path / "cache" / "lint-v1.sqlite") as connection:
        (count,) = connection.execute("SELECT count(*) FROM rendered").fetchone()
    assert count == 1  # V2's block; V1's is made again each time
