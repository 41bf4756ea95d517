"""Names the gate passes around as strings, as `Literal` types declared in one place.

They stay plain strings at run time (in the configuration, the JSON report, cache keys), so a
`Literal` gives mypy the closed set without changing a byte of output. This module imports
only `typing`: every other module may use it, at start-up too.
"""

from __future__ import annotations

from typing import Literal, get_args

#: The SQL dialects a project can declare (`dialect:`, `--dialect`, refinery.toml's `db_type`).
Dialect = Literal["postgres", "mysql", "sqlite", "mssql"]
DIALECTS: tuple[Dialect, ...] = get_args(Dialect)


#: Every `--format`, each the name of a module of `migration_gate.report`.
FORMATS: tuple[str, ...] = ("text", "json", "github", "sarif", "gitlab")
