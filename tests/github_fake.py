"""A local stand-in for GitHub's REST API: the issue-comment endpoints the pull-request comment
uses, with the request and response shapes GitHub documents
(https://docs.github.com/en/rest/issues/comments, API version 2022-11-28).

It serves on 127.0.0.1 on a free port, in a thread, for one test. Every request is recorded;
whatever a real GitHub would refuse (a missing header, a wrong body) is answered the way GitHub
answers and also listed in `violations`, which a test asserts empty: an assertion raised inside
the server's thread would not fail the test.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

WRITE_TOKEN = "ghs_write_token_for_tests"
READ_TOKEN = "ghs_read_only_token_for_tests"  # what a pull request from a fork gets
BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
DOCS = "https://docs.github.com/rest/issues/comments"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case (HTTP's are case-insensitive)
    body: Any


@dataclass
class FakeGitHub:
    url: str = ""
    #: (owner, repo, issue number) → its comments, oldest first
    issues: dict[tuple[str, str, int], list[dict[str, Any]]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=lambda: {WRITE_TOKEN: "write",
                                                            READ_TOKEN: "read"})
    requests: list[Recorded] = field(default_factory=list)
    #: where the `Link` header's page URLs point (GitHub: the API itself; a test: elsewhere)
    link_base: str = ""
    violations: list[str] = field(default_factory=list)
    next_id: int = 1_000_001

    def open_issue(self, owner: str, repo: str, number: int) -> list[dict[str, Any]]:
        return self.issues.setdefault((owner, repo, number), [])

    def add_comment(self, owner: str, repo: str, number: int, body: str,
                    user: dict[str, Any] | None = None) -> dict[str, Any]:
        comment = self._comment(owner, repo, number, body, user or
                                {"login": "reviewer", "id": 7, "type": "User"})
        self.open_issue(owner, repo, number).append(comment)
        return comment

    def bodies(self, owner: str, repo: str, number: int) -> list[str]:
        return [c["body"] for c in self.issues.get((owner, repo, number), [])]

    def calls(self) -> list[tuple[str, str]]:
        """(method, path) of every request, in order."""
        return [(r.method, r.path) for r in self.requests]

    def _comment(self, owner: str, repo: str, number: int, body: str,
                 user: dict[str, Any]) -> dict[str, Any]:
        identifier = self.next_id
        self.next_id += 1
        stamp = "2025-01-01T00:00:00Z"
        return {
            "id": identifier,
            "node_id": f"IC_kwDO{identifier}",
            "url": f"{self.url}/repos/{owner}/{repo}/issues/comments/{identifier}",
            "html_url": f"https://github.com/{owner}/{repo}/pull/{number}"
                        f"#issuecomment-{identifier}",
            "body": body,
            "user": user,
            "created_at": stamp,
            "updated_at": stamp,
            "issue_url": f"{self.url}/repos/{owner}/{repo}/issues/{number}",
            "author_association": "NONE",
            "performed_via_github_app": None,
        }

    def find(self, owner: str, repo: str, comment_id: int) -> tuple[list[Any], int] | None:
        for (o, r, _n), comments in self.issues.items():
            if (o, r) != (owner, repo):
                continue
            for index, comment in enumerate(comments):
                if comment["id"] == comment_id:
                    return comments, index
        return None


def _error(status: int, message: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    return status, {"message": message, "documentation_url": DOCS, "status": str(status),
                    **extra}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        fake.requests.append(Recorded(method, parts.path, parse_qs(parts.query),
                                      {k.lower(): v for k, v in self.headers.items()}, body))
        headers: dict[str, str] = {}
        status, payload = self._route(method, parts.path, parse_qs(parts.query), body, headers)
        data = b"" if payload is None else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any,
               headers: dict[str, str]) -> tuple[int, Any]:
        fake = self.fake
        if self.headers.get("Accept") != "application/vnd.github+json":
            fake.violations.append(f"{method} {path}: Accept is {self.headers.get('Accept')!r}")
        if self.headers.get("X-GitHub-Api-Version") != "2022-11-28":
            fake.violations.append(f"{method} {path}: no X-GitHub-Api-Version 2022-11-28")
        authorization = self.headers.get("Authorization")
        if authorization is None:
            return _error(401, "Requires authentication")
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer":
            fake.violations.append(f"{method} {path}: Authorization scheme {scheme!r}")
        access = fake.tokens.get(token)
        if access is None:
            return _error(401, "Bad credentials")
        segments = path.strip("/").split("/")
        if len(segments) == 6 and segments[0] == "repos" and segments[3] == "issues":
            owner, repo, number, tail = segments[1], segments[2], segments[4], segments[5]
            if number.isdigit() and tail == "comments":  # /repos/o/r/issues/7/comments
                return self._issue_comments(method, (owner, repo, int(number)), query, body,
                                            access, headers)
            if number == "comments" and tail.isdigit():  # /repos/o/r/issues/comments/123
                return self._one_comment(method, owner, repo, int(tail), body, access)
        fake.violations.append(f"{method} {path}: not an endpoint the comment should use")
        return _error(404, "Not Found")

    def _issue_comments(self, method: str, key: tuple[str, str, int],
                        query: dict[str, list[str]], body: Any, access: str,
                        headers: dict[str, str]) -> tuple[int, Any]:
        fake = self.fake
        owner, repo, number = key
        if key not in fake.issues:
            return _error(404, "Not Found")
        comments = fake.issues[key]
        if method == "GET":
            return 200, self._page(comments, key, query, headers)
        if method != "POST":
            fake.violations.append(f"{method} on an issue's comments")
            return _error(404, "Not Found")
        if access != "write":
            return _error(403, "Resource not accessible by integration")
        problem = self._check_body(method, body)
        if problem:
            return problem
        comment = fake._comment(owner, repo, number, body["body"], BOT)
        comments.append(comment)
        headers["Location"] = comment["url"]
        return 201, comment

    def _page(self, comments: list[Any], key: tuple[str, str, int],
              query: dict[str, list[str]], headers: dict[str, str]) -> list[Any]:
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        last = max(1, -(-len(comments) // per_page))
        base = (f"{self.fake.link_base or self.fake.url}/repos/{key[0]}/{key[1]}/issues/"
                f"{key[2]}/comments")
        links = []
        if page < last:
            links.append(f'<{base}?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{base}?per_page={per_page}&page={last}>; rel="last"')
        if page > 1:
            links.append(f'<{base}?per_page={per_page}&page={page - 1}>; rel="prev"')
            links.append(f'<{base}?per_page={per_page}&page=1>; rel="first"')
        if links:
            headers["Link"] = ", ".join(links)
        return comments[(page - 1) * per_page: page * per_page]

    def _one_comment(self, method: str, owner: str, repo: str, comment_id: int, body: Any,
                     access: str) -> tuple[int, Any]:
        fake = self.fake
        found = fake.find(owner, repo, comment_id)
        if found is None:
            return _error(404, "Not Found")
        if method not in ("PATCH", "DELETE"):
            fake.violations.append(f"{method} on one comment")
            return _error(404, "Not Found")
        if access != "write":
            return _error(403, "Resource not accessible by integration")
        comments, index = found
        if method == "DELETE":
            del comments[index]
            return 204, None
        problem = self._check_body(method, body)
        if problem:
            return problem
        comments[index] = dict(comments[index], body=body["body"],
                               updated_at="2025-01-02T00:00:00Z")
        return 200, comments[index]

    def _check_body(self, method: str, body: Any) -> tuple[int, Any] | None:
        fake = self.fake
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            fake.violations.append(f"{method}: Content-Type {self.headers.get('Content-Type')}")
        if not isinstance(body, dict) or set(body) != {"body"} or \
                not isinstance(body["body"], str):
            fake.violations.append(f"{method}: body {body!r} is not {{'body': str}}")
            return _error(422, "Invalid request.")
        if len(body["body"]) > 65_536:
            fake.violations.append(f"{method}: a body of {len(body['body'])} characters")
            return _error(422, "Validation Failed", errors=[{
                "resource": "IssueComment", "code": "unprocessable", "field": "data",
                "message": "Body is too long (maximum is 65536 characters)"}])
        return None


@contextmanager
def fake_github() -> Iterator[FakeGitHub]:
    """A FakeGitHub serving until the `with` block ends (then shut down and joined)."""
    fake = FakeGitHub()
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
