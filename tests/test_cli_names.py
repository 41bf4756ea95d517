"""Patterns that cannot hang, versions refinery accepts, names the project's rules accept
(issue 13, items 6 and 12), through the real CLI.

Classes and their guard:
- a costly `name-pattern`: refused when the configuration is read (nested repetition), and
  every match runs under a time budget (the sibling `(a|aa)+$` is not refused statically);
- the end of the version space: `next-version` and `new` say it, with what to do;
- the file header of `new`: every line a comment, whatever git's `user.name` holds;
- the name `new` proposes: `check` accepts the file it created, whatever the description.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from migration_gate.patterns import nested_quantifier
from tests.conftest import Repo, make_repo, one_line_error, seed_migrations

CREATE = "CREATE TABLE IF NOT EXISTS created (id bigint PRIMARY KEY);\n"


@pytest.fixture
def seeded(repo: Repo) -> Repo:
    seed_migrations(repo, count=3)
    return repo


def test_nested_quantifier_pattern_is_refused_naming_key_and_file(seeded: Repo) -> None:
    seeded.write(".migration-gate.yaml", 'name-pattern: "(a+)+$"\n')
    seeded.write("migrations/V4__" + "a" * 200 + "b.sql", CREATE)
    started = time.monotonic()
    done = seeded.gate("check", "--no-verify")
    assert time.monotonic() - started < 5
    one_line_error(done, "name-pattern", ".migration-gate.yaml", "(a+)+$", "exponential")


def test_nested_quantifier_with_a_5000_char_name_finishes(seeded: Repo) -> None:
    """A 5,000-character name cannot be a file (255 bytes at most): `new` is where one comes."""
    seeded.write(".migration-gate.yaml", 'name-pattern: "(a+)+$"\n')
    started = time.monotonic()
    done = seeded.gate("new", "a" * 4999 + "b")
    assert time.monotonic() - started < 5
    one_line_error(done, "name-pattern")


@pytest.mark.slow
def test_a_pattern_not_refused_still_cannot_hang(seeded: Repo) -> None:
    """The sibling: `(a|aa)+$` backtracks exponentially too, but passes the static check;
    the time budget ends it with one line naming the pattern."""
    assert nested_quantifier("(a|aa)+$") is None
    seeded.write(".migration-gate.yaml", 'name-pattern: "(a|aa)+$"\n')
    seeded.write("migrations/V4__" + "a" * 200 + "b.sql", CREATE)
    started = time.monotonic()
    done = seeded.gate("check", "--no-verify")
    assert time.monotonic() - started < 5
    one_line_error(done, "name-pattern", "(a|aa)+$", "takes too long")
    # `new` shortens a 5,000-character description before matching (a file name has 255
    # bytes at most), and says so
    started = time.monotonic()
    done = seeded.gate("new", "a" * 4999 + "b")
    assert time.monotonic() - started < 5
    assert done.returncode == 0, done.stderr
    assert "shortened the name to 80 characters" in done.stderr
    assert len(Path(done.stdout.strip()).name) == len("V005__.sql") + 80


def test_invalid_pattern_names_key_and_file(seeded: Repo) -> None:
    seeded.write(".migration-gate.yaml", 'name-pattern: "([a-z"\n')
    one_line_error(seeded.gate("check", "--no-verify"), "name-pattern", ".migration-gate.yaml",
                   "not a valid regular expression")


@pytest.mark.parametrize("pattern", ["[a-z0-9_]+", "[a-z]+(_[a-z0-9]+)*",
                                     "[a-z]{2,}(?:_[a-z]+)*"])
def test_usual_patterns_are_accepted(pattern: str) -> None:
    assert nested_quantifier(pattern) is None


@pytest.mark.parametrize("pattern", ["(a+)+", "(a*)*", "([a-z]+_?)+$", "(?:\\w+)*", "((a+))+"])
def test_nested_repetitions_are_refused(pattern: str) -> None:
    assert nested_quantifier(pattern) is not None


@pytest.mark.parametrize("command", [("next-version",), ("new", "more"),
                                     ("next-version", "more")])
def test_version_space_exhausted(repo: Repo, command: tuple[str, ...]) -> None:
    repo.write("migrations/V2147483647__last.sql", CREATE)
    repo.commit()
    line = one_line_error(repo.gate(*command), "version space is exhausted", "V2147483647",
                          "int8-versions")
    assert "2147483648" not in line
    assert not list((repo.path / "migrations").glob("*more*"))


def test_version_space_with_int8_versions_goes_on(repo: Repo) -> None:
    """The sibling: with `int8-versions`, V2147483648 is a version refinery reads."""
    repo.write(".migration-gate.yaml", "int8-versions: true\n")
    repo.write("migrations/V2147483647__last.sql", CREATE)
    repo.commit()
    done = repo.gate("next-version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "V2147483648"


def header_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n\n", 1)[0].split("\n")


@pytest.mark.parametrize("user_name", [
    "Evil\nDROP TABLE users;", "Evil\rDROP TABLE users;", "Evil\u2028DROP TABLE users;",
    "Evil\x0bDROP\x1b[31m\x7f;",
])
def test_new_header_is_a_comment_whatever_the_author(seeded: Repo, user_name: str) -> None:
    seeded.git("config", "user.name", user_name)
    done = seeded.gate("new", "add things")
    assert done.returncode == 0, done.stderr
    header = header_of(seeded.path / done.stdout.strip())
    assert all(line.startswith("--") for line in header), header
    assert len(header) == 3, header
    assert "DROP" in header[1]
    assert all(ch.isprintable() for line in header for ch in line), header
    # the file holds no statement: the gate's own splitter agrees
    from migration_gate.checks.folder import has_statement
    assert not has_statement((seeded.path / done.stdout.strip()).read_text(encoding="utf-8"))


@pytest.mark.slow
def test_new_transliterates_and_says_so(seeded: Repo) -> None:
    done = seeded.gate("new", "Überprüfung ñandú 数据")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "migrations/V004__uberprufung_nandu.sql"
    assert "数据" in done.stderr and "uberprufung_nandu" in done.stderr
    created = seeded.path / done.stdout.strip()
    created.write_text(created.read_text(encoding="utf-8") + CREATE, encoding="utf-8")
    done = seeded.gate("check", "--no-verify")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "naming-style" not in done.stdout


def test_new_falls_back_to_migration(seeded: Repo) -> None:
    done = seeded.gate("new", "数据 迁移")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "migrations/V004__migration.sql"
    assert "migration" in done.stderr


def test_new_follows_a_custom_pattern(seeded: Repo) -> None:
    """The sibling: the project's own `name-pattern`, not the default, decides."""
    seeded.write(".migration-gate.yaml", 'name-pattern: "[a-z]+(_[a-z]+)*"\n')
    done = seeded.gate("next-version", "add 2 columns")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "V004__migration.sql"


