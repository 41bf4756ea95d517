"""`lint`'s text report with each file's part cached (issue 14).

A warm `lint` of thousands of files spent most of its time turning cached findings back into
`Diagnostic`s and rendering the excerpts of thousands of findings, all of which depend only
on what the findings cache key already covers (the file's text, the settings, the code), on
the file's path as shown and on the report's settings (colour, GitHub Actions escaping). So
each file's part of the text report is cached next to its findings, under a key made of
those, with its error and warning counts: a warm run reads the files, makes their keys, reads
one value per file and writes them out in path order, building no finding at all.

The report is byte for byte the one `report.text.render` prints for the same findings: a
file's block is rendered by `report.text.FileBlocks`, and the report's findings are sorted by
path first, so each file's findings are together and a report is its blocks in path order,
then the count line. Only where that holds is this path taken (`applies`): the text format on
standard output, no JSON copy, each path once, the cache on.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TextIO

from migration_gate.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:
    from migration_gate.report.text import FileBlocks
    from migration_gate.sql.engine import LintJob
    from migration_gate.sql.pack import Pack

#: `Diagnostic.sort_key`'s fields within one file, read in C.
_BY_PLACE = attrgetter("line", "column", "rule")


def applies(fmt: str, output: Path | None, each_once: bool) -> bool:
    """Whether the report can be assembled from per-file blocks: only the terminal text
    report (no `--output`, no JSON copy to write), each file named once (`each_once`: a file
    named twice has its findings interleaved with its twin's in the report)."""
    from migration_gate.report import JSON_COPY_ENV

    return fmt == "text" and output is None and each_once and not os.environ.get(JSON_COPY_ENV)


def report(jobs: Sequence[LintJob], problems: Sequence[Diagnostic],
           configured: Callable[[list[Diagnostic]], list[Diagnostic]], root: Path,
           texts: dict[str, str], checked: int, fail_on: Severity, use_cache: bool) -> bool:
    """Write the text report of `jobs` and of the findings `problems` (files that could not be
    linted: rendered, not cached) on standard output; True when it fails at `fail_on`.
    `configured`: the problems with their files' configured severities (`off` dropped).

    With the cache, each file's block is looked up in the pack (`sql.pack`), then in the
    SQLite cache, else rendered from its findings (themselves cached or linted); SQLite is not
    even opened when the pack has every file. Files linted are rendered where they are linted
    (a worker process, in a large run): the rendering is shared by the cores too."""
    import sys

    from migration_gate.cachedir import cache_root
    from migration_gate.report import ReportOptions, use_color
    from migration_gate.report.text import FileBlocks
    from migration_gate.sql import pack
    from migration_gate.sql.engine import derived_key

    blocks = FileBlocks(ReportOptions(root=root, color=use_color(sys.stdout), command="lint",
                                      texts=texts))
    parts: dict[str, str] = {}
    packed = pack.Pack()
    found: dict[str, _Packed] = {}  # the parts found in the pack
    keys: dict[str, str] = {}
    if use_cache:
        settings = f"{int(blocks.color)}{int(blocks.actions)}"
        # standard input's excerpt would come from a file named `-`: never cached
        keys = {job.path: derived_key(job, settings, job.path) for job in jobs
                if job.path != "-"}
        pack_file = cache_root() / PACK_NAME
        packed = pack.read(pack_file)
        for path, key in keys.items():
            span = packed.spans.get(key)
            part = _packed(packed.data, span) if span is not None else None
            if part is not None:
                found[path] = part
    if len(found) < len(jobs):
        _complete(parts, [job for job in jobs if job.path not in found], keys, blocks, root,
                  use_cache)
    if use_cache and len(found) < len(keys):
        pack.write(pack_file, pack.merged(packed, _pack_values(keys, parts, found, packed)))
    for problem in problems:
        parts[problem.path] = _part(blocks, problem.path, configured([problem]))
    return _write(parts, found, packed.data, blocks, checked, fail_on)


class _Packed(NamedTuple):
    """A file's part in the pack: its counts, and where its block is in the pack's bytes."""

    errors: int
    warnings: int
    start: int
    end: int


def _packed(data: bytes, span: tuple[int, int]) -> _Packed | None:
    """The part at `span` of the pack's bytes (`_part`'s form), None if it is not one."""
    start, end = span
    newline = data.find(b"\n", start, end)
    if newline < 0:
        return None
    try:
        errors, warnings = map(int, data[start:newline].split(b" "))
    except ValueError:
        return None
    return _Packed(errors, warnings, newline + 1, end)


def _pack_values(keys: dict[str, str], parts: dict[str, str], found: dict[str, _Packed],
                 packed: Pack) -> dict[str, bytes]:
    """This run's parts by key, for the next pack: those with a lone surrogate (a file name
    that is not UTF-8) left out, so that the pack's bytes are UTF-8 as standard output
    writes it."""
    values: dict[str, bytes] = {}
    for path, key in keys.items():
        part = found.get(path)
        if part is not None:
            start = packed.spans[key][0]
            values[key] = packed.data[start : part.end]
        else:
            with contextlib.suppress(UnicodeEncodeError):
                values[key] = parts[path].encode("utf-8")
    return values


#: The pack's file name in the cache folder.
PACK_NAME = "lint-text-v1.pack"


def _complete(parts: dict[str, str], jobs: Sequence[LintJob], keys: dict[str, str],
              blocks: FileBlocks, root: Path, use_cache: bool) -> None:
    """Add to `parts` the block of every job not there: from the SQLite cache (`use_cache`),
    else rendered from its findings, cached or linted (and rendered) by `_Render`; the new
    ones are stored."""
    from migration_gate.sql.engine import Cache, _from_cached, cache_key
    from migration_gate.sql.pool import run_jobs

    cache = Cache.open() if use_cache else None
    render = _Render(root, blocks.color, store=cache is not None)
    try:
        wanted = [job.path for job in jobs if job.path in keys]
        if cache is not None:
            for index, value in cache.get_texts([keys[p] for p in wanted]).items():
                parts[wanted[index]] = value
        todo = [job for job in jobs if job.path not in parts]
        finding_keys = [cache_key(job) for job in todo] if cache is not None else []
        found = cache.get_many(finding_keys) if cache is not None else {}
        for index, items in found.items():
            job = todo[index]
            parts[job.path] = _part(blocks, job.path, _with_rules(
                [_from_cached(item, job.path) for item in items], job.rules))
        linted = [n for n in range(len(todo)) if n not in found]
        stored: list[tuple[str, list[list[object]]]] = []
        for n, (part, rows) in zip(linted, run_jobs([todo[n] for n in linted], render),
                                   strict=True):
            parts[todo[n].path] = part
            if rows is not None:
                stored.append((finding_keys[n], rows))
        if cache is not None:
            cache.put_many(stored)
            cache.put_texts([(keys[job.path], parts[job.path]) for job in todo
                             if job.path in keys])
    finally:
        if cache is not None:
            cache.close()


@dataclass(frozen=True)
class _Render:
    """A job's part of the report, made where the job is linted: its findings with the
    configured severities (`LintJob.rules`, as `Config.severity_for` reads them), rendered;
    with `store`, also its findings as the cache keeps them. Picklable: it is sent to the
    worker processes."""

    root: Path
    color: bool
    store: bool

    def __call__(self, job: LintJob) -> tuple[str, list[list[object]] | None]:
        # what is imported only where it is used: this runs once per file (issue 14)
        from migration_gate.sql.engine import lint_job

        found = lint_job(job)
        rows = None
        if self.store:
            from migration_gate.sql.engine import _to_cached

            rows = [_to_cached(d) for d in found]
        blocks = _BLOCKS.get((self.root, self.color))
        if blocks is None:
            from migration_gate.report import ReportOptions
            from migration_gate.report.text import FileBlocks

            blocks = _BLOCKS[self.root, self.color] = FileBlocks(
                ReportOptions(root=self.root, color=self.color, command="lint"))
        text = job.text if job.path != "-" else None  # as `lint` gives the report its texts
        return _part(blocks, job.path, _with_rules(found, job.rules), text), rows


#: Each process's renderer, by (root, colour): its memos serve every job it renders.
_BLOCKS: dict[tuple[Path, bool], FileBlocks] = {}


def _with_rules(found: list[Diagnostic], rules: tuple[tuple[str, Severity], ...],
                ) -> list[Diagnostic]:
    """The findings with the configured severities, `off` (configured, or a rule's default)
    dropped, as `lint._configured` gives them (`Config.severity_for`: the first setting of a
    rule counts)."""
    first: dict[str, Severity] = {}
    for rule, severity in rules:
        first.setdefault(rule, severity)
    kept = []
    for diagnostic in found:
        severity = first.get(diagnostic.rule, diagnostic.severity)
        if severity is not Severity.OFF:
            kept.append(diagnostic if severity is diagnostic.severity
                        else diagnostic.with_severity(severity))
    return kept


def _part(blocks: FileBlocks, path: str, diagnostics: list[Diagnostic],
          text: str | None = None) -> str:
    """What is cached for one file: `errors warnings`, a newline, then its block (excerpts
    from `text` when given)."""
    diagnostics.sort(key=_BY_PLACE)
    errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    warnings = sum(1 for d in diagnostics if d.severity is Severity.WARNING)
    return f"{errors} {warnings}\n{blocks.block(path, diagnostics, text)}"


def _write(parts: dict[str, str], found: dict[str, _Packed], data: bytes, blocks: FileBlocks,
           checked: int, fail_on: Severity) -> bool:
    """The report, from each file's part (a string, or a block in the pack's bytes `data`):
    blocks in path order, then the count line. Written as bytes when standard output writes
    UTF-8 without translating newlines (what it would write anyway), so that the pack's
    blocks are never decoded."""
    import sys

    raw = _raw_utf8(sys.stdout) and not any(
        not p.isascii() and _SURROGATE.search(p) for p in parts.values())
    view = memoryview(data)
    errors = warnings = files = 0
    out: list[str] = []
    raw_out: list[bytes | memoryview] = []
    for path in sorted({*parts, *found}):
        part = found.get(path)
        if part is not None:
            if part.start == part.end:
                continue
            errors, warnings, files = errors + part.errors, warnings + part.warnings, files + 1
            if raw:
                raw_out.append(view[part.start : part.end])
            else:
                out.append(data[part.start : part.end].decode("utf-8", "replace"))
            continue
        counts, block = parts[path].split("\n", 1)
        if block:
            first, second = counts.split(" ")
            errors, warnings, files = errors + int(first), warnings + int(second), files + 1
            if raw:
                raw_out.append(block.encode("utf-8"))
            else:
                out.append(block)
    count = blocks.count(errors, warnings, files, checked)
    if raw:
        raw_out.append(count.encode("utf-8"))
        _write_bytes(sys.stdout, b"".join(raw_out))
    else:
        from migration_gate.console import write_out

        write_out("".join(out) + count)
    ranks = [s.rank for s, n in ((Severity.ERROR, errors), (Severity.WARNING, warnings)) if n]
    return any(rank >= fail_on.rank for rank in ranks)


#: A lone surrogate: what `os.fsdecode` makes of a name's bytes that are not UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _raw_utf8(stream: TextIO | None) -> bool:
    """Whether bytes of UTF-8 text are what `stream` would write for that text."""
    import codecs

    encoding = getattr(stream, "encoding", None)
    if getattr(stream, "buffer", None) is None or not encoding or os.linesep != "\n":
        return False
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def _write_bytes(stream: TextIO, data: bytes) -> None:
    """`console.write_out` for bytes: after what `stream` holds, on its buffer."""
    from migration_gate.console import OutputError

    try:
        stream.flush()
        stream.buffer.write(data)
    except (OSError, ValueError) as error:
        raise OutputError(getattr(error, "strerror", None) or str(error)) from None
