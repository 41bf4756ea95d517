"""Every SQL rule is documented, registered once with a check, and its examples are executed.

The rule lists come from the catalogue and the rules package, never from a list kept here: a
new rule is covered as soon as its module declares it.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import textwrap

import pytest

from migration_gate import catalog
from migration_gate.catalog import Rule, all_rules
from migration_gate.diagnostics import Severity
from migration_gate.sql import rules as rules_package
from migration_gate.sql.lint import lint_text
from migration_gate.types import Dialect

#: The rules the SQL lint reports (the rules package's and the ignore comments' rule).
SQL_RULES: tuple[Rule, ...] = tuple(
    rule for rule in all_rules().values() if rule.needs in ("stmt", "context")
)


def fired(sql: str, dialect: Dialect) -> set[str]:
    return {d.rule for d in lint_text(sql, "V1__example.sql", dialect)}


def test_the_sql_rules_are_the_rules_package_unused_ignore_and_the_text_hazards() -> None:
    from migration_gate.sql import hazards
    from migration_gate.sql.ignores import UNUSED_IGNORE

    assert set(SQL_RULES) == {*rules_package.RULES, UNUSED_IGNORE, *hazards.RULES}
    assert len(rules_package.RULES) >= 30


@pytest.mark.parametrize("rule", SQL_RULES, ids=lambda rule: rule.id)
def test_every_sql_rule_is_documented(rule: Rule) -> None:
    assert rule.why and rule.example and rule.instead and rule.hint, rule.id
    assert len(rule.fires) >= 3 and len(rule.passes) >= 3, rule.id
    assert set(rule.dialects) <= set(catalog.ALL_DIALECTS) and rule.dialects
    # opt-in rules say so in their one-line summary, and only they do
    assert (rule.severity is Severity.OFF) == ("(opt-in)" in rule.summary), rule.id
    # users have docs/refinery.md, never the project's private notes
    assert "REFINERY" + ".md" not in rule.render()


def test_every_rule_declared_in_the_rules_package_is_registered() -> None:
    """A `Rule` declared in a family module without a check would silently never run."""
    declared = set()
    for info in pkgutil.iter_modules(rules_package.__path__):
        module = importlib.import_module(f"{rules_package.__name__}.{info.name}")
        declared |= {value for value in vars(module).values() if isinstance(value, Rule)}
    assert declared == set(rules_package.RULES)


def test_a_rule_id_declared_twice_fails_at_import() -> None:
    program = textwrap.dedent("""
        from migration_gate.catalog import Rule
        from migration_gate.diagnostics import Severity
        from migration_gate.sql.rules import registry
        import migration_gate.sql.rules

        AGAIN = Rule("ban-drop-table", Severity.WARNING, "a second declaration", needs="stmt")

        @registry.check(AGAIN, "DROP")
        def again(stmt, state):
            yield from ()
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.returncode == 1
    assert "rule ban-drop-table declared twice" in done.stderr
    assert "migration_gate.sql.rules.compatibility" in done.stderr


@pytest.mark.parametrize(
    ("rule", "sql"), [(rule, sql) for rule in SQL_RULES for sql in rule.fires],
    ids=lambda value: value.id if isinstance(value, Rule) else None,
)
def test_documented_statements_fire(rule: Rule, sql: str) -> None:
    assert rule.id in fired(sql, rule.dialects[0]), sql


@pytest.mark.parametrize(
    ("rule", "sql"), [(rule, sql) for rule in SQL_RULES for sql in rule.passes],
    ids=lambda value: value.id if isinstance(value, Rule) else None,
)
def test_documented_statements_pass(rule: Rule, sql: str) -> None:
    assert rule.id not in fired(sql, rule.dialects[0]), sql


@pytest.mark.parametrize("rule", SQL_RULES, ids=lambda rule: rule.id)
def test_bad_example_fires_and_alternative_does_not(rule: Rule) -> None:
    """The documentation's own example is flagged; its safe alternative is not, unless it is
    prose or spans an operations step and later migrations (`instead_passes=False`)."""
    dialect = rule.dialects[0]
    assert rule.id in fired(rule.example, dialect)
    if rule.instead_passes:
        assert rule.id not in fired(rule.instead, dialect), rule.instead
