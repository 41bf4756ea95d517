"""The few GitHub REST endpoints the pull-request comment needs, over `urllib.request`.

Endpoints (https://docs.github.com/en/rest/issues/comments, API version 2022-11-28):

- `GET /repos/{owner}/{repo}/issues/{issue_number}/comments`: list, `per_page` at most 100,
  further pages named by the `Link` header's `rel="next"` URL
  (https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api);
- `POST /repos/{owner}/{repo}/issues/{issue_number}/comments` `{"body"}`: create, 201;
- `PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}` `{"body"}`: update, 200;
- `DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}`: delete, 204.

A pull request is an issue to these endpoints. The token goes in the `Authorization` header
only, and only to the API's own host: a `Link` or a redirect to another host is refused rather
than followed with the token.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPMessage
from typing import IO
from urllib.parse import quote, urlsplit

from migration_gate import __version__

API_VERSION = "2022-11-28"
PER_PAGE = 100
#: 100 pages of 100 comments: a pull request with more is not one the gate will page through.
MAX_PAGES = 100
TIMEOUT_SECONDS = 30


class GitHubError(Exception):
    """The API could not be reached or refused the request (one line, for the user)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Forbidden(GitHubError):
    """403: the token may read but not write (a pull request from a fork), or lacks the
    `pull-requests: write` permission."""


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    html_url: str


@dataclass(frozen=True)
class Response:
    status: int
    payload: object
    next_url: str | None


_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";]*)"?')


def next_link(header: str | None) -> str | None:
    """The `rel="next"` URL of a `Link` header, e.g. `<https://…?page=2>; rel="next", …`."""
    for match in _LINK.finditer(header or ""):
        if "next" in match.group(2).split():
            return match.group(1)
    return None


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only on the same scheme and host: the request carries the token."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int,
                         msg: str, headers: HTTPMessage,
                         newurl: str) -> urllib.request.Request | None:
        if _origin(newurl) != _origin(req.full_url):
            raise GitHubError(f"the API redirected to another host ({_origin(newurl)}); "
                              "not following it with the token")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class GitHubClient:
    def __init__(self, api_url: str, token: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_SameHostRedirects())

    # --- the endpoints ----------------------------------------------------------------------

    def issue_comments(self, owner: str, repo: str, number: int) -> Iterator[Comment]:
        """Every comment of the issue or pull request, oldest first, page after page."""
        url: str | None = (f"{self._repo_url(owner, repo)}/issues/{number}/comments"
                           f"?per_page={PER_PAGE}")
        pages = 0
        while url is not None and pages < MAX_PAGES:
            if _origin(url) != _origin(self.api_url):
                raise GitHubError(f"the next page is on another host ({_origin(url)[1]}); "
                                  "not following it with the token")
            response = self._request("GET", url)
            if not isinstance(response.payload, list):
                raise GitHubError(f"unexpected answer to GET {url}: not a list")
            for item in response.payload:
                yield _comment(item)
            url = response.next_url
            pages += 1

    def create_comment(self, owner: str, repo: str, number: int, body: str) -> Comment:
        url = f"{self._repo_url(owner, repo)}/issues/{number}/comments"
        return _comment(self._request("POST", url, {"body": body}).payload)

    def update_comment(self, owner: str, repo: str, comment_id: int, body: str) -> Comment:
        url = f"{self._repo_url(owner, repo)}/issues/comments/{comment_id}"
        return _comment(self._request("PATCH", url, {"body": body}).payload)

    def delete_comment(self, owner: str, repo: str, comment_id: int) -> None:
        self._request("DELETE", f"{self._repo_url(owner, repo)}/issues/comments/{comment_id}")

    # --- the plumbing -----------------------------------------------------------------------

    def _repo_url(self, owner: str, repo: str) -> str:
        return f"{self.api_url}/repos/{quote(owner, safe='')}/{quote(repo, safe='')}"

    def _request(self, method: str, url: str, payload: object = None) -> Response:
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self._token}",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": f"migration-gate/{__version__}",
        })
        if data is not None:
            request.add_header("Content-Type", "application/json; charset=utf-8")
        try:
            with self._opener.open(request, timeout=self._timeout) as answer:
                raw = answer.read()
                status = answer.status
                link = answer.headers.get("Link")
        except urllib.error.HTTPError as error:
            raise _refusal(method, url, error) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", None) or error
            raise GitHubError(f"cannot reach {urlsplit(url).netloc}: {reason}") from None
        try:
            decoded = json.loads(raw) if raw.strip() else None
        except ValueError:
            raise GitHubError(f"{method} {urlsplit(url).path}: the answer is not JSON") from None
        return Response(status, decoded, next_link(link))


def _refusal(method: str, url: str, error: urllib.error.HTTPError) -> GitHubError:
    """`403 Resource not accessible by integration` and friends, as one line."""
    try:
        detail = json.loads(error.read() or b"{}").get("message")
    except (ValueError, AttributeError, OSError):
        detail = None
    text = f"{method} {urlsplit(url).path} answered {error.code}"
    if detail:
        text += f": {detail}"
    # a 403 that is a rate limit is not a permission: retrying later would succeed
    permission = error.code == 403 and "rate limit" not in (detail or "").lower()
    kind = Forbidden if permission else GitHubError
    return kind(text, status=error.code)


def _comment(item: object) -> Comment:
    if not isinstance(item, dict):
        raise GitHubError("unexpected comment in the API's answer: not an object")
    identifier, body, html_url = item.get("id"), item.get("body"), item.get("html_url")
    if not isinstance(identifier, int):
        raise GitHubError("unexpected comment in the API's answer: no numeric id")
    return Comment(identifier, body if isinstance(body, str) else "",
                   html_url if isinstance(html_url, str) else "")
