"""Rules about the change versus the base branch: what was merged must never change.

Every database that ran the base has its migrations recorded with their checksums; a change to
one of them makes refinery abort as divergent, a deletion as missing, and a new version at or
below the base's highest is refused or skipped (docs/refinery.md#how-a-run-decides).
"""

from __future__ import annotations

from collections.abc import Iterator

from migration_gate.catalog import RuleDoc
from migration_gate.checks.applied_order import flyway_below_applied
from migration_gate.checks.events import grouped_deletions, grouped_renames
from migration_gate.diagnostics import Diagnostic, Related, Severity
from migration_gate.migrations import MigrationFile
from migration_gate.pipeline import CheckContext

E, W = Severity.ERROR, Severity.WARNING

VERSION_NOT_AFTER_BASE = RuleDoc(
    "version-not-after-base", E,
    "A migration added on this branch has a version at or below the base branch's highest.",
    needs="git",
    why="Every database that already ran the base is past that version: refinery reports the "
    "new file as \"missing from the filesystem\" and, without `-m`, skips it for ever. It "
    "happens when a branch is rebased after another one merged the same number. Flyway "
    "ignores it and fails `validate` (\"Detected resolved migration not applied to "
    "database\") unless `outOfOrder=true`, which applies it out of order (no finding then).",
    example="base: V001..V007; branch adds V005__add_index.sql",
    instead="rename to V008__add_index.sql (`migration-gate next-version`)",
)
VERSION_GAP = RuleDoc(
    "version-gap", W,
    "The versions added on this branch leave a hole after the base's highest version.",
    needs="git",
    why="A hole is harmless to refinery until somebody fills it: a later migration in the hole is "
    "below the current version and is skipped as missing. Continuous versions keep the history "
    "readable and make the next number obvious. Dotted Flyway versions (`1.1`) are never a "
    "gap: their numbering is a choice.",
    example="base: V001..V007; branch adds V010__add_index.sql",
    instead="V008__add_index.sql",
)
VERSION_REUSED = RuleDoc(
    "version-reused", E,
    "A migration added on this branch takes a version the base branch once held and deleted.",
    needs="git",
    why="A deleted migration may have run somewhere (it was deployed, failed and was removed): "
    "every such database has the old version in its history table, so refinery reports the new "
    "file as divergent or skips it for ever. A burned version is never proposed again.",
    example="main: V009__add_tags.sql merged, then deleted; branch adds V009__add_orders.sql",
    instead="the next free version after the burned ones (`migration-gate renumber`)",
)
FOLDER_MOVED = RuleDoc(
    "folder-moved", W,
    "The migrations folder moved: the base's migrations are here, unchanged, under a new path.",
    needs="git",
    why="One event, one finding (its files are related locations in JSON). refinery identifies "
    "an applied migration by version, name and checksum only, never by path: a move that keeps "
    "every name is harmless to it. Flyway records each script's path in `script` but validates "
    "by version and checksum, so it is harmless there too. What breaks is everything that names "
    "the folder: `embed_migrations!`, refinery.toml, Flyway's `locations`, CI.",
    example="git mv migrations db/migrations",
    instead="the same move, with every reference to the folder updated in the same change",
)
MODIFIED_MIGRATION = RuleDoc(
    "modified-migration", E,
    "A migration that exists on the base branch changed content.",
    needs="git",
    why="refinery stores each applied migration's checksum. Once the file changes, every "
    "database that applied it reports \"applied migration V3__x is different than filesystem "
    "one\" and aborts (divergent) -- or silently never applies the change. Flyway records "
    "a CRC32 of the lines and fails `validate` (\"Migration checksum mismatch\"); a changed "
    "repeatable (`R__`) is re-run by design and a line-ending-only change is no change to it.",
    example="editing V003__create_users.sql after it was merged",
    instead="revert the edit and put the change in a new migration (`migration-gate new`)",
)
DELETED_MIGRATION = RuleDoc(
    "deleted-migration", E,
    "A migration that exists on the base branch was deleted.",
    needs="git",
    why="Every database that applied it reports \"migration V2__x is missing from the "
    "filesystem\" and, with abort-on-missing, refuses to migrate. Flyway fails `validate` "
    "(\"Detected applied migration not resolved locally\").",
    example="git rm migrations/V002__add_email.sql",
    instead="keep the file; undo its effect in a new migration",
)
RENAMED_MIGRATION = RuleDoc(
    "renamed-migration", E,
    "A base migration's name or version changed.",
    needs="git",
    why="refinery identifies a migration by version and name: a new name is divergent, a new "
    "version leaves the old one missing and runs the SQL a second time. Flyway validates by "
    "version, description and checksum: a new description or version fails `validate`; a "
    "file only moved to another folder keeps its name and is harmless to it.",
    example="V004__add_idx.sql renamed to V004__add_index.sql",
    instead="keep the merged name; only new migrations can be named freely",
)

RULES = (
    VERSION_NOT_AFTER_BASE, VERSION_GAP, VERSION_REUSED, MODIFIED_MIGRATION, DELETED_MIGRATION,
    RENAMED_MIGRATION, FOLDER_MOVED,
)


