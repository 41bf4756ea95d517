"""`flyway_schema_history`: its DDL per dialect and the row a migration produces.

DDL from each database's `getRawCreateScript` (PostgreSQL, MySQL, SQLite, SQL Server), the
insert from `Database.getInsertStatement`, the row from `DbMigrate.doMigrateGroup` ->
`SchemaHistory.addAppliedMigration` (description and script abbreviated by
`AbbreviationUtils`, version as `MigrationVersion.toString()`, installed_rank one above the
last row's). `installed_on` is left to the column's default, as Flyway does.
"""

from __future__ import annotations

from dataclasses import dataclass

from migration_gate.runners.flyway_settings import DEFAULT_TABLE
from migration_gate.runners.model import HistoryColumn, HistoryTable, Kind, ParsedMigration
from migration_gate.types import Dialect

COLUMNS = (
    HistoryColumn("installed_rank", "INT", False, "order of execution, 1 for the first row"),
    HistoryColumn("version", "VARCHAR(50)", True, "`1.1` (dots, never `_`); NULL: repeatable"),
    HistoryColumn("description", "VARCHAR(200)", False, "from the file name, `_` as spaces"),
    HistoryColumn("type", "VARCHAR(20)", False, "SQL, SQL_BASELINE, UNDO_SQL, BASELINE..."),
    HistoryColumn("script", "VARCHAR(1000)", False, "the file's path inside its location"),
    HistoryColumn("checksum", "INTEGER", True, "CRC32 as a signed 32-bit int"),
    HistoryColumn("installed_by", "VARCHAR(100)", False, "installedBy, else the DB user"),
    HistoryColumn("installed_on", "TIMESTAMP", False, "DEFAULT now()"),
    HistoryColumn("execution_time", "INTEGER", False, "milliseconds"),
    HistoryColumn("success", "BOOLEAN", False, "false: a failed non-transactional run"),
)
HISTORY_TABLE = HistoryTable(DEFAULT_TABLE, COLUMNS, "int32 (signed), NULL for markers")
INSERT_COLUMNS = ("installed_rank", "version", "description", "type", "script", "checksum",
                  "installed_by", "execution_time", "success")
#: `SchemaHistory.NO_DESCRIPTION_MARKER`, written instead of "" where a database cannot
#: store an empty string (Oracle, Sybase)
NO_DESCRIPTION_MARKER = "<< no description >>"
#: the schema a table lives in when none is configured (the connection's default)
DEFAULT_SCHEMAS = {"postgres": "public", "sqlite": "main", "mssql": "dbo"}
_QUOTES = {"postgres": ('"', '"'), "sqlite": ('"', '"'), "mysql": ("`", "`"),
           "mssql": ("[", "]")}

MIGRATION_TYPES = {
    Kind.VERSIONED: "SQL",
    Kind.REPEATABLE: "SQL",
    Kind.BASELINE: "SQL_BASELINE",
    Kind.UNDO: "UNDO_SQL",
}


def quote(dialect: Dialect, *identifiers: str) -> str:
    """`Database.quote`: each part quoted, the closing quote doubled inside."""
    opening, closing = _QUOTES.get(dialect, ('"', '"'))
    return ".".join(
        f"{opening}{part.replace(closing, closing * 2)}{closing}" for part in identifiers
    )


def qualified(dialect: Dialect, table: str, schema: str | None) -> str:
    """The table as Flyway writes it: `"public"."flyway_schema_history"`."""
    schema = schema if schema is not None else DEFAULT_SCHEMAS.get(dialect)
    return quote(dialect, schema, table) if schema else quote(dialect, table)


