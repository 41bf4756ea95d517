"""The table of compiled data-class methods and patterns (`migration_gate.compile_cache`,
issue 16).

Every test runs Python in a subprocess: installing the table changes `dataclasses` for the rest
of the process, and what is measured is what a new process reads from the file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]

#: Imports the modules a check and a lint use, then prints the shape of every generated method
#: of their data classes, and what the table did.
PROBE = r"""
import dataclasses, json, sys
from migration_gate import compile_cache
if sys.argv[1] != "-":
    compile_cache.install(sys.argv[1])
import migration_gate.pipeline, migration_gate.report, migration_gate.sql.rules
import migration_gate.checks.history

def shape(code):
    return [code.co_name, code.co_code.hex(), list(code.co_names), list(code.co_varnames),
            code.co_flags, code.co_argcount, code.co_kwonlyargcount,
            [shape(c) if hasattr(c, "co_code") else repr(c) for c in code.co_consts]]

methods = {}
for name, module in sorted(sys.modules.items()):
    if not name.startswith("migration_gate"):
        continue
    for value in list(vars(module).values()):
        if isinstance(value, type) and dataclasses.is_dataclass(value) \
                and value.__module__ == name:
            for method in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__",
                           "__delattr__"):
                function = value.__dict__.get(method)
                function = getattr(function, "__wrapped__", function)
                code = getattr(function, "__code__", None)
                if code is not None and code.co_filename == "<string>":
                    methods[f"{value.__qualname__}.{method}"] = shape(code)
import re
patterns = {}
for name, module in sorted(sys.modules.items()):
    if name.startswith("migration_gate"):
        for attribute, value in sorted(vars(module).items()):
            if isinstance(value, re.Pattern):
                patterns[f"{name}.{attribute}"] = [repr(value.pattern), value.flags,
                                                   value.groups, dict(value.groupindex)]
table = compile_cache._table
from migration_gate.sql.lex import lex
lex("SELECT 1 <= 2;", 0, "postgres")  # the lexer's pattern, built from a set of operators
keys = sorted(repr(key) for key in table.used) if table is not None else []
used = 0 if table is None else len(table.used)
exact = table is not None and all(
    compile(key[2], "<string>", "exec", flags=key[1], dont_inherit=True) == value
    if key[0] == "dataclass" else
    compile_cache._pattern_arguments(key[1], key[2], re._parser.parse, re._compiler._code)
    == value
    for key, value in ((key, table.get(key)) for key in table.keys()))
kinds = sorted({key[0] for key in table.keys()}) if table is not None else []
summary = {"methods": methods, "patterns": patterns, "exact": exact, "kinds": kinds,
           "keys": keys,
           "added": 0 if table is None else table.added,
           "used": used,
           "known": 0 if table is None else len(table.keys())}
