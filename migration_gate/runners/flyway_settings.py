"""The Flyway settings the gate's Flyway model depends on, with Flyway's own defaults.

Defaults are Flyway's (`FlywayModel.defaults()`, `BaselineMigrationConfigurationExtension`,
`PostgreSQLConfigurationExtension`; see docs/flyway.md). Names follow Flyway's configuration
keys in snake_case (`sqlMigrationPrefix` -> `sql_migration_prefix`), so that a `flyway.conf`,
`flyway.toml` or `spring.flyway.*` reader can fill them one to one.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TABLE = "flyway_schema_history"
#: The PostgreSQL major version assumed when none is given: what the gate's embedded server runs.
DEFAULT_POSTGRES_MAJOR = 16


@dataclass(frozen=True)
class FlywaySettings:
    """The Flyway settings that change how it reads, orders and runs the migrations."""

    sql_migration_prefix: str = "V"
    repeatable_sql_migration_prefix: str = "R"
    #: Teams/Enterprise only: Community Flyway does not know undo migrations and ignores `U`
    #: files as unrecognised names. None models Community.
    undo_sql_migration_prefix: str | None = "U"
    baseline_migration_prefix: str = "B"
    sql_migration_separator: str = "__"
    sql_migration_suffixes: tuple[str, ...] = (".sql",)
    validate_migration_naming: bool = False
    placeholder_replacement: bool = True
    placeholder_prefix: str = "${"
    placeholder_suffix: str = "}"
    placeholder_separator: str = ":"
    #: user placeholders, `flyway.placeholders.<name>`; looked up case-insensitively
    placeholders: tuple[tuple[str, str], ...] = ()
    table: str = DEFAULT_TABLE
    default_schema: str | None = None
    schemas: tuple[str, ...] = ()
    environment: str = "default"
    installed_by: str | None = None
    mixed: bool = False
    execute_in_transaction: bool = True
    group: bool = False
    out_of_order: bool = False
    ignore_migration_patterns: tuple[str, ...] = ("*:future",)
    validate_on_migrate: bool = True
    baseline_version: str = "1"
    baseline_description: str = "<< Flyway Baseline >>"
    encoding: str = "UTF-8"
    #: `flyway.postgresql.transactional.lock`: with it (the default) the history row is written
    #: on a second connection, outside the migration's transaction.
    postgresql_transactional_lock: bool = True
    postgres_major: int = DEFAULT_POSTGRES_MAJOR
    #: `flyway.locations`: where Flyway looks for migrations (the CLI's default)
    locations: tuple[str, ...] = ("filesystem:sql",)

    def placeholder_map(self) -> dict[str, str]:
        """User placeholders keyed in lower case, as Flyway's `CaseInsensitiveMap` holds them."""
        return {key.lower(): value for key, value in self.placeholders}

    def default_schema_name(self) -> str | None:
        """`defaultSchema`, else the first of `schemas` (`ParsingContext.populate`); None means
        the connection's current schema, which only the database knows."""
        if self.default_schema is not None:
            return self.default_schema
        return self.schemas[0] if self.schemas else None
