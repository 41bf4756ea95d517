"""The `github` reporter: workflow commands the runner decodes back to the exact finding, a
step-summary table, and the format chosen automatically inside GitHub Actions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.pipeline import Result
from migration_gate.report import ReportOptions
from migration_gate.report.github import annotation, render, step_summary
from tests.conftest import Repo, seed_migrations

OPTIONS = ReportOptions(root=Path("/repo"))


def decode_command(line: str) -> tuple[str, dict[str, str], str]:
    """What the Actions runner does with one log line (ActionCommand.TryParseV2)."""
    match = re.fullmatch(r"::(\w+) ([^:]*)::(.*)", line)
    assert match, line
    name, raw_properties, raw_message = match.groups()

    def unescape_property(value: str) -> str:
        for escaped, plain in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","),
                               ("%25", "%")):
            value = value.replace(escaped, plain)
        return value

    def unescape_data(value: str) -> str:
        for escaped, plain in (("%0D", "\r"), ("%0A", "\n"), ("%25", "%")):
            value = value.replace(escaped, plain)
        return value

    properties = {}
    for pair in raw_properties.split(","):
        key, _, value = pair.partition("=")
        properties[key] = unescape_property(value)
    return name, properties, unescape_data(raw_message)


def finding(**changes: object) -> Diagnostic:
    fields: dict[str, object] = {
        "rule": "invalid-filename", "severity": Severity.ERROR,
        "path": "migrations/v2__b.sql", "message": "bad name", "line": 3, "column": 5,
    }
    fields.update(changes)
    return Diagnostic(**fields)  # type: ignore[arg-type]


def test_annotation_carries_place_rule_and_hint() -> None:
    line = annotation(finding(end_line=3, end_column=12, hint="rename to V2__b.sql"))
    assert line == (
        "::error file=migrations/v2__b.sql,line=3,col=5,endLine=3,endColumn=12,"
        "title=invalid-filename::bad name%0Ahint: rename to V2__b.sql"
    )


def test_warning_uses_the_warning_command_and_defaults_the_end_to_the_start() -> None:
    name, properties, _ = decode_command(annotation(finding(severity=Severity.WARNING)))
    assert name == "warning"
    assert (properties["endLine"], properties["endColumn"]) == ("3", "5")


def test_multi_line_finding_drops_columns_github_would_reject() -> None:
    _, properties, _ = decode_command(annotation(finding(end_line=7, end_column=2)))
    assert properties["line"] == "3" and properties["endLine"] == "7"
    assert "col" not in properties and "endColumn" not in properties


#: Text made of the characters and sequences that matter to the runner's parser.
text_with_specials = st.lists(
    st.sampled_from([*"ab%:,=\r\n\t ü;", "::", "%0A", "%25", "%3A"]), min_size=1, max_size=20
).map("".join)


@given(path=text_with_specials, message=text_with_specials, rule=text_with_specials)
def test_any_text_round_trips_through_the_runner_and_stays_one_command(
    path: str, message: str, rule: str
) -> None:
    line = annotation(finding(path=path, message=message, rule=rule))
    assert "\n" not in line and "\r" not in line  # a raw newline would start a new command
    _, properties, decoded = decode_command(line)
    assert properties["file"] == path
    assert properties["title"] == rule
    assert decoded == message


def test_render_lists_every_finding_then_the_summary() -> None:
    result = Result((finding(), finding(path="migrations/V1__a.sql", severity=Severity.WARNING)),
                    files_checked=2)
    lines = render(result, OPTIONS).splitlines()
    assert [decode_command(line)[0] for line in lines[:2]] == ["error", "warning"]
    assert lines[2] == "Found 1 error and 1 warning in 2 files."


def test_step_summary_groups_rows_by_file_and_escapes_markdown() -> None:
    result = Result(
        (
            finding(path="migrations/V1__a.sql", line=1, message="a | b <script>"),
            finding(path="migrations/V1__a.sql", line=4, rule="empty-migration",
                    severity=Severity.WARNING, message="two\nlines"),
            finding(path="migrations/V2__b.sql", line=2),
        ),
        files_checked=2,
    )
    summary = step_summary(result, OPTIONS, {})
    rows = [line for line in summary.splitlines() if line.startswith("| ")]
    assert rows[0] == "| File | Line | Severity | Rule | Message |"
    assert rows[1] == "| --- | ---: | --- | --- | --- |"
    body = rows[2:]
    assert len(body) == 3
    assert body[0].startswith("| `migrations/V1__a.sql` | 1 | error | `invalid-filename` |")
    assert body[1].startswith("|  | 4 | warning | `empty-migration` |")  # same file: no repeat
    assert body[2].startswith("| `migrations/V2__b.sql` | 2 |")
    assert "a \\| b &lt;script&gt;" in body[0]
    assert "two<br>lines" in body[1]
    assert ":x: Found 2 errors and 1 warning in 2 files." in summary


def test_step_summary_links_lines_when_the_runner_says_where_the_commit_is() -> None:
    environ = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r",
               "GITHUB_SHA": "abc123"}
    summary = step_summary(Result((finding(),), 1), OPTIONS, environ)
    assert "[3](https://github.com/o/r/blob/abc123/migrations/v2__b.sql#L3)" in summary


def test_clean_step_summary_says_so() -> None:
    summary = step_summary(Result((), files_checked=4), OPTIONS, {})
    assert ":white_check_mark: No findings in 4 files." in summary
    assert "| File |" not in summary


# --- the real command line ----------------------------------------------------------------------


@pytest.fixture
def bad_branch(repo: Repo) -> Repo:
    seed_migrations(repo, count=3)
    repo.write("migrations/v4__lower_case.sql", "CREATE TABLE IF NOT EXISTS t4 (id int);\n")
    return repo


def actions_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            **extra}


def test_check_inside_actions_defaults_to_annotations_and_a_summary(
    bad_branch: Repo, tmp_path: Path
) -> None:
    done = bad_branch.gate("check", "--no-verify", env=actions_env(tmp_path))
    assert done.returncode == 1, done.stderr
    name, properties, message = decode_command(done.stdout.splitlines()[0])
    assert name == "error"
    assert properties["file"] == "migrations/v4__lower_case.sql"
    assert properties["title"] == "invalid-filename"
    assert "hint: rename to V004__lower_case.sql" in message
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "| `migrations/v4__lower_case.sql` | 1 | error | `invalid-filename` |" in summary


def test_summary_is_appended_not_overwritten(bad_branch: Repo, tmp_path: Path) -> None:
    (tmp_path / "summary.md").write_text("earlier step\n", encoding="utf-8")
    bad_branch.gate("check", "--no-verify", env=actions_env(tmp_path))
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("earlier step\n### migration-gate check")


def test_explicit_format_wins_inside_actions(bad_branch: Repo, tmp_path: Path) -> None:
    done = bad_branch.gate("check", "--no-verify", "--format", "text", env=actions_env(tmp_path))
    assert done.returncode == 1
    assert "::error" not in done.stdout
    assert "migrations/v4__lower_case.sql:1:1 invalid-filename error" in done.stdout
    assert not (tmp_path / "summary.md").exists()


def test_outside_actions_the_default_is_text(bad_branch: Repo) -> None:
    done = bad_branch.gate("check", "--no-verify")
    assert "::error" not in done.stdout
    assert "invalid-filename error" in done.stdout


def test_sarif_file_inside_actions_still_annotates_the_log(bad_branch: Repo,
                                                           tmp_path: Path) -> None:
    sarif = tmp_path / "out" / "gate.sarif"
    done = bad_branch.gate("check", "--no-verify", "--format", "sarif", "--output", str(sarif),
                           env=actions_env(tmp_path))
    assert done.returncode == 1
    assert done.stdout.startswith("::error file=migrations/v4__lower_case.sql,")
    assert '"version": "2.1.0"' in sarif.read_text(encoding="utf-8")
    assert "invalid-filename" in (tmp_path / "summary.md").read_text(encoding="utf-8")


def test_clean_check_inside_actions(repo: Repo, tmp_path: Path) -> None:
    seed_migrations(repo, count=2)
    done = repo.gate("check", "--no-verify", env=actions_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "::error" not in done.stdout and "::warning" not in done.stdout
    assert "No findings" in (tmp_path / "summary.md").read_text(encoding="utf-8")




def test_lint_inside_actions_defaults_to_annotations(repo: Repo, tmp_path: Path) -> None:
    path = repo.write("migrations/V1__index.sql",
                      "CREATE TABLE IF NOT EXISTS t (id int);\n"
                      "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_id ON t (id);\n")
    done = repo.gate("lint", str(path), env=actions_env(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    commands = [decode_command(line) for line in done.stdout.splitlines() if line.startswith("::")]
    found = [(p["file"], p["line"], p["title"]) for _, p, _ in commands]
    rule = "ban-concurrent-index-creation-in-transaction"
    assert ("migrations/V1__index.sql", "2", rule) in found
    assert "ban-concurrent-index-creation-in-transaction" in (
        tmp_path / "summary.md").read_text(encoding="utf-8")


def test_an_unwritable_summary_is_said_and_the_findings_decide(bad_branch: Repo,
                                                               tmp_path: Path) -> None:
    env = actions_env(tmp_path, GITHUB_STEP_SUMMARY=str(tmp_path / "no-such-dir" / "s.md"))
    done = bad_branch.gate("check", "--no-verify", env=env)
    assert done.returncode == 1
    assert "cannot write the step summary" in done.stderr
    assert done.stdout.startswith("::error file=migrations/v4__lower_case.sql,")
