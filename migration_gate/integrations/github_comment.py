"""The text of the one pull-request comment the gate keeps up to date (no network here).

The comment is found again by a hidden marker on its first line, so every run edits the same
comment instead of adding one. Everything a finding carries (file names, SQL excerpts, database
errors) comes from the pull request under review, so it is rendered as inert text: escaped
Markdown, no HTML, and an `@` that cannot mention anyone. GitHub refuses a comment longer than
65,536 characters; a long report is cut at a finding's boundary with a line that says how many
are left out and links to the run, whose step summary has them all.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.pipeline import Result
from migration_gate.report.text import summary_line

#: GitHub's limit on a comment's body (the API answers 422 "Body is too long" beyond it).
COMMENT_LIMIT = 65_536

#: The most characters of one message, hint or note shown (a database error can be huge).
TEXT_CAP = 1_000

_ICONS = {Severity.ERROR: ":x:", Severity.WARNING: ":warning:", Severity.OFF: ":grey_question:"}


@dataclass(frozen=True)
class CommentContext:
    """Where the links point: the pull request's head commit on the server, and the run."""

    server_url: str  # https://github.com
    repository: str  # owner/name
    head_sha: str
    run_url: str | None = None
    key: str = ""  # tells apart several comments in one pull request (see `normalise_key`)


def normalise_key(key: str) -> str:
    """`services/api/./db/` → `services/api/db`; the repository's root (`.`, ``) → ``."""
    cleaned = posixpath.normpath(key.strip().replace("\\", "/")) if key.strip() else "."
    return "" if cleaned in (".", "/") else cleaned.strip("/")


def marker(key: str = "") -> str:
    """The hidden first line that finds the comment again: `<!-- migration-gate:comment -->`,
    or with a key `<!-- migration-gate:comment:services/api -->`. The key is percent-encoded
    beyond letters, digits, `.`, `_` and `/`, so that it can never close the HTML comment."""
    key = normalise_key(key)
    if not key:
        return "<!-- migration-gate:comment -->"
    encoded = quote(key, safe="/").replace("-", "%2D").replace("~", "%7E")
    return f"<!-- migration-gate:comment:{encoded} -->"


def is_marked(body: str, key: str = "") -> bool:
    """The comment is this key's: its body starts with the marker (a quote of it does not)."""
    return body.lstrip().startswith(marker(key))


def run_url(server_url: str, repository: str, run_id: str) -> str:
    return f"{server_url.rstrip('/')}/{repository}/actions/runs/{run_id}"


# --- inert text ---------------------------------------------------------------------------------


_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_REFERENCE = re.compile(r"([@#])(?=\w)")


def cap(text: str, limit: int = TEXT_CAP) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def inert(text: str) -> str:
    """Text that renders as itself: every ASCII punctuation character backslash-escaped (no
    emphasis, link, HTML or table), line breaks as `<br>`, and a word joiner after `@` and `#`
    so that `@team` mentions nobody and `#12` links nothing."""
    escaped = _PUNCTUATION.sub(r"\\\1", cap(text))
    escaped = _REFERENCE.sub("\\1\u2060", escaped)
    return "<br>".join(escaped.splitlines()) if escaped else escaped


def code(text: str) -> str:
    """Inline code whatever the text holds: a fence longer than any run of backticks in it."""
    flat = " ".join(cap(text, 300).splitlines()) or " "
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {flat} " if flat.startswith("`") or flat.endswith("`") else flat
    return f"{fence}{padded}{fence}"


# --- the body -----------------------------------------------------------------------------------


def blob_url(context: CommentContext, path: str, line: int) -> str:
    return (f"{context.server_url.rstrip('/')}/{context.repository}/blob/{context.head_sha}/"
            f"{quote(path)}#L{line}")


def title(context: CommentContext) -> str:
    suffix = f" · {code(context.key)}" if context.key else ""
    return f"### migration-gate{suffix}"


def footer(context: CommentContext) -> str:
    commit = code(context.head_sha[:12]) if context.head_sha else "this pull request"
    run = f" · [the run]({context.run_url})" if context.run_url else ""
    return f"<sub>For {commit}{run}. Updated in place on every run.</sub>"


def ordered(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Errors first: files with an error before files with warnings only, and inside a file
    errors before warnings, each by line."""
    items = list(diagnostics)
    worst: dict[str, int] = {}
    for diagnostic in items:
        worst[diagnostic.path] = max(worst.get(diagnostic.path, 0), diagnostic.severity.rank)
    return sorted(items, key=lambda d: (-worst[d.path], d.path, -d.severity.rank, d.line,
                                        d.column, d.rule))


def finding_line(diagnostic: Diagnostic, context: CommentContext) -> str:
    """`- :x: [line 3](…) `rule`: message` and the hint on a continuation line."""
    link = f"[line {diagnostic.line}]({blob_url(context, diagnostic.path, diagnostic.line)})"
    text = (f"- {_ICONS[diagnostic.severity]} {link} {code(diagnostic.rule)}: "
            f"{inert(diagnostic.message)}")
    if diagnostic.hint:
        text += f"\n  hint: {inert(diagnostic.hint)}"
    return text


def truncation_line(left_out: int, context: CommentContext) -> str:
    where = (f"[the run's summary]({context.run_url})" if context.run_url
             else "the run's step summary")
    noun = "finding" if left_out == 1 else "findings"
    return (f"… and {left_out} more {noun}, left out to stay within GitHub's limit on a "
            f"comment: {where} lists them all.")


def _notes(result: Result) -> list[str]:
    shown = [f"- note: {inert(note)}" for note in result.notes[:5]]
    if len(result.notes) > 5:
        shown.append(f"- … and {len(result.notes) - 5} more notes")
    return ["", *shown] if shown else []


def render_body(result: Result, context: CommentContext, limit: int = COMMENT_LIMIT) -> str:
    """The whole comment for a run with findings, never longer than `limit` characters."""
    icon = ":x:" if result.counts()["errors"] else ":warning:"
    head = "\n".join([marker(context.key), title(context), "",
                      f"{icon} {summary_line(result)}", *_notes(result), ""])
    tail = "\n\n" + footer(context) + "\n"
    chunks = finding_chunks(ordered(result.diagnostics), context)
    room = limit - len(head) - len(tail)
    if sum(map(len, chunks)) <= room:
        return head + "".join(chunks) + tail
    # keep room for the longest truncation line there can be
    budget = room - len(truncation_line(len(chunks), context)) - 2
    shown = 0
    used = 0
    while shown < len(chunks) and used + len(chunks[shown]) <= budget:
        used += len(chunks[shown])
        shown += 1
    cut = "\n\n" + truncation_line(len(chunks) - shown, context)
    return head + "".join(chunks[:shown]) + cut + tail


def finding_chunks(findings: list[Diagnostic], context: CommentContext) -> list[str]:
    """One chunk per finding; the first of each file carries the file's heading."""
    chunks = []
    previous: str | None = None
    for diagnostic in findings:
        heading = f"\n\n**{code(diagnostic.path)}**\n" if diagnostic.path != previous else ""
        chunks.append(heading + "\n" + finding_line(diagnostic, context))
        previous = diagnostic.path
    return chunks


def clean_body(result: Result, context: CommentContext) -> str:
    """The short text that replaces an earlier comment once the run is clean."""
    return "\n".join([marker(context.key), title(context), "",
                      f":white_check_mark: {summary_line(result)}", "", footer(context), ""])
