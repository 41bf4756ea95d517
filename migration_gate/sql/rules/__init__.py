"""The SQL rules: their documentation (`RULES`, collected by the catalogue) and their checks.

Importing this package is cheap: the checks and sqlglot load only when a file is linted.
"""

from migration_gate.sql.rules.docs import HINTS, RULES

__all__ = ["HINTS", "RULES"]
