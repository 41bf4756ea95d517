"""The pull-request comment: its text (no network), and `migration-gate comment` run as a user's
workflow runs it, against a local server that speaks GitHub's issue-comment API."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.integrations.github_comment import (
    COMMENT_LIMIT,
    CommentContext,
    clean_body,
    is_marked,
    marker,
    render_body,
)
from migration_gate.pipeline import Result
from migration_gate.report import ReportOptions
from migration_gate.report.json import parse, render
from tests.conftest import Repo, one_line_error, run_gate, seed_migrations
from tests.github_fake import BOT, READ_TOKEN, WRITE_TOKEN, FakeGitHub, fake_github

OWNER, REPO, NUMBER = "octo", "shop", 7
HEAD = "0123456789abcdef0123456789abcdef01234567"
RUN_URL = "https://github.com/octo/shop/actions/runs/4242"
CONTEXT = CommentContext("https://github.com", "octo/shop", HEAD, RUN_URL)


def finding(rule: str = "invalid-filename", severity: Severity = Severity.ERROR,
            path: str = "migrations/v2__b.sql", message: str = "bad name", line: int = 1,
            hint: str | None = None) -> Diagnostic:
    return Diagnostic(rule, severity, path, message, line=line, hint=hint)


def result_of(*diagnostics: Diagnostic, files: int = 5) -> Result:
    return Result(tuple(diagnostics), files_checked=files)


# --- the text ---------------------------------------------------------------------------------


def test_body_has_summary_findings_by_file_errors_first_with_links_and_hints() -> None:
    body = render_body(result_of(
        finding("version-gap", Severity.WARNING, "migrations/V1__a.sql", "gap before V1", 1),
        finding("ban-drop-column", Severity.WARNING, "migrations/V9__z.sql", "drops x", 4,
                hint="stop using x first"),
        finding("duplicate-version", Severity.ERROR, "migrations/V9__z.sql", "V9 twice", 1),
    ), CONTEXT)
    assert body.startswith(marker() + "\n")
    assert ":x: Found 1 error and 2 warnings in 5 files." in body
    # the file with an error first, and inside it the error first
    order = [body.index(text) for text in ("**`migrations/V9__z.sql`**", "`duplicate-version`",
                                           "`ban-drop-column`", "**`migrations/V1__a.sql`**",
                                           "`version-gap`")]
    assert order == sorted(order)
    url = f"https://github.com/octo/shop/blob/{HEAD}/migrations/V9__z.sql#L4"
    assert f"- :warning: [line 4]({url}) `ban-drop-column`: drops x\n  hint: stop using x " \
           "first" in body
    assert RUN_URL in body and len(body) < 2_000


def test_repository_text_mentions_nobody_and_renders_as_text() -> None:
    body = render_body(result_of(finding(
        path="migrations/V1__`odd` @team.sql",
        message="@octocat fixes #12 <img src=x onerror=alert(1)> [x](https://evil) **b**\nnext",
    )), CONTEXT)
    assert "@octocat" not in body and "#12" not in body  # a word joiner follows @ and #
    assert not re.search(r"(?<!\\)<img", body)  # only as escaped text
    assert "](https://evil)" not in body and "**b**" not in body
    assert "\\<img src\\=x onerror\\=alert\\(1\\)\\>" in body
    assert "<br>next" in body  # a line break cannot start a Markdown block
    assert "**``migrations/V1__`odd` @team.sql``**" in body  # code: mentions stay inert


def test_markers_tell_keys_apart_and_cannot_close_the_html_comment() -> None:
    assert marker("") == marker(".") == marker("./") == "<!-- migration-gate:comment -->"
    assert marker("services/api/") == marker("./services/api") != marker("services/web")
    hostile = marker("a-->b -- c")
    assert hostile.startswith("<!-- ") and hostile.endswith(" -->")
    assert "--" not in hostile[len("<!--"):-len("-->")]
    body = render_body(result_of(finding()), CommentContext("https://github.com", "o/r", HEAD,
                                                            key="services/api"))
    assert is_marked(body, "services/api") and not is_marked(body, "")
    assert not is_marked("> " + body, "services/api")  # someone quoting it


def test_clean_body_is_short_and_marked() -> None:
    body = clean_body(result_of(files=4), CONTEXT)
    assert is_marked(body)
    assert ":white_check_mark: No findings in 4 files." in body
    assert len(body.splitlines()) <= 6


def many_findings(count: int, message_length: int) -> Result:
    return result_of(*(finding("ban-drop-column", Severity.WARNING if n % 3 else Severity.ERROR,
                               f"migrations/V{n // 7}__table_{n // 7}.sql",
                               f"finding {n} " + "x" * message_length, line=n % 50 + 1)
                       for n in range(count)), files=count // 7 + 1)


def shown_and_left_out(body: str) -> tuple[int, int]:
    shown = len(re.findall(r"^- :(?:x|warning):", body, flags=re.M))
    cut = re.search(r"… and (\d+) more findings?", body)
    return shown, int(cut.group(1)) if cut else 0


def test_a_long_report_is_cut_at_a_finding_with_a_link_to_the_run() -> None:
    body = render_body(many_findings(3_000, 900), CONTEXT)
    assert len(body) <= COMMENT_LIMIT
    shown, left_out = shown_and_left_out(body)
    assert shown + left_out == 3_000 and left_out > 0
    assert f"[the run's summary]({RUN_URL}) lists them all" in body
    assert body.endswith("Updated in place on every run.</sub>\n")


@settings(max_examples=60, deadline=None)
@given(count=st.integers(0, 120), message_length=st.integers(0, 1_200),
       limit=st.integers(2_500, 20_000))
def test_the_body_never_exceeds_the_limit_and_counts_every_finding(
        count: int, message_length: int, limit: int) -> None:
    result = many_findings(count, message_length)
    body = render_body(result, CONTEXT, limit=limit) if count else clean_body(result, CONTEXT)
    assert len(body) <= limit
    shown, left_out = shown_and_left_out(body)
    assert shown + left_out == count
    assert is_marked(body)


# --- the report it reads ----------------------------------------------------------------------


def write_report(path: Path, *diagnostics: Diagnostic, files: int = 5) -> Path:
    result = Result(tuple(diagnostics), files_checked=files, notes=("replay skipped",))
    path.write_text(render(result, ReportOptions(root=path.parent)), encoding="utf-8")
    return path


def test_the_json_report_reads_back_to_the_same_result(tmp_path: Path) -> None:
    diagnostics = (
        Diagnostic("ban-drop-column", Severity.ERROR, "db/V2__x.sql", "drops x", line=3,
                   column=2, end_line=4, end_column=7, hint="stop using x first"),
        Diagnostic("version-gap", Severity.WARNING, "db/V4__y.sql", "gap", line=1, column=1,
                   end_line=1, end_column=1),
    )
    report = parse(write_report(tmp_path / "r.json", *diagnostics).read_text(), "r.json")
    assert report.result == Result(diagnostics, files_checked=5, notes=("replay skipped",))
    assert report.command == "check"


def test_check_writes_a_json_copy_whatever_the_format(repo: Repo, tmp_path: Path) -> None:
    seed_migrations(repo, count=2)
    repo.write("migrations/v3__bad_name.sql", "SELECT 1;\n")
    copy = tmp_path / "copy" / "report.json"
    done = repo.gate("check", "--no-verify", "--format", "github",
                     env={"MIGRATION_GATE_JSON_REPORT": str(copy)})
    assert done.returncode == 1, done.stderr
    assert "::error file=migrations/v3__bad_name.sql" in done.stdout
    report = parse(copy.read_text(encoding="utf-8"), str(copy))
    assert [d.rule for d in report.result.diagnostics] == ["invalid-filename"]
    # a copy that cannot be written is said, and the exit code stays the findings' own
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")
    done = repo.gate("check", "--no-verify", "--format", "text",
                     env={"MIGRATION_GATE_JSON_REPORT": str(blocked / "report.json")})
    assert done.returncode == 1
    assert "migration-gate: cannot write" in done.stderr and "Traceback" not in done.stderr


# --- `migration-gate comment` against the local GitHub ---------------------------------------


def write_event(path: Path, fork: bool = False, pull_request: bool = True) -> Path:
    head_repo = "someone/shop" if fork else f"{OWNER}/{REPO}"
    event: dict[str, Any] = {"ref": "refs/heads/main"}
    if pull_request:
        event = {"action": "synchronize", "number": NUMBER, "pull_request": {
            "number": NUMBER,
            "head": {"sha": HEAD, "ref": "feature", "repo": {"full_name": head_repo}},
            "base": {"sha": "f" * 40, "ref": "main", "repo": {"full_name": f"{OWNER}/{REPO}"}},
        }}
    path.write_text(json.dumps(event), encoding="utf-8")
    return path


def comment_env(fake: FakeGitHub, tmp_path: Path, token: str | None = WRITE_TOKEN,
                fork: bool = False, actions: bool = True, pull_request: bool = True,
                api_url: str | None = None) -> dict[str, str]:
    env = {
        "GITHUB_API_URL": api_url or fake.url, "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": f"{OWNER}/{REPO}", "GITHUB_RUN_ID": "4242",
        "GITHUB_EVENT_NAME": "pull_request" if pull_request else "push",
        "GITHUB_EVENT_PATH": str(write_event(tmp_path / "event.json", fork, pull_request)),
    }
    if actions:
        env["GITHUB_ACTIONS"] = "true"
    if token is not None:
        env["GITHUB_TOKEN"] = token
    return env


def comment(tmp_path: Path, report: Path, env: dict[str, str],
            *args: str) -> subprocess.CompletedProcess[str]:
    return run_gate("comment", "--report", str(report), *args, cwd=tmp_path, env=env)


def marked(fake: FakeGitHub, key: str = "") -> list[str]:
    return [body for body in fake.bodies(OWNER, REPO, NUMBER) if is_marked(body, key)]


@pytest.mark.slow
def test_two_runs_leave_one_comment_edited_in_place(tmp_path: Path) -> None:
    with fake_github() as fake:
        fake.add_comment(OWNER, REPO, NUMBER, "LGTM, but see the gate")
        first = write_report(tmp_path / "first.json", finding())
        done = comment(tmp_path, first, comment_env(fake, tmp_path))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "created the pull-request comment https://github.com/octo/shop/pull/7" \
            in done.stdout
        path = f"/repos/{OWNER}/{REPO}/issues/{NUMBER}/comments"
        assert fake.calls() == [("GET", path), ("POST", path)]
        for request in fake.requests:
            assert request.headers["authorization"] == f"Bearer {WRITE_TOKEN}"
            assert request.headers["accept"] == "application/vnd.github+json"
            assert request.headers["x-github-api-version"] == "2022-11-28"
        assert fake.requests[0].query == {"per_page": ["100"]}
        posted = fake.requests[1].body
        assert set(posted) == {"body"} and "`invalid-filename`: bad name" in posted["body"]

        second = write_report(tmp_path / "second.json", finding(),
                              finding("version-gap", Severity.WARNING, line=2))
        done = comment(tmp_path, second, comment_env(fake, tmp_path))
        assert done.returncode == 0, done.stdout + done.stderr
        ours = fake.issues[(OWNER, REPO, NUMBER)][1]
        assert fake.calls()[2:] == [("GET", path),
                                    ("PATCH", f"/repos/{OWNER}/{REPO}/issues/comments/"
                                              f"{ours['id']}")]
        assert fake.bodies(OWNER, REPO, NUMBER)[0] == "LGTM, but see the gate"
        assert len(marked(fake)) == 1 and "`version-gap`" in marked(fake)[0]

        done = comment(tmp_path, second, comment_env(fake, tmp_path))  # nothing new
        assert "comment https://github.com/octo/shop/pull/7#issuecomment-" in done.stdout
        assert "is up to date" in done.stdout and fake.calls()[-1][0] == "GET"
        assert fake.violations == []


@pytest.mark.slow
def test_a_clean_run_replaces_the_comment_and_never_creates_one(tmp_path: Path) -> None:
    clean = write_report(tmp_path / "clean.json")
    with fake_github() as fake:
        fake.open_issue(OWNER, REPO, NUMBER)
        done = comment(tmp_path, clean, comment_env(fake, tmp_path))
        assert done.returncode == 0, done.stderr
        assert "nothing to post" in done.stdout
        assert [m for m, _ in fake.calls()] == ["GET"] and marked(fake) == []

        comment(tmp_path, write_report(tmp_path / "bad.json", finding()),
                comment_env(fake, tmp_path))
        done = comment(tmp_path, clean, comment_env(fake, tmp_path))
        assert done.returncode == 0 and "updated the pull-request comment" in done.stdout
        assert [m for m, _ in fake.calls()] == ["GET", "GET", "POST", "GET", "PATCH"]
        (body,) = marked(fake)
        assert ":white_check_mark: No findings in 5 files." in body
        assert "invalid-filename" not in body
        assert fake.violations == []


@pytest.mark.slow
def test_the_marker_on_the_second_page_is_found(tmp_path: Path) -> None:
    with fake_github() as fake:
        for n in range(130):
            fake.add_comment(OWNER, REPO, NUMBER, f"discussion {n}")
        ours = fake.add_comment(OWNER, REPO, NUMBER, marker() + "\nold findings", BOT)
        for n in range(40):
            fake.add_comment(OWNER, REPO, NUMBER, f"more discussion {n}")
        done = comment(tmp_path, write_report(tmp_path / "r.json", finding()),
                       comment_env(fake, tmp_path))
        assert done.returncode == 0, done.stdout + done.stderr
        gets = [r for r in fake.requests if r.method == "GET"]
        assert [r.query for r in gets] == [{"per_page": ["100"]},
                                           {"per_page": ["100"], "page": ["2"]}]
        assert fake.calls()[-1] == ("PATCH", f"/repos/{OWNER}/{REPO}/issues/comments/"
                                             f"{ours['id']}")
        assert len(fake.bodies(OWNER, REPO, NUMBER)) == 171
        (body,) = marked(fake)
        assert "`invalid-filename`" in body and "old findings" not in body
        assert fake.violations == []


@pytest.mark.slow  # over 0.6 s in the fast loop
def test_a_next_page_on_another_host_is_not_sent_the_token(tmp_path: Path) -> None:
    with fake_github() as fake, fake_github() as elsewhere:
        elsewhere.open_issue(OWNER, REPO, NUMBER)
        fake.link_base = elsewhere.url  # same address, another port: another origin
        for n in range(101):
            fake.add_comment(OWNER, REPO, NUMBER, f"discussion {n}")
        done = comment(tmp_path, write_report(tmp_path / "r.json", finding()),
                       comment_env(fake, tmp_path, actions=False))
        one_line_error(done, "another host")
        assert elsewhere.requests == [] and len(fake.requests) == 1


@pytest.mark.slow  # over 0.6 s in the fast loop
def test_a_fork_gets_one_notice_and_exit_0(tmp_path: Path) -> None:
    with fake_github() as fake:
        fake.open_issue(OWNER, REPO, NUMBER)
        done = comment(tmp_path, write_report(tmp_path / "r.json", finding()),
                       comment_env(fake, tmp_path, token=READ_TOKEN, fork=True))
        assert done.returncode == 0, done.stdout + done.stderr
        commands = [line for line in done.stdout.splitlines() if line.startswith("::")]
        assert len(commands) == 1 and commands[0].startswith("::notice title=migration-gate::")
        assert "fork" in commands[0] and "step summary" in commands[0]
        assert fake.calls()[-1][0] == "POST" and marked(fake) == []  # refused with 403
        assert fake.violations == []


@pytest.mark.slow  # over 0.6 s in the fast loop
def test_a_read_only_token_on_the_repository_itself_is_one_warning(tmp_path: Path) -> None:
    with fake_github() as fake:
        fake.open_issue(OWNER, REPO, NUMBER)
        done = comment(tmp_path, write_report(tmp_path / "r.json", finding()),
                       comment_env(fake, tmp_path, token=READ_TOKEN))
        assert done.returncode == 2
        assert done.stdout.count("\n") == 1 and done.stderr == ""
        assert done.stdout.startswith("::warning title=migration-gate::")
        assert "403: Resource not accessible by integration" in done.stdout
        assert "pull-requests: write" in done.stdout


def test_without_a_token_nothing_is_sent(tmp_path: Path) -> None:
    with fake_github() as fake:
        fake.open_issue(OWNER, REPO, NUMBER)
        done = comment(tmp_path, write_report(tmp_path / "r.json", finding()),
                       comment_env(fake, tmp_path, token=None, actions=False))
        one_line_error(done, "no GITHUB_TOKEN")
        assert fake.requests == []


def test_a_token_github_refuses_is_one_line(tmp_path: Path) -> None:
    with fake_github() as fake:
        fake.open_issue(OWNER, REPO, NUMBER)
        done = comment(tmp_path, write_report(tmp_path / "r.json", finding()),
                       comment_env(fake, tmp_path, token="ghs_revoked", actions=False))
        one_line_error(done, "401", "Bad credentials")
        assert "ghs_revoked" not in done.stderr


def test_not_a_pull_request_is_one_line(tmp_path: Path) -> None:
    with fake_github() as fake:
        done = comment(tmp_path, write_report(tmp_path / "r.json", finding()),
                       comment_env(fake, tmp_path, actions=False, pull_request=False))
        one_line_error(done, "no pull request", "push event")
        assert fake.requests == []


def test_an_unreachable_api_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    done = comment(tmp_path, write_report(tmp_path / "r.json", finding()),
                   comment_env(FakeGitHub(), tmp_path, actions=False, api_url=closed))
    one_line_error(done, "cannot reach 127.0.0.1")


def test_a_file_that_is_not_a_report_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text('{"runs": []}', encoding="utf-8")
    done = comment(tmp_path, tmp_path / "r.json",
                   comment_env(FakeGitHub(), tmp_path, actions=False))
    one_line_error(done, "not a migration-gate JSON report")


@pytest.mark.slow
def test_keys_keep_one_comment_per_project_and_duplicates_go(tmp_path: Path) -> None:
    report = write_report(tmp_path / "r.json", finding())
    with fake_github() as fake:
        fake.open_issue(OWNER, REPO, NUMBER)
        for key in ("services/api", "services/web"):
            done = comment(tmp_path, report, comment_env(fake, tmp_path), "--key", key)
            assert done.returncode == 0, done.stderr
        assert len(marked(fake, "services/api")) == len(marked(fake, "services/web")) == 1
        assert "### migration-gate · `services/api`" in marked(fake, "services/api")[0]
        # two first runs at once can both create one: the next run keeps the oldest
        fake.add_comment(OWNER, REPO, NUMBER, marker("services/api") + "\nrace", BOT)
        done = comment(tmp_path, write_report(tmp_path / "two.json", finding(), finding(line=9)),
                       comment_env(fake, tmp_path), "--key", "./services/api/")
        assert "removed 1 duplicate" in done.stdout, done.stdout + done.stderr
        assert [m for m, _ in fake.calls()[-3:]] == ["GET", "DELETE", "PATCH"]
        (api,) = marked(fake, "services/api")
        assert "[line 9]" in api
        assert len(marked(fake, "services/web")) == 1
        assert fake.violations == []


@pytest.mark.slow
def test_a_huge_report_posts_within_githubs_limit(tmp_path: Path) -> None:
    diagnostics = [finding("ban-drop-column", Severity.WARNING, f"migrations/V{n}__t.sql",
                           "ü" * 900, line=n + 1) for n in range(400)]
    with fake_github() as fake:
        fake.open_issue(OWNER, REPO, NUMBER)
        done = comment(tmp_path, write_report(tmp_path / "r.json", *diagnostics),
                       comment_env(fake, tmp_path))
        assert done.returncode == 0, done.stdout + done.stderr
        (body,) = marked(fake)
        assert len(body) <= COMMENT_LIMIT
        assert f"[the run's summary]({RUN_URL})" in body
        assert sum(shown_and_left_out(body)) == 400
        assert fake.violations == []
