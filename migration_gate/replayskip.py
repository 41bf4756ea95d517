"""`replay-skipped`: the automatic replay could not run, said as a finding in every format.

Why a finding and not a line on stderr: a replay that silently does not happen looks like a
replay that found nothing. In CI the stderr line was lost between the annotations, the SARIF
upload and the step summary; a warning finding is in all of them, names the cause, and can be
made an error (`rules: {replay-skipped: error}`) by a team that wants every pull request
replayed. An explicit `--verify` (or `verify`) keeps failing with exit 2 instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from migration_gate.catalog import RuleDoc
from migration_gate.diagnostics import Diagnostic, GateError, Severity

REPLAY_SKIPPED = RuleDoc(
    "replay-skipped", Severity.WARNING,
    "The database replay could not run, so the database rules judged nothing.",
    needs="db",
    why="Without the replay, a migration that fails on the base's schema, a lock or a rewrite "
    "goes unseen. Causes: no PostgreSQL server binaries, an extension no available server has, "
    "a `replay.setup` file that fails, a base migration that needs something the throwaway "
    "database lacks (a role, a schema), a dialect without a throwaway database, or a base "
    "slower than `replay.timeout`. The finding names the cause and the place.",
    example="V3__vectors.sql: CREATE EXTENSION vector;  -- the server has no vector.control\n"
    "V4__grants.sql:   GRANT SELECT ON items TO reporting;  -- role \"reporting\" does not exist",
    instead="# .migration-gate.yaml\n"
    "replay:\n"
    "  setup: [db/replay-setup.sql]   # roles, grants, schemas, extensions the base expects\n"
    "postgres:\n"
    "  bin-dir: /usr/lib/postgresql/16/bin   # a server that has the extensions\n"
    "# or `pip install 'migration-gate[postgres]'` (pgserver: PostgreSQL 16 with pgvector);\n"
    "# other dialects: --database-url",
    instead_passes=False,
)

RULES = (REPLAY_SKIPPED,)


@dataclass(frozen=True)
class Where:
    """The place a skipped replay is reported at: the file that could not run, else the folder."""

    path: str
    line: int = 1
    column: int = 1


class ReplayUnavailable(GateError):
    """The replay cannot run. With `--verify` it ends the run (exit 2, like any `GateError`);
    automatic, it becomes a `replay-skipped` finding at `where`.

    `extension` names an extension the server lacked (another server may have it:
    `ephemeral.extensions`); `fallback` is what the run reports when that was a branch's
    migration and no other server has the extension (its `migration-failed`)."""

    def __init__(self, message: str, *, where: Where | None = None, hint: str | None = None,
                 extension: str | None = None,
                 fallback: tuple[Diagnostic, ...] | None = None) -> None:
        super().__init__(message)
        self.where = where
        self.hint = hint
        self.extension = extension
        self.fallback = fallback


def redacted(error: GateError, url: str | None) -> GateError:
    """`error` with the URL's password masked, keeping what a skipped replay reports."""
    from migration_gate.redaction import redact

    if isinstance(error, ReplayUnavailable):
        return ReplayUnavailable(redact(str(error), url), where=error.where, hint=error.hint,
                                 extension=error.extension, fallback=error.fallback)
    return GateError(redact(str(error), url))


def skipped_diagnostic(error: GateError, folder: str) -> Diagnostic:
    """The `replay-skipped` finding for `error`, at its place or at the migrations folder."""
    where = getattr(error, "where", None) or Where(folder)
    hint = getattr(error, "hint", None) or (
        "see `migration-gate rules replay-skipped`: `replay.setup` for what the base expects, "
        "`postgres.bin-dir` or the `postgres` extra for a server, `--no-verify` to turn the "
        "replay off")
    reason = str(error)
    prefix = "cannot replay the migrations: "
    if reason.startswith(prefix):
        reason = reason[len(prefix):]
    return REPLAY_SKIPPED.diagnostic(where.path, f"the database replay was skipped: {reason}",
                                     line=where.line, column=where.column, hint=hint)


def hint_for(message: str, sqlstate: str | None) -> str | None:
    """The configuration that fixes a base that does not replay, from the database's error."""
    if sqlstate == "42704" and "role" in message:  # role "reporting" does not exist
        return ("create the role in a `replay.setup` file (idempotently: a DO block that "
                "ignores duplicate_object), as production has it")
    if sqlstate == "3F000":  # schema does not exist
        return "create the schema in a `replay.setup` file"
    if "extension" in message and ("control file" in message or "not available" in message):
        return ("point `postgres.bin-dir` at a server that has the extension, or install the "
                "`postgres` extra (the pgserver wheel: PostgreSQL 16 with pgvector)")
    return None
