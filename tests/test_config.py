"""Configuration: defaults < refinery.toml < pyproject / .migration-gate.yaml < flags."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migration_gate.config import SCHEMA, Config, apply_settings, load_config
from migration_gate.diagnostics import GateError, Severity
from tests.conftest import run_gate


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.dir == "migrations"
    assert config.dialect == "postgres"
    assert config.fail_on is Severity.ERROR
    assert config.padding is None
    assert config.project_dir == tmp_path.resolve()


@pytest.mark.parametrize(
    ("db_type", "dialect"),
    [("Postgres", "postgres"), ("Mysql", "mysql"), ("Sqlite", "sqlite"), ("Mssql", "mssql")],
)
def test_refinery_db_type_selects_dialect(tmp_path: Path, db_type: str, dialect: str) -> None:
    write(tmp_path / "refinery.toml", f'[main]\ndb_type = "{db_type}"\ndb_port = "5432"\n')
    config = load_config(tmp_path)
    assert config.dialect == dialect
    assert ("db_port", "5432") in config.refinery_main


def test_refinery_db_type_is_case_sensitive(tmp_path: Path) -> None:
    path = write(tmp_path / "refinery.toml", '[main]\ndb_type = "postgres"\n')
    with pytest.raises(GateError) as error:
        load_config(tmp_path)
    assert "db_type" in str(error.value) and str(path) in str(error.value)


def test_precedence_layer_by_layer(tmp_path: Path) -> None:
    write(tmp_path / "refinery.toml", '[main]\ndb_type = "Mysql"\n')
    assert load_config(tmp_path).dialect == "mysql"
    write(tmp_path / "pyproject.toml",
          '[project]\nname = "x"\n[tool.migration-gate]\ndialect = "sqlite"\npadding = 4\n'
          'fail-on = "warning"\n')
    config = load_config(tmp_path)
    assert (config.dialect, config.padding, config.fail_on) == ("sqlite", 4, Severity.WARNING)
    write(tmp_path / ".migration-gate.yaml", "dialect: mssql\n")
    config = load_config(tmp_path)
    assert config.dialect == "mssql"  # the YAML file wins over pyproject
    assert config.padding == 4  # what the YAML does not set is kept
    config = load_config(tmp_path, overrides={"dialect": "postgres", "fail_on": None})
    assert config.dialect == "postgres"  # the flag wins over everything
    assert config.fail_on is Severity.WARNING  # an unset flag changes nothing


def test_project_found_from_a_subfolder_up_to_the_repository(tmp_path: Path) -> None:
    write(tmp_path / ".migration-gate.yaml", "dir: db/migrations\n")
    sub = tmp_path / "src" / "deep"
    sub.mkdir(parents=True)
    config = load_config(sub, stop=tmp_path)
    assert config.project_dir == tmp_path.resolve()
    assert config.migrations_path == (tmp_path / "db" / "migrations").resolve()


def test_search_stops_at_the_repository_root(tmp_path: Path) -> None:
    write(tmp_path / ".migration-gate.yaml", "dialect: mysql\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    assert load_config(repo, stop=repo).dialect == "postgres"


def test_pyproject_without_section_is_ignored(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')
    assert load_config(tmp_path) == Config(project_dir=tmp_path.resolve())


@pytest.mark.parametrize(
    ("file_name", "text", "key"),
    [
        (".migration-gate.yaml", "fail_onn: warning\n", "fail_onn"),
        (".migration-gate.yaml", "dialect: oracle\n", "dialect"),
        (".migration-gate.yaml", "padding: wide\n", "padding"),
        (".migration-gate.yaml", "padding: true\n", "padding"),
        (".migration-gate.yaml", "verify: 'yes'\n", "verify"),
        (".migration-gate.yaml", "name-pattern: '[a-z'\n", "name-pattern"),
        (".migration-gate.yaml", "rules:\n  no-such-rule: off\n", "no-such-rule"),
        (".migration-gate.yaml", "rules:\n  version-gap: loud\n", "version-gap"),
        (".migration-gate.yaml", "postgres:\n  colour: blue\n", "colour"),
        ("pyproject.toml", "[tool.migration-gate]\nbase-branch = 'main'\n", "base-branch"),
        ("pyproject.toml", "[tool.migration-gate]\nexclude = 3\n", "exclude"),
        ("refinery.toml", "[main]\ndb_type = 'Oracle'\n", "db_type"),
        ("refinery.toml", "[main]\ndb_type = ['Postgres']\n", "db_type"),
        ("refinery.toml", "main = 3\n", "main"),
        (".migration-gate.yaml", "rules: [a, b]\n", "rules"),
        (".migration-gate.yaml", "exclude: [1, 2]\n", "exclude"),
    ],
)
def test_bad_configuration_is_exit_2_naming_key_and_file(
    tmp_path: Path, file_name: str, text: str, key: str
) -> None:
    (tmp_path / "migrations").mkdir()
    write(tmp_path / file_name, text)
    done = run_gate("check", "--no-verify", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert key in lines[0] and file_name in lines[0]


@pytest.mark.parametrize(
    ("file_name", "text"),
    [
        (".migration-gate.yaml", "dialect: [unclosed\n"),
        (".migration-gate.yaml", "- a list\n"),
        ("refinery.toml", "[main\n"),
        ("pyproject.toml", "[tool.migration-gate]\ndialect = \n"),
    ],
)
def test_unparsable_configuration_is_one_line(tmp_path: Path, file_name: str, text: str) -> None:
    write(tmp_path / file_name, text)
    done = run_gate("check", "--no-verify", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert file_name in done.stderr


def test_explicit_config_file(tmp_path: Path) -> None:
    config_file = write(tmp_path / "conf" / "gate.yaml", "dir: ../db\npadding: 2\n")
    config = load_config(tmp_path, explicit=config_file)
    assert config.padding == 2
    assert config.migrations_path == (tmp_path / "db").resolve()
    done = run_gate("check", "--no-verify", "--config", "nowhere.yaml", cwd=tmp_path)
    assert done.returncode == 2 and "nowhere.yaml" in done.stderr


def test_kebab_and_snake_case_keys(tmp_path: Path) -> None:
    write(tmp_path / ".migration-gate.yaml", "fail_on: warning\nname-pattern: '[a-z_]+'\n")
    config = load_config(tmp_path)
    assert config.fail_on is Severity.WARNING and config.name_pattern == "[a-z_]+"


def test_configured_padding_and_rules_reach_check(tmp_path: Path) -> None:
    write(tmp_path / ".migration-gate.yaml", "padding: 4\nrules:\n  naming-style: error\n")
    write(tmp_path / "migrations" / "V1__init.sql", "SELECT 1;\n")
    done = run_gate("check", "--no-verify", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert '"naming-style"' in done.stdout and "V0001__init.sql" in done.stdout
    done = run_gate("next-version", cwd=tmp_path)
    assert done.stdout.strip() == "V0002"


@pytest.mark.slow
def test_fail_on_from_configuration(tmp_path: Path) -> None:
    write(tmp_path / "migrations" / "V1__init.sql", "-- nothing yet\n")  # empty-migration: W
    assert run_gate("check", "--no-verify", cwd=tmp_path).returncode == 0
    write(tmp_path / ".migration-gate.yaml", "fail-on: warning\n")
    assert run_gate("check", "--no-verify", cwd=tmp_path).returncode == 1
    done = run_gate("check", "--no-verify", "--fail-on", "error", cwd=tmp_path)
    assert done.returncode == 0  # the flag wins


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 100) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([*sorted(SCHEMA), "postgres", "unknown-key", "fail-on"]), yaml_values)
def test_any_value_is_accepted_or_one_gate_error(key: str, value: object) -> None:
    """Whatever a configuration file holds: a valid setting or a GateError naming the key."""
    top, _, sub = key.partition(".")
    table = {top: {sub: value}} if sub else {top: value}
    try:
        apply_settings(Config(), table, "test.yaml")
    except GateError as error:
        assert "test.yaml" in str(error)
        assert top.replace("_", "-") in str(error) or top in str(error) or sub in str(error)


def test_a_database_url_implies_the_dialect_only_when_none_is_configured(tmp_path: Path) -> None:
    from migration_gate.config import load_config

    url = {"database_url": "mysql://gate@127.0.0.1/shop"}
    assert load_config(tmp_path, stop=tmp_path, overrides=url).dialect == "mysql"
    explicit = {**url, "dialect": "postgres"}
    assert load_config(tmp_path, stop=tmp_path, overrides=explicit).dialect == "postgres"
    (tmp_path / "refinery.toml").write_text('[main]\ndb_type = "Sqlite"\n')
    assert load_config(tmp_path, stop=tmp_path, overrides=url).dialect == "sqlite"


def test_sqlite_version_is_a_string_read_as_major_minor(tmp_path: Path) -> None:
    """`sqlite.version` picks the ALTER TABLE forms sqlite-unsupported-alter accepts; a YAML
    number would turn 3.40 into 3.4, so only a string is accepted (one clear error line)."""
    assert load_config(tmp_path).sqlite_version is None  # a current SQLite
    write(tmp_path / ".migration-gate.yaml", 'sqlite:\n  version: "3.31.1"\n')
    assert load_config(tmp_path).sqlite_version == (3, 31)
    write(tmp_path / ".migration-gate.yaml", "sqlite:\n  version: 3.40\n")
    with pytest.raises(GateError, match=r"sqlite\.version"):
        load_config(tmp_path)
