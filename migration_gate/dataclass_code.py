"""The compiled methods of data classes, kept beside the package's bytecode between runs.

Why: `dataclasses` writes each class's `__init__`, `__repr__`, `__eq__`, `__hash__`,
`__setattr__` and `__delattr__` as source text and compiles it with `exec` when the class is
defined, on every run, because Python keeps the bytecode of modules (`__pycache__`) but not of
this generated text. For the 29 classes a warm pre-commit `check` defines, that is 172
compiles: about 25 ms of a 190 ms run, 85 % of what the classes cost. The rule registry of a
lint defines more.

What: `install()` gives `dataclasses` an `exec` that looks the text up in a table of code
objects before compiling it, and `save()` writes the table after the run, to
`__pycache__/dataclass-code.<cache tag>.marshal` in this package's folder.

Exactness: `compile()` of one text, file name, mode and set of future flags always builds the
same code object; the table is keyed by the whole text and the flags `exec` would have
inherited from its caller, and the file carries the interpreter's bytecode magic number, so a
table written by another Python is not read. The classes are genuine dataclasses
(`dataclasses.fields`, `replace` and `asdict` work on them as before).

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
import contextlib
import marshal
import os
import sys
from collections.abc import Mapping
from types import CodeType

#: A table larger than this is not read (it is rebuilt from the run's own texts when saved).
MAX_FILE_BYTES = 4 * 1024 * 1024
#: When the table holds more texts than this, `save` keeps only those this run used: the
#: table of a package upgraded many times in place does not grow without end.
MAX_ENTRIES = 4000

_Key = tuple[int, str]


class _Table:
    """The code objects known to this run: those read from the file, those compiled now."""

    def __init__(self, path: str | None, known: dict[_Key, CodeType]) -> None:
        self.path = path
        self.known = known
        self.used: set[_Key] = set()
        self.added = 0


_table: _Table | None = None


def table_path() -> str | None:
    """The table's file for this interpreter, beside the package's bytecode; None when the
    interpreter keeps no bytecode cache."""
    tag = sys.implementation.cache_tag
    if tag is None:
        return None
    package = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(package, "__pycache__", f"dataclass-code.{tag}.marshal")


def install(path: str | None = None) -> None:
    """Serve `dataclasses`' generated methods from the table from now on (once per process);
    `path` replaces `table_path()` (tests)."""
    global _table
    if _table is not None:
        return
    import dataclasses

    path = path or table_path()
    _table = _Table(path, _read(path) if path else {})
    dataclasses.exec = _cached_exec  # type: ignore[attr-defined]


def save() -> None:
    """Write the table when this run compiled texts it did not hold (and bytecode may be
    written): one atomic replace, so parallel runs never read half a file."""
    table = _table
    if table is None or not table.added or table.path is None or sys.dont_write_bytecode:
        return
    entries = table.known
    if len(entries) > MAX_ENTRIES:
        entries = {key: entries[key] for key in table.used}
    temporary = f"{table.path}.{os.getpid()}.tmp"
    try:
        data = _magic() + marshal.dumps(entries)
        with open(temporary, "wb") as out:
            out.write(data)
        os.replace(temporary, table.path)
    except (OSError, ValueError):  # a read-only install, a full disk: compile next time
        with contextlib.suppress(OSError):
            os.unlink(temporary)
    table.added = 0


def _cached_exec(source: object, globals: dict[str, object] | None = None,
                 locals: Mapping[str, object] | None = None, /, **options: object) -> None:
    """`exec` as `dataclasses` calls it, with the text's code object taken from the table."""
    caller = sys._getframe(1)
    if globals is None:  # exec's own defaults: the caller's namespaces
        globals = caller.f_globals
        locals = caller.f_locals if locals is None else locals
    table = _table
    if isinstance(source, str) and table is not None:
        key = (caller.f_code.co_flags & _future_flags(), source)
        code = table.known.get(key)
        if code is None:
            code = compile(source, "<string>", "exec", flags=key[0], dont_inherit=True)
            table.known[key] = code
            table.added += 1
        table.used.add(key)
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


def _magic() -> bytes:
    """The bytecode magic number of this interpreter (as in a `.pyc` header)."""
    import _frozen_importlib_external

    magic: bytes = _frozen_importlib_external.MAGIC_NUMBER
    return magic


def _read(path: str) -> dict[_Key, CodeType]:
    """The table in `path`; empty when it is missing, too large, damaged or from another
    interpreter."""
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
    return {key: code for key, code in loaded.items()
            if isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], int)
            and isinstance(key[1], str) and isinstance(code, CodeType)}
