"""Plain command lines are read without argparse (`_parser.read_plainly`, issue 16: argparse,
gettext's lookups and the parser's construction were ~4 ms of a warm check): whatever it
reads, it reads as the command's argparse parser does; whatever it does not, argparse reads
(help, `--`, errors)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migration_gate.commands import COMMANDS, Command, load_command
from migration_gate.commands._parser import UsageError, command_parser, parse, read_plainly
from tests.test_commands import imported_modules


def by_argparse(command: Command, argv: list[str]) -> object:
    """What the command's argparse parser makes of `argv` (as `parse` did before)."""
    parser = command_parser(command)
    try:
        namespace = (parser.parse_args(argv) if "--" in argv
                     else parser.parse_intermixed_args(argv))
    except UsageError as error:
        return ("usage error", str(error))
    except SystemExit:  # help
        return ("exit",)
    return {key: tuple(value) if isinstance(value, list) else value
            for key, value in vars(namespace).items()}


#: (command, command line, read plainly?) -- the plain ones are the usual command lines
CASES = [
    ("check", [], True), ("check", ["--no-verify"], True), ("check", ["--verify"], True),
    ("check", ["--no-verify", "--verify"], True), ("check", ["--all", "--dir", "db"], True),
    ("check", ["--dir=db", "--dir", "other"], True),
    ("check", ["--format", "json", "--output", "r.json", "--fail-on=warning"], True),
    ("check", ["--config", "x.yaml", "--runner", "flyway", "--dialect", "mysql"], True),
    ("check", ["--base", "origin/main", "--database-url=postgres://u@h/db"], True),
    ("check", ["--applied", "a.csv", "--applied-url", "postgres://x"], True),
    ("check", ["--format", "yaml"], False), ("check", ["x"], False), ("check", ["--dir"], False),
    ("check", ["--dir", "-x"], False), ("check", ["--all=1"], False),
    ("check", ["--no-all"], False), ("check", ["--dir="], False), ("check", ["-"], False),
    ("check", ["--no-v"], False), ("check", ["-h"], False), ("check", ["--", "x"], False),
    ("lint", [], True), ("lint", ["a.sql"], True), ("lint", ["-", "a.sql", "--no-cache"], True),
    ("lint", ["a.sql", "--dialect", "mysql", "b.sql"], True),
    ("lint", ["--format", "sarif", "a.sql"], True), ("lint", ["a.sql", "--bogus"], False),
    ("new", ["add_users", "--dir", "db"], True), ("new", [], False), ("new", ["a", "b"], False),
    ("next-version", [], True), ("next-version", ["x"], True),
    ("next-version", ["x", "y"], False), ("rules", [], True), ("rules", ["a", "b"], False),
    ("renumber", [], True), ("renumber", ["m/V1__x.sql", "a", "--dry-run"], True),
    ("verify", ["--target", "7", "--fake"], True), ("verify", ["--target", "seven"], False),
    ("status", ["--table-name", "t", "--format", "json"], True),
    ("list", ["--format", "json"], True), ("list", ["--format", "xml"], False),
    ("comment", ["--report", "r.json"], True), ("comment", [], False),
    ("install-hooks", ["--chain"], False),  # `--hook` appends: argparse reads its command
]


@pytest.mark.parametrize(("name", "argv", "plain"), CASES)
def test_a_plain_command_line_reads_as_argparse_reads_it(name: str, argv: list[str],
                                                         plain: bool) -> None:
    command = load_command(name)
    found = read_plainly(command, argv)
    assert (found is not None) is plain
    if found is not None:
        assert found == by_argparse(command, argv)
    expected = by_argparse(command, argv)
    if isinstance(expected, dict):  # what the command runs with, either way
        assert parse(command, argv) == expected


def test_every_command_is_in_the_cases() -> None:
    assert {name for name, _argv, _plain in CASES} == set(COMMANDS)


#: Words a command line is made of: options of every command, their values, files, odd ones.
WORDS = ["--verify", "--no-verify", "--all", "--no-cache", "--dir", "--dir=db", "--format",
         "json", "text", "yaml", "--output", "--fail-on", "warning", "--dialect", "mysql",
         "--runner", "flyway", "--target", "7", "x", "--fake", "--dry-run", "a.sql", "-", "--",
         "", "-x", "--x", "--format=", "--table-name", "--report", "--key", "--base", "main"]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(COMMANDS)), st.lists(st.sampled_from(WORDS), max_size=6))
def test_any_command_line_read_plainly_reads_as_argparse_reads_it(name: str,
                                                                  argv: list[str]) -> None:
    command = load_command(name)
    found = read_plainly(command, argv)
    if found is not None:
        assert found == by_argparse(command, argv)


def test_help_and_errors_still_come_from_argparse() -> None:
    with pytest.raises(UsageError, match="invalid choice: 'yaml'"):
        parse(load_command("check"), ["--format", "yaml"])
    with pytest.raises(SystemExit):
        parse(load_command("check"), ["--help"])


def test_a_plain_check_imports_no_argparse(tmp_path: Path) -> None:
    """The run stops at the missing folder: the command line was read by then."""
    modules = imported_modules("check", "--no-verify", "--format", "text", cwd=tmp_path)
    assert "migration_gate.config" in modules  # the guard below can fail: the check ran
    assert not modules & {"argparse", "gettext", "migration_gate.commands._argparse"}
    assert "argparse" in imported_modules("check", "--no-v", cwd=tmp_path)  # it says what is wrong
