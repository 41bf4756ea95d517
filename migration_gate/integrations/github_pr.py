"""Which pull request the run is about (the runner's event file and environment), and the one
comment kept up to date on it: found by its marker, edited in place, created only when there is
something to say.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from migration_gate.diagnostics import GateError
from migration_gate.integrations.github_api import Comment, GitHubClient
from migration_gate.integrations.github_comment import is_marked

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"


@dataclass(frozen=True)
class PullRequest:
    owner: str
    repo: str
    number: int
    head_sha: str
    from_fork: bool  # the head branch lives in another repository

    @property
    def repository(self) -> str:
        return f"{self.owner}/{self.repo}"


def pull_request_from(environ: Mapping[str, str]) -> PullRequest:
    """The pull request of a `pull_request` (or `pull_request_target`) run, from
    `$GITHUB_EVENT_PATH` and `$GITHUB_REPOSITORY`; anything else is a GateError."""
    repository = environ.get("GITHUB_REPOSITORY", "")
    owner, _, repo = repository.partition("/")
    if not owner or not repo:
        raise GateError("no pull request: GITHUB_REPOSITORY (owner/name) is not set")
    event_path = environ.get("GITHUB_EVENT_PATH")
    if not event_path:
        raise GateError("no pull request: GITHUB_EVENT_PATH is not set (not a GitHub Actions "
                        "run)")
    try:
        with open(event_path, encoding="utf-8") as handle:
            event = json.load(handle)
    except (OSError, ValueError) as error:
        raise GateError(f"cannot read the event {event_path}: {error}") from None
    pull = event.get("pull_request") if isinstance(event, dict) else None
    if not isinstance(pull, dict) or not isinstance(pull.get("number"), int):
        name = environ.get("GITHUB_EVENT_NAME") or "this"
        raise GateError(f"no pull request: the {name} event is not about a pull request")
    head = pull.get("head")
    sha = head.get("sha") if isinstance(head, dict) else None
    if not isinstance(sha, str):
        sha = environ.get("GITHUB_SHA", "")
    return PullRequest(owner, repo, pull["number"], sha, _from_fork(pull))


def _from_fork(pull: dict[str, object]) -> bool:
    """The head repository is not the base one (a deleted fork has no head repository)."""

    def full_name(side: object) -> object:
        repo = side.get("repo") if isinstance(side, dict) else None
        return repo.get("full_name") if isinstance(repo, dict) else None

    base, head = full_name(pull.get("base")), full_name(pull.get("head"))
    if base is None:
        return False  # an event without repository details: nothing says it is a fork
    return head != base


@dataclass(frozen=True)
class Outcome:
    """What the run did to the pull request's comments, for one line of log."""

    action: str  # created, updated, unchanged, none
    url: str = ""
    removed: int = 0

    def describe(self) -> str:
        if self.action == "none":
            return "no findings and no earlier comment: nothing to post"
        where = f" {self.url}" if self.url else ""
        extra = f" (and removed {self.removed} duplicate{'s' * (self.removed != 1)})" \
            if self.removed else ""
        if self.action == "unchanged":
            return f"the pull-request comment{where} is up to date{extra}"
        return f"{self.action} the pull-request comment{where}{extra}"


def sync_comment(client: GitHubClient, pull: PullRequest, key: str, body: str,
                 create: bool) -> Outcome:
    """Make the pull request's marked comment read `body`: edit the oldest one in place (and
    delete any later duplicate, which two concurrent first runs can leave), or create one when
    `create` (a run with findings). An unchanged body is not written again."""
    mine: list[Comment] = [c for c in client.issue_comments(pull.owner, pull.repo, pull.number)
                           if is_marked(c.body, key)]
    if not mine:
        if not create:
            return Outcome("none")
        created = client.create_comment(pull.owner, pull.repo, pull.number, body)
        return Outcome("created", created.html_url)
    first, *duplicates = sorted(mine, key=lambda c: c.id)
    for duplicate in duplicates:
        client.delete_comment(pull.owner, pull.repo, duplicate.id)
    if first.body == body:
        return Outcome("unchanged", first.html_url, len(duplicates))
    updated = client.update_comment(pull.owner, pull.repo, first.id, body)
    return Outcome("updated", updated.html_url or first.html_url, len(duplicates))
