"""`migration-gate comment --report report.json`: one pull-request comment, kept up to date.

It reads the JSON report a `check` wrote (`--format json --output FILE`, or the copy
`$MIGRATION_GATE_JSON_REPORT` asks for) and the pull request from the GitHub Actions
environment, then edits the comment that carries its marker, or creates it when the run has
findings. The token comes from `$GITHUB_TOKEN`, never from the command line, where process
listings and logs would show it.

The comment is an extra: it never decides the gate's outcome (the action reports the gate's own
exit code after this step). A pull request from a fork, whose token is read-only, gets one
notice and exit 0; any other failure is one line and exit 2, which the action ignores.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.console import echo, print_raw, say
from migration_gate.diagnostics import GateError

if TYPE_CHECKING:
    from argparse import ArgumentParser

FORK_NOTICE = (
    "no pull-request comment: the token of a pull request from a fork is read-only "
    "(GitHub answered 403). The findings are in the annotations and the step summary."
)


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--report", dest="report_path", required=True, metavar="FILE",
                        type=Path, help="The JSON report of `check --format json --output FILE`.")
    parser.add_argument("--key", default="", metavar="NAME",
                        help="Tells this comment apart when the gate runs several times in one "
                        "pull request, e.g. the project's folder (default: one comment per pull "
                        "request).")


def comment(report_path: Path, key: str) -> None:
    """Create or update the pull request's migration-gate comment (GitHub Actions)."""
    try:
        message = post(report_path, key, os.environ)
    except GateError as error:
        say_failure(str(error))
        sys.exit(2)
    echo(f"migration-gate: {message}")


def post(report_path: Path, key: str, environ: Mapping[str, str]) -> str:
    """Do the work; the line to print, or a GateError saying why not."""
    from migration_gate.integrations import github_comment as text
    from migration_gate.integrations.github_api import Forbidden, GitHubClient, GitHubError
    from migration_gate.integrations.github_pr import (
        DEFAULT_API_URL,
        DEFAULT_SERVER_URL,
        pull_request_from,
        sync_comment,
    )
    from migration_gate.report.json import parse

    try:
        report = parse(report_path.read_text(encoding="utf-8"), str(report_path))
    except OSError as error:
        raise GateError(f"cannot read the report {report_path}: {error.strerror}") from None
    pull = pull_request_from(environ)
    token = environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise GateError("no GITHUB_TOKEN in the environment (the action passes its "
                        "github-token input; elsewhere export a token with pull-requests: "
                        "write)")
    server = environ.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL
    run_id = environ.get("GITHUB_RUN_ID")
    context = text.CommentContext(
        server_url=server, repository=pull.repository, head_sha=pull.head_sha,
        run_url=text.run_url(server, pull.repository, run_id) if run_id else None,
        key=text.normalise_key(key),
    )
    clean = not report.result.diagnostics
    body = (text.clean_body(report.result, context) if clean
            else text.render_body(report.result, context))
    client = GitHubClient(environ.get("GITHUB_API_URL") or DEFAULT_API_URL, token)
    try:
        outcome = sync_comment(client, pull, context.key, body, create=not clean)
    except Forbidden as error:
        if pull.from_fork:
            say_notice(FORK_NOTICE)
            return "comment skipped (pull request from a fork)"
        raise GateError(f"GitHub refused to write the comment ({error}); give the job "
                        "`permissions: pull-requests: write`") from None
    except GitHubError as error:
        raise GateError(f"cannot update the pull-request comment: {error}") from None
    return outcome.describe()


def in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def say_notice(message: str) -> None:
    """One `::notice::` in Actions (shown on the run's page), one plain line elsewhere."""
    from migration_gate.report.github import escape_data

    if in_actions():
        print_raw(f"::notice title=migration-gate::{escape_data(message)}")
    else:
        say(message)


def say_failure(message: str) -> None:
    """One line: a `::warning::` in Actions, where a log line alone goes unseen."""
    from migration_gate.report.github import escape_data

    if in_actions():
        print_raw(f"::warning title=migration-gate::{escape_data(message)}")
    else:
        say(f"error: {message}")