def first_difference(old: bytes, new: bytes) -> int:
    """The 1-based line of `new` where it first differs from `old`."""
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    for number, (a, b) in enumerate(zip(old_lines, new_lines, strict=False), start=1):
        if a != b:
            return number
    return min(len(old_lines), len(new_lines)) + 1 if len(new_lines) > len(old_lines) else max(
        1, len(new_lines)
    )


def check_history(context: CheckContext) -> Iterator[Diagnostic]:
    """The history stage; it needs a base, and says nothing without one. One body for every
    runner: what tells a move from a rename, what a change breaks and how it is said are the
    runner's (`Runner.rules`)."""
    if context.base is None:
        return
    if context.base.moved_from is not None:
        yield _folder_moved(context, context.base.moved_from)
    rules = context.runner.rules
    base_files = [m for m in context.base.files
                  if (parsed := context.migration_of(m)) is not None
                  and rules.identity(parsed) is not None]
    local_by_rel = {m.rel: m for m in context.local}
    added = [m for m in context.added if context.migration_of(m) is not None]
    # an added file holding a vanished base file's exact content is that file's, never
    # another one's by version alone (a run shifted down after a deletion from its middle)
    vanished = {m.content for m in base_files if m.rel not in local_by_rel}
    claimed = {m.rel for m in added if m.content in vanished} if rules.content_claims else set()
    taken: set[str] = set()  # added files that are a base file moved or renamed
    renames: list[tuple[MigrationFile, MigrationFile, Diagnostic]] = []
    deletions: list[tuple[MigrationFile, Diagnostic]] = []
    for old in base_files:
        current = local_by_rel.get(old.rel)
        if current is not None:
            yield from _judged_modified(context, old, current)
            continue
        match = _counterpart(context, old, added, taken, claimed)
        if match is None:
            deletions.extend((old, d) for d in _deleted(context, old))
            continue
        new, same_identity = match
        taken.add(new.rel)
        if same_identity:
            yield from _judged_modified(context, old, new)
            continue
        renames.extend((old, new, d) for d in _renamed(context, old, new))
    if rules.groups_events:
        yield from grouped_renames(context, renames)
        yield from grouped_deletions(context, deletions)
    else:
        yield from (d for _, _, d in renames)
        yield from (d for _, d in deletions)
    from migration_gate.checks.history_versions import check_versions

    fresh = [m for m in added if m.rel not in taken]
    yield from check_versions(context, fresh)
    yield from flyway_below_applied(context, fresh)


def _folder_moved(context: CheckContext, old_folder: str) -> Diagnostic:
    """One finding for the whole move; each file that moved is a related location."""
    assert context.base is not None
    local = {m.rel: m for m in context.local}
    moved = [(old, local[old.rel]) for old in context.base.files if old.rel in local]
    new_folder = context.folder
    return Diagnostic(
        FOLDER_MOVED.id, FOLDER_MOVED.severity, new_folder,
        f"the migrations folder moved from {old_folder or '.'}/ to {new_folder}/ "
        f"({len(moved)} of {len(context.base.files)} migrations of {context.base.base.ref} "
        "moved with it): refinery only compares version, name and checksum, so this is harmless "
        "to it while the names stay; Flyway records `script` paths but validates by version and "
        "checksum",
        hint="update everything that names the folder (embed_migrations!, refinery.toml, "
        "Flyway's locations, CI) in the same change",
        related=tuple(Related(FOLDER_MOVED.id, new.path, 1, f"moved from {old.path}")
                      for old, new in moved),
    )


def _deleted(context: CheckContext, old: MigrationFile) -> Iterator[Diagnostic]:
    assert context.base is not None
    parsed = context.migration_of(old)
    assert parsed is not None
    unapplied = _unapplied(context, old)
    base_ref = context.base.base.ref
    yield Diagnostic(
        DELETED_MIGRATION.id, W if unapplied else DELETED_MIGRATION.severity, old.path,
        f"{old.file_name} was merged on {base_ref} and is deleted here: "
        + context.runner.rules.deleted_consequence(parsed, base_ref, unapplied),
        hint=f"restore it: git checkout {context.base.base.merge_base[:12]} -- {old.path}",
    )


def _renamed(context: CheckContext, old: MigrationFile, new: MigrationFile
             ) -> Iterator[Diagnostic]:
    """A base migration under a new name: clean when the new name and content are exactly what
    production applied (a wrong renumbering undone); never a hint to undo what the base branch
    itself did in its own history."""
    assert context.base is not None
    rules = context.runner.rules
    base_ref = context.base.base.ref
    if matches_applied(context, new):
        return
    old_parsed, new_parsed = context.migration_of(old), context.migration_of(new)
    assert old_parsed is not None and new_parsed is not None
    unapplied = _unapplied(context, old)
    burned = {b.version: b for b in context.base.burned} if rules.burns_versions else {}
    former = burned.get(new_parsed.version.parts[0]) if new_parsed.version else None
    if former is not None and former.file_name == new.file_name:
        hint = (f"{former.describe(base_ref)}: {base_ref} renamed it itself; keep the name "
                "production applied (pass --applied to judge against production's history)")
    else:
        hint = f"rename it back to {old.file_name}"
    yield Diagnostic(
        RENAMED_MIGRATION.id, W if unapplied else RENAMED_MIGRATION.severity, new.path,
        f"{old.path} (merged on {base_ref}) was renamed to {new.file_name}: "
        + rules.renamed_consequence(old_parsed, new_parsed, base_ref, unapplied),
        hint=hint,
    )


