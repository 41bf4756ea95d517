"""migration-gate: a quality gate for refinery SQL migrations."""

__version__ = "0.1.0"
