"""The tables a migration creates, remembered by its content (issue 16).

The SQL stage needs the tables the branch's earlier migrations create (`new_tables`: the lock
rules leave them alone, and they are part of the lint cache's key). Reading them takes the
splitter and the rule registry, ~25 ms of imports, on every `check` whose branch adds a
CREATE TABLE -- the pre-commit hook's usual case -- even when the lint cache then answers
every file. So the answer is kept by the lint cache's own key of the text (the package's code,
sqlglot's version, the dialect, the text), in a small file beside the lint cache (marshalled:
`marshal` is built in, where `json` is four modules to import). Any trouble with that file
only means reading the tables again.
"""

from __future__ import annotations

import marshal
import os
from pathlib import Path

from migration_gate.cachedir import write_whole
from migration_gate.types import Dialect

#: The file, in the lint cache's folder.
FILE_NAME = "created-tables-v2.bin"
#: Answers kept; the oldest go first (a branch adds a handful of migrations).
MAX_ENTRIES = 1000


def created_tables(text: str, dialect: Dialect) -> set[str]:
    """`lint.created_tables(text, dialect)`, from the file when it holds the answer."""
    from migration_gate.sql.lint import created_tables as read_tables

    return read_tables(text, dialect)


class TableCache:
    """The answers of one run: read at the first question, written once at the end."""

    def __init__(self, folder: Path | None) -> None:
        self.path = folder / FILE_NAME if folder is not None else None
        self._known: dict[str, list[str]] | None = None
        self._added = False

    @classmethod
    def for_run(cls) -> TableCache:
        """The cache of the user's cache folder, or none (`MIGRATION_GATE_NO_CACHE`)."""
        from migration_gate.cachedir import cache_root

        if os.environ.get("MIGRATION_GATE_NO_CACHE"):
            return cls(None)
        return cls(cache_root())

    def tables(self, text: str, dialect: Dialect) -> set[str]:
        """The tables `text` creates: without a CREATE none (nothing imported), else the
        remembered answer, else read now and remembered."""
        # a statement starting with CREATE has those letters in the upper-cased text
        # (`str.upper` maps each character on its own)
        if "CREATE" not in text.upper():
            return set()
        if self.path is None:
            return created_tables(text, dialect)
        key = _key(text, dialect)
        known = self._load()
        if key in known:
            return set(known[key])
        found = created_tables(text, dialect)
        known[key] = sorted(found)
        self._added = True
        return found

    def _load(self) -> dict[str, list[str]]:
        if self._known is None:
            self._known = {}
            assert self.path is not None
            try:
                loaded = marshal.loads(self.path.read_bytes())
            except (OSError, ValueError, EOFError, TypeError):
                loaded = None
            if isinstance(loaded, dict):
                self._known = {k: v for k, v in loaded.items() if isinstance(k, str)
                               and isinstance(v, list) and all(isinstance(t, str) for t in v)}
        return self._known

    def save(self) -> None:
        """Write the new answers (atomically: two hooks may run at once); errors are ignored."""
        if not self._added or self.path is None or self._known is None:
            return
        kept = dict(list(self._known.items())[-MAX_ENTRIES:])
        write_whole(self.path, marshal.dumps(kept), make_folder=True)
        self._added = False


def _key(text: str, dialect: Dialect) -> str:
    """The lint cache's key of the text alone: every input that can change how it reads."""
    from migration_gate.sql.engine import LintJob, cache_key

    return cache_key(LintJob(path="", text=text, dialect=dialect))