def _unapplied(context: CheckContext, old: MigrationFile) -> str | None:
    """Where production's history comes from, when it is known, judged here
    (`judges_applied`) and lacks `old`'s version."""
    applied, parsed = context.applied, context.migration_of(old)
    if applied is None or parsed is None or parsed.version is None or (
            not context.runner.rules.judges_applied):
        return None
    return None if applied.row(parsed.version.parts[0]) is not None else applied.source


def matches_applied(context: CheckContext, migration: MigrationFile) -> bool:
    """The file is exactly what production applied: version, name and checksum."""
    applied, parsed = context.applied, context.migration_of(migration)
    if applied is None or parsed is None or parsed.version is None or (
            not context.runner.rules.judges_applied):
        return False
    row = applied.row(parsed.version.parts[0])
    return row is not None and row.name == parsed.description and (
        row.checksum == context.recorded_checksum(migration))


def _judged_modified(context: CheckContext, old: MigrationFile, new: MigrationFile
                     ) -> Iterator[Diagnostic]:
    """A changed base migration, judged against production's history when it is known:
    content equal to what production applied is a repair, a change production has not applied
    yet is a warning."""
    # `is`: the very file (a base file git vouched for), whose content need not be read
    if old is new or old.content is None or new.content is None or old.content == new.content:
        return
    if not context.runner.rules.modification_matters(
            context.migration_of(new), context.recorded_checksum(old),
            context.recorded_checksum(new)):
        return
    if matches_applied(context, new):
        return
    diagnostic = _modified(context, old, new)
    unapplied = _unapplied(context, old)
    if unapplied is not None and context.base is not None:
        import dataclasses

        diagnostic = dataclasses.replace(
            diagnostic, severity=W,
            message=f"{new.file_name} was merged on {context.base.base.ref} and has changed; "
            f"production ({unapplied}) has not applied it, so production "
            "runs the new content, but every other database that ran the base (staging, "
            "developers) aborts as divergent",
            hint="if no shared database applied it, this is safe; otherwise revert the edit and "
            "make the change in a new migration",
        )
    yield diagnostic


def _modified(context: CheckContext, old: MigrationFile, new: MigrationFile) -> Diagnostic:
    assert old.content is not None and new.content is not None and context.base is not None
    rules = context.runner.rules
    message = rules.modified_message(new.file_name, context.base.base.ref,
                                     context.recorded_checksum(old),
                                     context.recorded_checksum(new))
    update = rules.update_name(context, new.path, context.migration_of(new))
    return Diagnostic(
        MODIFIED_MIGRATION.id, MODIFIED_MIGRATION.severity, new.path, message,
        line=first_difference(old.content, new.content),
        hint="revert this file and make the change in a new migration"
        + (f", {update}" if update else ""),
    )


def _counterpart(context: CheckContext, old: MigrationFile, added: list[MigrationFile],
                 taken: set[str], claimed: set[str]) -> tuple[MigrationFile, bool] | None:
    """The added file a vanished base file became: (file, moved: the runner sees no change)
    or None; renamed: the same content, else the same place in the history."""
    rules, parsed = context.runner.rules, context.migration_of(old)
    assert parsed is not None
    candidates = [(m, p) for m in added
                  if m.rel not in taken and (p := context.migration_of(m)) is not None]
    for new, own in candidates:
        if rules.same_migration(parsed, own):
            return new, True
    for new, _ in candidates:
        if new.content == old.content:
            return new, False
    for new, own in candidates:
        if rules.same_slot(parsed, own) and new.rel not in claimed:
            return new, False
    return None


def plan_hint(context: CheckContext, migration: MigrationFile) -> str:
    """`rename to V9__a.sql`, and when the plan moves more files, the whole block: every hint
    of a run quotes the same plan, so following any of them keeps the others true."""
    rules, parsed = context.runner.rules, context.migration_of(migration)
    assert parsed is not None
    hint = f"rename to {rules.renamed_fix(context, migration.path, parsed)}"
    plan = context.plan
    changes = plan.changes if plan is not None else ()
    if len(changes) > 1 or (changes and changes[0].path != migration.path):
        names = {m.path: m for m in context.local}
        moves = ", ".join(
            f"{names[c.path].file_name} → "
            f"{_renamed_to(context, names[c.path], c.new.parts[0])}"
            for c in changes
        )
        hint += (f"; the branch's migrations move together: {moves} "
                 "(`migration-gate renumber` does it)")
    return hint


def _renamed_to(context: CheckContext, migration: MigrationFile, number: int) -> str:
    parsed = context.migration_of(migration)
    if parsed is None:
        return migration.file_name
    return context.runner.rules.renamed_fix(context, migration.path, parsed, number)
