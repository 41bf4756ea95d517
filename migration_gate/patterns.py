"""User-supplied regular expressions (`name-pattern`), bounded in cost; names that fit them.

Python's `re` backtracks, and has no timeout: `(a+)+$` against a name of 30 `a`s and a `b`
takes minutes, so a configured pattern could hang every `check` (issue 13, item 6). Two
guards, the second one sound on its own:

1. When the configuration is read, the shapes that backtrack exponentially in practice are
   refused with a clear message: a repeated group whose only mandatory part is itself an
   unbounded repeat (`(a+)+`, `(a*)*`, `([a-z]+_?)+`, `(?:\\w+)*`). `[a-z]+(_[a-z0-9]+)*` is
   accepted: the mandatory `_` separates the iterations.
2. Every match runs under a time budget (an interval timer: CPython's matcher checks for
   signals as it backtracks). A pattern that exceeds it ends the run with exit 2 naming the
   pattern, never a hang. Where no timer is available (Windows, a worker thread), names
   longer than `UNTIMED_MAX` characters are not matched at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType

from migration_gate.diagnostics import GateError

#: Seconds one name may take to match; a sane pattern needs microseconds.
BUDGET_SECONDS = 1.0
#: Without a timer, only names this short are matched (polynomial patterns stay cheap).
UNTIMED_MAX = 64


#: The longest name (`V9__<name>.sql`) proposed: file names are limited to 255 bytes on most
#: file systems, and a long name is read by people in lists and logs.
MAX_NAME_LENGTH = 80
#: The name proposed when nothing of the description fits the project's rules.
FALLBACK_NAME = "migration"
#: Patterns known to match in linear time (the default `name-pattern`): no timer needed.
LINEAR = frozenset({"[a-z0-9_]+"})


class PatternTooSlow(Exception):
    """The pattern did not finish within the budget on this text."""


def nested_quantifier(pattern: str) -> str | None:
    """Why `pattern` would backtrack exponentially, or None. The pattern must compile."""
    parser = _parser()
    try:
        tree = parser.parse(pattern)
    except re.error:
        return None
    return _find_nested(tree, parser)


def _parser() -> ModuleType:
    """The stdlib's own regular-expression parser (`re._parser` from 3.11, else `sre_parse`,
    deprecated since 3.11): the tree it builds is the one the matcher runs."""
    import importlib

    try:
        return importlib.import_module("re._parser")
    except ImportError:  # pragma: no cover - Python 3.10
        return importlib.import_module("sre_parse")


_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


def _find_nested(items: Iterable[tuple[object, object]], parser: ModuleType) -> str | None:
    for op, av in items:
        name = str(op)
        if name in _REPEATS and isinstance(av, tuple):
            _low, high, body = av
            if _many(high, parser) and _only_mandatory_part_repeats(body, parser):
                return ("a repeated group whose only required part is itself repeated, such "
                        "as (a+)+ or ([a-z]+_?)+, can take exponential time")
            found = _find_nested(body, parser)
        elif name == "SUBPATTERN" and isinstance(av, tuple):
            found = _find_nested(av[-1], parser)
        elif name == "BRANCH" and isinstance(av, tuple):
            found = next(filter(None, (_find_nested(alt, parser) for alt in av[1])), None)
        elif name == "ATOMIC_GROUP" and isinstance(av, Iterable):
            found = _find_nested(av, parser)
        elif name in ("ASSERT", "ASSERT_NOT") and isinstance(av, tuple):
            found = _find_nested(av[1], parser)
        else:
            found = None
        if found:
            return found
    return None


def _many(high: object, parser: ModuleType) -> bool:
    return isinstance(high, int) and (high > 1 or high == getattr(parser, "MAXREPEAT", -1))


def _only_mandatory_part_repeats(body: Iterable[tuple[object, object]], parser: ModuleType) -> bool:
    """The body's items, groups unwrapped: one unbounded repeat, everything else optional."""
    repeats = 0
    for op, av in _flatten(body):
        name = str(op)
        if name in _REPEATS and isinstance(av, tuple):
            low, high, _inner = av
            if _many(high, parser):
                repeats += 1
            elif low != 0:
                return False
        else:
            return False  # a required character or class: iterations are delimited
    return repeats >= 1


def _flatten(body: Iterable[tuple[object, object]]) -> list[tuple[object, object]]:
    flat: list[tuple[object, object]] = []
    for op, av in body:
        if str(op) == "SUBPATTERN" and isinstance(av, tuple):
            flat.extend(_flatten(av[-1]))
        else:
            flat.append((op, av))
    return flat


@dataclass(frozen=True)
class NamePattern:
    """A compiled `name-pattern` whose matches are bounded in time."""

    text: str
    compiled: re.Pattern[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", re.compile(self.text))

    def fullmatch(self, name: str) -> bool:
        """Whether `name` matches; `PatternTooSlow` when that cannot be told in time."""
        if self.text in LINEAR:
            return self.compiled.fullmatch(name) is not None
        return fullmatch_within(self.compiled, name, BUDGET_SECONDS)


def fullmatch_within(pattern: re.Pattern[str], text: str, seconds: float) -> bool:
    import signal
    import threading

    timer = getattr(signal, "setitimer", None)
    if timer is None or threading.current_thread() is not threading.main_thread():
        if len(text) > UNTIMED_MAX:
            raise PatternTooSlow(text)
        return pattern.fullmatch(text) is not None

    def expire(_signum: int, _frame: object) -> None:
        raise PatternTooSlow(text)

    previous = signal.signal(signal.SIGALRM, expire)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        return pattern.fullmatch(text) is not None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def conforming_name(name: str, pattern_text: str) -> tuple[str, list[str]]:
    """`name` made to fit `name-pattern`: shortened, then with the words that have no ASCII
    form dropped (accents are already folded: `Überprüfung` → `uberprufung`), else
    `migration`. Returns the name and what was done, for the user."""
    pattern = NamePattern(pattern_text)

    def fits(candidate: str) -> bool:
        try:
            return bool(candidate) and pattern.fullmatch(candidate)
        except PatternTooSlow:
            raise GateError(f"`name-pattern` {pattern_text!r} takes too long on the name "
                            f"{candidate[:40]!r} (it backtracks: avoid repeating a group "
                            "that itself repeats)") from None

    changes: list[str] = []
    if len(name) > MAX_NAME_LENGTH:
        name = shorten(name, MAX_NAME_LENGTH)
        changes.append(f"shortened the name to {len(name)} characters: {name}")
    if fits(name):
        return name, changes
    dropped = [word for word in name.split("_") if not word.isascii()]
    ascii_name = "_".join(word for word in name.split("_") if word.isascii())
    if dropped and fits(ascii_name):
        changes.append(f"left out {' '.join(dropped)!r} (no ASCII spelling): the name is "
                       f"{ascii_name}, as `name-pattern` {pattern_text!r} asks")
        return ascii_name, changes
    if fits(FALLBACK_NAME):
        changes.append(f"nothing of the description fits `name-pattern` {pattern_text!r}: "
                       f"the name is {FALLBACK_NAME}; rename the file to say what it does")
        return FALLBACK_NAME, changes
    raise GateError(f"no name made from the description fits `name-pattern` {pattern_text!r}; "
                    "pass a description in the pattern's terms")


def shorten(name: str, limit: int) -> str:
    """At most `limit` characters, cut at a word (`_`) boundary when there is one."""
    cut = name[:limit]
    if name[limit:limit + 1] not in ("", "_") and "_" in cut:
        cut = cut[: cut.rindex("_")]
    return cut.strip("_") or name[:limit]
