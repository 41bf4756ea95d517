"""The rule catalogue: every rule id, its default severity and its documentation.

Each rule is declared next to the code that checks it (one rule, one place): a `Rule` object,
which the checks also put in their findings. This module only holds the `Rule` type and
collects the declarations, importing the rule modules on first use so that start-up stays
cheap (`--version` imports no rule, and no rule module imports sqlglot).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.types import DIALECTS, Dialect

#: Modules that declare rules, in the catalogue's order. The SQL rules are a package whose
#: modules are discovered (`migration_gate.sql.rules`); a new SQL rule is not listed here.
RULE_MODULES: tuple[str, ...] = (
    "migration_gate.checks.folder",
    "migration_gate.checks.history",
    "migration_gate.checks.flyway_folder",
    "migration_gate.baseconfig",
    "migration_gate.sql.rules",
    "migration_gate.dbcheck",
    "migration_gate.replayskip",
    "migration_gate.sql.ignores",
    "migration_gate.sql.hazards",
)

ALL_DIALECTS: tuple[Dialect, ...] = DIALECTS


@dataclass(frozen=True)
class Rule:
    """A rule's declaration: its id and default severity, what it checks, why it matters and
    what to do instead (ruff-style documentation), and the statements its tests run."""

    id: str
    severity: Severity
    summary: str
    needs: str  # git | stmt | context | db
    why: str = ""
    example: str = ""
    instead: str = ""
    #: The one-line safe alternative every finding of the rule carries (SQL rules).
    hint: str | None = None
    dialects: tuple[Dialect, ...] = DIALECTS
    # Statements that must fire / must not fire the rule; executed by the tests.
    fires: tuple[str, ...] = field(default=(), compare=False)
    passes: tuple[str, ...] = field(default=(), compare=False)
    #: Whether `instead`, linted as one migration, is clean of this rule (tested). False when
    #: it spans an operations step or a later migration, or is prose.
    instead_passes: bool = field(default=True, compare=False)

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

    def diagnostic(self, path: str, message: str, *, line: int = 1, column: int = 1,
                   end_line: int | None = None, end_column: int | None = None,
                   hint: str | None = None) -> Diagnostic:
        """A finding of this rule, at its default severity (the configuration applies later)."""
        return Diagnostic(self.id, self.severity, path, message, line, column, end_line,
                          end_column, hint)


#: The former name of `Rule`, still used by modules declared before the rename.
RuleDoc = Rule


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.strip("\n").splitlines())


_CATALOGUE: dict[str, Rule] | None = None


def all_rules() -> dict[str, Rule]:
    """Every declared rule by id, in declaration order."""
    global _CATALOGUE
    if _CATALOGUE is None:
        found: dict[str, Rule] = {}
        for name in RULE_MODULES:
            module = importlib.import_module(name)
            for rule in getattr(module, "RULES", ()):
                if rule.id in found:
                    raise RuntimeError(f"rule {rule.id} declared twice")
                found[rule.id] = rule
        _CATALOGUE = found
    return _CATALOGUE
