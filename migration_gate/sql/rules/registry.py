"""Where the SQL rules register: each family module declares its `Rule`s and decorates their
checks with `@check(RULE, "FIRST", "WORDS")` (or `@at_end(RULE)`); importing the module is
registering them. The package's `__init__` imports every module of the package, so a new rule
is found without being listed anywhere.

A rule id declared twice (two different `Rule` objects) fails at import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from migration_gate.catalog import Rule
from migration_gate.sql.rules.base import FileState, Finding
from migration_gate.sql.rules.statements import Stmt
from migration_gate.types import Dialect

StatementCheckFunction = Callable[[Stmt, FileState], Iterator[Finding]]
#: A check run once the whole file is read: (statement index, finding) pairs.
FileCheckFunction = Callable[[FileState], Iterator[tuple[int, Finding]]]


@dataclass(frozen=True)
class StatementCheck:
    """A rule's check of the statements starting with its words."""

    rule: Rule
    run: StatementCheckFunction
    words: frozenset[str]  # the first words of the statements it reads; empty: every statement
    ddl_files_only: bool  # it only reads these statements in a migration that also has DDL


@dataclass(frozen=True)
class FileCheck:
    """A rule's check run once the whole file is read."""

    rule: Rule
    run: FileCheckFunction


_RULES: dict[str, tuple[Rule, str]] = {}  # id -> (rule, module that registered it)
_STATEMENT_CHECKS: list[StatementCheck] = []
_FILE_CHECKS: list[FileCheck] = []
_BY_DIALECT: dict[str, Checks] = {}
#: `read_words` by `has_ddl`: asked once per file, the same answer until a check registers.
_READ_WORDS: dict[bool, frozenset[str]] = {}


def register(rule: Rule, module: str) -> None:
    """Record `rule` (declared in `module`); the same id declared twice is an error."""
    known = _RULES.get(rule.id)
    if known is not None and known[0] is not rule:
        raise RuntimeError(f"rule {rule.id} declared twice (in {known[1]} and {module})")
    if known is None:
        _RULES[rule.id] = (rule, module)
    _BY_DIALECT.clear()


def check(rule: Rule, *words: str,
          ddl_files_only: bool = False) -> Callable[[StatementCheckFunction],
                                                    StatementCheckFunction]:
    """Register the decorated function as a check of `rule` on the statements starting with
    `words` (all statements when none is given: then it may see only a statement's first word,
    or none). With `ddl_files_only`, only in migrations that also have DDL."""

    def decorate(function: StatementCheckFunction) -> StatementCheckFunction:
        register(rule, function.__module__)
        _STATEMENT_CHECKS.append(StatementCheck(rule, function, frozenset(words), ddl_files_only))
        _READ_WORDS.clear()
        return function

    return decorate


def at_end(rule: Rule) -> Callable[[FileCheckFunction], FileCheckFunction]:
    """Register the decorated function as a check of `rule` once the whole file is read."""

    def decorate(function: FileCheckFunction) -> FileCheckFunction:
        register(rule, function.__module__)
        _FILE_CHECKS.append(FileCheck(rule, function))
        return function

    return decorate


def registered(module_order: list[str]) -> tuple[Rule, ...]:
    """Every registered rule: by module in `module_order`, then in registration order."""
    position = {name: index for index, name in enumerate(module_order)}
    entries = sorted(_RULES.values(), key=lambda entry: position.get(entry[1], len(position)))
    return tuple(rule for rule, _module in entries)


def read_words(has_ddl: bool) -> frozenset[str]:
    """The first words of the statements some check reads."""
    words = _READ_WORDS.get(has_ddl)
    if words is None:
        words = _READ_WORDS[has_ddl] = frozenset(
            word for c in _STATEMENT_CHECKS for word in c.words
            if has_ddl or not c.ddl_files_only)
    return words


@dataclass(frozen=True)
class Checks:
    """The checks of the rules that apply to one dialect, by the first word they read."""

    every: tuple[StatementCheckFunction, ...]  # the checks that read every statement
    by_word: dict[str, tuple[StatementCheckFunction, ...]]  # `every` included
    at_end: tuple[FileCheckFunction, ...]

    def for_statement(self, stmt: Stmt) -> tuple[StatementCheckFunction, ...]:
        """The checks to run on `stmt` (a statement whose words nobody read gets `every`)."""
        if not stmt.view.words:  # only its first word is known (or none)
            return self.every
        return self.by_word.get(stmt.keys[0], self.every)

    def statement(self, stmt: Stmt, state: FileState) -> Iterator[Finding]:
        """Every finding of one statement (the state is that before it)."""
        for run in self.for_statement(stmt):
            yield from run(stmt, state)

    def file(self, state: FileState) -> Iterator[tuple[int, Finding]]:
        for run in self.at_end:
            yield from run(state)


def for_dialect(dialect: Dialect) -> Checks:
    """The checks to run on a `dialect` migration (rules of other dialects never run)."""
    checks = _BY_DIALECT.get(dialect)
    if checks is None:
        applying = [c for c in _STATEMENT_CHECKS if dialect in c.rule.dialects]
        every = tuple(c.run for c in applying if not c.words)
        words = {word for c in applying for word in c.words}
        by_word = {word: every + tuple(c.run for c in applying if word in c.words)
                   for word in words}
        checks = Checks(every, by_word,
                        tuple(c.run for c in _FILE_CHECKS if dialect in c.rule.dialects))
        _BY_DIALECT[dialect] = checks
    return checks
