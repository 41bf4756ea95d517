"""The findings cache is keyed by everything that can change a lint result.

The text, the dialect and the tables new on the branch, but also the configuration that
concerns linting (rule severities, PostgreSQL version), the code of the whole package (not only
the SQL modules; the rule catalogue is declared in it) and sqlglot's version.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

import migration_gate
from migration_gate.config import load_here
from migration_gate.sql.engine import LintJob, cache_key, code_fingerprint
from tests.conftest import run_gate

SQL = "ALTER TABLE users DROP COLUMN legacy;\n"


def key_with(tmp_path: Path, configuration: str) -> str:
    (tmp_path / ".migration-gate.yaml").write_text(configuration, encoding="utf-8")
    config, _root = load_here(cwd=tmp_path)
    return cache_key(LintJob.for_config("V1__x.sql", SQL, config))


def test_the_configuration_that_affects_linting_changes_the_key(tmp_path: Path) -> None:
    plain = key_with(tmp_path, "dir: migrations\n")
    assert key_with(tmp_path, "dir: migrations\n") == plain  # stable
    keys = {
        plain,
        key_with(tmp_path, "rules:\n  ban-drop-column: error\n"),
        key_with(tmp_path, "rules:\n  ban-drop-column: 'off'\n"),
        key_with(tmp_path, "rules:\n  prefer-robust-stmts: error\n"),
        key_with(tmp_path, "postgres:\n  version: 10\n"),
        key_with(tmp_path, "dialect: mysql\n"),
    }
    assert len(keys) == 6
    # what does not concern linting leaves the key alone
    assert key_with(tmp_path, "fail-on: warning\n") == plain


def test_touching_any_module_of_the_package_changes_the_fingerprint(tmp_path: Path) -> None:
    package = tmp_path / "migration_gate"
    shutil.copytree(Path(migration_gate.__file__).parent, package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    first = code_fingerprint(package)
    assert code_fingerprint(package) == first
    config_module = package / "config.py"  # outside sql/: it can change what a rule sees
    stat = config_module.stat()
    os.utime(config_module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = code_fingerprint(package)
    assert second != first
    with (package / "checks" / "folder.py").open("a", encoding="utf-8") as module:
        module.write("# a comment\n")
    third = code_fingerprint(package)
    assert third not in (first, second)
    # the rule catalogue is declared in the package: a changed declaration is a new key
    family = package / "sql" / "rules" / "compatibility.py"
    declaration = family.read_text(encoding="utf-8")
    assert '"ban-drop-column", W,' in declaration
    family.write_text(declaration.replace('"ban-drop-column", W,', '"ban-drop-column", E,'),
                      encoding="utf-8")
    fourth = code_fingerprint(package)
    assert fourth not in (first, second, third)
    # the words every rule reads come from our lexer: a changed lexer is a new key
    lexer = package / "sql" / "lex.py"
    source = lexer.read_text(encoding="utf-8")
    assert '"postgres": frozenset({*_COMMON_OPERATORS, "#-",' in source
    lexer.write_text(source.replace('frozenset({*_COMMON_OPERATORS, "#-",',
                                    'frozenset({*_COMMON_OPERATORS,'), encoding="utf-8")
    assert code_fingerprint(package) not in (first, second, third, fourth)


@pytest.mark.slow
def test_the_cli_caches_one_entry_per_configuration(tmp_path: Path) -> None:
    """Through the real command: a changed severity is a cache miss, not a stale hit."""
    (tmp_path / "V1__drop.sql").write_text(SQL, encoding="utf-8")
    cache = tmp_path / "cache"
    env = {"MIGRATION_GATE_CACHE_DIR": str(cache)}

    def entries() -> int:
        with sqlite3.connect(cache / "lint-v1.sqlite") as connection:
            (count,) = connection.execute("SELECT count(*) FROM findings").fetchone()
        return int(count)

    first = run_gate("lint", "V1__drop.sql", cwd=tmp_path, env=env)
    assert first.returncode == 0 and "ban-drop-column warning" in first.stdout
    assert entries() == 1
    assert run_gate("lint", "V1__drop.sql", cwd=tmp_path, env=env).stdout == first.stdout
    assert entries() == 1  # the same inputs: a hit
    (tmp_path / ".migration-gate.yaml").write_text("rules:\n  ban-drop-column: error\n",
                                                    encoding="utf-8")
    second = run_gate("lint", "V1__drop.sql", cwd=tmp_path, env=env)
    assert second.returncode == 1 and "ban-drop-column error" in second.stdout
    assert entries() == 2
