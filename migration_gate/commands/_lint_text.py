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

import os
from collections.abc import Callable, Sequence
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:
    from migration_gate.report.text import FileBlocks
    from migration_gate.sql.engine import LintJob

#: `Diagnostic.sort_key`'s fields within one file, read in C.
_BY_PLACE = attrgetter("line", "column", "rule")


def applies(fmt: str, output: Path | None, paths: Sequence[str]) -> bool:
    """Whether the report can be assembled from per-file blocks: only the terminal text
    report (no `--output`, no JSON copy to write), files named once (a file named twice has
    its findings interleaved with its twin's in the report). The caller checks the cache is
    on."""
    from migration_gate.report import JSON_COPY_ENV

    return (fmt == "text" and output is None and not os.environ.get(JSON_COPY_ENV)
            and len(set(paths)) == len(paths))


def report(jobs: Sequence[LintJob], problems: Sequence[Diagnostic],
           configured: Callable[[list[Diagnostic]], list[Diagnostic]], root: Path,
           texts: dict[str, str], checked: int, fail_on: Severity) -> bool:
    """Write the text report of `jobs` and of the findings `problems` (files that could not be
    linted: rendered, not cached) on standard output; True when it fails at `fail_on`.
    `configured`: the findings with their files' configured severities (`off` dropped).

    Each file's block is looked up in the pack (`sql.pack`), then in the SQLite cache, else
    rendered from its findings (themselves cached or linted); SQLite is not even opened when
    the pack has every file."""
    import sys

    from migration_gate.console import write_out
    from migration_gate.report import ReportOptions, use_color
    from migration_gate.report.text import FileBlocks
    from migration_gate.sql import pack
    from migration_gate.sql.engine import cache_dir, derived_key

    blocks = FileBlocks(ReportOptions(root=root, color=use_color(sys.stdout), command="lint",
                                      texts=texts))
    settings = f"{int(blocks.color)}{int(blocks.actions)}"
    # standard input's excerpt would come from a file named `-`: never cached
    keys = {job.path: derived_key(job, settings, job.path) for job in jobs if job.path != "-"}
    pack_file = cache_dir() / PACK_NAME
    packed = pack.read(pack_file)
    parts: dict[str, str] = {}
    for path, key in keys.items():
        value = packed.get(key)
        if value is not None:
            parts[path] = value
    packed_all = len(parts) == len(keys)
    if len(parts) < len(jobs):
        _complete(parts, jobs, keys, blocks, configured)
    if not packed_all:
        pack.write(pack_file, pack.merged(packed, {key: parts[path]
                                                   for path, key in keys.items()}))
    for problem in problems:
        parts[problem.path] = _part(blocks, problem.path, configured([problem]))
    return _write(parts, blocks, checked, fail_on, write_out)


#: The pack's file name in the cache folder.
PACK_NAME = "lint-text-v1.pack"


def _complete(parts: dict[str, str], jobs: Sequence[LintJob], keys: dict[str, str],
              blocks: FileBlocks, configured: Callable[[list[Diagnostic]], list[Diagnostic]],
              ) -> None:
    """Add to `parts` the block of every job not there: from the SQLite cache, else rendered
    from its findings (cached or linted), and stored."""
    from migration_gate.sql.engine import Cache, cache_key, lint_cached, lint_many

    cache = Cache.open()
    try:
        wanted = [path for path in keys if path not in parts]
        if cache is not None:
            for index, value in cache.get_texts([keys[p] for p in wanted]).items():
                parts[wanted[index]] = value
        todo = [job for job in jobs if job.path not in parts]
        found = (lint_cached(todo, cache, [cache_key(job) for job in todo])
                 if cache is not None else lint_many(todo, use_cache=False))
        fresh: list[tuple[str, str]] = []
        for job, diagnostics in zip(todo, found, strict=True):
            parts[job.path] = _part(blocks, job.path, configured(diagnostics))
            if job.path in keys:
                fresh.append((keys[job.path], parts[job.path]))
        if cache is not None:
            cache.put_texts(fresh)
    finally:
        if cache is not None:
            cache.close()


def _part(blocks: FileBlocks, path: str, diagnostics: list[Diagnostic]) -> str:
    """What is cached for one file: `errors warnings`, a newline, then its block."""
    diagnostics.sort(key=_BY_PLACE)
    errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    warnings = sum(1 for d in diagnostics if d.severity is Severity.WARNING)
    return f"{errors} {warnings}\n{blocks.block(path, diagnostics)}"


def _write(parts: dict[str, str], blocks: FileBlocks, checked: int, fail_on: Severity,
           write_out: Callable[[str], None]) -> bool:
    """The report, from each file's part: blocks in path order, then the count line."""
    errors = warnings = files = 0
    out: list[str] = []
    for path in sorted(parts):
        counts, block = parts[path].split("\n", 1)
        if block:
            first, second = counts.split(" ")
            errors += int(first)
            warnings += int(second)
            files += 1
            out.append(block)
    out.append(blocks.count(errors, warnings, files, checked))
    write_out("".join(out))
    ranks = [s.rank for s, n in ((Severity.ERROR, errors), (Severity.WARNING, warnings)) if n]
    return any(rank >= fail_on.rank for rank in ranks)
