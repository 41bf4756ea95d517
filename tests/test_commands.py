"""The command registry and the stage registry: every command is where the registry says, the
group lists exactly those, and what is lazy stays lazy (start-up time is paid on every commit)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from migration_gate import __version__
from migration_gate.commands import COMMANDS, load_command
from migration_gate.commands._parser import command_parser
from migration_gate.digest import _builtin_sha256
from migration_gate.stages import STAGES, check_stages
from tests.conftest import CHECKOUT, Repo, clean_env, run_gate, seed_migrations

#: Heavy third-party packages a bare start-up must not import.
HEAVY = ("sqlglot", "psycopg", "yaml", "pymysql")


def imported_modules(*args: str, cwd: Path | None = None,
                     env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter imports for `migration-gate ARGS`."""
    return _imports_of(_run_importtime(args, cwd, env))


def _run_importtime(args: tuple[str, ...], cwd: Path | None,
                    env: dict[str, str] | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "migration_gate", *args],
                          cwd=cwd, env=clean_env(env), capture_output=True, text=True,
                          timeout=120)


def _imports_of(done: subprocess.CompletedProcess[str]) -> set[str]:
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert lines, done.stderr
    return {line.rsplit("|", 1)[1].strip() for line in lines[1:]}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_registered_command_loads_under_its_name(name: str) -> None:
    """Each command's parser gives exactly the keyword arguments its function takes (what
    click checked when it called the function), and it has a help and a summary."""
    import inspect

    command = load_command(name)
    assert command.name == name
    assert command.function.__name__ == COMMANDS[name]
    parser = command_parser(command)
    dests = {action.dest for action in parser._actions if action.dest != "help"}
    assert dests == set(inspect.signature(command.function).parameters)
    assert command.summary.endswith(".") and len(command.summary) > 20
    assert parser.format_help().startswith(f"usage: migration-gate {name} [-h]")