def history_ddl(dialect: Dialect, table: str = DEFAULT_TABLE, schema: str | None = None) -> str:
    """What Flyway runs to create its history table (no baseline row, no tablespace)."""
    name = qualified(dialect, table, schema)
    if dialect == "mysql":
        return (
            f"CREATE TABLE {name} (\n"
            "    `installed_rank` INT NOT NULL,\n"
            "    `version` VARCHAR(50),\n"
            "    `description` VARCHAR(200) NOT NULL,\n"
            "    `type` VARCHAR(20) NOT NULL,\n"
            "    `script` VARCHAR(1000) NOT NULL,\n"
            "    `checksum` INT,\n"
            "    `installed_by` VARCHAR(100) NOT NULL,\n"
            "    `installed_on` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
            "    `execution_time` INT NOT NULL,\n"
            "    `success` BOOL NOT NULL,\n"
            f"    CONSTRAINT `{table}_pk` PRIMARY KEY (`installed_rank`)\n"
            ");\n"
            f"CREATE INDEX `{table}_s_idx` ON {name} (`success`);"
        )
    if dialect == "sqlite":
        return (
            f"CREATE TABLE {name} (\n"
            '    "installed_rank" INT NOT NULL PRIMARY KEY,\n'
            '    "version" VARCHAR(50),\n'
            '    "description" VARCHAR(200) NOT NULL,\n'
            '    "type" VARCHAR(20) NOT NULL,\n'
            '    "script" VARCHAR(1000) NOT NULL,\n'
            '    "checksum" INT,\n'
            '    "installed_by" VARCHAR(100) NOT NULL,\n'
            "    \"installed_on\" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')),\n"
            '    "execution_time" INT NOT NULL,\n'
            '    "success" BOOLEAN NOT NULL\n'
            ");\n"
            f'CREATE INDEX {quote(dialect, schema or "main", table + "_s_idx")} '
            f'ON {quote(dialect, table)} ("success");'
        )
    if dialect == "mssql":
        return (
            f"CREATE TABLE {name} (\n"
            "    [installed_rank] INT NOT NULL,\n"
            "    [version] NVARCHAR(50),\n"
            "    [description] NVARCHAR(200),\n"
            "    [type] NVARCHAR(20) NOT NULL,\n"
            "    [script] NVARCHAR(1000) NOT NULL,\n"
            "    [checksum] INT,\n"
            "    [installed_by] NVARCHAR(100) NOT NULL,\n"
            "    [installed_on] DATETIME NOT NULL DEFAULT GETDATE(),\n"
            "    [execution_time] INT NOT NULL,\n"
            "    [success] BIT NOT NULL\n"
            ");\n"
            f"ALTER TABLE {name} ADD CONSTRAINT [{table}_pk] PRIMARY KEY ([installed_rank]);\n"
            f"CREATE INDEX [{table}_s_idx] ON {name} ([success]);\n"
            "GO\n"
        )
    return (
        f"CREATE TABLE {name} (\n"
        '    "installed_rank" INT NOT NULL,\n'
        '    "version" VARCHAR(50),\n'
        '    "description" VARCHAR(200) NOT NULL,\n'
        '    "type" VARCHAR(20) NOT NULL,\n'
        '    "script" VARCHAR(1000) NOT NULL,\n'
        '    "checksum" INTEGER,\n'
        '    "installed_by" VARCHAR(100) NOT NULL,\n'
        '    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),\n'
        '    "execution_time" INTEGER NOT NULL,\n'
        '    "success" BOOLEAN NOT NULL\n'
        ");\n"
        f'ALTER TABLE {name} ADD CONSTRAINT {quote(dialect, table + "_pk")} '
        'PRIMARY KEY ("installed_rank");\n'
        f'CREATE INDEX {quote(dialect, table + "_s_idx")} ON {name} ("success");'
    )


def insert_statement(
    dialect: Dialect, table: str = DEFAULT_TABLE, schema: str | None = None
) -> str:
    """`Database.getInsertStatement` with DB-API `%s` placeholders, in `INSERT_COLUMNS` order."""
    columns = ", ".join(quote(dialect, column) for column in INSERT_COLUMNS)
    values = ", ".join("%s" for _ in INSERT_COLUMNS)
    return f"INSERT INTO {qualified(dialect, table, schema)} ({columns}) VALUES ({values})"


@dataclass(frozen=True)
class HistoryRow:
    """One row of `flyway_schema_history`, as Flyway inserts it (`installed_on` is the DB's)."""

    installed_rank: int
    version: str | None
    description: str
    type: str
    script: str
    checksum: int | None
    installed_by: str
    execution_time: int = 0
    success: bool = True

    def params(self) -> tuple[object, ...]:
        """The values for `insert_statement`, in its column order."""
        return (self.installed_rank, self.version, self.description, self.type, self.script,
                self.checksum, self.installed_by, self.execution_time, self.success)


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _utf16_slice(text: str, start: int, end: int) -> str:
    units = text.encode("utf-16-le", "surrogatepass")[2 * start: 2 * end]
    return units.decode("utf-16-le", "surrogatepass")


def abbreviate_description(description: str) -> str:
    """`AbbreviationUtils.abbreviateDescription`: at most 200 UTF-16 units."""
    if _utf16_length(description) <= 200:
        return description
    return _utf16_slice(description, 0, 197) + "..."


def abbreviate_script(script: str) -> str:
    """`AbbreviationUtils.abbreviateScript`: at most 1000 units, the *start* replaced by `...`."""
    if _utf16_length(script) <= 1000:
        return script
    return "..." + _utf16_slice(script, 3, 1000)


def next_installed_rank(ranks: list[int]) -> int:
    """`SchemaHistory.calculateInstalledRank`: the last row's rank + 1, or 1 for the first."""
    return (max(ranks) + 1) if ranks else 1


def history_row(
    migration: ParsedMigration,
    script: str,
    checksum: int | None,
    *,
    installed_rank: int,
    installed_by: str,
    execution_time: int = 0,
    success: bool = True,
) -> HistoryRow:
    """The row `migrate` (or the replay's fake mode, Flyway's `skipExecutingMigrations`) writes
    for `migration`; `script` is the file's path relative to its location (`V1__x.sql`,
    `sub/V2__y.sql`)."""
    version = migration.version.display if migration.version is not None else None
    return HistoryRow(
        installed_rank=installed_rank,
        version=version,
        description=abbreviate_description(migration.description),
        type=MIGRATION_TYPES.get(migration.kind, "SQL"),
        script=abbreviate_script(script),
        checksum=checksum,
        installed_by=installed_by,
        execution_time=execution_time,
        success=success,
    )
