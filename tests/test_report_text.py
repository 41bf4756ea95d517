"""The text report's excerpts from the texts `lint` already read (issue 14: a warm run of the
2,758 corpus files printed ~7,800 excerpts and read every file a second time to do so).

The texts a command hands over (`ReportOptions.texts`) and a file read at report time must
give the same excerpt, byte for byte: the report of a run does not depend on which way it
took. The real `lint` is run through the CLI where the files matter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.pipeline import Result
from migration_gate.report import ReportOptions, text
from tests.conftest import clean_env

W = Severity.WARNING


def both_ways(root: Path, rel: str, diagnostics: tuple[Diagnostic, ...],
              color: bool = True) -> tuple[str, str]:
    """The report rendered from the file on disk, and from the text handed over."""
    content = (root / rel).read_bytes().decode("utf-8")
    result = Result(diagnostics, files_checked=1)
    read = text.render(result, ReportOptions(root=root, color=color))
    given = text.render(result, ReportOptions(root=root / "elsewhere", color=color,
                                              texts={rel: content}))
    return read, given


def test_an_excerpt_comes_from_the_text_linted_not_the_file_now(tmp_path: Path) -> None:
    """The findings were computed from the text handed over: the excerpt shows that text,
    even when the file changed (or vanished) since."""
    (tmp_path / "V1__t.sql").write_text("SELECT 1;\n", encoding="utf-8")
    diagnostic = Diagnostic("prefer-text-field", W, "V1__t.sql", "m", 1, 17, 1, 26)
    options = ReportOptions(root=tmp_path, texts={"V1__t.sql": "CREATE TABLE t (c varchar(9));"})
    out = text.render(Result((diagnostic,), 1), options)
    rows = out.splitlines()
    assert "  1 | CREATE TABLE t (c varchar(9));" in rows
    assert rows[rows.index("  1 | CREATE TABLE t (c varchar(9));") + 1] == (
        "    |                 ^^^^^^^^^^")
    assert "SELECT" not in out


def test_a_bom_crlf_and_multibyte_file_shows_the_same_excerpt_both_ways(tmp_path: Path) -> None:
    body = "\ufeff-- übersicht ✓\r\nCREATE TABLE ß (c\tvarchar(9));\r\nALTER TABLE ß ADD x int;\r\n"
    (tmp_path / "V1__t.sql").write_bytes(body.encode("utf-8"))
    diagnostics = (Diagnostic("prefer-text-field", W, "V1__t.sql", "m", 2, 19, 2, 28),
                   Diagnostic("x", Severity.ERROR, "V1__t.sql", "m\nsecond", 2, 1, 3, 24,
                              hint="do"))
    read, given = both_ways(tmp_path, "V1__t.sql", diagnostics)
    assert read == given
    assert "übersicht" not in read and "CREATE TABLE ß (c varchar(9));" in read


def test_a_file_past_the_excerpt_limit_is_cut_at_the_same_byte_both_ways(tmp_path: Path) -> None:
    """Excerpts read at most `MAX_SOURCE_BYTES` of a file; a given text is cut at the same byte,
    even when that byte is in the middle of a multi-byte character."""
    line = "INSERT INTO t VALUES ('é€😀');\n"  # 2-, 3- and 4-byte characters
    count = text.MAX_SOURCE_BYTES // len(line.encode("utf-8")) + 2
    (tmp_path / "V1__big.sql").write_text(line * count, encoding="utf-8")
    diagnostics = tuple(Diagnostic("r", W, "V1__big.sql", "m", number, 3, number, 30)
                        for number in (1, count - 2, count - 1, count))
    read, given = both_ways(tmp_path, "V1__big.sql", diagnostics, color=False)
    assert read == given
    assert f"{count - 2} | INSERT" in read and f"{count} | INSERT" not in read


def test_lint_prints_excerpts_of_every_file_it_was_given(tmp_path: Path) -> None:
    """Through the CLI: relative, nested and absolute paths each get their excerpt."""
    (tmp_path / "db").mkdir()
    sql = "CREATE TABLE t (c varchar(9));\n"
    for name in ("V1__a.sql", "db/V2__b.sql"):
        (tmp_path / name).write_text(sql, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "migration_gate", "lint", "--no-cache", "V1__a.sql",
         str(tmp_path / "db" / "V2__b.sql")],
        cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    rows = done.stdout.splitlines()
    for path in ("V1__a.sql", "db/V2__b.sql"):
        header = next(i for i, row in enumerate(rows)
                      if row.startswith(f"{path}:1:1 prefer-robust-stmts"))
        assert rows[header + 2 : header + 4] == ["  1 | CREATE TABLE t (c varchar(9));",
                                                "    | ^^^^^^^^^^^^"]


def test_the_common_lines_are_underlined_as_the_general_path_does() -> None:
    """Short printable ASCII lines take an inlined path: it must draw what `_underlined`
    draws, for every span (before, inside, at and past the end of the line)."""
    lines = ["", "x", "ALTER TABLE t ADD COLUMN c int;", "  CREATE INDEX i ON t (c)",
             "y" * text.MAX_WIDTH, "z" * (text.MAX_WIDTH + 1), "tab\there", "é accent"]
    for line in lines:
        for column in range(1, len(line) + 3):
            for end_column in (None, column, column + 3, len(line), len(line) + 1):
                diagnostic = Diagnostic("r", W, "V1__t.sql", "m", 1, column, 1, end_column)
                if end_column is None and column == 1:
                    continue  # a whole-file finding: no excerpt
                start = column - 1
                stop = end_column if end_column is not None else len(line.rstrip())
                shown, marks = text._underlined(line, start, max(stop, start + 1))
                expected = ["    |", f"  1 | {shown}"]
                if marks.strip():
                    expected.append(f"    | {marks.rstrip()}")
                assert text.excerpt(diagnostic, [line], color=False) == expected, (
                    line, column, end_column)
