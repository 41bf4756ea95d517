"""Lint many files fast: a cache keyed by content, and both cores for what is not cached.

A migration's findings depend only on its text, the dialect, the tables other migrations of
the branch create, the configured PostgreSQL version and (MySQL) the types earlier migrations
gave the columns it changes, so they are cached under a hash of
exactly those, plus everything else that can change a lint result: the code of the whole
package (the rule catalogue included), sqlglot's version, and the configured rule severities
(applied after the lint today, keyed anyway so that a rule disabled in the configuration may
one day be skipped by the lint itself). The cache is one SQLite file in the user's cache
folder; any problem with it only disables it.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from migration_gate.cachedir import cache_root
from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.sql.pool import PARALLEL_MIN_CHARS as PARALLEL_MIN_CHARS
from migration_gate.types import Dialect

if TYPE_CHECKING:
    import sqlite3

    from migration_gate.config import Config
    from migration_gate.runners.model import Runner
    from migration_gate.sql import pack
    from migration_gate.sql.columns import ColumnRows

#: Files over this many characters are linted from their tokens only (sqlglot would take
#: minutes on a multi-megabyte data dump); a `syntax-error` finding says so.
MAX_PARSED_CHARS = 2_000_000
#: The cache file is emptied when it grows past this size.
MAX_CACHE_BYTES = 64_000_000
#: The SQLite file of the cache, in the cache folder.
DATABASE_NAME = "lint-v1.sqlite"


@dataclass(frozen=True)
class LintJob:
    """One file to lint, with every setting that can change its findings."""

    path: str
    text: str
    dialect: Dialect = "postgres"
    new_tables: tuple[str, ...] = ()
    postgres_version: int | None = None
    sqlite_version: tuple[int, int] | None = None
    rules: tuple[tuple[str, Severity], ...] = ()  # the configured severities (cache key only)
    #: the runner that applies the file, with its settings (None: refinery): rules whose
    #: verdict depends on it (its transaction handling, its crash window) ask it, as they
    #: read `dialect`
    runner: Runner | None = None
    #: MySQL: the columns of the tables the file alters, as earlier migrations left them
    columns: ColumnRows = ()

    @classmethod
    def for_config(cls, path: str, text: str, config: Config,
                   new_tables: tuple[str, ...] = (), runner: Runner | None = None,
                   columns: ColumnRows = ()) -> LintJob:
        """A job with every setting of `config` that affects linting: a new such setting is
        added here, and so reaches every caller and the cache key."""
        return cls(path, text, config.dialect, new_tables, config.postgres_version,
                   config.sqlite_version, config.rules, runner, columns)


def lint_job(job: LintJob) -> list[Diagnostic]:
    from migration_gate.sql.lint import lint_text

    return lint_text(job.text, job.path, job.dialect, new_tables=job.new_tables,
                     postgres_version=job.postgres_version, sqlite_version=job.sqlite_version,
                     parse_statements=len(job.text) <= MAX_PARSED_CHARS, runner=job.runner,
                     columns=job.columns)


#: The findings of the last checks' jobs, by cache key, in one small file beside the SQLite
#: cache (`sql.pack`'s format): a check asks about a handful of files, the same ones run
#: after run (a pre-commit hook on a branch), and finding them all there spares it SQLite
#: (its import, a connection, a query: ~4 ms of a warm check). Before the SQLite file exists
#: (a first run, a CI job's empty cache folder) the file is the only store of what fits in it,
#: and what it drops is moved to SQLite: a cold check of a few files then does not create
#: the database either (its import and schema, ~4 ms).
RECENT_NAME = "recent-findings-v2.pack"
#: The file keeps the newest run's findings, then older ones, while it stays under this size
#: (small: every warm check reads it whole).
MAX_RECENT_BYTES = 64_000


def lint_many(jobs: Sequence[LintJob], *, use_cache: bool = True,
              workers: int | None = None) -> list[list[Diagnostic]]:
    """The findings of every job, in order: from the recent findings when they hold every
    job, else from the SQLite cache (when there is one) and the lint; the recent findings
    are then rewritten, and what they drop is kept in SQLite."""
    if not use_cache or os.environ.get("MIGRATION_GATE_NO_CACHE"):
        return _compute(list(jobs), workers)
    from migration_gate.sql import pack

    keys = [cache_key(job) for job in jobs]
    recent_file = cache_root() / RECENT_NAME
    recent = pack.read(recent_file)
    values = recent.values() if all(key in recent.spans for key in keys) else None
    found = _decoded([values[key] for key in keys]) if values is not None else None
    if found is not None:
        return [[_from_cached(item, job.path) for item in items]
                for job, items in zip(jobs, found, strict=True)]
    cache = Cache.open() if Cache.exists() else None
    try:
        results = (lint_cached(jobs, cache, keys, workers) if cache is not None
                   else _compute(list(jobs), workers))
        fresh = {key: marshal.dumps([_to_cached(d) for d in diagnostics])
                 for key, diagnostics in zip(keys, results, strict=True)}
        kept, dropped = _recent_values(recent, fresh)
        # what SQLite may lack: with it, this run's findings are there already (found there,
        # or stored by `lint_cached`); older ones may come from runs before it existed
        spilled = [(key, found) for key, value in dropped.items()
                   if (cache is None or key not in fresh)
                   and (found := _decoded([value])) is not None]
        if spilled and cache is None:
            cache = Cache.open()
        if spilled and cache is not None:
            cache.put_many([(key, found[0]) for key, found in spilled])
    finally:
        if cache is not None:
            cache.close()
    _write_recent(recent_file, kept)
    return results


def _decoded(values: Sequence[bytes]) -> list[list[list[object]]] | None:
    """The findings of each value (`_to_cached`'s lists, marshalled: `marshal` is built in,
    where `json` is four modules to import); None when the file was damaged (its values are
    then asked of SQLite)."""
    try:
        decoded = [marshal.loads(value) for value in values]
    except (ValueError, EOFError, TypeError):
        return None
    if not all(isinstance(items, list) and all(isinstance(i, list) and len(i) == 8
                                               for i in items) for items in decoded):
        return None
    return decoded


def _recent_values(old: pack.Pack, fresh: dict[str, bytes]
                   ) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(the next recent findings, what they drop): this run's, then the newest of the older
    ones, while the file stays under `MAX_RECENT_BYTES` (a branch switched back and forth finds
    both sides); oldest first, as the file keeps them."""
    kept: dict[str, bytes] = {}
    dropped: dict[str, bytes] = {}
    size = 0
    for key, value in (*fresh.items(), *reversed(old.values().items())):
        if key in kept or key in dropped:
            continue
        size += len(value) + len(key) + 8  # the value, and its line in the index
        if size > MAX_RECENT_BYTES:
            dropped[key] = value
        else:
            kept[key] = value
    return dict(reversed(kept.items())), dropped


