"""Which MySQL `ALTER TABLE` forms copy the table, asked of the real MariaDB (10.11 here):
each form runs with `ALGORITHM=INPLACE, LOCK=NONE`, which the server refuses (1846) exactly
when it would copy the table or block writes. `mysql-lock-none-unsupported` reports the forms
refused below, and only those (its documentation states the same facts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from migration_gate.sql.lint import lint_text
from tests.mariadb_fixture import MariaDbServer

#: Each test starts (or shares) a real MariaDB: outside the fast loop.
pytestmark = pytest.mark.slow

_TABLE = ("CREATE TABLE t (id int NOT NULL, a int, v varchar(100), n int, "
          "PRIMARY KEY (id)) ENGINE=InnoDB")
#: (action, whether MariaDB runs it in place without blocking writes)
FORMS = (
    ("CHANGE a a2 int", True),  # rename only
    ("CHANGE COLUMN a a int NOT NULL", True),  # NULL -> NOT NULL: rebuilt in place
    ("MODIFY v varchar(200)", True),  # wider VARCHAR, same length byte
    ("ADD COLUMN b int NULL", True),
    ("ADD INDEX t_n (n)", True),
    ("DROP PRIMARY KEY, ADD PRIMARY KEY (id, a)", True),
    ("MODIFY a bigint", False),  # a type change copies
    ("CHANGE a a2 bigint", False),
    ("DROP PRIMARY KEY", False),  # a table without primary key is rebuilt by copy
)


UAA = (Path(__file__).parent / "data" / "cases" / "cloudfoundry__uaa/server/src/main/resources/"
       "org/cloudfoundry/identity/uaa/db/mysql/V4_8_3__SwapMfaUserCredPrimaryKey.sql")
RULE = "mysql-lock-none-unsupported"


def _reported(action: str) -> bool:
    return any(d.rule == RULE for d in lint_text(f"ALTER TABLE t {action};", "V1.sql", "mysql"))


def _runs_online(server: MariaDbServer, action: str, table: str = _TABLE) -> bool:
    import pymysql

    connection: Any = server.admin()
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE DATABASE IF NOT EXISTS online_ddl")
            cursor.execute("USE online_ddl")
            cursor.execute("DROP TABLE IF EXISTS t")
            cursor.execute(table)
            try:
                cursor.execute(f"ALTER TABLE t {action}, ALGORITHM=INPLACE, LOCK=NONE")
            except pymysql.err.MySQLError:
                return False
            return True
    finally:
        connection.close()


@pytest.mark.parametrize(("action", "online"), FORMS)
def test_mariadb_copies_exactly_the_forms_the_rule_reports(mariadb_server: MariaDbServer,
                                                         action: str, online: bool) -> None:
    assert _runs_online(mariadb_server, action) is online
    if action.startswith(("MODIFY", "CHANGE")):  # the previous type is not in the migration
        assert _reported(action)
    else:
        assert _reported(action) is not online


def test_adding_a_primary_key_runs_in_place(mariadb_server: MariaDbServer) -> None:
    """MariaDB 10.11 adds a primary key to a table without one with ALGORITHM=INPLACE,
    LOCK=NONE; it was reported as a copy before."""
    table = "CREATE TABLE t (id int NOT NULL, n int NOT NULL) ENGINE=InnoDB"
    assert _runs_online(mariadb_server, "ADD PRIMARY KEY (id, n)", table)
    assert not _reported("ADD PRIMARY KEY (id, n)")


def test_uaa_drop_then_add_primary_key(mariadb_server: MariaDbServer) -> None:
    """cloudfoundry/uaa V4_8_3: MariaDB 10.11 refuses line 1 (`DROP PRIMARY KEY` alone) with
    ALGORITHM=INPLACE, LOCK=NONE: it copies the table. Line 2 (`ADD PRIMARY KEY`) then runs in
    place. Only line 1 is reported (both were before)."""
    text = UAA.read_bytes().decode("utf-8")
    drop, add = [line.rstrip(";") for line in text.splitlines() if line.strip()]
    table = ("CREATE TABLE user_google_mfa_credentials (user_id varchar(36) NOT NULL, "
             "mfa_provider_id char(36) NOT NULL, PRIMARY KEY (user_id)) ENGINE=InnoDB")
    connection: Any = mariadb_server.admin()
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE DATABASE IF NOT EXISTS online_ddl")
            cursor.execute("USE online_ddl")
            cursor.execute("DROP TABLE IF EXISTS user_google_mfa_credentials")
            cursor.execute(table)
            with pytest.raises(Exception, match="1846"):
                cursor.execute(drop + ", ALGORITHM=INPLACE, LOCK=NONE")
            cursor.execute(drop)
            cursor.execute(add + ", ALGORITHM=INPLACE, LOCK=NONE")
    finally:
        connection.close()
    found = [d.line for d in lint_text(text, UAA.name, "mysql") if d.rule == RULE]
    assert found == [1]
