"""Never a traceback, never exit 0 on a lost report (issue 13, item 5), through the real CLI.

Classes and their guard:
- stdout that cannot be written (a full device, a pipe whose reader is gone, a closed
  descriptor): every command that prints ends with one `cannot write to standard output` line
  and exit 2 (`main()` flushes stdout itself instead of leaving it to the interpreter's exit);
- stdin closed for `lint -`: one line, exit 2;
- a folder nested deeper than Python's recursion limit: discovery walks it without recursion
  (and `main()` turns any `RecursionError` left into one line);
- anything else unexpected: `migration-gate: internal error: ... (please report)`, exit 2,
  with the traceback only under `MIGRATION_GATE_DEBUG=1`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Repo, clean_env, one_line_error, seed_migrations

#: The commands of issue 13 item 5, and siblings (`next-version`, `--version`, `--help`).
PRINTING = [
    ("check", "--no-verify"),
    ("check", "--no-verify", "--format", "json"),
    ("list",),
    ("rules",),
    ("lint", "migrations"),
    ("next-version",),
    ("--version",),
]


def gate_with_stdout(cwd: Path, args: tuple[str, ...], stdout: int,
                     stdin: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migration_gate", *args], cwd=cwd, env=clean_env(),
        stdout=stdout, stdin=stdin, stderr=subprocess.PIPE, text=True, timeout=120,
    )


def in_shell(cwd: Path, script: str) -> subprocess.CompletedProcess[str]:
    """`script` in sh, with `$GATE` the gate: for `>&-` and `<&-`, which close a descriptor."""
    env = clean_env({"GATE": f"{sys.executable} -m migration_gate"})
    return subprocess.run(["sh", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def assert_output_lost(done: subprocess.CompletedProcess[str]) -> None:
    line = one_line_error(done, "cannot write to standard output")
    assert "internal error" not in line


@pytest.fixture
def seeded(repo: Repo) -> Repo:
    seed_migrations(repo, count=3)
    return repo


@pytest.mark.parametrize("args", PRINTING, ids=" ".join)
def test_full_device_is_exit_2_not_a_traceback(seeded: Repo, args: tuple[str, ...]) -> None:
    with open("/dev/full", "w") as full:
        done = gate_with_stdout(seeded.path, args, full.fileno())
    assert_output_lost(done)
    assert "No space left" in done.stderr


@pytest.mark.parametrize("args", PRINTING, ids=" ".join)
def test_reader_gone_is_exit_2(seeded: Repo, args: tuple[str, ...]) -> None:
    """`| head -c0`, without the race: the pipe's read end is closed before the gate starts."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = gate_with_stdout(seeded.path, args, write_end)
    finally:
        os.close(write_end)
    assert_output_lost(done)
    assert "Broken pipe" in done.stderr


def test_findings_lost_are_exit_2_not_1(seeded: Repo) -> None:
    """A report with findings that could not be written is not a report: exit 2, not 1."""
    seeded.write("migrations/V2__dup.sql", "SELECT 1;\n")
    with open("/dev/full", "w") as full:
        done = gate_with_stdout(seeded.path, ("check", "--no-verify"), full.fileno())
    assert_output_lost(done)


@pytest.mark.parametrize("command", ["$GATE list >&-", "$GATE check --no-verify >&-"])
def test_closed_stdout(seeded: Repo, command: str) -> None:
    assert_output_lost(in_shell(seeded.path, command))


def test_lint_stdin_closed(seeded: Repo) -> None:
    one_line_error(in_shell(seeded.path, "$GATE lint - <&-"), "standard input is closed")


def test_lint_stdin_empty_is_a_finding(seeded: Repo) -> None:
    """The sibling: stdin open but empty is the `empty-migration` finding (a warning)."""
    done = in_shell(seeded.path, "$GATE lint - </dev/null")
    assert done.returncode == 0, done.stderr
    assert "empty-migration" in done.stdout


def deep_folder(root: Path, depth: int) -> Path:
    """`root/d/d/.../d` (`os.makedirs` itself recurses once per level)."""
    here = root
    for _ in range(depth):
        here = here / "d"
        os.mkdir(here)
    return here


@pytest.mark.slow
@pytest.mark.parametrize("args", [("check", "--no-verify", "--all"), ("list",),
                                  ("lint", "migrations")], ids=" ".join)
def test_folder_nested_1500_levels(repo: Repo, args: tuple[str, ...]) -> None:
    seed_migrations(repo, count=1)
    bottom = deep_folder(repo.path / "migrations", 1500)
    (bottom / "V2__deep.sql").write_text("CREATE TABLE deep (id bigint PRIMARY KEY);\n")
    try:
        done = repo.gate(*args)
    finally:
        # pytest removes old temporary folders with a recursive rmtree, which a tree this
        # deep would crash (RecursionError at the end of a later session): remove it now
        subprocess.run(["rm", "-rf", str(repo.path / "migrations" / "d")], check=True)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stderr
    if args[0] == "list":
        assert "deep" in done.stdout
    else:
        assert "(2 checked)" in done.stdout or "2 files" in done.stdout


def with_command(name: str, body: str) -> str:
    """A script that registers one more command, `name` (a module of the registry's shape:
    `add_arguments` and a function `name` whose body is `body`), and runs it through `main`."""
    source = (f"def add_arguments(parser):\n    pass\n\n"
              f"def {name}():\n    " + body.replace("\n", "\n    ") + "\n")
    return (
        "import sys, types\n"
        "from migration_gate import commands\n"
        "from migration_gate.cli import main\n"
        f"module = types.ModuleType('migration_gate.commands.{name}')\n"
        f"exec({source!r}, module.__dict__)\n"
        "sys.modules[module.__name__] = module\n"
        f"commands.COMMANDS[{name!r}] = {name!r}\n"
        f"main([{name!r}])\n"
    )


def test_recursion_error_is_one_line(tmp_path: Path) -> None:
    """The guard: whatever still recurses too deep ends in one line, exit 2."""
    script = with_command("deep", "def down(n):\n    return down(n + 1)\ndown(0)")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=clean_env(),
                          capture_output=True, text=True, timeout=60)
    one_line_error(done, "too deeply nested")


@pytest.mark.parametrize("debug", [False, True])
def test_unexpected_exception_is_one_line(tmp_path: Path, debug: bool) -> None:
    """The last resort: an exception nobody expected is one line, exit 2 (a traceback only
    with `MIGRATION_GATE_DEBUG=1`)."""
    script = with_command("boom", "raise RuntimeError('unexpected\\nsecond line')")
    env = clean_env({"MIGRATION_GATE_DEBUG": "1"} if debug else None)
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    if debug:
        assert done.returncode != 0
        assert "Traceback" in done.stderr and "RuntimeError" in done.stderr
        return
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == ["migration-gate: internal error: RuntimeError: unexpected (please report; "
                     "MIGRATION_GATE_DEBUG=1 shows the traceback)"]