def _write_recent(path: Path, values: dict[str, bytes]) -> None:
    from migration_gate.sql import pack

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    pack.write(path, values)


def open_cache(use_cache: bool = True) -> Cache | None:
    """The findings cache, unless `use_cache` is false or `MIGRATION_GATE_NO_CACHE` is set
    (None too when it cannot be opened)."""
    if not use_cache or os.environ.get("MIGRATION_GATE_NO_CACHE"):
        return None
    return Cache.open()


def lint_cached(jobs: Sequence[LintJob], cache: Cache, keys: Sequence[str],
                workers: int | None = None) -> list[list[Diagnostic]]:
    """`lint_many` with the cache open and each job's `cache_key` already made: the jobs
    found there are decoded, the others linted and stored."""
    results: list[list[Diagnostic] | None] = [None] * len(jobs)
    for index, found in cache.get_many(keys).items():
        results[index] = [_from_cached(item, jobs[index].path) for item in found]
    todo = [i for i, result in enumerate(results) if result is None]
    computed = _compute([jobs[i] for i in todo], workers)
    for index, diagnostics in zip(todo, computed, strict=True):
        results[index] = diagnostics
    if todo:
        cache.put_many([(keys[i], [_to_cached(d) for d in computed[n]])
                        for n, i in enumerate(todo)])
    return [r if r is not None else [] for r in results]


def _compute(jobs: list[LintJob], workers: int | None) -> list[list[Diagnostic]]:
    from migration_gate.sql.pool import run_jobs

    return run_jobs(jobs, lint_job, workers)


