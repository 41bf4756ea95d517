"""`migration-gate lint FILE...`: the SQL rules alone, on files that need not be in git.

This is what the pre-commit hook calls. Folders given are searched for `*.sql` files (not in
hidden folders such as `.git` or `.venv`); `-` reads one file from standard input.
Unreadable input is a finding (`non-utf8-migration`, `empty-migration`) or one clear line
with exit code 2 (a missing path), never a traceback.

The files named are kept as the strings the shell gave (a `Path` is made only where one is
needed: an absolute path, a monorepo, an `exclude` pattern): pre-commit and CI pass thousands
of them, and each file costs one `stat` and one read (issue 14).
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
import sys
from collections.abc import Callable
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migration_gate.commands import _lint_text
from migration_gate.commands._finish import default_format, finish
from migration_gate.commands.options import add_config, add_dialect, add_report
from migration_gate.diagnostics import Diagnostic, GateError, Severity
from migration_gate.types import Dialect

if TYPE_CHECKING:
    from argparse import ArgumentParser

    from migration_gate.config import Config
    from migration_gate.sql.engine import LintJob

#: The FILE that means standard input (`cat V1__x.sql | migration-gate lint -`).
STDIN = "-"


def add_arguments(parser: ArgumentParser) -> None:
    # strings, not `Path`s: pre-commit passes thousands, and most need no `Path` (see above)
    parser.add_argument("files", nargs="*", metavar="FILES")
    add_dialect(parser, "SQL dialect (default: configured, else refinery.toml's db_type, "
                "else postgres).")
    add_config(parser, "Configuration file (.migration-gate.yaml or a TOML file).")
    add_report(parser)
    parser.add_argument("--no-cache", dest="no_cache", action="store_true",
                        help="Do not read or write the findings cache.")


def lint(files: tuple[str, ...], dialect: Dialect | None, config_file: Path | None,
         fmt: str | None, output: Path | None, fail_on: str | None, no_cache: bool) -> None:
    """Lint SQL migration FILEs (or folders of them; `-` for standard input) with the SQL
    rules only."""
    from migration_gate.config import load_here
    from migration_gate.sql.engine import LintJob, cache_key, lint_cached, lint_many, open_cache

    if not files:
        raise GateError("no file given: migration-gate lint FILE...")
    overrides = {"dialect": dialect, "fail_on": fail_on}
    config, repo_root = load_here(config_file=config_file, overrides=overrides)
    config_of = _configs_by_project(config, repo_root, config_file, overrides)
    cwd = Path.cwd()
    paths = [(p, config_of(p)) for p in _expand(files)]
    paths = [(p, c) for p, c in paths if not _excluded(p, cwd, c.project_dir, c.exclude)]
    problems: list[Diagnostic] = []
    jobs: list[LintJob] = []
    configs: dict[str, Config] = {}
    texts: dict[str, str] = {}
    for path, file_config in paths:
        shown = _display(path, cwd)
        configs[shown] = file_config
        text, problem = _read(path, shown)
        if problem is not None:
            problems.append(problem)
        elif text is not None:
            jobs.append(LintJob.for_config(shown, text, file_config))
            if shown != STDIN:
                texts[shown] = text
    fail = min((c.fail_on for c in {id(c): c for c in configs.values()}.values()),
               key=lambda s: s.rank, default=config.fail_on)
    use_cache = not no_cache and not os.environ.get("MIGRATION_GATE_NO_CACHE")
    # each file once in `configs`: a file named twice makes it shorter than `paths`
    if _lint_text.applies(default_format(fmt), output, len(configs) == len(paths)):
        failed = _lint_text.report(jobs, problems,
                                   lambda found: _configured(found, configs, config), cwd,
                                   texts, len(paths), fail, use_cache)
        _before_exit(jobs)
        sys.exit(1 if failed else 0)
    cache = open_cache(use_cache)
    diagnostics = list(problems)
    if cache is None:
        found = lint_many(jobs, use_cache=False)
    else:
        try:
            found = lint_cached(jobs, cache, [cache_key(job) for job in jobs])
        finally:
            cache.close()
    for one in found:
        diagnostics.extend(one)
    _before_exit(jobs)
    _finish_lint(_configured(diagnostics, configs, config), len(paths), fmt, output, cwd, fail,
                 texts)


def _before_exit(jobs: list[LintJob]) -> None:
    """After a large run, set every object aside from the garbage collector (`gc.freeze`):
    the run ends with the report, and the interpreter's exit collects once more over
    everything still alive, which after a corpus-sized lint is millions of objects (60-100 ms
    of a 1.5 s cold run, measured; issue 14) for no cycle worth finding. Objects are still
    freed by reference counting and `atexit` functions still run; a small run (or one in a
    test's process, which goes on) is left as it is."""
    from migration_gate.sql.pool import PARALLEL_MIN_CHARS

    if sum(len(job.text) for job in jobs) >= PARALLEL_MIN_CHARS:
        import gc

        gc.freeze()


def _finish_lint(kept: list[Diagnostic], checked: int, fmt: str | None, output: Path | None,
                 cwd: Path, fail: Severity, texts: dict[str, str]) -> None:
    """The report of any format, from the findings (sorted here), and the exit."""
    from migration_gate.pipeline import Result

    # `Diagnostic.sort_key`'s fields, read in C: thousands of findings on a corpus-sized run
    by_place = attrgetter("path", "line", "column", "rule")
    result = Result(tuple(sorted(kept, key=by_place)), files_checked=checked)
    finish(result, fmt=fmt, output=output, root=cwd, fail_on=fail, command="lint",
           texts=texts)


def _configured(diagnostics: list[Diagnostic], configs: dict[str, Config],
                default: Config) -> list[Diagnostic]:
    """Each finding with its file's configured severity (`off` drops it), as
    `pipeline.apply_config` would give it, in the same order. Asked once per (configuration,
    rule) instead of once per finding: a corpus-sized run has thousands of findings and, in a
    single project, one configuration."""
    severities: dict[tuple[int, str, Severity], Severity] = {}
    kept: list[Diagnostic] = []
    for diagnostic in diagnostics:
        config = configs.get(diagnostic.path, default)
        key = (id(config), diagnostic.rule, diagnostic.severity)
        severity = severities.get(key)
        if severity is None:
            severity = severities[key] = config.severity_for(diagnostic.rule,
                                                             diagnostic.severity)
        if severity is Severity.OFF:
            continue
        kept.append(diagnostic if severity is diagnostic.severity
                    else diagnostic.with_severity(severity))
    return kept


def _configs_by_project(
    config: Config, repo_root: Path | None, config_file: Path | None,
    overrides: dict[str, Any],
) -> Callable[[str], Config]:
    """Each file's configuration: in a monorepo (projects configured, or found from a root
    without a migrations folder) its own project's, so that a SQLite project's files are
    linted as SQLite; else the one configuration, as always."""
    from migration_gate import projects as monorepo

    if config_file is not None or not monorepo.is_multi_project(config, None, repo_root):
        return lambda _path: config
    root = repo_root or config.project_dir
    found = monorepo.projects_of(config, root)
    found_dir = config.config_dirs[0] if config.config_dirs else config.project_dir
    cache: dict[str, Config] = {}
    project_of = monorepo.project_finder(found)

    def config_of(path: str) -> Config:
        project = None if path == STDIN else project_of(Path(path))
        if project is None:
            return config
        if project.name not in cache:
            cache[project.name] = monorepo.project_config(found_dir, project, overrides)
        return cache[project.name]

    return config_of


def _expand(files: tuple[str, ...]) -> list[str]:
    """The files to lint, in the order given (a folder's `*.sql` files sorted), each checked
    with one `stat`; any path that is not there is one clear error before anything is read."""
    found: list[str] = []
    for name in files:
        if name == STDIN:
            found.append(name)
            continue
        mode = _mode(name or ".")  # `Path("")` is the current folder
        if mode is not None and stat.S_ISDIR(mode):
            found.extend(str(p) for p in sorted(_sql_files(Path(name))))
        elif mode is not None and stat.S_ISREG(mode):
            found.append(name)
        elif mode is not None:
            # a FIFO or a device would block the read forever
            raise GateError(f"not a regular file: {Path(name)}")
        elif any(char in name for char in "*?["):
            # the shell passes a pattern that matched nothing through as it is
            raise GateError(f"no file matches {Path(name)}")
        else:
            raise GateError(f"file not found: {Path(name)}")
    return found


#: `stat` errors that mean "no such file" (as `Path.exists` reads them).
_MISSING = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


def _mode(name: str) -> int | None:
    """The file's `st_mode` (symbolic links followed), None when there is no such file."""
    try:
        return os.stat(name).st_mode
    except ValueError:  # a NUL in the name
        return None
    except OSError as error:
        if error.errno in _MISSING:
            return None
        raise GateError(f"cannot read {Path(name)}: {error.strerror or error}") from None


def _sql_files(folder: Path) -> list[Path]:
    """The `*.sql` files under `folder`, at any depth, outside hidden folders (`Path.rglob`
    recurses once per level: a deep enough folder raised `RecursionError`)."""
    from migration_gate.sources import walk

    found: list[Path] = []
    for dirpath, _dirnames, filenames in walk(folder):
        here = Path(dirpath)
        for name in filenames:
            path = here / name
            if name.endswith(".sql") and path.is_file() and not _hidden(path.relative_to(folder)):
                found.append(path)
    return found


def _hidden(rel: Path) -> bool:
    """Inside a folder given, files under `.git`, `.venv`, `.tox`... are not migrations."""
    return any(part.startswith(".") for part in rel.parts[:-1])


def _display(name: str, cwd: Path) -> str:
    """The path as the user named it, relative to `cwd` when it is inside (no symlink lookups:
    pre-commit passes thousands of relative paths)."""
    if not os.path.isabs(name):
        if os.sep == "/" and "//" not in name and "/." not in name and (
                not name.startswith(".")) and not name.endswith("/") and name:
            return name  # already as `normpath` writes it (the usual case, thousands of times)
        return os.path.normpath(name).replace(os.sep, "/")
    path = Path(name)
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return path.as_posix()


def _excluded(name: str, cwd: Path, project_dir: Path, patterns: tuple[str, ...]) -> bool:
    if not patterns:
        return False
    path = Path(name)
    candidates = {_display(str(path), cwd), _display(str(path.absolute()), project_dir),
                  path.as_posix()}
    return any(fnmatch.fnmatchcase(c, p) for c in candidates for p in patterns)


def _read_stdin() -> bytes:
    """Standard input's bytes; a closed one (`<&-`) is said, not a traceback."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise GateError("standard input is closed: nothing to read for `-`")
    data: bytes = stream.read()
    return data


def _read_file(name: str) -> bytes:
    """The file's bytes, with plain `os` calls: `Path.read_bytes` builds a `Path` and a
    buffered reader per file, twice the time on thousands of small files."""
    descriptor = os.open(name, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(descriptor, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def _read(name: str, shown: str) -> tuple[str | None, Diagnostic | None]:
    """The file's text, or the finding that says why it cannot be linted."""
    try:
        content = _read_stdin() if shown == STDIN else _read_file(name)
    except OSError as error:
        raise GateError(f"cannot read {shown}: {error.strerror or error}") from None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        from migration_gate.checks.folder import NON_UTF8_MIGRATION

        return None, Diagnostic(
            NON_UTF8_MIGRATION.id, Severity.ERROR, shown,
            f"{Path(name).name}: not valid UTF-8 (byte 0x{content[error.start]:02x} at offset "
            f"{error.start}); refinery refuses to read it",
            hint="re-save the file as UTF-8",
        )
    if not _has_statement(text):
        rule, severity = EMPTY_RULE
        return None, Diagnostic(
            rule, severity, shown,
            f"{Path(name).name}: the file holds no SQL statement",
            hint="write the migration, or delete the file before it is merged",
        )
    return text, None


#: `checks.folder.EMPTY_MIGRATION`'s id and severity (a test holds them equal): importing the
#: checks for an empty file would cost a corpus-sized run a sixth of its time.
EMPTY_RULE = ("empty-migration", Severity.WARNING)
#: What `checks.folder.has_statement` skips before a file's first statement: blanks, `;`, byte
#: order marks, line comments and block comments without a nested one (a nested or unclosed
#: one is left to `has_statement`).
_LEADING = re.compile(r"(?:[\s;\ufeff]+|--[^\n]*(?:\n|\Z)|/\*(?:[^*/]|\*(?!/)|/(?!\*))*\*/)*")


def _has_statement(text: str) -> bool:
    """`checks.folder.has_statement`, answered here for a file whose first statement follows
    blanks and comments that do not nest (nearly every file): importing the checks brings the
    pipeline's modules along, a sixth of a warm run's time (issue 14)."""
    match = _LEADING.match(text)
    end = match.end() if match is not None else 0
    if end == len(text):
        return False
    if text.startswith("/*", end):
        from migration_gate.checks.folder import has_statement

        return has_statement(text)
    return True
