"""A MySQL `MODIFY`/`CHANGE` judged against the column's type before it (`sql/columns.py`).

The lint of one file cannot tell a rename (`CHANGE a b int`, in place) from a type change (a
copy of the table): `check` reads the earlier migrations of the folder. The facts are asked of
the real MariaDB (10.11 here) with `ALGORITHM=INPLACE, LOCK=NONE`, which it refuses (1846)
exactly when it would copy the table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from migration_gate.sql.columns import (
    Columns,
    ColumnType,
    apply_migration,
    column_type,
    in_place,
)
from migration_gate.sql.lint import lint_text
from migration_gate.sql.rules.base import View
from migration_gate.sql.tokens import regex_words
from tests.conftest import make_repo, run_gate
from tests.mariadb_fixture import MariaDbServer
from tests.test_mysql_online_ddl import _runs_online

RULE = "mysql-lock-none-unsupported"
_UAA_MYSQL = ("cloudfoundry__uaa/server/src/main/resources/org/cloudfoundry/identity/uaa/db/"
              "mysql")
UAA = Path(__file__).parent / "data" / "cases" / _UAA_MYSQL
#: V2_0_0 is a file of the sample too (tests/data/README.md): read there, not copied twice
UAA_SAMPLE = Path(__file__).parent / "data" / "sample" / "repos" / _UAA_MYSQL


def _type(definition: str) -> ColumnType | None:
    view = View(regex_words(definition, 0))
    return column_type(view, 0, len(view.keys))


@pytest.mark.parametrize(("definition", "expected"), [
    ("int(11) NOT NULL AUTO_INCREMENT", ColumnType("INT", (), ("AUTO_INCREMENT",))),
    ("integer", ColumnType("INT")),
    ("boolean NOT NULL DEFAULT false", ColumnType("TINYINT")),
    ("varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL",
     ColumnType("VARCHAR", ("255",), ("CHARACTER SET UTF8MB4", "COLLATE UTF8MB4_BIN"))),
    ("enum('a', 'b') DEFAULT 'a' COMMENT 'UNSIGNED'", ColumnType("ENUM", ("'a'", "'b'"))),
    ("decimal(10, 2) unsigned", ColumnType("DECIMAL", ("10", "2"), ("UNSIGNED",))),
    ("TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP",
     ColumnType("TIMESTAMP", (), ("ON UPDATE",))),
])
def test_a_column_definition_reads_as_its_storage(definition: str,
                                                  expected: ColumnType) -> None:
    assert _type(definition) == expected


#: (the column before, the column after, our verdict, MariaDB's with utf8mb4): our verdict may
#: be more cautious than one server's (a VARCHAR prefix depends on the character set, and MySQL
#: 8.0 copies where MariaDB 10.4+ extends in place), never less
PAIRS = (
    ("a int", "a int NOT NULL DEFAULT 0", True, True),
    ("a int", "a integer", True, True),
    ("a int(11)", "a int", True, True),
    ("f tinyint(1)", "f boolean", True, True),
    ("d decimal(10,2)", "d numeric(10, 2) NOT NULL", True, True),
    ("v varchar(300)", "v varchar(400)", True, True),  # 2-byte prefixes in any charset
    ("s varchar(20)", "s varchar(60)", True, True),  # 1-byte prefixes in any charset
    ("v varchar(100)", "v varchar(200)", False, True),  # 1 byte in latin1, 2 in utf8mb4
    ("e enum('x','y')", "e enum('x','y','z')", True, True),
    ("x text", "x text NOT NULL", True, True),
    ("a int", "a bigint", False, False),
    ("a int", "a int unsigned", False, False),
    ("x text", "x mediumtext", False, False),
    ("c char(36)", "c char(36) CHARACTER SET latin1", False, False),
    ("v varchar(255)", "v varchar(36)", False, False),  # narrowing
    ("e enum('x','y')", "e enum('y','x')", False, False),  # reordered values
)


@pytest.mark.parametrize(("before", "after", "ours", "_mariadb"), PAIRS)
def test_in_place_verdicts(before: str, after: str, ours: bool, _mariadb: bool) -> None:
    old, new = _type(before.split(" ", 1)[1]), _type(after.split(" ", 1)[1])
    assert old is not None and new is not None
    assert in_place(old, new) is ours


@pytest.mark.slow
@pytest.mark.parametrize(("before", "after", "ours", "mariadb"), PAIRS)
def test_mariadb_agrees_or_we_are_more_cautious(mariadb_server: MariaDbServer, before: str,
                                                after: str, ours: bool, mariadb: bool) -> None:
    table = f"CREATE TABLE t (id int NOT NULL, {before}, PRIMARY KEY (id)) ENGINE=InnoDB " \
            "DEFAULT CHARSET=utf8mb4"
    assert _runs_online(mariadb_server, f"MODIFY {after}", table) is mariadb
    assert mariadb or not ours  # never silent where the server copies


def _reported(earlier: list[str], text: str) -> list[str]:
    from migration_gate.sql.columns import altered_tables, as_rows

    known: Columns = {}
    for migration in earlier:  # in order, as `sql.stage` walks the folder
        apply_migration(migration, "mysql", known)
    tables = altered_tables(text, "mysql")
    columns = as_rows({table: c for table, c in known.items() if table in tables})
    return [d.message for d in lint_text(text, "V9.sql", "mysql", columns=columns)
            if d.rule == RULE]


def test_uaa_rename_only_change_is_not_reported() -> None:
    """cloudfoundry/uaa V2_1_1 renames `lastModified` to `lastmodified` with `CHANGE ...
    TIMESTAMP NULL`, the type V2_0_0 gave it: MariaDB 10.11 runs it with ALGORITHM=INPLACE,
    LOCK=NONE (`test_mariadb_runs_the_uaa_rename_in_place`). Reported before (the lint of the
    file alone cannot know the type); not with the earlier migration read."""
    created = (UAA_SAMPLE / "V2_0_0__Multitenancy.sql").read_text(encoding="utf-8")
    renamed = (UAA / "V2_1_1__Add_Last_Modified_To_Client_Details.sql").read_text(
        encoding="utf-8")
    assert len(_reported([], renamed)) == 2  # alone: both CHANGEs, cautiously worded
    assert _reported([created], renamed) == []


@pytest.mark.slow
def test_mariadb_runs_the_uaa_rename_in_place(mariadb_server: MariaDbServer) -> None:
    table = ("CREATE TABLE t (id varchar(36) NOT NULL, lastModified TIMESTAMP null, "
             "PRIMARY KEY (id)) ENGINE=InnoDB")
    assert _runs_online(mariadb_server, "CHANGE lastModified lastmodified TIMESTAMP NULL", table)


def test_a_type_change_names_both_types_and_renames_are_followed() -> None:
    earlier = ["CREATE TABLE users (id int NOT NULL, name varchar(40), PRIMARY KEY (id));",
               "ALTER TABLE users CHANGE name full_name varchar(40);",
               "RENAME TABLE users TO people;"]
    [message] = _reported(earlier, "ALTER TABLE people MODIFY full_name text;")
    assert "changes full_name from VARCHAR(40) to TEXT" in message
    assert _reported(earlier, "ALTER TABLE people CHANGE full_name name varchar(40) NOT NULL;"
                     ) == []
    # a column of a table nobody created in the folder: the cautious wording stays
    [unknown] = _reported(earlier, "ALTER TABLE other CHANGE a b int;")
    assert "if it changes the column's data type" in unknown


def test_a_widened_varchar_says_when_it_copies() -> None:
    [message] = _reported(["CREATE TABLE t (id int, v varchar(36));"],
                          "ALTER TABLE t MODIFY v varchar(255);")
    assert "widens v from VARCHAR(36) to VARCHAR(255)" in message
    assert "length prefix" in message


def test_check_reads_the_folder_before_the_branch(tmp_path: Path) -> None:
    """Through `check` on a MySQL project in git: the rename of the branch is quiet, its type
    change is one finding naming both types."""
    repo = make_repo(tmp_path / "repo")
    repo.write(".migration-gate.yaml", "dialect: mysql\n")
    repo.write("migrations/V1__users.sql",
               "CREATE TABLE users (id int NOT NULL, name varchar(40), PRIMARY KEY (id));\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V2__rename.sql",
               "ALTER TABLE users CHANGE name full_name varchar(40);\n")
    repo.write("migrations/V3__widen.sql", "ALTER TABLE users MODIFY COLUMN full_name text;\n")
    repo.commit("branch")
    done = run_gate("check", "--no-verify", "--format", "json", "--base", "main", cwd=repo.path)
    found: list[dict[str, Any]] = [d for d in json.loads(done.stdout)["diagnostics"]
                                   if d["rule"] == RULE]
    assert [(d["path"], d["line"]) for d in found] == [("migrations/V3__widen.sql", 1)], found
    assert "from VARCHAR(40) to TEXT" in found[0]["message"]