def code_fingerprint(package: Path = Path(__file__).parents[1]) -> str:
    """The package's code (every `*.py` under `package`) and the installed sqlglot's version,
    identified without importing sqlglot (a run whose files are all cached never pays for that
    import). Files are identified by (path, size, mtime): cheap, and any edit or reinstall
    changes them.

    The rule catalogue is covered by the same stamps: every rule (SQL, folder, history,
    database, ignore) is declared in a module of the package. Importing the catalogue to hash
    it would instead cost every cached run (a pre-commit hook's usual case) its import time.
    """
    import importlib.util

    from migration_gate import __version__

    parts = [__version__, *sorted(_module_stamps(str(package)))]
    spec = importlib.util.find_spec("sqlglot")
    if spec is not None and spec.submodule_search_locations:
        version_file = Path(next(iter(spec.submodule_search_locations))) / "_version.py"
        try:
            parts.append(_digest(version_file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            parts.append("sqlglot version unknown")
    return _digest("|".join(parts))[:16]


def _module_stamps(folder: str) -> list[str]:
    """`path:size:mtime` of every `*.py` under `folder`, with `os.scandir` (a third of what
    `Path.rglob` and `Path.stat` cost: every warm run makes the fingerprint). `__pycache__`
    holds no source: not listed (half of the folders, ~0.7 ms of a warm check)."""
    stamps: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return stamps
    for entry in entries:
        try:
            if entry.name.endswith(".py") and not entry.is_dir():
                stat = entry.stat()
                stamps.append(f"{entry.path}:{stat.st_size}:{stat.st_mtime_ns}")
            elif entry.name != "__pycache__" and entry.is_dir():
                stamps.extend(_module_stamps(entry.path))
        except OSError:
            continue
    return stamps


def _digest(text: str) -> str:
    from migration_gate.digest import sha256

    data = text.encode("utf-8", "surrogatepass")
    digest = sha256(len(data))
    digest.update(data)
    return digest.hexdigest()


_FINGERPRINT: str | None = None
#: Each distinct key header, by the job settings it is made of: a run's thousands of jobs share
#: a handful of them, and encoding one is most of the cost of a small file's key.
_HEADERS: dict[tuple[object, ...], bytes] = {}


def cache_key(job: LintJob) -> str:
    """The cache key of a job: its text and every input that can change its findings."""
    # here, as json and sqlite3 below: `lint --no-cache FILE` needs none; not hashlib, whose
    # OpenSSL a warm check that hashes two files' text need not load (`digest`)
    from migration_gate.digest import sha256

    header, text = _header_of(job), job.text.encode("utf-8", "surrogatepass")
    digest = sha256(len(header) + len(text))
    digest.update(header)
    digest.update(text)
    return digest.hexdigest()


def derived_key(job: LintJob, *parts: str) -> str:
    """The key of something made from a job's findings and more inputs (`lint`'s text
    report: the file's path as shown, the report's settings): `cache_key` with those too, in
    one pass over the text (a warm run makes thousands of them)."""
    from migration_gate.digest import sha256

    header, text = _header_of(job), job.text.encode("utf-8", "surrogatepass")
    encoded = [b"\1" + part.encode("utf-8", "surrogatepass") for part in parts]
    digest = sha256(len(header) + sum(map(len, encoded)) + 1 + len(text))
    digest.update(header)
    for piece in encoded:
        digest.update(piece)
    digest.update(b"\0")
    digest.update(text)
    return digest.hexdigest()


def _header_of(job: LintJob) -> bytes:
    runner = repr(job.runner) if job.runner is not None and job.runner.name != "refinery" \
        else None
    settings = (job.dialect, job.new_tables, job.postgres_version, job.sqlite_version,
                job.rules, runner, job.columns)
    header = _HEADERS.get(settings)
    if header is None:
        header = _HEADERS[settings] = _key_header(job, runner)
    return header


def _key_header(job: LintJob, runner: str | None) -> bytes:
    """The part of the key made of the code and the job's settings, with its separator: the
    `repr` of plain strings, numbers, None, lists and named tuples, as stable as JSON and
    without importing `json` (a run whose files are all cached needs it nowhere else)."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        _FINGERPRINT = code_fingerprint()
    parts: list[object] = [_FINGERPRINT, job.dialect, sorted(job.new_tables),
                           job.postgres_version, job.sqlite_version,
                           [[rule, level.value] for rule, level in job.rules]]
    if runner is not None:
        parts.append(runner)  # its settings: a frozen dataclass, repr is stable
    if job.columns:
        parts.append(job.columns)  # named tuples of strings
    return repr(parts).encode("utf-8", "surrogatepass") + b"\0"


def _to_cached(diagnostic: Diagnostic) -> list[object]:
    return [diagnostic.rule, diagnostic.severity.value, diagnostic.message, diagnostic.line,
            diagnostic.column, diagnostic.end_line, diagnostic.end_column, diagnostic.hint]


_SEVERITIES = {severity.value: severity for severity in Severity}


def _from_cached(item: list[object], path: str) -> Diagnostic:
    """The finding `_to_cached` stored: its values are JSON's own strings, integers and nulls,
    taken as they are (a warm run turns thousands of them back into findings)."""
    rule, severity, message, line, column, end_line, end_column, hint = item
    return Diagnostic(cast(str, rule), _SEVERITIES[cast(str, severity)], path,
                      cast(str, message), cast(int, line), cast(int, column),
                      cast("int | None", end_line), cast("int | None", end_column),
                      cast("str | None", hint))


#: A lone surrogate: what `os.fsdecode` makes of a name's bytes that are not UTF-8 (compiled
#: by `re`'s cache when a text is stored: a check whose files are cached stores none).
_SURROGATE = "[\ud800-\udfff]"


class Cache:
    """Findings by key in one SQLite file; every failure turns the cache off, never the run."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection: sqlite3.Connection | None = connection

    @staticmethod
    def exists() -> bool:
        """Whether the cache's file is there (a check before any does not create it)."""
        return (cache_root() / DATABASE_NAME).is_file()

    @classmethod
    def open(cls) -> Cache | None:
        import sqlite3

        try:
            folder = cache_root()
            folder.mkdir(parents=True, exist_ok=True)
            database = folder / DATABASE_NAME
            if database.is_file() and database.stat().st_size > MAX_CACHE_BYTES:
                database.unlink()  # start afresh rather than grow without bound
            connection = sqlite3.connect(database, timeout=2)
            # no fsync per commit (the file's creation and each run's insert waited for the
            # disk: ~6 ms of a cold check): a crash of the application still leaves the file
            # whole, one of the operating system may damage it, and a damaged file is deleted
            connection.execute("PRAGMA synchronous=OFF")
            connection.executescript(
                "CREATE TABLE IF NOT EXISTS findings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                "CREATE TABLE IF NOT EXISTS rendered (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            )
            return cls(connection)
        except sqlite3.DatabaseError as error:
            if not isinstance(error, sqlite3.OperationalError):  # not a database, or damaged
                with contextlib.suppress(OSError):
                    database.unlink()  # the next run starts afresh
            return None
        except (OSError, sqlite3.Error):
            return None

    def get_many(self, keys: Sequence[str]) -> dict[int, list[list[object]]]:
        """The cached findings of each key found, by the key's index in `keys`."""
        import json

        rows = self._select("findings", keys)
        if not rows:
            return {}
        try:
            # one JSON document for every row: one decoder call instead of one per file
            decoded = json.loads(f"[{','.join(rows.values())}]")
        except ValueError:
            return {}
        if not isinstance(decoded, list) or len(decoded) != len(rows):
            return {}
        return dict(zip(rows, decoded, strict=True))

    def get_texts(self, keys: Sequence[str]) -> dict[int, str]:
        """The text stored under each key found (`put_texts`), by the key's index in `keys`:
        what a command made of a file's findings (`lint`: its part of the text report)."""
        return self._select("rendered", keys)

    def _select(self, table: str, keys: Sequence[str]) -> dict[int, str]:
        """The value of each key of `keys` found in `table`, by the key's index (duplicate
        keys, files with one content, each get it)."""
        import sqlite3

        if self.connection is None:
            return {}
        index_of = {key: i for i, key in enumerate(keys)}
        found: dict[int, str] = {}
        try:
            unique = list(index_of)
            for start in range(0, len(unique), 500):
                batch = unique[start : start + 500]
                marks = ",".join("?" * len(batch))
                for key, value in self.connection.execute(
                    f"SELECT key, value FROM {table} WHERE key IN ({marks})", batch
                ):
                    found[index_of[key]] = value
        except sqlite3.Error:
            return {}
        if len(index_of) < len(keys):
            for i, key in enumerate(keys):
                if i not in found and index_of[key] in found:
                    found[i] = found[index_of[key]]
        return found

    def put_many(self, items: Sequence[tuple[str, list[list[object]]]]) -> None:
        import json

        self._insert("findings", [(key, json.dumps(value)) for key, value in items])


    def put_texts(self, items: Sequence[tuple[str, str]]) -> None:
        """Store texts by key; one SQLite cannot hold (a lone surrogate: a file name that is
        not UTF-8, as the shell passes it) is left out, and made again next time."""
        self._insert("rendered", [(key, value) for key, value in items
                                  if value.isascii() or not re.search(_SURROGATE, value)])

    def _insert(self, table: str, rows: Sequence[tuple[str, str]]) -> None:
        import sqlite3

        if self.connection is None or not rows:
            return
        try:
            with self.connection:
                self.connection.executemany(
                    f"INSERT OR REPLACE INTO {table} (key, value) VALUES (?, ?)", rows)
        except sqlite3.Error:
            self.connection = None

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
