"""Rules about the migrations folder itself: names, versions, encodings, duplicates.

They need no git: each looks at the working tree's files (the added and changed ones when a
base is known, all of them otherwise; duplicates are looked for across the whole folder).
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator
from typing import TYPE_CHECKING

from migration_gate.catalog import RuleDoc
from migration_gate.checks.flyway_folder import (
    MIXED_RUNNERS,
    UNCLOSED_PLACEHOLDER,
    UNDEFINED_PLACEHOLDER,
)
from migration_gate.diagnostics import Diagnostic, GateError, Severity
from migration_gate.migrations import MigrationFile
from migration_gate.pipeline import (
    CheckContext,
    format_version,
    normalise_description,
    suggest_file_name,
)
from migration_gate.runners.model import Kind, ParsedMigration

if TYPE_CHECKING:
    from datetime import datetime

E, W = Severity.ERROR, Severity.WARNING

INVALID_FILENAME = RuleDoc(
    "invalid-filename", E,
    "A file in the migrations folder does not match its runner's file-name pattern "
    "(refinery's `V{n}__{name}.sql`; Flyway's `V{version}__{description}.sql`, `R__...`).",
    needs="git",
    why="refinery silently skips files whose name does not match `^[U|V]\\d+__\\w+\\.sql$`: "
    "the migration never runs and `refinery migrate` reports \"no migrations to apply\" "
    "(refinery issue #115). The prefix and extension are case-sensitive, the separator is "
    "two underscores, and the name may only hold letters, digits and `_`. A file starting "
    "with `|` matches refinery's `[U|V]` class and then makes it panic. Flyway skips a file "
    "its naming settings do not match, or refuses the run with `validateMigrationNaming`; a "
    "name it still runs (`V3.sql`, no description) is a warning.",
    example="migrations/v8__add_profiles.sql\nmigrations/V8-add-profiles.sql\n"
    "migrations/V8__add_profiles.SQL",
    instead="migrations/V008__add_profiles.sql",
)
INVALID_VERSION = RuleDoc(
    "invalid-version", E,
    "The name matches the runner's pattern but the version is not one it can read "
    "(refinery: a 32-bit integer; Flyway: dot- or underscore-separated numbers).",
    needs="git",
    why="refinery parses the version as an `i32` (an `i64` with `int8-versions`) and stops "
    "with \"migration version must be a valid integer\": no migration at all is applied. "
    "Flyway silently skips the file (or refuses the run with `validateMigrationNaming`).",
    example="V1.5__add_index.sql\nV2147483648__x.sql\nV١__arabic_digit.sql",
    instead="V009__add_index.sql",
)
NAMING_STYLE = RuleDoc(
    "naming-style", W,
    "The name is valid for refinery but breaks the folder's own convention.",
    needs="git",
    why="Mixed zero-padding (`V8__` next to `V007__`) sorts badly in every file listing and "
    "review tool, and makes the next version easy to get wrong. The padding width is inferred "
    "from the existing files (or set with `padding`), the name pattern is `name-pattern` "
    "(default `[a-z0-9_]+`).",
    example="V8__AddProfiles.sql   (next to V007__create_users.sql)",
    instead="V008__add_profiles.sql",
)
DUPLICATE_VERSION = RuleDoc(
    "duplicate-version", E,
    "Two migration files share a version.",
    needs="git",
    why="refinery only rejects two files identical in version, name and checksum. With different "
    "names both run, and the second fails on the history table's primary key after its SQL was "
    "committed (gattaca-com/helix#572) -- typically two branches that both added `V008`. "
    "Flyway refuses to migrate at all (\"Found more than one migration with version\"; "
    "`1` and `1.0` are one version, and two repeatables with one description clash too).",
    example="V008__add_profiles.sql\nV008__add_orders.sql",
    instead="V008__add_profiles.sql\nV009__add_orders.sql",
)
UNVERSIONED_MIGRATION = RuleDoc(
    "unversioned-migration", W,
    "A `U` (unversioned) migration.",
    needs="git",
    why="refinery applies a `U` migration even when its version is below the current one, so "
    "its position in the order differs between databases that were migrated at different times.",
    example="U5__backfill_names.sql",
    instead="V012__backfill_names.sql",
)
UNVERIFIABLE_MIGRATION = RuleDoc(
    "unverifiable-migration", W,
    "A `.rs` migration: its SQL only exists when the program runs.",
    needs="git",
    why="`embed_migrations!` accepts Rust migrations whose SQL is built at run time, so no rule "
    "can lint it and no checksum can be computed; refinery's CLI ignores `.rs` files entirely.",
    example="V9__seed.rs",
    instead="V009__seed.sql",
)
NON_UTF8_MIGRATION = RuleDoc(
    "non-utf8-migration", E,
    "The migration file is not valid UTF-8.",
    needs="git",
    why="refinery reads migrations as UTF-8 strings and refuses the whole run otherwise; "
    "Flyway decodes them in its configured `encoding` (UTF-8 by default). Editors saving "
    "Latin-1 or UTF-16 files are the usual cause.",
    example="a file saved as Windows-1252 holding `'Café'`",
    instead="re-save the file as UTF-8",
)
EMPTY_MIGRATION = RuleDoc(
    "empty-migration", W,
    "The migration file holds no statement.",
    needs="git",
    why="An empty migration is recorded as applied and can never be changed afterwards without "
    "every database reporting it as divergent: usually a file created and forgotten.",
    example="-- TODO: add the index",
    instead="write the migration before merging it, or delete the file",
)

RULES = (
    INVALID_FILENAME, INVALID_VERSION, NAMING_STYLE, DUPLICATE_VERSION, UNVERSIONED_MIGRATION,
    UNVERIFIABLE_MIGRATION, NON_UTF8_MIGRATION, EMPTY_MIGRATION,
)

#: A misnamed migration's parts: a prefix (only when a version follows it), the version, the
#: separator and the description (`v8__x`, `V8-x`, `V1.5__x`, `8_x`, `add_users`).
@functools.cache
def _attempt() -> re.Pattern[str]:
    """Compiled on first use: only a misnamed file needs it, not every run's import."""
    return re.compile(
        r"^\s*(?:([VvUu|])\s*(?=\d))?\s*(?:\d+(?:[.,]\d+)*)?[\s_.\-]*(.*?)\s*$", re.DOTALL
    )