compile_cache.save()
print(json.dumps(summary))
"""


def _probe(table: Path | str, **env: str) -> dict[str, object]:
    environment = {**os.environ, "PYTHONPATH": str(CHECKOUT), **env}
    if "PYTHONDONTWRITEBYTECODE" not in env:
        environment.pop("PYTHONDONTWRITEBYTECODE", None)
    run = subprocess.run([sys.executable, "-c", PROBE, str(table)], capture_output=True,
                         text=True, cwd=CHECKOUT, env=environment, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    result: dict[str, object] = json.loads(run.stdout)
    return result


def test_a_second_run_compiles_nothing_and_builds_the_same_methods(tmp_path: Path) -> None:
    """The first run compiles and writes the table; the second reads it, compiles no text, and
    every generated method of every data class is the one a run without the table builds."""
    table = tmp_path / "compile-cache.marshal"
    plain = _probe("-")
    first = _probe(table)
    assert table.is_file() and first["known"] == first["added"]
    second = _probe(table)
    assert second["added"] == 0 and second["known"] == first["known"]
    assert isinstance(second["used"], int) and second["used"] >= 100  # the guard can fail
    methods = plain["methods"]
    assert isinstance(methods, dict) and len(methods) >= 100
    assert first["methods"] == second["methods"] == methods
    patterns = plain["patterns"]
    assert isinstance(patterns, dict) and len(patterns) >= 5
    assert first["patterns"] == second["patterns"] == patterns
    assert second["kinds"] == ["dataclass", "re"]
    assert second["exact"] is True  # each entry is what compiling it again gives


def test_a_damaged_or_foreign_table_is_ignored_and_replaced(tmp_path: Path) -> None:
    table = tmp_path / "compile-cache.marshal"
    plain = _probe("-")
    table.write_bytes(b"\x00\x01 not marshal")
    damaged = _probe(table)
    assert damaged["methods"] == plain["methods"] and damaged["known"] == damaged["added"]
    magic = table.read_bytes()[:4]
    assert magic != b"\x00\x01 n"  # replaced by a table of this interpreter
    # the same table under another interpreter's magic number is not read
    table.write_bytes(b"\xff\xff\r\n" + table.read_bytes()[4:])
    foreign = _probe(table)
    assert foreign["known"] == foreign["added"] and foreign["methods"] == plain["methods"]
    assert table.read_bytes()[:4] == magic


def test_nothing_is_written_where_python_writes_no_bytecode(tmp_path: Path) -> None:
    table = tmp_path / "compile-cache.marshal"
    _probe(table, PYTHONDONTWRITEBYTECODE="1")
    assert not table.exists()
    missing_folder = tmp_path / "gone" / "compile-cache.marshal"
    result = _probe(missing_folder)  # a folder that cannot be written: no error
    assert not missing_folder.exists() and isinstance(result["added"], int)
    assert result["added"] > 0


def test_the_command_line_keeps_its_table_beside_the_package(tmp_path: Path) -> None:
    """As installed: `python -m migration_gate` writes the table in the package's own
    `__pycache__`, and a second run reads it and prints the same report."""
    copy = tmp_path / "site"
    shutil.copytree(CHECKOUT / "migration_gate", copy / "migration_gate",
                    ignore=shutil.ignore_patterns("__pycache__"))
    migration = tmp_path / "V1__add.sql"
    migration.write_text("ALTER TABLE users ADD COLUMN note text NOT NULL;\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(copy), "MIGRATION_GATE_CACHE_DIR": str(tmp_path / "c")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    def lint() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "migration_gate", "lint", "--no-cache",
                               str(migration)], capture_output=True, text=True, env=env,
                              cwd=tmp_path, check=False)

    first = lint()
    tables = list((copy / "migration_gate" / "__pycache__").glob("compile-cache.*.marshal"))
    assert [t.name for t in tables] == [f"compile-cache.{sys.implementation.cache_tag}.marshal"]
    written = tables[0].stat().st_mtime_ns
    second = lint()
    assert first.returncode == second.returncode == 1, first.stderr
    assert "adding-required-field" in first.stdout and second.stdout == first.stdout
    assert tables[0].stat().st_mtime_ns == written  # nothing new to write


@pytest.mark.parametrize("flags_source", ["from __future__ import annotations\n", ""])
def test_texts_compiled_under_other_future_flags_are_kept_apart(
        tmp_path: Path, flags_source: str) -> None:
    """`exec` of a text inherits its caller's `from __future__` flags; the table keys each text
    by them, so one text compiled under two sets of flags gives two code objects."""
    script = flags_source + (
        "import sys\nfrom migration_gate import compile_cache\n"
        "compile_cache.install(sys.argv[1])\n"
        "ns = {}\n"
        "compile_cache._cached_exec('def f(x: undefined_name): pass', ns, ns)\n"
        "print(repr(ns['f'].__annotations__['x']) if isinstance("
        "ns['f'].__annotations__['x'], str) else 'evaluated')\n")
    table = tmp_path / "t.marshal"
    run = subprocess.run([sys.executable, "-c", script, str(table)], capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(CHECKOUT)}, check=False)
    if flags_source:
        assert run.returncode == 0 and run.stdout.strip() == "'undefined_name'", run.stderr
    else:  # without the future import the annotation is evaluated, and fails
        assert run.returncode == 1 and "NameError" in run.stderr


def test_what_is_kept_is_the_same_under_every_hash_seed(tmp_path: Path) -> None:
    """A pattern built by iterating a set (the lexer's operators) had a new text in every
    process: it was compiled every run, and the table grew by one entry per run."""
    one = _probe(tmp_path / "one.marshal", PYTHONHASHSEED="1")
    two = _probe(tmp_path / "two.marshal", PYTHONHASHSEED="2")
    keys = one["keys"]
    assert isinstance(keys, list) and any("(?P<word>" in key for key in keys)
    assert keys == two["keys"]


WARNING_PROBE = r"""
import re, sys, warnings
from migration_gate import compile_cache
compile_cache.install(sys.argv[1])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    nested = re.compile("[[a]x")  # FutureWarning: possible nested set
re._compiler.compile("(?P<n>a)b", re.IGNORECASE)  # a RegexFlag, not an int, as flags
words = re.compile(r"(?P<word>\w+)\s*")
compile_cache.save()
kept = sorted(key[1] for key in compile_cache._table.keys() if key[0] == "re")
print(len(caught), nested.match("ax") is not None, words.match("ab  ").group("word"), kept)
"""


def test_a_pattern_that_warns_warns_every_run_and_odd_flags_do_not_stop_saving(
        tmp_path: Path) -> None:
    table = tmp_path / "t.marshal"
    environment = {**os.environ, "PYTHONPATH": str(CHECKOUT)}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    runs = [subprocess.run([sys.executable, "-c", WARNING_PROBE, str(table)], text=True,
                           capture_output=True, env=environment, check=False)
            for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
        count, matched, word, kept = run.stdout.split(" ", 3)
        assert (count, matched, word) == ("1", "True", "ab")
        assert "(?P<n>a)b" in kept and "(?P<word>\\\\w+)\\\\s*" in kept
        assert "[[a]x" not in kept
    assert table.is_file()


def test_the_table_follows_the_bytecode_under_a_cache_prefix(tmp_path: Path) -> None:
    """With PYTHONPYCACHEPREFIX, Python writes the package's bytecode in a tree of its own;
    the table goes there too, not into the package's folder."""
    prefix = tmp_path / "pycache"
    environment = {**os.environ, "PYTHONPATH": str(CHECKOUT), "PYTHONPYCACHEPREFIX": str(prefix)}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    run = subprocess.run([sys.executable, "-c", "from migration_gate import compile_cache as c;"
                          "print(c.table_path())"], capture_output=True, text=True,
                         env=environment, check=False)
    package = CHECKOUT / "migration_gate"
    expected = prefix / str(package).lstrip(os.sep) / (
        f"compile-cache.{sys.implementation.cache_tag}.marshal")
    assert run.returncode == 0 and run.stdout.strip() == str(expected), run.stderr


def test_a_damaged_entry_is_compiled_again(tmp_path: Path) -> None:
    """Each entry is checked when it is used: one that does not unmarshal, or unmarshals to
    something `re` refuses, is compiled again and replaced; the others are still used."""
    import marshal

    table = tmp_path / "compile-cache.marshal"
    plain = _probe("-")
    _probe(table)
    data = table.read_bytes()
    magic, entries = data[:4], marshal.loads(data[4:])
    method = next(key for key in entries if key[0] == "dataclass")
    pattern = next(key for key in entries if key[0] == "re")
    entries[method] = b"\x00 not marshal"
    entries[pattern] = marshal.dumps((1, [999_999], 0, {}, ()))  # not a program _sre accepts
    table.write_bytes(magic + marshal.dumps(entries))
    mended = _probe(table)
    assert mended["added"] == 2
    assert mended["methods"] == plain["methods"] and mended["patterns"] == plain["patterns"]
    again = _probe(table)
    assert again["added"] == 0 and again["exact"] is True
