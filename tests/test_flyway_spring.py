"""`spring.flyway.*` read from Spring Boot's files into `FlywaySettings` (docs/flyway.md §9)."""

from __future__ import annotations

from pathlib import Path

from migration_gate.choose_runner import spring_flyway_runner
from migration_gate.runners.flyway_conf import settings_from
from migration_gate.runners.flyway_spring import MAX_NODES, from_properties, from_yaml, resolve

YAML = """\
server:
  port: 8080
spring:
  flyway:
    sql-migration-prefix: M
    outOfOrder: true
    mixed: ${FLYWAY_MIXED:true}
    table: ${FLYWAY_TABLE}
    placeholders:
      schema_name: app
    locations:
      - classpath:db/migration
      - filesystem:extra
    postgresql:
      transactional-lock: false
---
spring:
  config:
    activate:
      on-profile: dev
  flyway:
    sql-migration-prefix: DEV
"""


def test_relaxed_names_lists_placeholders_and_defaults_from_yaml() -> None:
    settings = settings_from(from_yaml(YAML))
    assert settings.sql_migration_prefix == "M"  # the dev profile's document is not read
    assert settings.out_of_order and settings.mixed
    assert settings.table == "flyway_schema_history"  # ${FLYWAY_TABLE}: no default, Flyway's
    assert settings.placeholder_map() == {"schema_name": "app"}
    assert settings.locations == ("classpath:db/migration", "filesystem:extra")
    assert settings.postgresql_transactional_lock is False


def test_properties_with_every_spelling() -> None:
    text = ("spring.flyway.sql_migration_prefix=X\n"
            "spring.flyway.repeatableSqlMigrationPrefix = RR\n"
            "spring.flyway.locations[1]=b\nspring.flyway.locations[0]=a\n"
            "spring.flyway.postgresql.transactional-lock=false\n"
            "spring.flyway.placeholders.owner=${OWNER:bob}\n"
            "spring.flyway.enabled=true\nflyway.table=not_spring\n")
    settings = settings_from(from_properties(text))
    assert (settings.sql_migration_prefix, settings.repeatable_sql_migration_prefix) == ("X", "RR")
    assert settings.locations == ("a", "b")
    assert settings.postgresql_transactional_lock is False
    assert settings.placeholder_map() == {"owner": "bob"}
    assert settings.table == "flyway_schema_history"


def test_nested_references_take_the_innermost_default() -> None:
    assert resolve("${A:${B:c}}") == "c"
    assert resolve("pre-${A:x}-${B:y}") == "pre-x-y"
    assert resolve("${A}") is None
    assert resolve("plain") == "plain"


def test_a_yaml_alias_bomb_is_walked_a_bounded_number_of_nodes() -> None:
    lines = ["a0: &a0 [x, y]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, 40)]
    lines.append("spring: {flyway: {table: t, bomb: *a39}}")
    assert MAX_NODES < 2**39
    assert from_yaml("\n".join(lines)) in ({"table": "t"}, {})


def test_the_nearest_file_wins_and_properties_beat_yaml(tmp_path: Path) -> None:
    module = tmp_path / "service"
    resources = module / "src" / "main" / "resources"
    folder = resources / "db" / "migration"
    folder.mkdir(parents=True)
    (tmp_path / "application.yml").write_text(
        "spring: {flyway: {table: root_table, mixed: true}}\n")
    (resources / "application.yml").write_text("spring: {flyway: {table: yml_table}}\n")
    (resources / "application.properties").write_text("spring.flyway.table=props_table\n")
    (resources / "application-dev.properties").write_text("spring.flyway.table=dev\n")
    runner = spring_flyway_runner(folder, tmp_path)
    assert runner is not None
    assert runner.settings.table == "props_table"
    assert runner.settings.mixed  # from the root's file, which nothing nearer overrides
    (resources / "application.yml").write_text("version: @project.version@\n")  # not YAML
    assert spring_flyway_runner(folder, tmp_path) is not None
    assert spring_flyway_runner(tmp_path / "elsewhere", tmp_path / "elsewhere") is None


def test_a_value_flyway_cannot_read_is_one_error_naming_its_file(tmp_path: Path) -> None:
    import pytest

    from migration_gate.diagnostics import GateError

    resources = tmp_path / "src" / "main" / "resources"
    resources.mkdir(parents=True)
    (resources / "application.properties").write_text("spring.flyway.mixed=maybe\n")
    with pytest.raises(GateError) as raised:
        spring_flyway_runner(tmp_path, tmp_path)
    assert str(raised.value) == ("src/main/resources/application.properties: "
                                 "`spring.flyway.mixed` must be true or false, not 'maybe'")