#: Descriptions as a shell passes them: any UTF-8 text but NUL, with a letter or digit.
words = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00"),
    min_size=1, max_size=30,
).filter(lambda text: any(ch.isalnum() for ch in text))


@pytest.mark.slow
@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(description=words)
@example(description="-h")  # after `--`, a description, not an option (found 2026-11-30)
@example(description="-A")
def test_check_accepts_what_new_created(tmp_path_factory: pytest.TempPathFactory,
                                        description: str) -> None:
    """What `new` creates, `check` accepts. The description follows `--`, as a shell user
    writes one that starts with `-` (without it, `-h` asks for the help)."""
    repo = make_repo(tmp_path_factory.mktemp("new") / "repo")
    seed_migrations(repo, count=1)
    done = repo.gate("new", "--", description)
    if done.returncode == 2:  # a description with no letter or digit refinery reads
        one_line_error(done, "has no letters or digits")
        return
    assert done.returncode == 0, done.stderr
    created = repo.path / done.stdout.strip()
    created.write_text(created.read_text(encoding="utf-8") + CREATE, encoding="utf-8")
    done = repo.gate("check", "--no-verify")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "naming-style" not in done.stdout


def test_check_hint_proposes_a_name_the_pattern_accepts(seeded: Repo) -> None:
    """The sibling in `check`: the `naming-style` hint proposes what `new` would."""
    seeded.write("migrations/V004__Überprüfung_数据.sql", CREATE)
    done = seeded.gate("check", "--no-verify")
    assert "naming-style" in done.stdout
    assert "rename to V004__uberprufung.sql" in done.stdout
