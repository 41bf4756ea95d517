"""The header line of a `check` report: what the run compared and replayed."""

from __future__ import annotations

import re
from collections.abc import Sequence

from migration_gate.diagnostics import Diagnostic
from migration_gate.pipeline import CheckContext


def run_header(context: CheckContext, stages: Sequence[str], notes: Sequence[str],
               diagnostics: Sequence[Diagnostic] = ()) -> str:
    """One line saying what this run compared and replayed: the runner, the base by its
    branch name, and what the database stage did (or why it did not: `replay-skipped`)."""
    runner = context.runner.name
    if context.base is None:
        base = "no base (history rules skipped)"
    else:
        base = f"base {context.base.base.ref} (merge-base {context.base.base.merge_base[:9]})"
    changed = len(context.changed)
    if "database" not in stages:
        replay = "replay off"
    elif any(d.rule == "replay-skipped" for d in diagnostics):
        replay = "replay skipped (see the replay-skipped finding)"
    else:
        where = ("the server of --database-url" if context.config.database_url
                 else "in-memory SQLite" if context.config.dialect == "sqlite"
                 else "the embedded PostgreSQL")
        base_count = len(context.base.files) if context.base else 0
        moved = [m for n in notes if (m := re.search(
            r"the replay (?:runs|restarted) on (PostgreSQL \S+ from \S+)", n))]
        if moved and where == "the embedded PostgreSQL":  # `ephemeral.extensions`
            where = f"the embedded {moved[-1].group(1)}"
        replay = (f"replayed {base_count} base migration{'s' if base_count != 1 else ''}, then "
                  f"the branch ({changed} new or changed) on {where}")
    return f"{context.folder}/ with {runner}, {base}; {replay}"
