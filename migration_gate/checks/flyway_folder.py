"""The folder rules for a Flyway project: names, versions and contents as Flyway reads them.

The rule ids are the folder rules' own (`invalid-filename`, `duplicate-version`...), so a
configuration that sets their severity keeps working whatever the runner; only what Flyway
has and refinery has not (placeholders) is declared here. Versions are Flyway's: `1` and
`1.0` are one version, `V1_1` is `1.1`, descriptions may hold `-`, spaces and any script.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from migration_gate.catalog import RuleDoc
from migration_gate.checks.folder import (
    DUPLICATE_VERSION,
    EMPTY_MIGRATION,
    INVALID_FILENAME,
    INVALID_VERSION,
    NON_UTF8_MIGRATION,
    has_statement,
    printable,
)
from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.migrations import MigrationFile
from migration_gate.pipeline import CheckContext
from migration_gate.runners.model import (
    ContentProblem,
    Kind,
    NameIssue,
    NameProblem,
    ParsedMigration,
    PlaceholderIssue,
)

E, W = Severity.ERROR, Severity.WARNING

UNDEFINED_PLACEHOLDER = RuleDoc(
    "flyway-undefined-placeholder", E,
    "A Flyway migration uses a `${placeholder}` no configuration defines.",
    needs="git",
    why="Flyway replaces placeholders before it sends a script and stops the whole run with "
    "\"No value provided for placeholder\" when one has no value: nothing after it is applied.",
    example="CREATE SCHEMA ${schema_name};   (no flyway.placeholders.schema_name)",
    instead="define flyway.placeholders.schema_name in flyway.conf, or write the name",
)
UNCLOSED_PLACEHOLDER = RuleDoc(
    "flyway-unclosed-placeholder", E,
    "A `${` in a Flyway migration is never closed by `}`.",
    needs="git",
    why="Flyway reads everything after `${` up to the next `}` as a placeholder name: an "
    "unclosed one swallows the rest of the script or stops the run.",
    example="INSERT INTO t VALUES ('${');",
    instead="close the placeholder, or turn placeholder replacement off for literal `${`",
)
MIXED_RUNNERS = RuleDoc(
    "mixed-runners", E,
    "A Flyway folder holds a refinery-style `U` migration: an undo with nothing to undo.",
    needs="git",
    why="refinery's `U5__x.sql` is an unversioned migration that runs; Flyway reads the same "
    "name as the undo of `V5` (Teams edition only) and never applies it forward: in a folder "
    "Flyway runs, the change it holds is silently lost.",
    example="U5__backfill_names.sql   (no V5__*.sql next to it)",
    instead="V12__backfill_names.sql",
)
RULES = (UNDEFINED_PLACEHOLDER, UNCLOSED_PLACEHOLDER, MIXED_RUNNERS)

_VERSIONED = (Kind.VERSIONED, Kind.UNDO, Kind.BASELINE)


def _diagnostic(doc: RuleDoc, migration: MigrationFile, message: str, hint: str | None,
                severity: Severity | None = None, line: int = 1, column: int = 1) -> Diagnostic:
    return Diagnostic(doc.id, severity or doc.severity, printable(migration.path),
                      printable(message), line=line, column=column, hint=hint)


def _looks_like_migration(context: CheckContext, problem: NameProblem, file_name: str) -> bool:
    """A file Flyway does not read is only a finding if it was meant as a migration."""
    if problem.issue is not NameIssue.NOT_A_MIGRATION:
        return True
    return file_name.lower().endswith((".sql", *_suffixes(context)))


def _suffixes(context: CheckContext) -> tuple[str, ...]:
    settings = getattr(context.runner, "settings", None)
    suffixes = getattr(settings, "sql_migration_suffixes", (".sql",))
    return tuple(str(s).lower() for s in suffixes)


def fixed_name(context: CheckContext, migration: MigrationFile, problem: NameProblem) -> str:
    """The clean name for a misnamed file: the runner's own fix, with a free version."""
    fix, runner = problem.fix, context.runner
    taken = {m.runs_as.version for m in (*context.local, *context.base_files)
             if m.rel != migration.rel and m.runs_as is not None and m.runs_as.version}
    if problem.suggestion is not None and (fix.version is None or fix.version not in taken):
        return problem.suggestion
    if fix.kind is Kind.CALLBACK:
        return problem.suggestion or migration.file_name
    version = None if fix.kind is Kind.REPEATABLE else context.runner_allocator.take(
        migration.path)
    return runner.file_name(fix.kind, version, fix.description)


def check_names(context: CheckContext) -> Iterator[Diagnostic]:
    for migration in context.to_lint:
        problem = migration.runner_parsed
        if not isinstance(problem, NameProblem):
            continue
        if not _looks_like_migration(context, problem, migration.file_name):
            continue
        doc = INVALID_VERSION if problem.issue is NameIssue.INVALID_VERSION else INVALID_FILENAME
        severity = W if problem.accepted_as is not None else E
        said = f" (Flyway: \"{problem.runner_message}\")" if problem.runner_message else ""
        yield _diagnostic(
            doc, migration, f"{migration.file_name}: {problem.reason}{said}",
            f"rename to {fixed_name(context, migration, problem)}", severity,
        )


