"""Every SQL rule is documented, and its documentation's examples are executed."""

from __future__ import annotations

import pytest

from migration_gate.catalog import RuleDoc, all_rules
from migration_gate.diagnostics import Severity
from migration_gate.sql import ignores
from migration_gate.sql.lint import lint_text
from migration_gate.sql.rules import HINTS, RULES
from migration_gate.types import Dialect

SQL_RULES: tuple[RuleDoc, ...] = (*RULES, *ignores.RULES)

RULES_MD_SQL_IDS = {
    "require-concurrent-index-creation", "require-concurrent-index-deletion",
    "ban-concurrent-index-creation-in-transaction", "transaction-nesting",
    "constraint-missing-not-valid", "adding-foreign-key-constraint",
    "disallowed-unique-constraint", "adding-serial-primary-key-field",
    "adding-field-with-default", "adding-required-field", "adding-not-nullable-field",
    "changing-column-type", "require-concurrent-reindex", "ban-vacuum-full-or-cluster",
    "require-lock-timeout", "unbounded-data-change", "session-setting-leak", "renaming-column",
    "renaming-table", "ban-drop-column", "ban-drop-table", "ban-drop-database",
    "ban-drop-not-null", "ban-truncate-cascade", "prefer-robust-stmts", "prefer-text-field",
    "prefer-bigint-over-int", "prefer-identity", "prefer-timestamptz", "ban-char-field",
    "mysql-non-transactional-ddl", "mysql-lock-none-unsupported", "sqlite-unsupported-alter",
    "syntax-error", "unused-ignore",
}
OPT_IN = {"prefer-text-field", "prefer-bigint-over-int", "prefer-identity",
          "prefer-timestamptz", "ban-char-field"}


def fired(sql: str, dialect: Dialect) -> set[str]:
    return {d.rule for d in lint_text(sql, "V1__example.sql", dialect)}


def test_every_sql_rule_of_rules_md_is_documented() -> None:
    assert {doc.id for doc in SQL_RULES} == RULES_MD_SQL_IDS
    catalogue = all_rules()
    for doc in SQL_RULES:
        assert catalogue[doc.id] == doc
        assert doc.why and doc.example and doc.instead, doc.id
        assert len(doc.fires) >= 3 and len(doc.passes) >= 3, doc.id
    assert {doc.id for doc in SQL_RULES if doc.severity is Severity.OFF} == OPT_IN


def test_every_rule_but_unused_ignore_has_a_hint() -> None:
    assert set(HINTS) == {doc.id for doc in RULES}


@pytest.mark.parametrize(
    ("doc", "sql"), [(doc, sql) for doc in SQL_RULES for sql in doc.fires],
    ids=lambda value: value.id if isinstance(value, RuleDoc) else None,
)
def test_documented_statements_fire(doc: RuleDoc, sql: str) -> None:
    assert doc.id in fired(sql, doc.dialects[0]), sql


@pytest.mark.parametrize(
    ("doc", "sql"), [(doc, sql) for doc in SQL_RULES for sql in doc.passes],
    ids=lambda value: value.id if isinstance(value, RuleDoc) else None,
)
def test_documented_statements_pass(doc: RuleDoc, sql: str) -> None:
    assert doc.id not in fired(sql, doc.dialects[0]), sql


@pytest.mark.parametrize("doc", [d for d in SQL_RULES if d.id != "syntax-error"],
                         ids=lambda d: d.id)
def test_bad_example_fires_and_alternative_does_not(doc: RuleDoc) -> None:
    """The documentation's own example is flagged; its safe alternative is not."""
    dialect = doc.dialects[0]
    if doc.id not in ("mysql-non-transactional-ddl",):
        assert doc.id in fired(doc.example, dialect)
    # Alternatives that are prose, or span an operations step and later migrations, are not
    # one migration's SQL; the others are linted as written.
    if doc.id in SINGLE_MIGRATION_ALTERNATIVES:
        assert doc.id not in fired(doc.instead, dialect), doc.instead


SINGLE_MIGRATION_ALTERNATIVES = {
    "transaction-nesting", "adding-foreign-key-constraint", "adding-field-with-default",
    "require-lock-timeout", "unbounded-data-change", "session-setting-leak", "ban-drop-column",
    "ban-drop-table", "ban-truncate-cascade", "prefer-robust-stmts", "prefer-text-field",
    "prefer-bigint-over-int", "prefer-identity", "prefer-timestamptz", "ban-char-field",
    "mysql-lock-none-unsupported", "unused-ignore", "disallowed-unique-constraint",
    "adding-serial-primary-key-field",
}
