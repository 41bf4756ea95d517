"""The SQL rules: one module per family, each rule's declaration beside its check.

A family module (`locking`, `constraints`, `columns`, `transactions`, `compatibility`,
`robustness`, `types`, `dialects`) declares each rule as a `catalog.Rule` and registers its
check with `@registry.check(RULE, "FIRST", "WORDS")`. Importing this package imports every
module in it (pkgutil, in name order), so a new rule or family is found without being listed
anywhere; `RULES` holds them in that order for the catalogue. The shared pieces are `base`
(token view, `FileState`, `Finding`, lock modes), `statements` (the readings of CREATE, DROP
and ALTER TABLE every family shares), `context` (what a statement establishes for the next
ones) and `registry`. No module here imports sqlglot. Step by step: docs/adding-a-rule.md.
"""

from __future__ import annotations

import importlib
import pkgutil

from migration_gate.catalog import Rule
from migration_gate.sql.rules import registry


def _import_all() -> list[str]:
    """Import every module of this package (each registers its rules); their names, in order."""
    names = [f"{__name__}.{info.name}" for info in pkgutil.iter_modules(__path__)]
    for name in names:
        importlib.import_module(name)
    return names


RULES: tuple[Rule, ...] = registry.registered(_import_all())

__all__ = ["RULES"]
