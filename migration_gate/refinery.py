"""refinery's semantics, pure and free of I/O (see docs/refinery.md).

File-name parsing, the checksum, the history table's DDL and `applied_on` format, and the
divergent / missing verification a refinery run performs, with refinery's own message texts.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from migration_gate.types import Dialect

if TYPE_CHECKING:
    from datetime import datetime

    from migration_gate.refinery_run import AppliedMigration as AppliedMigration
    from migration_gate.refinery_run import Migration as Migration
    from migration_gate.refinery_run import Plan as Plan
    from migration_gate.refinery_run import Verdict as Verdict
    from migration_gate.refinery_run import VerificationIssue as VerificationIssue
    from migration_gate.refinery_run import divergent_message as divergent_message
    from migration_gate.refinery_run import missing_message as missing_message
    from migration_gate.refinery_run import plan_run as plan_run

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
DEFAULT_TABLE = "refinery_schema_history"


class Prefix(str, Enum):
    VERSIONED = "V"
    UNVERSIONED = "U"


@dataclass(frozen=True)
class MigrationName:
    """A file name refinery accepts: `V{version}__{name}.{sql|rs}`."""

    prefix: Prefix
    version: int
    version_text: str
    name: str
    extension: str

    @property
    def display(self) -> str:
        """refinery's own rendering, `V8__x` (leading zeros dropped)."""
        return f"{self.prefix.value}{self.version}__{self.name}"


class NameIssue(str, Enum):
    NO_MATCH = "no-match"  # refinery silently ignores the file
    INVALID_VERSION = "invalid-version"  # matches, then refinery errors
    PIPE_PREFIX = "pipe-prefix"  # matches `[U|V]`, then refinery panics


@dataclass(frozen=True)
class NameProblem:
    """Why refinery does not read a file name as a migration."""

    issue: NameIssue
    reason: str


# refinery: ^([U|V])(\d+(?:\.\d+)?)__(\w+)\.(rs|sql)$ -- `\d` and `\w` are Unicode in Rust's
# regex crate. Python's `\d` (str) is Unicode Nd as well; `\w` differs, so it is checked apart.
_STEM = re.compile(r"^([U|V])(\d+(?:\.\d+)?)__(.+)\.(rs|sql)\Z", re.DOTALL)

# Other_Alphabetic symbols (category So) that Rust's `\w` accepts and unicodedata cannot tell:
# circled and squared Latin letters.
_OTHER_ALPHABETIC_SYMBOLS = (
    (0x24B6, 0x24E9),
    (0x1F130, 0x1F149),
    (0x1F150, 0x1F169),
    (0x1F170, 0x1F189),
)


def is_rust_word_char(char: str) -> bool:
    """True when Rust regex's Unicode `\\w` matches `char`.

    `\\w` is Alphabetic | Mark | Decimal_Number | Connector_Punctuation | Join_Control (UTS #18).
    Python's `\\w` differs: it accepts `²` and `½` (No) and rejects combining marks, `‿` (Pc)
    and the zero-width joiners. Letter numbers (Nl, e.g. `Ⅻ`) are Alphabetic, so accepted.
    """
    category = unicodedata.category(char)
    if category[0] in "LM" or category in ("Nd", "Nl", "Pc"):
        return True
    if char in "\u200c\u200d":
        return True
    if category == "So":
        point = ord(char)
        return any(low <= point <= high for low, high in _OTHER_ALPHABETIC_SYMBOLS)
    return False


#: Rust's Unicode `\w` on ASCII: letters, digits and `_` (Pc) -- nothing else of ASCII is
#: Alphabetic, a Mark, Nd, Pc or Join_Control.
_ASCII_WORD = re.compile(r"[A-Za-z0-9_]+")


def is_rust_word(text: str) -> bool:
    """True when every character of the non-empty `text` is a Rust `\\w` character.

    Nearly every real name is ASCII: one regular-expression match then replaces a Unicode
    category lookup per character (71 ms against 8 ms over 5,000 names, issue 16).
    """
    if text.isascii():
        return _ASCII_WORD.fullmatch(text) is not None
    return bool(text) and all(is_rust_word_char(c) for c in text)


def parse_file_name(
    file_name: str, *, extensions: Sequence[str] = ("sql",), int8_versions: bool = False
) -> MigrationName | NameProblem:
    """Parse a file name exactly as refinery does (docs/refinery.md#file-names).

    `extensions` is `("sql",)` for the CLI and `load_sql_migrations`, `("rs", "sql")` for
    `embed_migrations!`. Answers are remembered: a run asks about the base's and the working
    tree's copy of the same names (the answers are frozen, so they can be shared).
    """
    return _parse_file_name(file_name, tuple(extensions), int8_versions)


