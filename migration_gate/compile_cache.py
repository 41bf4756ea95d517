"""What Python compiles on every run and does not keep, kept beside the package's bytecode.

Why: Python keeps the bytecode of modules in `__pycache__`, but two things a run builds are
compiled again by every process:
- **Data classes' methods.** `dataclasses` writes each class's `__init__`, `__repr__`, `__eq__`,
  `__hash__`, `__setattr__` and `__delattr__` as source text and compiles it with `exec`. For
  the 29 classes a warm pre-commit `check` defines, that is 172 compiles: about 25 ms of a
  190 ms run.
- **Regular expressions.** `re` parses each pattern and turns it into its matching program once
  per process. That is 33 patterns and 5–10 ms of a warm check, 54 and 11–22 ms of a cold one,
  and 80 patterns and 80–180 ms of a lint of 2,758 files (its statement shortcuts are large).

What: `install()` gives `dataclasses` an `exec`, and `re` a pattern compiler, that look their
input up in one table before compiling it; `save()` writes the table after the run, to
`__pycache__/compile-cache.<cache tag>.marshal` in this package's folder (or the package's folder
under `PYTHONPYCACHEPREFIX`, where Python then writes the bytecode).

Exactness:
- `compile()` of one text, file name, mode and set of future flags always builds the same code
  object. The table keys each text by the whole text and the future flags `exec` would have
  inherited from its caller.
- A pattern is keyed by its text and flags. What is stored is exactly what `re` hands to
  `_sre.compile` (the program, the flags, the groups and their names), and `_sre.compile`
  validates the program before using it. A pattern whose parsing warns is never stored, so its
  warning is given on every run.
- The file carries the interpreter's bytecode magic number: a table written by another Python
  is not read. The classes are genuine dataclasses and the patterns genuine `re.Pattern`s.
- Where this Python's `re` is not built as expected, patterns are compiled as usual.

Trust: the file sits with the package's own `.pyc` files and is trusted as they are (whoever can
write there can rewrite the package's bytecode). It is never read from the repository being
checked, the cache folder or the environment. It is not written under
`PYTHONDONTWRITEBYTECODE`, as Python writes no bytecode then, nor where the folder cannot be
written; a file that is unreadable, damaged or from another interpreter is ignored.

Only the command line installs it (`__main__.main`); code that imports the package as a
library compiles as usual.
"""

from __future__ import annotations

import builtins
import marshal
import os
import sys
from collections.abc import Callable, Mapping
from types import CodeType

#: A table larger than this is not read (it is rebuilt from the run's own entries when saved).
MAX_FILE_BYTES = 8 * 1024 * 1024
#: When the table holds more entries than this, `save` keeps only those this run used: the
#: table of a package upgraded many times in place does not grow without end.
MAX_ENTRIES = 4000

#: ("dataclass", future flags, text) or ("re", pattern, flags)
_Key = tuple[str, int, str] | tuple[str, str | bytes, int]


class _Table:
    """The compiled forms known to this run. Those read from the file stay marshalled until a
    run asks for them (a warm check uses half of a table a lint filled: reading all of it
    cost 2.9 ms, reading it so 0.4 ms); those compiled now are added."""

    def __init__(self, path: str | None, stored: dict[_Key, bytes]) -> None:
        self.path = path
        self.stored = stored
        self.known: dict[_Key, object] = {}
        self.used: set[_Key] = set()
        self.added = 0

    def get(self, key: _Key) -> object | None:
        """The compiled form of `key`, or None when it is not in the table (or damaged)."""
        value = self.known.get(key)
        if value is None:
            blob = self.stored.get(key)
            if blob is None:
                return None
            try:
                value = marshal.loads(blob)
            except (ValueError, EOFError, TypeError):
                return None
            self.known[key] = value
        self.used.add(key)
        return value

    def remember(self, key: _Key, value: object) -> None:
        self.stored.pop(key, None)
        self.known[key] = value
        self.used.add(key)
        self.added += 1

    def keys(self) -> set[_Key]:
        return set(self.stored) | set(self.known)

    def to_store(self) -> dict[_Key, bytes]:
        """What `save` writes: every entry, or only those this run used when there are more
        than `MAX_ENTRIES`."""
        entries = dict(self.stored)
        for key, value in self.known.items():
            if key not in entries:
                entries[key] = marshal.dumps(value)  # type: ignore[arg-type]
        if len(entries) > MAX_ENTRIES:
            entries = {key: entries[key] for key in self.used}
        return entries


_table: _Table | None = None


def table_path() -> str | None:
    """The table's file for this interpreter, beside the package's bytecode; None when the
    interpreter keeps no bytecode cache."""
    tag = sys.implementation.cache_tag
    if tag is None:
        return None
    package = os.path.dirname(os.path.abspath(__file__))
    name = f"compile-cache.{tag}.marshal"
    if sys.pycache_prefix:  # PYTHONPYCACHEPREFIX: the bytecode lives in a tree of its own
        return os.path.join(sys.pycache_prefix, package.lstrip(os.sep), name)
    return os.path.join(package, "__pycache__", name)


def install(path: str | None = None) -> None:
    """Serve data classes' methods and regular expressions from the table from now on (once
    per process); `path` replaces `table_path()` (tests)."""
    global _table
    if _table is not None:
        return
    import dataclasses

    try:
        path = path or table_path()
        _table = _Table(path, _read(path) if path else {})
        dataclasses.exec = _cached_exec  # type: ignore[attr-defined]
        _install_patterns()
    except Exception:  # an interpreter built otherwise: it compiles as usual
        _table = None