def _identity(parsed: ParsedMigration) -> tuple[str, object]:
    """What Flyway tells migrations apart by: the version (per kind), a repeatable's
    description."""
    if parsed.kind in _VERSIONED and parsed.version is not None:
        return parsed.kind.value, parsed.version
    return parsed.kind.value, parsed.description


def check_duplicates(context: CheckContext) -> Iterator[Diagnostic]:
    groups: dict[tuple[str, object], list[tuple[MigrationFile, ParsedMigration]]] = (
        defaultdict(list))
    for migration in context.local:
        parsed = migration.runs_as
        if parsed is not None and parsed.kind is not Kind.CALLBACK:
            groups[_identity(parsed)].append((migration, parsed))
    relevant = {m.rel for m in context.to_lint}
    base_rels = set(context.base_by_rel)
    for group in groups.values():
        if len(group) < 2 or not any(m.rel in relevant for m, _ in group):
            continue
        names = ", ".join(m.path for m, _ in group)
        on_base = [m for m, _ in group if m.rel in base_rels]
        keeper = on_base[0] if on_base else group[0][0]
        parsed = group[0][1]
        if parsed.version is not None:
            what = f"version {parsed.version.display}"
            said = f"Found more than one migration with version {parsed.version.display}"
        else:
            what = f"the repeatable description \"{parsed.description}\""
            said = ("Found more than one repeatable migration with description "
                    f"{parsed.description}")
        message = (f"{what} is used by {len(group)} files ({names}): Flyway refuses to "
                   f"migrate (\"{said}\")")
        for migration, own in group:
            hint = None
            if migration is not keeper:
                if own.version is not None:
                    version = context.runner_allocator.take(migration.path)
                    hint = "rename to " + context.runner.file_name(
                        own.kind, version, own.raw_description)
                else:
                    hint = "give it another description, or merge it into " + keeper.file_name
            yield _diagnostic(DUPLICATE_VERSION, migration, message, hint)


def check_mixed(context: CheckContext) -> Iterator[Diagnostic]:
    """`U` files whose version no versioned migration has: refinery's, not Flyway's."""
    undos = [m for m in context.to_lint if m.runs_as is not None and m.runs_as.kind is Kind.UNDO]
    if not undos:  # the usual case: no need to collect every version of the folder
        return
    versions = {m.runs_as.version for m in (*context.local, *context.base_files)
                if m.runs_as is not None and m.runs_as.kind is Kind.VERSIONED}
    for migration in undos:
        parsed = migration.runs_as
        if parsed is None or parsed.version in versions:
            continue
        version = context.runner_allocator.take(migration.path)
        fix = context.runner.file_name(Kind.VERSIONED, version, parsed.raw_description)
        yield _diagnostic(
            MIXED_RUNNERS, migration,
            f"{migration.file_name}: Flyway reads this as the undo of version "
            f"{parsed.version.display if parsed.version else '?'}, which no migration has: a "
            "refinery unversioned migration in a Flyway folder never runs",
            f"rename to {fix}")


def check_contents(context: CheckContext) -> Iterator[Diagnostic]:
    """Encodings, empty files and placeholders of the added and changed migrations."""
    now = datetime.now()
    for migration in context.to_lint:
        parsed = migration.runs_as
        if parsed is None or migration.content is None:
            continue
        text = _decode(context, migration.content)
        if isinstance(text, ContentProblem):
            yield _diagnostic(NON_UTF8_MIGRATION, migration,
                              f"{migration.file_name}: {text.reason}",
                              "re-save the file in the configured encoding (UTF-8)")
            continue
        if not has_statement(text) and parsed.kind is not Kind.CALLBACK:
            yield _diagnostic(EMPTY_MIGRATION, migration,
                              f"{migration.file_name}: the file holds no SQL statement",
                              "write the migration, or delete the file before it is merged")
            continue
        result = context.runner.replace_placeholders(text, migration.file_name, now)
        for problem in result.problems:
            doc = (UNDEFINED_PLACEHOLDER if problem.issue is PlaceholderIssue.UNDEFINED
                   else UNCLOSED_PLACEHOLDER)
            yield _diagnostic(doc, migration, f"{migration.file_name}: {problem.message}",
                              problem.hint, line=problem.line, column=problem.column)


def _decode(context: CheckContext, content: bytes) -> str | ContentProblem:
    from migration_gate.runners.flyway_checksum import decode

    settings = getattr(context.runner, "settings", None)
    return decode(content, str(getattr(settings, "encoding", "UTF-8")))


def check_folder(context: CheckContext) -> Iterator[Diagnostic]:
    """The folder stage of a Flyway project."""
    for check in (check_names, check_duplicates, check_mixed, check_contents):
        yield from check(context)