def looks_like_migration(file_name: str) -> bool:
    """A `.sql` file (any case), or a `.rs` file named like a migration, is meant to run."""
    lower = file_name.lower()
    if lower.endswith(".sql"):
        return True
    return lower.endswith(".rs") and bool(re.match(r"^[vu|]\d", lower))


def corrected_name(file_name: str, version: int, padding: int) -> str:
    """The name refinery would accept for a misnamed file, with `version`."""
    stem = file_name.rsplit(".", 1)[0]
    match = _attempt().match(stem)
    prefix, rest = (match.group(1), match.group(2)) if match else (None, stem)
    name = normalise_description(rest) or "migration"
    text = f"{format_version(version, padding)}__{name}.sql"
    return "U" + text[1:] if prefix in ("U", "u") else text


def _diagnostic(doc: RuleDoc, migration: MigrationFile, message: str, hint: str | None,
                severity: Severity | None = None, line: int = 1, column: int = 1) -> Diagnostic:
    return Diagnostic(doc.id, severity or doc.severity, printable(migration.path),
                      printable(message), line=line, column=column, hint=hint)


def printable(text: str) -> str:
    """A file name that is not valid UTF-8 reaches Python with surrogate escapes, which no
    report can print: show its undecodable bytes as U+FFFD instead."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def check_names(context: CheckContext) -> Iterator[Diagnostic]:
    """Misnamed files: what the runner does with the name, and the name it should have."""
    rules = context.runner.rules
    for migration in context.to_lint:
        problem = context.name_problem_of(migration)
        if problem is None or not rules.meant_as_migration(migration.file_name, problem):
            continue
        from migration_gate.runners.problems import NameIssue  # a clean folder never gets here

        doc = INVALID_VERSION if problem.issue is NameIssue.INVALID_VERSION else INVALID_FILENAME
        fix = rules.name_fix(context, migration.path, migration.rel, migration.file_name, problem)
        yield _diagnostic(
            doc, migration,
            f"{migration.file_name}: {rules.name_message(migration.file_name, problem)}",
            f"rename to {fix}", W if problem.accepted_as is not None else None,
        )


def _name_pattern(context: CheckContext) -> Callable[[str], bool]:
    """`name-pattern`'s full match, bounded in time: a pattern that backtracks for ever on a
    name ends the run with one line (exit 2) instead of hanging it."""
    from migration_gate.patterns import NamePattern, PatternTooSlow

    pattern = NamePattern(context.config.name_pattern)

    def matches(name: str) -> bool:
        try:
            return pattern.fullmatch(name)
        except PatternTooSlow:
            shown = name if len(name) <= 40 else f"{name[:40]}..."
            raise GateError(
                f"`name-pattern` {pattern.text!r} takes too long on the name {shown!r} "
                "(it backtracks: avoid repeating a group that itself repeats)"
            ) from None

    return matches


def _fitting_name(name: str, pattern_text: str) -> str:
    """The name a `naming-style` hint proposes: one the pattern accepts, as `new` makes it."""
    from migration_gate.patterns import conforming_name

    normalised = normalise_description(name) or name
    try:
        return conforming_name(normalised, pattern_text)[0]
    except GateError:
        return normalised


def check_style(context: CheckContext) -> Iterator[Diagnostic]:
    """`naming-style`: refinery names that break the folder's own convention."""
    pattern = _name_pattern(context)
    padding = context.padding
    for migration in context.to_lint:
        parsed = context.migration_of(migration)
        if parsed is None or parsed.kind is not Kind.VERSIONED or parsed.version is None:
            continue
        problems = []
        text, version, name = parsed.version.text, parsed.version.parts[0], parsed.raw_description
        if padding and len(text) != max(padding, len(str(version))):
            problems.append(f"the version is not zero-padded to {padding} digits like the others")
        elif not padding and len(text) > 1 and text.startswith("0"):
            problems.append("the version is zero-padded but the other migrations are not")
        if not pattern(name):
            problems.append(f"the name does not match `{context.config.name_pattern}`")
        if problems:
            fixed_name = name if pattern(name) else _fitting_name(
                name, context.config.name_pattern
            )
            fix = suggest_file_name(version, fixed_name, padding)
            if parsed.suffix != ".sql":
                fix = fix[: -len(".sql")] + parsed.suffix
            yield _diagnostic(
                NAMING_STYLE, migration, f"{migration.file_name}: " + "; ".join(problems),
                f"rename to {fix}" if fix != migration.file_name else None,
            )


