"""Names the gate passes around as strings, as `Literal` types declared in one place.

They stay plain strings at run time (in the configuration, the JSON report, cache keys), so a
`Literal` gives mypy the closed set without changing a byte of output. This module imports
nothing: every other module may use it, at start-up too.
"""

from __future__ import annotations

from typing import Literal, get_args

#: The SQL dialects a project can declare (`dialect:`, `--dialect`, refinery.toml's `db_type`).
Dialect = Literal["postgres", "mysql", "sqlite", "mssql"]
DIALECTS: tuple[Dialect, ...] = get_args(Dialect)


def as_dialect(name: str) -> Dialect:
    """`name` as a `Dialect`, for values already validated against `DIALECTS` (configuration,
    click choices); anything else is a programming error."""
    for dialect in DIALECTS:
        if dialect == name:
            return dialect
    raise ValueError(f"not a dialect: {name!r}")
