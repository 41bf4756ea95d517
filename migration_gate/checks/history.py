"""Rules about the change versus the base branch: what was merged must never change.

Every database that ran the base has its migrations recorded with their checksums; a change to
one of them makes refinery abort as divergent, a deletion as missing, and a new version at or
below the base's highest is refused or skipped (docs/refinery.md#how-a-run-decides).
"""

from __future__ import annotations

from collections.abc import Iterator

from migration_gate.catalog import RuleDoc
from migration_gate.checks.applied_order import refinery_below_applied
from migration_gate.checks.events import grouped_deletions, grouped_renames
from migration_gate.diagnostics import Diagnostic, Related, Severity
from migration_gate.migrations import MigrationFile, max_version
from migration_gate.pipeline import CheckContext, format_version, suggest_file_name
from migration_gate.refinery import Prefix

E, W = Severity.ERROR, Severity.WARNING

VERSION_NOT_AFTER_BASE = RuleDoc(
    "version-not-after-base", E,
    "A migration added on this branch has a version at or below the base branch's highest.",
    needs="git",
    why="Every database that already ran the base is past that version: refinery reports the "
    "new file as \"missing from the filesystem\" and, without `-m`, skips it for ever. It "
    "happens when a branch is rebased after another one merged the same number.",
    example="base: V001..V007; branch adds V005__add_index.sql",
    instead="rename to V008__add_index.sql (`migration-gate next-version`)",
)
VERSION_GAP = RuleDoc(
    "version-gap", W,
    "The versions added on this branch leave a hole after the base's highest version.",
    needs="git",
    why="A hole is harmless to refinery until somebody fills it: a later migration in the hole is "
    "below the current version and is skipped as missing. Continuous versions keep the history "
    "readable and make the next number obvious.",
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
    "one\" and aborts (divergent) -- or silently never applies the change.",
    example="editing V003__create_users.sql after it was merged",
    instead="revert the edit and put the change in a new migration (`migration-gate new`)",
)
DELETED_MIGRATION = RuleDoc(
    "deleted-migration", E,
    "A migration that exists on the base branch was deleted.",
    needs="git",
    why="Every database that applied it reports \"migration V2__x is missing from the "
    "filesystem\" and, with abort-on-missing, refuses to migrate.",
    example="git rm migrations/V002__add_email.sql",
    instead="keep the file; undo its effect in a new migration",
)
RENAMED_MIGRATION = RuleDoc(
    "renamed-migration", E,
    "A base migration's name or version changed.",
    needs="git",
    why="refinery identifies a migration by version and name: a new name is divergent, a new "
    "version leaves the old one missing and runs the SQL a second time.",
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
    """The history stage; it needs a base, and says nothing without one."""
    if context.base is None:
        return
    if context.base.moved_from is not None:
        yield _folder_moved(context, context.base.moved_from)
    if not context.is_refinery:
        from migration_gate.checks.flyway_history import check_history as check_flyway

        yield from check_flyway(context)
        return
    base_files = [m for m in context.base.files if m.name is not None]
    local_by_rel = {m.rel: m for m in context.local}
    added = [m for m in context.added if m.name is not None]
    # files that only moved inside the folder (refinery walks it recursively): same name+content
    moved_to: set[str] = set()
    renamed_to: set[str] = set()
    # an added file holding a vanished base file's exact content is that file's, never
    # another one's by version alone (a run shifted down after a deletion from its middle)
    vanished = {m.content for m in base_files if m.rel not in local_by_rel}
    claimed = {m.rel for m in added if m.content in vanished}
    renames: list[tuple[MigrationFile, MigrationFile, Diagnostic]] = []
    deletions: list[tuple[MigrationFile, Diagnostic]] = []
    for old in base_files:
        current = local_by_rel.get(old.rel)
        if current is not None:
            if current.content != old.content and old.content is not None:
                yield from _judged_modified(context, old, current)
            continue
        match = _counterpart(old, added, moved_to | renamed_to, claimed)
        if match is None:
            deletions.extend((old, d) for d in _deleted(context, old))
            continue
        new, same_identity = match
        if same_identity:
            moved_to.add(new.rel)
            if new.content != old.content:
                yield from _judged_modified(context, old, new)
            continue
        renamed_to.add(new.rel)
        renames.extend((old, new, d) for d in _renamed(context, old, new))
    yield from grouped_renames(context, renames)
    yield from grouped_deletions(context, deletions)
    yield from _check_versions(context, [m for m in added if m.rel not in moved_to | renamed_to])


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
    display = old.name.display if old.name else old.rel
    unapplied = _unapplied(context, old)
    yield Diagnostic(
        DELETED_MIGRATION.id, W if unapplied else DELETED_MIGRATION.severity, old.path,
        f"{old.file_name} was merged on {context.base.base.ref} and is deleted here: " + (
            f"production ({unapplied}) never applied it, but any other database that ran "
            f"{context.base.base.ref} reports \"migration {display} is missing\""
            if unapplied else
            f"every database that applied it reports \"migration {display} is missing from "
            "the filesystem\""
        ),
        hint=f"restore it: git checkout {context.base.base.merge_base[:12]} -- {old.path}",
    )


def _renamed(context: CheckContext, old: MigrationFile, new: MigrationFile
             ) -> Iterator[Diagnostic]:
    """A base migration under a new name: clean when the new name and content are exactly what
    production applied (a wrong renumbering undone); never a hint to undo what the base branch
    itself did in its own history."""
    assert context.base is not None
    base_ref = context.base.base.ref
    if _matches_applied(context, new):
        return
    unapplied = _unapplied(context, old)
    burned = {b.version: b for b in context.base.burned}
    former = burned.get(new.name.version) if new.name else None
    if former is not None and former.file_name == new.file_name:
        hint = (f"{former.describe(base_ref)}: {base_ref} renamed it itself; keep the name "
                "production applied (pass --applied to judge against production's history)")
    else:
        hint = f"rename it back to {old.file_name}"
    same_version = old.name and new.name and old.name.version == new.name.version
    yield Diagnostic(
        RENAMED_MIGRATION.id, W if unapplied else RENAMED_MIGRATION.severity, new.path,
        f"{old.path} (merged on {base_ref}) was renamed to {new.file_name}: " + (
            f"production ({unapplied}) never applied it; other databases that ran {base_ref} "
            "see a " if unapplied else "databases that applied it see a "
        ) + (
            "different name (divergent)" if same_version
            else "missing version and run its SQL again"
        ),
        hint=hint,
    )


def _unapplied(context: CheckContext, old: MigrationFile) -> str | None:
    """Where production's history comes from, when it is known and lacks `old`'s version."""
    applied = context.applied
    if applied is None or old.name is None or applied.row(old.name.version) is not None:
        return None
    return applied.source


def _matches_applied(context: CheckContext, migration: MigrationFile) -> bool:
    """The file is exactly what production applied: version, name and checksum."""
    applied, name = context.applied, migration.name
    if applied is None or name is None:
        return False
    row = applied.row(name.version)
    return row is not None and row.name == name.name and row.checksum == migration.checksum


def _judged_modified(context: CheckContext, old: MigrationFile, new: MigrationFile
                     ) -> Iterator[Diagnostic]:
    """A changed base migration, judged against production's history when it is known:
    content equal to what production applied is a repair, a change production has not applied
    yet is a warning."""
    if _matches_applied(context, new):
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
    line = first_difference(old.content, new.content)
    old_sum, new_sum = old.checksum, new.checksum
    change = (
        f" (refinery checksum {old_sum} → {new_sum})" if old_sum is not None and new_sum else ""
    )
    name = new.name
    fix = ""
    if name is not None:
        version = context.allocator.take(new.path)
        fix = ", " + suggest_file_name(version, f"update_{name.name}", context.padding)
    return Diagnostic(
        MODIFIED_MIGRATION.id, MODIFIED_MIGRATION.severity, new.path,
        f"{new.file_name} was merged on {context.base.base.ref} and has changed{change}: every "
        "database that applied it aborts as divergent",
        line=line,
        hint=f"revert this file and make the change in a new migration{fix}",
    )


def _counterpart(
    old: MigrationFile, added: list[MigrationFile], taken: set[str], claimed: set[str]
) -> tuple[MigrationFile, bool] | None:
    """The added file a vanished base file became: (file, same version and name) or None."""
    assert old.name is not None
    candidates = [m for m in added if m.rel not in taken and m.name is not None]
    for new in candidates:
        if new.name and (new.name.version, new.name.name) == (old.name.version, old.name.name):
            return new, True
    for new in candidates:
        if new.content == old.content:
            return new, False
    for new in candidates:
        if new.name and new.name.version == old.name.version and new.rel not in claimed:
            return new, False
    return None


def _merged_since(context: CheckContext) -> list[MigrationFile]:
    """Migrations the base branch gained after the merge-base that this branch does not hold:
    two branches that both add V008 collide once the first one is merged."""
    assert context.base is not None
    at_merge_base = set(context.base_by_rel)
    local = {m.rel for m in context.local}
    return [
        m for m in context.base.tip_files
        if m.name is not None and m.rel not in at_merge_base and m.rel not in local
    ]


def plan_hint(context: CheckContext, migration: MigrationFile) -> str:
    """`rename to V9__a.sql`, and when the plan moves more files, the whole block: every hint
    of a run quotes the same plan, so following any of them keeps the others true."""
    assert migration.name is not None
    version = context.allocator.take(migration.path)
    hint = f"rename to {suggest_file_name(version, migration.name.name, context.padding)}"
    plan = context.plan
    changes = plan.changes if plan is not None else ()
    if len(changes) > 1 or (changes and changes[0].path != migration.path):
        names = {m.path: m for m in context.local}
        moves = ", ".join(
            f"{names[c.path].file_name} → "
            f"{_renamed_to(names[c.path], c.new.parts[0], context.padding)}"
            for c in changes
        )
        hint += (f"; the branch's migrations move together: {moves} "
                 "(`migration-gate renumber` does it)")
    return hint


def _renamed_to(migration: MigrationFile, version: int, padding: int) -> str:
    name = migration.name
    return suggest_file_name(version, name.name, padding) if name else migration.file_name


def _check_versions(context: CheckContext, added: list[MigrationFile]) -> Iterator[Diagnostic]:
    assert context.base is not None
    merged_since = _merged_since(context)
    base_max = max(max_version(context.base.files), max_version(merged_since))
    base_ref = context.base.base.ref
    burned = {b.version: b for b in context.base.burned}
    plan = context.plan
    floor = plan.floor if plan is not None else None
    expected = (floor.parts[0] if floor is not None else base_max) + 1
    seen: set[int] = set()
    for migration in sorted(added, key=lambda m: (m.name.version if m.name else 0, m.path)):
        name = migration.name
        if name is None or name.prefix is not Prefix.VERSIONED:
            continue  # a U file is applied out of order by design (unversioned-migration)
        if _matches_applied(context, migration):
            continue  # production's own migration put back: a repair, not a new version
        if name.version in burned:
            yield Diagnostic(
                VERSION_REUSED.id, VERSION_REUSED.severity, migration.path,
                f"{migration.file_name} reuses version {name.version}: "
                f"{burned[name.version].describe(base_ref)}; databases that ran it keep it in "
                "their history and refinery reports the new file as divergent or never applies "
                "it",
                hint=plan_hint(context, migration),
            )
        elif name.version <= base_max:
            taken = [m.file_name for m in merged_since if m.name and m.name.version == name.version]
            since = (
                f" ({', '.join(taken)} was merged there since this branch started)" if taken else ""
            )
            yield Diagnostic(
                VERSION_NOT_AFTER_BASE.id, VERSION_NOT_AFTER_BASE.severity, migration.path,
                f"{migration.file_name} is at or below "
                f"{format_version(base_max, context.padding)}, the highest version on "
                f"{base_ref}{since}: every database that ran {base_ref} reports it as missing "
                "and never applies it",
                hint=plan_hint(context, migration),
            )
        elif (applied := refinery_below_applied(context, migration)) is not None:
            yield applied
        elif name.version not in seen:  # a repeated version: duplicate-version speaks for it
            seen.add(name.version)
            if name.version > expected:
                missing = format_version(expected, context.padding)
                if name.version - 1 > expected:
                    missing += "–" + format_version(name.version - 1, context.padding)
                yield Diagnostic(
                    VERSION_GAP.id, VERSION_GAP.severity, migration.path,
                    f"{migration.file_name} leaves a gap after "
                    f"{format_version(expected - 1, context.padding)} ({missing} unused)",
                    hint=plan_hint(context, migration),
                )
            expected = name.version + 1