def check_duplicates(context: CheckContext) -> Iterator[Diagnostic]:
    """Files the runner cannot tell apart (`Runner.rules.identity`)."""
    rules = context.runner.rules
    groups: dict[Hashable, list[tuple[MigrationFile, ParsedMigration]]] = defaultdict(list)
    for migration in context.local:
        parsed = context.migration_of(migration)
        identity = rules.identity(parsed) if parsed is not None else None
        if parsed is not None and identity is not None:
            groups[identity].append((migration, parsed))
    relevant = {m.rel for m in context.to_lint}
    base_rels = set(context.base_by_rel)
    order = sorted(groups, key=_sort_key) if rules.sorted_duplicates else list(groups)
    for group in (groups[identity] for identity in order):
        if len(group) < 2 or not any(m.rel in relevant for m, _ in group):
            continue
        names = ", ".join(m.path for m, _ in group)
        # the file already on the base keeps its version; otherwise the first by path does
        on_base = [m for m, _ in group if m.rel in base_rels]
        keeper = on_base[0] if on_base else group[0][0]
        identical = len({(p.description, context.recorded_checksum(m)) for m, p in group}) == 1
        parsed_group = [p for _, p in group]
        for migration, own in group:
            message = rules.duplicate_message(own, parsed_group, names, identical)
            hint = None
            planned = context.allocator.planned(migration.path) if rules.plan_hints else None
            if planned is not None and own.version is not None and (
                    planned != own.version.parts[0]):
                from migration_gate.checks.history import plan_hint

                hint = plan_hint(context, migration)  # the branch's block moves as one
            elif planned is None and migration is not keeper:
                hint = rules.duplicate_fix(context, migration.path, own, keeper.file_name)
            yield _diagnostic(DUPLICATE_VERSION, migration, message, hint)


