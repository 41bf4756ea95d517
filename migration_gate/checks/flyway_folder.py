"""The folder rules only a Flyway project has: placeholders, and refinery's `U` in its folder.

Only their declarations live here: `checks/folder.py` runs every folder rule with one body
that asks the run's runner (`Runner.rules`), these included. Every other folder rule keeps its
id whatever the runner (`invalid-filename`, `duplicate-version`...), so a configuration that
sets their severity keeps working.
"""

from __future__ import annotations

from migration_gate.catalog import RuleDoc
from migration_gate.diagnostics import Severity

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
