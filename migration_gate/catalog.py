"""The rule catalogue: every rule id, its default severity and its documentation.

Each rule is declared next to the code that checks it (one rule, one place); this module only
holds the shared `RuleDoc` type and collects the declarations, importing the rule modules on
first use so that start-up stays cheap.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from migration_gate.diagnostics import Severity
from migration_gate.types import DIALECTS, Dialect

#: Modules that declare rules. A new family of rules adds its module here.
RULE_MODULES: tuple[str, ...] = (
    "migration_gate.checks.folder",
    "migration_gate.checks.history",
    "migration_gate.baseconfig",
    "migration_gate.sql.rules",
    "migration_gate.dbcheck",
    "migration_gate.sql.ignores",
)


@dataclass(frozen=True)
class RuleDoc:
    """What a rule checks, why it matters and what to do instead (ruff-style documentation)."""

    id: str
    severity: Severity
    summary: str
    needs: str  # git | stmt | context | db
    why: str = ""
    example: str = ""
    instead: str = ""
    dialects: tuple[Dialect, ...] = DIALECTS
    # Statements that must fire / must not fire the rule; executed by the tests.
    fires: tuple[str, ...] = field(default=(), compare=False)
    passes: tuple[str, ...] = field(default=(), compare=False)

    def render(self) -> str:
        """The full text shown by `migration-gate rules ID`."""
        parts = [f"{self.id} ({self.severity.value}, needs: {self.needs})", "", self.summary]
        if self.why:
            parts += ["", "Why is this bad?", self.why]
        if self.example:
            parts += ["", "Example:", _indent(self.example)]
        if self.instead:
            parts += ["", "Use instead:", _indent(self.instead)]
        return "\n".join(parts).rstrip() + "\n"


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.strip("\n").splitlines())


_CATALOGUE: dict[str, RuleDoc] | None = None


def all_rules() -> dict[str, RuleDoc]:
    """Every declared rule by id, in declaration order."""
    global _CATALOGUE
    if _CATALOGUE is None:
        found: dict[str, RuleDoc] = {}
        for name in RULE_MODULES:
            module = importlib.import_module(name)
            for doc in getattr(module, "RULES", ()):
                if doc.id in found:
                    raise RuntimeError(f"rule {doc.id} declared twice")
                found[doc.id] = doc
        _CATALOGUE = found
    return _CATALOGUE