def _sort_key(identity: Hashable) -> str | int:
    return identity if isinstance(identity, int) else str(identity)


def check_kinds(context: CheckContext) -> Iterator[Diagnostic]:
    """Migrations the gate cannot read (built at run time) and kinds that run otherwise than
    their author meant (refinery's `U` out of order, a `U` Flyway never applies forward)."""
    rules = context.runner.rules
    for migration in context.to_lint:
        parsed = context.migration_of(migration)
        if parsed is None or rules.build_time_message(parsed) is not None:
            continue
        problem = rules.kind_problem(context, migration.path, migration.rel, parsed)
        if problem is not None:
            doc = UNVERSIONED_MIGRATION if parsed.kind is Kind.UNVERSIONED else MIXED_RUNNERS
            yield _diagnostic(doc, migration, f"{migration.file_name}: {problem[0]}", problem[1])


def check_contents(context: CheckContext) -> Iterator[Diagnostic]:
    """Build-time migrations, encodings, empty files and placeholders of the added and
    changed migrations."""
    rules, now = context.runner.rules, _now_for(context)
    for migration in context.to_lint:
        parsed = context.migration_of(migration)
        if parsed is None:
            continue
        unreadable = rules.build_time_message(parsed)
        if unreadable is not None:
            yield _diagnostic(UNVERIFIABLE_MIGRATION, migration,
                              f"{migration.file_name}: {unreadable}", None)
            continue
        if migration.content is None:
            continue
        text = rules.decode(migration.content)
        if not isinstance(text, str):  # a `ContentProblem` (`runners.problems`)
            yield _diagnostic(NON_UTF8_MIGRATION, migration,
                              f"{migration.file_name}: {text.reason}", rules.encoding_hint)
            continue
        if not has_statement(text) and parsed.kind is not Kind.CALLBACK:
            yield _diagnostic(EMPTY_MIGRATION, migration,
                              f"{migration.file_name}: the file holds no SQL statement",
                              "write the migration, or delete the file before it is merged")
            continue
        if now is None:
            continue
        result = context.runner.replace_placeholders(text, migration.file_name, now)
        for found in result.problems:
            from migration_gate.runners.problems import PlaceholderIssue

            doc = (UNDEFINED_PLACEHOLDER if found.issue is PlaceholderIssue.UNDEFINED
                   else UNCLOSED_PLACEHOLDER)
            yield _diagnostic(doc, migration, f"{migration.file_name}: {found.message}",
                              found.hint, line=found.line, column=found.column)


def _now_for(context: CheckContext) -> datetime | None:
    """The moment placeholders such as Flyway's `${flyway:timestamp}` read; None for a runner
    without placeholders (refinery's `replace_placeholders` returns the text): its check, run
    on every commit, then never imports `datetime`."""
    if not context.runner.rules.placeholders:
        return None
    from datetime import datetime

    return datetime.now()


def has_statement(text: str) -> bool:
    """Whether anything but comments, white space and `;` is left."""
    index, length, depth = 0, len(text), 0
    while index < length:
        char = text[index]
        pair = text[index : index + 2]
        if depth:
            if pair == "*/":
                depth -= 1
                index += 2
            elif pair == "/*":
                depth += 1
                index += 2
            else:
                index += 1
        elif pair == "--":
            newline = text.find("\n", index)
            index = length if newline < 0 else newline + 1
        elif pair == "/*":
            depth = 1
            index += 2
        elif char.isspace() or char == ";" or char == "\ufeff":
            index += 1
        else:
            return True
    return False


def check_folder(context: CheckContext) -> Iterator[Diagnostic]:
    """The folder stage: every rule of this module, as the run's runner reads the folder."""
    yield from check_names(context)
    yield from check_duplicates(context)
    yield from check_kinds(context)
    yield from check_contents(context)
    if context.runner.rules.naming_style:
        yield from check_style(context)
