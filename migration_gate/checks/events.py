"""One finding per event: a renumbered run of base migrations, a squash.

Per-file findings for one change made by one command (`git mv` of 55 files, a squash deleting
300) drown the review; they become one finding naming the range, with each file kept as a
related location in the JSON report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from migration_gate.diagnostics import Diagnostic, Related
from migration_gate.migrations import MigrationFile
from migration_gate.pipeline import CheckContext, format_version

#: Fewer per-file findings than this stay separate: two renames are two decisions.
EVENT_SIZE = 3


def grouped_renames(
    context: CheckContext, renames: Sequence[tuple[MigrationFile, MigrationFile, Diagnostic]]
) -> Iterator[Diagnostic]:
    """Renames that shift a run of versions by the same amount: one finding for the run."""
    groups: dict[tuple[int, str], list[tuple[MigrationFile, MigrationFile, Diagnostic]]] = (
        defaultdict(list))
    for old, new, diagnostic in renames:
        delta = (new.name.version - old.name.version) if new.name and old.name else 0
        groups[(delta, diagnostic.severity.value)].append((old, new, diagnostic))
    for (delta, _severity), members in groups.items():
        if delta == 0 or len(members) < EVENT_SIZE:
            yield from (diagnostic for _old, _new, diagnostic in members)
            continue
        members.sort(key=lambda m: m[0].name.version if m[0].name else 0)
        first, last = members[0][0], members[-1][0]
        assert first.name is not None and last.name is not None and context.base is not None
        pad = context.padding
        span = f"{format_version(first.name.version, pad)}–{format_version(last.name.version, pad)}"
        moved = (f"{format_version(first.name.version + delta, pad)}–"
                 f"{format_version(last.name.version + delta, pad)}")
        head = members[0][2]
        yield Diagnostic(
            head.rule, head.severity, members[0][1].path,
            f"{len(members)} migrations of {context.base.base.ref} were renumbered {span} → "
            f"{moved} ({delta:+d}): every database that applied them sees each version missing "
            "and runs its SQL again",
            hint=(f"restore the merged numbering: git checkout {context.base.base.merge_base[:12]}"
                  f" -- {context.folder}" if head.hint and head.hint.startswith("rename it back")
                  else head.hint),
            related=tuple(Related(d.rule, d.path, d.line, d.message) for _o, _n, d in members),
        )


def grouped_deletions(
    context: CheckContext, deletions: Sequence[tuple[MigrationFile, Diagnostic]]
) -> Iterator[Diagnostic]:
    """Many base migrations deleted at once (a squash into a baseline): one finding."""
    by_severity: dict[str, list[tuple[MigrationFile, Diagnostic]]] = defaultdict(list)
    for old, diagnostic in deletions:
        by_severity[diagnostic.severity.value].append((old, diagnostic))
    for members in by_severity.values():
        if len(members) < EVENT_SIZE:
            yield from (diagnostic for _old, diagnostic in members)
            continue
        assert context.base is not None
        versions = sorted(m.name.version for m, _ in members if m.name)
        pad = context.padding
        span = (f" ({format_version(versions[0], pad)}–{format_version(versions[-1], pad)})"
                if versions else "")
        baseline = [m.file_name for m in context.block]
        squash = f", and {', '.join(baseline)} added: a squash" if baseline else ""
        head = members[0][1]
        yield Diagnostic(
            head.rule, head.severity, members[0][0].path,
            f"{len(members)} migrations of {context.base.base.ref} are deleted here{span}"
            f"{squash}: every database that applied them reports them missing from the "
            "filesystem",
            hint="refinery has no baseline: keep the applied files (a squashed baseline only "
            "serves new databases: give it its own history table via `table_name`, or create new "
            "databases from a schema dump); with Flyway use a baseline migration (B prefix) or "
            "`baselineVersion` on new databases",
            related=tuple(Related(d.rule, m.path, d.line, d.message) for m, d in members),
        )
