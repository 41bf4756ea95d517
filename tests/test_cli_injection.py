"""Repository-controlled names cannot inject workflow commands or terminal sequences (issue 13,
item 11), through the real CLI and, for the property, through the reporters themselves.

Inside GitHub Actions the runner executes a log line that starts with `::` (after blanks) as a
workflow command. Every line the gate prints goes through `console.safe_line`: control
characters shown (`\\x1b`, `\\n`), and inside Actions `%`/CR/LF escaped as the toolkit does and
a leading `::` neutralised. Only the github reporter's own annotations start with `::`.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migration_gate.console import safe_line, safe_text
from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.pipeline import Result
from migration_gate.report import ReportOptions, render
from tests.conftest import Repo, one_line_error, seed_migrations

ACTIONS = {"GITHUB_ACTIONS": "true"}
#: An escaped property value: no raw `:` `,` CR LF, and `%` only as one of the toolkit's escapes.
_VALUE = r"(?:[^%:,\r\n]|%25|%0D|%0A|%3A|%2C|%5B)*"
OUR_ANNOTATION = re.compile(
    rf"::(?:error|warning) file={_VALUE},line=\d+(?:,col=\d+)?,endLine=\d+(?:,endColumn=\d+)?,"
    rf"title={_VALUE}::(?:[^%\r\n]|%25|%0D|%0A|%5B)*"
)


def assert_no_injected_command(output: str) -> None:
    """No line (as the runner splits them: LF, CR) starts with `::` unless it is one of our
    annotations, fully escaped; no raw ESC anywhere."""
    assert "\x1b" not in output
    assert "##[" not in output  # the runner's legacy syntax, a command anywhere in a line
    for line in re.split(r"\r\n|\r|\n", output):
        if line.lstrip().startswith("::"):
            assert OUR_ANNOTATION.fullmatch(line), line


@pytest.fixture
def seeded(repo: Repo) -> Repo:
    seed_migrations(repo, count=2)
    return repo


INJECTIONS = [
    "x\n::error file=a.sql,line=1::injected",
    "::stop-commands::token",
    "  ::add-mask::secret",
    "x\r::error::injected",
    "a ##[add-mask]b",
]


@pytest.mark.parametrize("name", INJECTIONS)
def test_configured_dir_in_an_error_line(seeded: Repo, name: str) -> None:
    """The one-line error names a repository-controlled path: escaped inside Actions."""
    seeded.write(".migration-gate.yaml", f"dir: {name!r}\n".replace("'", '"'))
    done = seeded.gate("check", "--no-verify", env=ACTIONS)
    one_line_error(done, "migrations folder not found")
    assert_no_injected_command(done.stderr)
    if "\n" in name or "\r" in name:
        assert "%0A" in done.stderr or "%0D" in done.stderr


@pytest.mark.parametrize("fmt", ["text", "github"])
@pytest.mark.parametrize("name", INJECTIONS)
def test_folder_name_in_the_report(seeded: Repo, name: str, fmt: str) -> None:
    """A sub-folder (refinery walks them) with a finding: report and summary stay safe."""
    seeded.write(f"migrations/{name}/V2__dup.sql", "SELECT 1;\n")
    done = seeded.gate("check", "--no-verify", "--format", fmt, env=ACTIONS)
    assert done.returncode == 1, done.stderr
    assert "duplicate" in done.stdout
    assert_no_injected_command(done.stdout)
    assert_no_injected_command(done.stderr)


def test_dangling_link_in_an_injecting_folder(seeded: Repo) -> None:
    """The sibling: a read error (exit 2) names the file inside the folder."""
    folder = seeded.path / "migrations" / "a\n::warning::injected"
    folder.mkdir()
    (folder / "V9__gone.sql").symlink_to(seeded.path / "nowhere")
    done = seeded.gate("check", "--no-verify", env=ACTIONS)
    one_line_error(done, "cannot read", "a%0A::warning")
    assert_no_injected_command(done.stderr)


@pytest.mark.slow
def test_escape_sequences_are_shown_outside_actions(seeded: Repo) -> None:
    seeded.write("migrations/\x1b]0;owned\x07\x1b[2J/V2__dup.sql", "SELECT 1;\n")
    for args in (("check", "--no-verify"), ("list",)):
        done = seeded.gate(*args)
        assert "\x1b" not in done.stdout + done.stderr, args
        assert "\\x1b]0;owned\\x07\\x1b[2J" in done.stdout, args
    seeded.write(".migration-gate.yaml", 'dir: "gone\\e[31m"\n')
    done = seeded.gate("check", "--no-verify")
    line = one_line_error(done, "\\x1b[31m")
    assert "\x1b" not in line


def test_safe_line_examples() -> None:
    assert safe_line("::stop-commands::x", actions=True) == "%3A:stop-commands::x"
    assert safe_line("  ::x", actions=True) == "  %3A:x"
    assert safe_line("50% a\nb\rc", actions=True) == "50%25 a%0Ab%0Dc"
    assert safe_line("a\nb", actions=False) == "a\\nb"
    assert safe_line("::x", actions=False) == "::x"
    assert safe_line("a\x1b[31mb\u202e", actions=False) == "a\\x1b[31mb\\u202e"


#: Names built from the pieces that matter: command markers, line breaks, escapes, ESC.
NAMES = st.lists(st.sampled_from([":", "::", "\n", "\r", "%", ",", "\x1b", " ", "a", "#", "[",
                                  "\u2028", "\t", "0A", "=", "é", "::error::", "##["]),
                 max_size=12).map("".join)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(path=NAMES, message=NAMES, hint=NAMES, rule=NAMES)
def test_property_no_line_starts_a_command(path: str, message: str, hint: str,
                                          rule: str) -> None:
    diagnostic = Diagnostic(rule or "r", Severity.ERROR, path, message, hint=hint or None)
    result = Result((diagnostic,), files_checked=1)
    options = ReportOptions(root=Path("."))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITHUB_ACTIONS", "true")
        for fmt in ("github", "text"):
            assert_no_injected_command(render(result, fmt, options))
        assert_no_injected_command(safe_text(f"{path}\n{message}"))
        assert_no_injected_command(safe_line(path))


@pytest.mark.slow
@settings(max_examples=4, deadline=None)
@given(name=st.text(st.sampled_from(":\n\r%,\x1ba "), min_size=1, max_size=12))
def test_property_through_the_cli(tmp_path_factory: pytest.TempPathFactory, name: str) -> None:
    from tests.conftest import make_repo

    repo = make_repo(tmp_path_factory.mktemp("inj") / "repo")
    seed_migrations(repo, count=2)
    repo.write(f"migrations/{name}/V2__dup.sql", "SELECT 1;\n")
    done: subprocess.CompletedProcess[str] = repo.gate("check", "--no-verify", env=ACTIONS)
    assert done.returncode == 1, done.stderr
    assert_no_injected_command(done.stdout)
    assert_no_injected_command(done.stderr)
