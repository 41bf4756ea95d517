"""`detect_runner`: which runner a project uses, and a reason a person can check."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migration_gate.runners import RUNNER_NAMES, detect_runner


@pytest.mark.parametrize(
    ("paths", "texts", "runner", "reason"),
    [
        (["migrations/V1__init.sql"], {}, "refinery",
         "no refinery.toml and no sign of Flyway: refinery, the default"),
        (["refinery.toml", "migrations/V1__init.sql"], {}, "refinery",
         "refinery.toml at the repository root"),
        (["services/x/flyway.conf", "services/x/sql/V1__init.sql"], {}, "flyway",
         "flyway.conf at services/x"),
        (["flyway.toml"], {}, "flyway", "flyway.toml at the repository root"),
        (["db/migration/R__views.sql", "db/migration/V1__init.sql"], {}, "flyway",
         "R__views.sql is a Flyway repeatable migration (db/migration/R__views.sql)"),
        (["db/V1.1__x.sql"], {}, "flyway",
         "V1.1__x.sql has a dotted Flyway version (db/V1.1__x.sql)"),
        (["db/V1_1__x.sql"], {}, "flyway",
         "V1_1__x.sql has a dotted Flyway version (db/V1_1__x.sql)"),
        (["V417__ny-egenskap.sql"], {}, "refinery",
         "no refinery.toml and no sign of Flyway: refinery, the default"),
        (["refinery.toml", "flyway.conf"], {}, "refinery", "refinery.toml at the repository root"),
        (["a/b/flyway.conf", "flyway.toml"], {}, "flyway", "flyway.toml at the repository root"),
    ],
)
def test_detection(paths: list[str], texts: dict[str, str], runner: str, reason: str) -> None:
    assert detect_runner(paths, texts) == (runner, reason)


def test_explicit_setting_wins() -> None:
    assert detect_runner(["flyway.conf"], {}, explicit="refinery") == (
        "refinery", "runner refinery set by the configuration")
    assert detect_runner(["refinery.toml"], {}, explicit="flyway",
                         explicit_source="--runner") == ("flyway", "runner flyway set by --runner")


SPRING_YAML = """\
spring:
  datasource:
    url: jdbc:postgresql://localhost/app
  flyway:
    locations: classpath:db/migration
"""


@pytest.mark.parametrize(
    ("name", "text", "flyway"),
    [
        ("src/main/resources/application.yml", SPRING_YAML, True),
        ("src/main/resources/application-prod.yaml", "spring.flyway.enabled: true\n", True),
        ("src/main/resources/application.yml", "spring:\n  flyway:\n    enabled: false\n", False),
        ("src/main/resources/application.yml", "---\nserver:\n  port: 8080\n---\n" + SPRING_YAML,
         True),
        ("src/main/resources/application.yml", "spring:\n  jpa: {}\n", False),
        ("src/main/resources/application.yml", "spring:\n  flyway:\n    x: [unclosed\n", True),
        ("src/main/resources/application.properties",
         "spring.datasource.url=jdbc:postgresql://x/app\nspring.flyway.schemas=app\n", True),
        ("src/main/resources/application.properties", "spring.flyway.enabled=false\n", False),
        ("src/main/resources/application.properties", "# spring.flyway.x=1\n", False),
        ("src/main/resources/other.yml", SPRING_YAML, False),
    ],
)
def test_spring_configuration(name: str, text: str, flyway: bool) -> None:
    runner, reason = detect_runner([name, "src/main/resources/db/migration/V1__init.sql"],
                                   {name: text})
    assert (runner == "flyway") is flyway
    if flyway:
        assert reason == f"spring.flyway settings in {name}"


@given(st.lists(st.one_of(st.text(max_size=30), st.sampled_from(
           ["R__a\nb.sql", "x/\tR__v.sql", "V1.1__\n.sql", "a\n/flyway.conf"])), max_size=6),
       st.dictionaries(st.sampled_from(["application.yml", "application.properties", "x.yml"]),
                       st.one_of(st.text(max_size=80), st.sampled_from(
                           ["d: 2024-13-45\n", "spring:\n  flyway: 1\n", "[{", "spring: [1]"])),
                       max_size=3))
def test_never_raises_and_always_explains(paths: list[str], texts: dict[str, str]) -> None:
    runner, reason = detect_runner(paths, texts)
    assert runner in RUNNER_NAMES
    assert reason and "\n" not in reason
    assert detect_runner(list(reversed(paths)), texts) == (runner, reason)
