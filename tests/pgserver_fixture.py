"""A real PostgreSQL for the database tests: one embedded cluster per test session.

The cluster is the gate's own (`migration_gate.ephemeral.postgres`), started once; each test
gets a fresh database in it. Without server binaries the tests are skipped locally but FAIL
under CI (`CI=true`): a CI that silently skips the database tests proves nothing.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from migration_gate.diagnostics import GateError

if TYPE_CHECKING:
    from migration_gate.ephemeral.postgres import Binaries, Cluster, PostgresDatabase


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


@pytest.fixture(scope="session")
def pg_binaries() -> Binaries:
    from migration_gate.ephemeral.postgres import find_binaries

    try:
        return find_binaries(os.environ.get("MIGRATION_GATE_TEST_PG_BIN"))
    except GateError as error:
        if _in_ci():
            pytest.fail(f"PostgreSQL binaries are required under CI: {error}")
        pytest.skip(f"no PostgreSQL server binaries: {error}")


@pytest.fixture(scope="session")
def gate_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder of the session (template and base schemas), shared by child gates."""
    return tmp_path_factory.mktemp("gate-cache")


@pytest.fixture(scope="session")
def pg_cluster(pg_binaries: Binaries, gate_cache: Path) -> Iterator[Cluster]:
    from migration_gate.ephemeral.postgres import running_cluster

    previous = os.environ.get("MIGRATION_GATE_CACHE_DIR")
    os.environ["MIGRATION_GATE_CACHE_DIR"] = str(gate_cache)
    try:
        with running_cluster(pg_binaries) as cluster:
            yield cluster
    finally:
        if previous is None:
            os.environ.pop("MIGRATION_GATE_CACHE_DIR", None)
        else:
            os.environ["MIGRATION_GATE_CACHE_DIR"] = previous


def pg_url(cluster: Cluster, dbname: str = "postgres") -> str:
    """A libpq URL reaching the cluster through its socket folder."""
    return f"postgresql://postgres@/{dbname}?host={cluster.socket_dir}&port=5432"


@pytest.fixture
def pg_dbname(pg_cluster: Cluster) -> Iterator[str]:
    """A fresh, empty database in the session cluster, dropped afterwards."""
    name = f"test_{secrets.token_hex(4)}"
    with pg_cluster.connect() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with pg_cluster.connect() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_db(pg_cluster: Cluster, pg_dbname: str) -> Iterator[PostgresDatabase]:
    """The runner's view of that fresh database."""
    from migration_gate.ephemeral.postgres import PostgresDatabase

    connection = pg_cluster.connect(pg_dbname)
    try:
        yield PostgresDatabase(connection)
    finally:
        connection.close()


def gate_env(cache: Path, **extra: str) -> dict[str, str]:
    """Environment for a child gate: the session's cache, so the template is reused."""
    return {"MIGRATION_GATE_CACHE_DIR": str(cache), **extra}