def test_help_lists_exactly_the_registered_commands(tmp_path: Path) -> None:
    done = run_gate("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    section = done.stdout.split("Commands:\n", 1)[1]
    listed = [line.split()[0] for line in section.splitlines() if line.startswith("  ")
              and not line.startswith("   ")]
    assert listed == sorted(COMMANDS)


def test_version_imports_no_command_and_nothing_heavy() -> None:
    """`--version` is answered by the entry point alone (issue 16: ≤ 0.06 s): not even the
    argument parser."""
    modules = imported_modules("--version")
    assert "migration_gate" in modules
    assert not {m for m in modules if m.split(".")[0] in (*HEAVY, "click", "argparse")}
    assert not {m for m in modules if m.startswith("migration_gate.")}, modules


def test_version_fast_path_says_what_the_command_line_says(tmp_path: Path) -> None:
    """The entry point's answer is the one the command line gives (`--version` with another
    argument goes through `cli.main`), in the shape click's `version_option` had."""
    fast = run_gate("--version", cwd=tmp_path)
    full = run_gate("--version", "--help", cwd=tmp_path)
    assert fast.returncode == full.returncode == 0, fast.stderr + full.stderr
    assert fast.stdout == full.stdout == f"migration-gate, version {__version__}\n"


@pytest.mark.parametrize("module", [
    "migration_gate.cli", "migration_gate.stages", "migration_gate.types",
    "migration_gate.refinery_run", "migration_gate.runners.execution", "migration_gate.evidence",
    *(f"migration_gate.commands.{name}" for name in
      ("_finish", "_versions", "options", *COMMANDS.values())),
])
def test_each_module_imports_on_its_own(module: str) -> None:
    """Imported first in a fresh interpreter, a module of a cycle fails: this finds cycles."""
    done = subprocess.run([sys.executable, "-c", f"import {module}"], env=clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_stages_run_in_order_and_the_database_one_only_with_the_replay() -> None:
    assert list(STAGES) == ["config", "folder", "history", "sql", "database"]
    assert check_stages(None) == ("config", "folder", "history", "sql", "database")
    assert check_stages(True) == ("config", "folder", "history", "sql", "database")
    assert check_stages(False) == ("config", "folder", "history", "sql")


def test_check_without_the_replay_never_imports_the_database_stage(repo: Repo) -> None:
    seed_migrations(repo, count=2)
    code = (
        "import sys\n"
        "from migration_gate.cli import run\n"
        "code = run(['check', '--no-verify', '--format', 'json'])\n"
        "assert code == 0, code\n"
        "print(sorted(m for m in sys.modules if m.startswith('migration_gate.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=repo.path, env=clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.strip().splitlines()[-1]
    assert "'migration_gate.checks.history'" in loaded  # the other stages did run
    assert "'migration_gate.sql.stage'" in loaded
    assert "migration_gate.dbcheck" not in loaded
    assert "migration_gate.ephemeral" not in loaded


#: What a warm `check --no-verify` of a refinery project has no use for (issue 16: it runs on
#: every commit): the lint cache answers every file, so neither the splitter, the reader nor
#: the rule registry; no Flyway module; no replay; no third-party parser.
WARM_CHECK_NEVER = (
    "migration_gate.sql.rules", "migration_gate.sql.split", "migration_gate.sql.lint",
    "migration_gate.sql.tokens", "migration_gate.sql.reader", "migration_gate.sql.locks",
    "migration_gate.runners.flyway", "migration_gate.dbcheck", "migration_gate.ephemeral",
    # classes split from modules a check imports, for the lint, the replay, Flyway's models
    "migration_gate.refinery_run", "migration_gate.runners.execution", "migration_gate.evidence",
    "logging", "pkgutil", *HEAVY,
    # the files' findings come from the recent findings file, not from SQLite (`sql.engine`)
    "sqlite3", "_sqlite3",
    # refinery has no placeholders and integer versions: no clock is read
    "datetime", "_datetime",
    # the caches a check reads (recent findings, burned versions, created tables) are
    # marshalled: `marshal` is built in
    "json", "_json",
    # the command line: read without argparse (`_parser.read_plainly`; click took 14–30 ms of
    # this run, argparse and gettext's lookups ~4 ms), no help formatting
    "click", "textwrap", "difflib", "argparse", "gettext",
    "migration_gate.commands._argparse",
    # git's complaints go to an in-memory file where there is one (gitbatch._scratch_file)
    *(("tempfile", "shutil") if hasattr(os, "memfd_create") else ()),
    # its few short digests use CPython's own SHA-256, not OpenSSL's (`digest`: 4 ms to load)
    *(("hashlib", "_hashlib") if _builtin_sha256() is not None else ()),
)


def _warm_check_never(modules: set[str]) -> set[str]:
    return {m for m in modules if m.startswith(WARM_CHECK_NEVER)}


def test_a_warm_check_of_a_refinery_project_imports_only_what_it_uses(
        repo: Repo, tmp_path: Path) -> None:
    """The pre-commit case of issue 16: a branch adding a migration to a refinery folder,
    checked a second time. The first run lints the new file (and imports the rules); the
    second finds it in the lint cache and must not import what only a lint, a Flyway
    project or the replay needs, yet reports the same findings."""
    seed_migrations(repo, count=3)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V004__add_note.sql",
               "ALTER TABLE table_1 ADD COLUMN IF NOT EXISTS note text;\n")
    # a table the branch creates, altered after: the lint reads it as new (no lock finding)
    repo.write("migrations/V005__create_tags.sql", "CREATE TABLE tags (id bigint);\n")
    repo.write("migrations/V006__tag_names.sql", "ALTER TABLE tags ADD COLUMN name text;\n")
    repo.commit("feature")
    env = {"MIGRATION_GATE_CACHE_DIR": str(tmp_path / "cache")}
    cold = _run_importtime(("check", "--no-verify"), repo.path, env)
    warm = _run_importtime(("check", "--no-verify"), repo.path, env)
    assert cold.returncode == warm.returncode == 0, cold.stderr[-2000:]
    assert "require-lock-timeout" in warm.stdout and warm.stdout == cold.stdout
    locks = [line for line in warm.stdout.splitlines() if "require-lock-timeout" in line]
    assert locks and not [line for line in locks if "V006" in line]  # the branch's own table
    cold_modules = _imports_of(cold)
    assert "migration_gate.sql.rules" in cold_modules  # the guard below can fail
    # the cold run lints without parsing these statements: neither sqlglot nor logging; and
    # of the runner's execution model it needs refinery's crash window alone
    assert not {m for m in cold_modules if m.split(".")[0] in ("sqlglot", "logging")}
    assert "migration_gate.runners.crash_window" in cold_modules
    assert "migration_gate.runners.execution" not in cold_modules
    # a first run's few findings are kept in the recent findings alone: no SQLite made yet
    assert "sqlite3" not in cold_modules
    modules = _imports_of(warm)
    assert {"migration_gate.checks.history", "migration_gate.sql.stage",
            "migration_gate.sql.engine"} <= modules  # every stage ran, the cache was asked
    assert not _warm_check_never(modules), sorted(_warm_check_never(modules))
    assert "migration_gate.commands._parser" in modules  # the guard above can fail
    commands = {m for m in modules if m.startswith("migration_gate.commands.")}
    assert "migration_gate.commands.check" in commands
    assert not commands & {f"migration_gate.commands.{m}" for m in COMMANDS.values()
                           if m != "check"}, sorted(commands)  # lazy: only the command run
    assert not _dataclasses_without_docstring(modules)


def _dataclasses_without_docstring(modules: set[str]) -> list[str]:
    """The dataclasses of our modules among `modules` that have no docstring: `dataclass`
    then builds one with `inspect.signature` at import (14 of them cost ~5 ms per run)."""
    missing: list[str] = []
    for module in sorted(m for m in modules if m.split(".")[0] == "migration_gate"):
        path = CHECKOUT / Path(*module.split("."))
        source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        missing.extend(f"{module}.{name}"
                       for name in _undocumented_dataclasses(source.read_text(encoding="utf-8")))
    return missing


def _undocumented_dataclasses(source: str) -> list[str]:
    import ast

    return [node.name for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.ClassDef)
            and any("dataclass" in ast.unparse(d) for d in node.decorator_list)
            and ast.get_docstring(node) is None]


def test_the_docstring_check_finds_a_dataclass_without_one() -> None:
    source = ('@dataclass(frozen=True)\nclass A:\n    x: int\n\n\n@dataclass\nclass B:\n'
              '    """B."""\n\n    y: int\n\n\nclass C:\n    z: int\n')
    assert _undocumented_dataclasses(source) == ["A"]
    assert _dataclasses_without_docstring({"migration_gate.pipeline", "click"}) == []
