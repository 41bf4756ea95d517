"""The command line's grammar on argparse (issue 16: click took 14–30 ms of a warm check): what
click gave users is kept (flag pairs, choices, options and files in any order, `-h` on every
command) and every usage error is one line and exit 2, through the real CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from migration_gate.commands import COMMANDS, load_command
from migration_gate.commands._parser import UsageError, parse
from tests.conftest import Repo, clean_env, one_line_error, run_gate, seed_migrations


@pytest.mark.parametrize(("argv", "expected"), [
    ([], None), (["--verify"], True), (["--no-verify"], False),
    (["--no-verify", "--verify"], True),
])
def test_the_verify_flag_pair_keeps_three_states(argv: list[str], expected: bool | None) -> None:
    """`check` replays when it can unless told: None (not said), True, False."""
    assert parse(load_command("check"), argv)["verify"] is expected


def test_options_are_never_abbreviated() -> None:
    """click took only whole option names; argparse would read `--no-v` as `--no-verify`."""
    with pytest.raises(UsageError, match="unrecognized arguments: --no-v"):
        parse(load_command("check"), ["--no-v"])


def test_files_and_options_mix_in_any_order() -> None:
    """`lint a.sql --dialect mysql b.sql` (as click read it): every file kept, as a tuple."""
    given = parse(load_command("lint"), ["a.sql", "--dialect", "mysql", "b.sql", "-"])
    assert given["files"] == ("a.sql", "b.sql", "-") and given["dialect"] == "mysql"
    assert given["no_cache"] is False and given["config_file"] is None


def test_after_a_double_dash_everything_is_an_argument() -> None:
    """`lint -- -odd.sql`, `new -- -x`: argparse's intermixed parsing kept the `--` as a file
    or lost what followed it (found while replacing click, which read these)."""
    lint = parse(load_command("lint"), ["--no-cache", "--", "-odd.sql", "a.sql"])
    assert lint["files"] == ("-odd.sql", "a.sql") and lint["no_cache"] is True
    assert parse(load_command("new"), ["--dir", "db", "--", "-x"])["description"] == "-x"
    assert parse(load_command("next-version"), ["--", "--all"])["description"] == "--all"


def test_repeatable_option_and_path_arguments() -> None:
    hooks = parse(load_command("install-hooks"), ["--hook", "pre-push", "--hook", "pre-commit"])
    assert hooks == {"hooks": ("pre-push", "pre-commit"), "chain": False}
    renumber = parse(load_command("renumber"), ["migrations/V9__x.sql", "--dry-run"])
    assert renumber["migrations"] == (Path("migrations/V9__x.sql"),)
    assert renumber["dry_run"] is True and renumber["all_branches"] is False


@pytest.mark.parametrize(("args", "needles"), [
    (("check", "--frobnicate"), ("unrecognized arguments: --frobnicate", "check --help")),
    (("check", "--format", "yaml"), ("invalid choice: 'yaml'", "'sarif'")),
    (("check", "--dir"), ("--dir", "expected one argument")),
    (("verify", "--target", "seven"), ("--target", "invalid int value: 'seven'")),
    (("new",), ("required: DESCRIPTION", "new --help")),
    (("comment",), ("required: --report",)),
    (("chekc",), ("unknown command 'chekc'", "did you mean check?")),
    (("--frobnicate", "check"), ("unrecognized option '--frobnicate'",)),
    ((), ("no command given", "--help")),
])
def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...],
                                               needles: tuple[str, ...]) -> None:
    done = run_gate(*args, cwd=tmp_path)
    one_line_error(done, *needles)
    assert done.stdout == ""


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(tmp_path: Path, name: str) -> None:
    done = run_gate(name, "-h", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: migration-gate {name} [-h]")
    assert load_command(name).summary in " ".join(done.stdout.split())  # the docstring
    assert done.stderr == ""


def test_group_help_lists_each_command_with_its_summary(tmp_path: Path) -> None:
    done = run_gate("-h", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: migration-gate")
    assert "  rules          Show the rule catalogue, or one rule's documentation.\n" in done.stdout
    assert all(len(line) <= 80 for line in done.stdout.splitlines())


def test_an_ascii_stdout_gets_utf8_as_click_wrote_it(repo: Repo) -> None:
    """`renumber` prints the repository's file names; a stdout that claims ASCII got them as
    UTF-8 from click.echo (a misconfigured locale is not the user's data's fault): the same."""
    seed_migrations(repo, count=2)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V002__café.sql", "CREATE TABLE cafe (id bigint);\n")
    repo.commit("clash")
    done = subprocess.run([sys.executable, "-m", "migration_gate", "renumber", "--dry-run"],
                          cwd=repo.path, env=clean_env({"PYTHONIOENCODING": "ascii"}),
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "V002__café.sql -> V003__café.sql\n".encode()
