"""File names and versions in refinery's style, and the allocators that hand out the next free
versions to one run's findings (so that two findings never suggest the same version).

Kept apart from `pipeline` (which re-exports them) so the context stays a module of its own
size; nothing here reads files or git.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from migration_gate.runners.model import Runner, Version


def format_version(version: int, padding: int) -> str:
    return f"V{version:0{padding}d}" if padding else f"V{version}"


def normalise_description(description: str) -> str:
    """`"Add profiles!"` → `add_profiles`: lower case, every run of characters refinery's `\\w`
    rejects (and `_`) → one `_`.

    Words are judged by refinery's (Rust's) `\\w`, not Python's, which accepts `²` and rejects
    combining marks: a suggested name must be one refinery reads. Accented and compatibility
    forms fold to ASCII (`Café` → `cafe`, `x²` → `x2`) so the name fits the default naming
    pattern too; words of other scripts are kept as they are.
    """
    import unicodedata

    from migration_gate.refinery import is_rust_word_char

    words: list[str] = []
    current: list[str] = []
    for char in unicodedata.normalize("NFKC", description).lower():
        if char != "_" and is_rust_word_char(char):
            current.append(char)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return "_".join(_fold_to_ascii(word) for word in words)


def _fold_to_ascii(word: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", word)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return folded if folded.isascii() and folded.isalnum() else word


def suggest_file_name(version: int, name: str, padding: int) -> str:
    return f"{format_version(version, padding)}__{name}.sql"


class VersionAllocator:
    """Hands out the next free versions, one per file, so that the findings of one run suggest
    distinct fixes and a file named by two findings gets the same fix in both."""

    def __init__(self, highest: int, planned: dict[str, int] | None = None) -> None:
        self._next = highest + 1
        self._planned = dict(planned or {})
        self._given: dict[str, int] = dict(self._planned)

    def planned(self, path: str) -> int | None:
        """The plan's version for one of the branch's new migrations, else None."""
        return self._planned.get(path)

    def take(self, path: str) -> int:
        if path not in self._given:
            self._given[path] = self._next
            self._next += 1
        return self._given[path]


class RunnerVersionAllocator:
    """`VersionAllocator` for any runner: the next versions in the folder's own scheme
    (`V3`, `V1.3`, a timestamp), one per file, each after the one handed out before."""

    def __init__(self, runner: Runner, taken: Iterable[Version], now: datetime,
                 planned: dict[str, Version] | None = None) -> None:
        self._runner, self._now = runner, now
        self._next = runner.next_version(taken, now)
        self._given: dict[str, Version] = dict(planned or {})

    def take(self, path: str) -> Version:
        if path not in self._given:
            self._given[path] = self._next
            self._next = self._runner.next_version([self._next], self._now)
        return self._given[path]