@functools.lru_cache(maxsize=16384)
def _parse_file_name(
    file_name: str, extensions: tuple[str, ...], int8_versions: bool
) -> MigrationName | NameProblem:
    match = _STEM.match(file_name)
    if match is None or match.group(4) not in extensions:
        return NameProblem(NameIssue.NO_MATCH, "does not match V{number}__{name}.sql")
    prefix_text, version_text, name, extension = match.groups()
    if not is_rust_word(name):
        return NameProblem(
            NameIssue.NO_MATCH, "the name after `__` may only hold letters, digits and `_`"
        )
    # refinery parses the version first, then matches the prefix (`|` reaches `unreachable!`)
    limit = INT64_MAX if int8_versions else INT32_MAX
    if not version_text.isascii() or "." in version_text or (
            version := int(version_text)) > limit:
        return NameProblem(
            NameIssue.INVALID_VERSION, "migration version must be a valid integer"
        )
    if prefix_text == "|":
        return NameProblem(NameIssue.PIPE_PREFIX, "a leading `|` matches refinery's [U|V] class")
    # a dictionary, not `Prefix(prefix_text)`: an enum's call costs more than the match
    return MigrationName(_PREFIXES[prefix_text], version, version_text, name, extension)


_PREFIXES = {prefix.value: prefix for prefix in Prefix}


def checksum(name: str, version: int, sql: bytes, *, int8_versions: bool = False) -> int:
    """refinery's checksum: SipHash-1-3 (zero key) of name, 0xFF, version LE, sql, 0xFF.

    Kept by content in the gate's cache folder (`checksum_cache`): the pure-Python hash costs
    ~70 µs per file, on every file of every run with the database."""
    from migration_gate.checksum_cache import siphash13_zero_key

    width = 8 if int8_versions else 4
    message = b"".join(
        (
            name.encode("utf-8"),
            b"\xff",
            version.to_bytes(width, "little", signed=True),
            sql,
            b"\xff",
        )
    )
    return siphash13_zero_key(message)


def format_applied_on(moment: datetime) -> str:
    """UTC RFC 3339 as refinery writes it: nanosecond fraction, trailing zeros stripped."""
    from datetime import timezone  # only the replay writes history rows

    utc = moment.astimezone(timezone.utc)
    # not strftime: glibc's %Y does not zero-pad years below 1000, chrono always writes 4 digits
    text = (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    )
    if utc.microsecond:
        text += "." + f"{utc.microsecond * 1000:09d}".rstrip("0")
    return text + "Z"


@functools.cache
def _rfc3339() -> re.Pattern[str]:
    """Compiled on first use: only the replay's history rows need it."""
    return re.compile(
        r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z", re.ASCII
    )


def is_valid_applied_on(text: str) -> bool:
    """Whether refinery can read an applied_on value back (it panics otherwise)."""
    return bool(_rfc3339().match(text))


def is_valid_checksum_text(text: str) -> bool:
    return text.isascii() and text.isdigit() and int(text) <= 2**64 - 1


def history_table_ddl(dialect: Dialect, table: str = DEFAULT_TABLE, *, int8: bool = False) -> str:
    """The CREATE TABLE refinery runs before anything else (docs/refinery.md#history-table)."""
    if dialect == "mssql":
        version_type = "BIGINT" if int8 else "INT"
        return (
            f"IF NOT EXISTS(SELECT 1 FROM sys.Tables WHERE Name = N'{table}')\n"
            "    BEGIN\n"
            f"        CREATE TABLE {table}(\n"
            f"             version {version_type} PRIMARY KEY,\n"
            "             name VARCHAR(255),\n"
            "             applied_on VARCHAR(255),\n"
            "             checksum VARCHAR(255));\n"
            "    END"
        )
    version_type = "int8" if int8 else "int4"
    return (
        f"CREATE TABLE IF NOT EXISTS {table}(\n"
        f"             version {version_type} PRIMARY KEY,\n"
        "             name VARCHAR(255),\n"
        "             applied_on VARCHAR(255),\n"
        "             checksum VARCHAR(255));"
    )


def history_insert(table: str = DEFAULT_TABLE) -> str:
    """The row refinery inserts, with DB-API `%s` placeholders
    (version, name, applied_on, checksum)."""
    return f"INSERT INTO {table} (version, name, applied_on, checksum) VALUES (%s, %s, %s, %s)"


# --- verification (docs/refinery.md#how-a-run-decides) -----------------------------------------


#: What a refinery run does with the history table lives in `refinery_run` (imported when
#: one of these names is first asked for: a `check` without the replay never needs them).
_RUN_NAMES = frozenset({"Migration", "AppliedMigration", "Verdict", "VerificationIssue", "Plan",
                        "divergent_message", "missing_message", "plan_run"})


def __getattr__(name: str) -> object:
    if name in _RUN_NAMES:
        from migration_gate import refinery_run

        return getattr(refinery_run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def duplicate_message(display: str) -> str:
    return f"migration {display} is repeated, migration versions must be unique"
