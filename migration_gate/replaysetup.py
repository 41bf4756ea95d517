"""`replay.setup`: SQL run once in the throwaway database before the base (roles, grants,
schemas, extensions that production has and no migration creates).

Why it is read from the base: a pull request must not control its own gate (`baseconfig`).
When the base's configuration governs, the files it names are read from the base commit too;
a branch that changes one gets a `config-changed` warning and the change applies after merge.

Why it runs in one transaction and, in server mode, may not touch what the server shares:
roles (and their memberships, settings, grants on other databases) are cluster-wide. In the
embedded cluster they vanish with the cluster (and a cached base schema carries them: the
setup's text is part of its cache key). On a server named by `--database-url` they would
outlive the throwaway database and leak into every later run and every other user of that
server, so there a setup that changes them is rolled back and refused: create such roles on the
server once (the setup's idempotent `CREATE ROLE` then does nothing), or replay on the embedded
PostgreSQL. MySQL's DDL cannot be rolled back: there `CREATE USER` / `CREATE ROLE` statements
are refused before anything runs.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.diagnostics import Diagnostic, GateError
from migration_gate.replayskip import ReplayUnavailable, Where, hint_for

if TYPE_CHECKING:
    from migration_gate.pipeline import CheckContext
    from migration_gate.runner import Database

#: The largest setup file: a setup creates roles and schemas, it is not a data load.
MAX_SETUP_BYTES = 1024 * 1024


@dataclass(frozen=True)
class SetupFile:
    """One `replay.setup` file: where it is (relative to the report's root) and its SQL."""

    path: str
    text: str


def load_setup(context: CheckContext) -> tuple[tuple[SetupFile, ...], list[Diagnostic]]:
    """The setup files, read from the base commit when its configuration governs, and a
    `config-changed` finding for each one the branch changes. A file that is missing, too
    large or not UTF-8 is a configuration error (`GateError`, exit 2), replay or not."""
    config = context.config
    files, changed = [], []
    for rel in config.replay_setup:
        path = (config.project_dir / rel).resolve()
        shown = _shown(path, context.root)
        data = _read(path, context, rel)
        _bounded(shown, len(data))
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise GateError(f"replay.setup: {shown} is not UTF-8 text") from None
        files.append(SetupFile(shown, text))
        if config.setup_commit is not None and _branch_changes(path, shown, data):
            changed.append(_changed_finding(shown))
    return tuple(files), changed


def _bounded(shown: str, size: int) -> None:
    if size > MAX_SETUP_BYTES:
        raise GateError(f"replay.setup: {shown} has {size} bytes, more than the "
                        f"{MAX_SETUP_BYTES} a setup file may have")


def _branch_changes(path: Path, shown: str, data: bytes) -> bool:
    """Whether the working tree's copy of a setup file read from the base differs."""
    try:
        return _working_tree_bytes(path, shown) not in (None, data)
    except GateError:  # unreadable or too large here: changed, and not run
        return True


def _shown(path: Path, root: Path) -> str:
    from migration_gate.basefiles import relative_to

    return relative_to(path, root)


def _read(path: Path, context: CheckContext, rel: str) -> bytes:
    commit, repo = context.config.setup_commit, context.repo_root
    if commit is not None and repo is not None:
        try:
            inside = path.relative_to(repo.resolve()).as_posix()
        except ValueError:
            inside = None
        if inside is not None:
            from migration_gate.gittree import cat_blobs

            (data,) = cat_blobs(repo, [f"{commit}:{inside}"])
            if data is None:
                raise GateError(f"replay.setup: {rel} does not exist at the base "
                                f"({commit[:12]}), whose configuration governs this run")
            return data
    data = _working_tree_bytes(path, rel)
    if data is None:
        raise GateError(f"replay.setup: {rel} does not exist (looked for {path})")
    return data


def _working_tree_bytes(path: Path, shown: str) -> bytes | None:
    try:
        _bounded(shown, path.stat().st_size)  # never read a huge file into memory
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as error:
        raise GateError(f"replay.setup: cannot read {path}: {error.strerror}") from None


def _changed_finding(shown: str) -> Diagnostic:
    from migration_gate.baseconfig import CONFIG_CHANGED

    return CONFIG_CHANGED.diagnostic(
        shown, f"this branch changes {shown}, a `replay.setup` file: the base's version runs "
        "in this check and the change applies after merge",
        hint="review the setup change on its own; the base's setup is used until it is merged")


def setup_key_parts(files: tuple[SetupFile, ...]) -> list[str]:
    """What the setup adds to the base schema's cache key (`basecache.chain`'s header): every
    file's name and text."""
    return [f"setup\0{f.path}\0{f.text}" for f in files]


# --- running it -------------------------------------------------------------------------------

_SHARED_STATE = (
    "SELECT pg_catalog.md5(pg_catalog.string_agg(t, ',' ORDER BY t)) FROM ("
    " SELECT (r.*)::text AS t FROM pg_catalog.pg_roles r"
    " UNION ALL SELECT m.roleid::text || '>' || m.member::text FROM pg_catalog.pg_auth_members m"
    " UNION ALL SELECT d.datname || ':' || coalesce(d.datacl::text, '')"
    "   FROM pg_catalog.pg_database d WHERE d.datname <> pg_catalog.current_database()"
    " UNION ALL SELECT (s.*)::text FROM pg_catalog.pg_db_role_setting s"
    "   WHERE s.setdatabase = 0 OR s.setdatabase NOT IN (SELECT oid FROM pg_catalog.pg_database"
    "   WHERE datname = pg_catalog.current_database())) q"
)
_ROLES = "SELECT rolname FROM pg_catalog.pg_roles"
_MYSQL_ACCOUNTS = re.compile(r"^\s*(CREATE|ALTER|DROP|RENAME|GRANT\s+\S+\s+TO)\s+(USER|ROLE)\b",
                             re.IGNORECASE)


def run_setup(db: Database, files: tuple[SetupFile, ...], *, shared_server: bool) -> None:
    """Run the setup files, statement by statement, in one transaction (PostgreSQL, SQLite);
    a failure is a `ReplayUnavailable` at the failing statement."""
    if not files:
        return
    from migration_gate.runner import DbError, begin_statement
    from migration_gate.sql.split import split_statements

    transactional = db.dialect != "mysql"
    if not transactional and shared_server:
        _refuse_mysql_accounts(db, files)
    guard = shared_server and db.dialect == "postgres"
    if transactional:
        db.execute(begin_statement(db.dialect))
    try:
        before = (_shared_state(db), _roles(db)) if guard else None
        for setup in files:
            for statement in split_statements(setup.text, db.dialect):
                try:
                    db.execute(statement.text)
                except DbError as error:
                    raise _failed(setup, statement.line, statement.column, error) from None
        if before is not None and _shared_state(db) != before[0]:
            roles = _named(_roles(db) - before[1])
            raise ReplayUnavailable(
                "cannot replay the migrations: replay.setup changes roles or grants that the "
                f"whole server shares{roles} -- they would outlive the throwaway database on "
                "the server of --database-url",
                where=Where(files[0].path),
                hint="create those roles on the server once (the setup's idempotent CREATE ROLE "
                "then does nothing), or replay on the embedded PostgreSQL (no database-url)")
    except BaseException:
        if transactional:
            _rollback(db)
        raise
    if transactional:
        db.execute("COMMIT")


def _shared_state(db: Database) -> str:
    rows = db.query(_SHARED_STATE)
    return str(rows[0][0]) if rows else ""


def _roles(db: Database) -> set[str]:
    return {str(row[0]) for row in db.query(_ROLES)}


def _named(created: set[str]) -> str:
    if not created:
        return ""
    return f" (it creates the role{'s' if len(created) != 1 else ''} {', '.join(sorted(created))})"


def _refuse_mysql_accounts(db: Database, files: tuple[SetupFile, ...]) -> None:
    from migration_gate.sql.split import split_statements

    for setup in files:
        for statement in split_statements(setup.text, db.dialect):
            if _MYSQL_ACCOUNTS.match(statement.text):
                raise ReplayUnavailable(
                    "cannot replay the migrations: replay.setup manages server accounts "
                    f"({' '.join(statement.text.split(None, 2)[:2])}) on a shared server: "
                    "they would outlive the throwaway database",
                    where=Where(setup.path, statement.line, statement.column),
                    hint="create the users on the server once and keep only grants in "
                    "replay.setup")


def _failed(setup: SetupFile, line: int, column: int, error: object) -> ReplayUnavailable:
    from migration_gate.ephemeral.extensions import missing_extension
    from migration_gate.redaction import redact

    message = str(getattr(error, "message", error))
    sqlstate = getattr(error, "sqlstate", None)
    code = f" (SQLSTATE {sqlstate})" if sqlstate else ""
    return ReplayUnavailable(
        f"cannot replay the migrations: replay.setup {setup.path}:{line} fails: "
        f"{redact(message)}{code}",
        where=Where(setup.path, line, column), hint=hint_for(message, sqlstate),
        extension=missing_extension(message, sqlstate, getattr(error, "detail", None)))


def _rollback(db: Database) -> None:
    from migration_gate.runner import DbError

    with contextlib.suppress(DbError):
        db.execute("ROLLBACK")