def save() -> None:
    """Write the table when this run compiled what it did not hold (and bytecode may be
    written): one atomic replace, so parallel runs never read half a file."""
    table = _table
    if table is None or not table.added or table.path is None or sys.dont_write_bytecode:
        return
    table.added = 0
    try:
        data = _magic() + marshal.dumps(table.to_store())
    except Exception:  # what this interpreter cannot marshal: compile next time
        return
    from migration_gate.cachedir import write_whole

    write_whole(table.path, data)  # a read-only install, a full disk: compile next time


# --- data classes ---------------------------------------------------------------------------

def _cached_exec(source: object, globals: dict[str, object] | None = None,
                 locals: Mapping[str, object] | None = None, /, **options: object) -> None:
    """`exec` as `dataclasses` calls it, with the text's code object taken from the table."""
    caller = sys._getframe(1)
    if globals is None:  # exec's own defaults: the caller's namespaces
        globals = caller.f_globals
        locals = caller.f_locals if locals is None else locals
    table = _table
    if type(source) is str and table is not None:
        flags = caller.f_code.co_flags & _future_flags()
        key: _Key = ("dataclass", flags, source)
        code = table.get(key)
        if not isinstance(code, CodeType):
            code = compile(source, "<string>", "exec", flags=flags, dont_inherit=True)
            table.remember(key, code)
        source = code
    exec_ = builtins.exec
    exec_(source, globals, locals, **options)  # type: ignore[arg-type]


_FUTURE_FLAGS: int | None = None


def _future_flags() -> int:
    """The code flags of `from __future__` features: what `exec` of a text inherits from the
    code that calls it."""
    global _FUTURE_FLAGS
    if _FUTURE_FLAGS is None:
        import __future__

        flags = 0
        for name in __future__.all_feature_names:
            flags |= getattr(__future__, name).compiler_flag
        _FUTURE_FLAGS = flags
    return _FUTURE_FLAGS


# --- regular expressions --------------------------------------------------------------------

_Compile = Callable[[object, int], object]


def _install_patterns() -> None:
    """Put `_cached_pattern` in place of the compiler `re` calls for a pattern it has not seen
    in this process (`re._compiler.compile`; `sre_compile.compile` before Python 3.11), when
    that compiler has the parts this module relies on."""
    import re

    compiler = getattr(re, "_compiler", None) or sys.modules.get("sre_compile")
    parser = getattr(re, "_parser", None) or sys.modules.get("sre_parse")
    if compiler is None or parser is None:
        return
    original = getattr(compiler, "compile", None)
    make_code = getattr(compiler, "_code", None)
    parse = getattr(parser, "parse", None)
    sre = getattr(compiler, "_sre", None)
    build = getattr(sre, "compile", None)
    debug = getattr(compiler, "SRE_FLAG_DEBUG", None)
    if not (callable(original) and callable(make_code) and callable(parse)
            and callable(build) and isinstance(debug, int)):
        return

    def _cached_pattern(pattern: object, flags: int = 0) -> object:
        table = _table
        exact = type(pattern) is str or type(pattern) is bytes
        if table is None or not exact or flags & debug:
            return original(pattern, flags)
        assert isinstance(pattern, (str, bytes))
        key: _Key = ("re", pattern, int(flags))  # exact types: the table is marshalled
        stored = table.get(key)
        if stored is not None:
            try:
                return build(pattern, *stored)  # type: ignore[misc]
            except Exception:  # not what this `re` expects: compile it again
                pass
        try:
            arguments = _pattern_arguments(pattern, flags, parse, make_code)
            compiled = None if arguments is None else build(pattern, *arguments)
        except Exception:  # a `re` built otherwise
            arguments = compiled = None
        if arguments is None or compiled is None:  # warned or failed: `re` does it, as usual
            return original(pattern, flags)
        table.remember(key, arguments)
        return compiled

    setattr(compiler, "compile", _cached_pattern)  # noqa: B010 (a module typed as Any | Module)


def _pattern_arguments(pattern: str | bytes, flags: int, parse: Callable[..., object],
                       make_code: Callable[..., object]) -> tuple[object, ...] | None:
    """What `re`'s compiler passes to `_sre.compile` after the pattern itself (as in
    `re._compiler.compile`); None when parsing gave a warning or an error."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parsed = parse(pattern, flags)
            code = make_code(parsed, flags)
        except Exception:
            return None
    if caught:
        return None
    state = parsed.state  # type: ignore[attr-defined]
    groupindex: dict[str, int] = dict(state.groupdict)
    indexgroup: list[str | None] = [None] * state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    program = [int(word) for word in code]  # type: ignore[attr-defined]  # opcodes: int subclasses
    return (int(flags | state.flags), program, state.groups - 1, groupindex, tuple(indexgroup))


# --- the file -------------------------------------------------------------------------------

def _magic() -> bytes:
    """The bytecode magic number of this interpreter (as in a `.pyc` header)."""
    try:
        import _frozen_importlib_external

        magic: bytes = _frozen_importlib_external.MAGIC_NUMBER
    except (ImportError, AttributeError):  # another implementation: the public name
        from importlib.util import MAGIC_NUMBER as magic
    return magic


def _read(path: str) -> dict[_Key, bytes]:
    """The table in `path`, each entry still marshalled; empty when it is missing, too large,
    damaged or from another interpreter. Each entry is checked when it is used."""
    try:
        with open(path, "rb") as source:
            data = source.read(MAX_FILE_BYTES + 1)
    except OSError:
        return {}
    magic = _magic()
    if len(data) > MAX_FILE_BYTES or not data.startswith(magic):
        return {}
    try:
        loaded = marshal.loads(data[len(magic):])
    except (ValueError, EOFError, TypeError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {key: blob for key, blob in loaded.items() if type(blob) is bytes}
