"""Flyway's migration versions: `MigrationVersion` read exactly, and the version after a set.

`MigrationVersion(String)` replaces every `_` with `.`, splits at each `.` that is followed by
an ASCII digit (`\\.(?=\\d)`, Java's `\\d` being ASCII), and reads every part with
`new BigInteger(part)`: an optional sign, then digits -- any Unicode decimal digit of the Basic
Multilingual Plane, since `BigInteger` uses `Character.digit(char, 10)` on UTF-16 units. Zero
parts at the end are dropped (`1.0` == `1`), parts are compared as numbers, a missing part
counting as zero. `current`, `next` and `latest` (any case) and Long.MAX_VALUE's digits are
markers (`MigrationVersion.fromVersion`), not versions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from enum import Enum

from migration_gate.runners.model import Version

_SPLIT = re.compile(r"\.(?=[0-9])")
_MARKERS = ("current", "next", "latest")
LATEST_DIGITS = "9223372036854775807"  # `Long.toString(Long.MAX_VALUE)`, read as LATEST


class VersionError(str, Enum):
    EMPTY = "empty"
    INVALID = "invalid"
    RESERVED = "reserved"


def _java_digit(char: str) -> int | None:
    """`Character.digit(char, 10)` for one UTF-16 unit: BMP decimal digits only."""
    if ord(char) > 0xFFFF or not char.isdecimal():
        return None
    return unicodedata.decimal(char)


def _big_integer(part: str) -> int | None:
    """`new BigInteger(part)`, or None where it throws NumberFormatException."""
    sign, body = 1, part
    if part[:1] in ("+", "-"):
        sign, body = (-1 if part[0] == "-" else 1), part[1:]
    if not body:
        return None
    if body.isascii():  # the usual case: ASCII digits are all `Character.digit` takes there
        return sign * int(body) if body.isdigit() else None
    value = _unicode_digits(body)
    return None if value is None else sign * value


def _unicode_digits(body: str) -> int | None:
    """`body` read digit by digit with `Character.digit` (any BMP decimal digit)."""
    value = 0
    for char in body:
        digit = _java_digit(char)
        if digit is None:
            return None
        value = value * 10 + digit
    return value


def _is_marker(text: str) -> bool:
    """`equalsIgnoreCase` against `current`/`next`/`latest`, char by char as Java compares."""
    if text.isascii():  # no case pair crosses into ASCII from here: a plain lower-case test
        return text == LATEST_DIGITS or text.lower() in _MARKERS
    def same(a: str, b: str) -> bool:
        return a.upper() == b.upper() or a.lower() == b.lower()

    return text == LATEST_DIGITS or any(
        len(text) == len(marker) and all(map(same, text, marker)) for marker in _MARKERS
    )


def read_version(text: str) -> Version | VersionError:
    """The version of a file name's version part, as `MigrationVersion.fromVersion` reads it."""
    if text == "":
        return VersionError.EMPTY
    if _is_marker(text):
        return VersionError.RESERVED
    normalized = text.replace("_", ".")
    parts: list[int] = []
    for piece in _SPLIT.split(normalized):
        value = _big_integer(piece)
        if value is None:
            return VersionError.INVALID
        parts.append(value)
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return Version(tuple(parts), text, normalized)


def parse_version(text: str) -> Version | None:
    version = read_version(text)
    return version if isinstance(version, Version) else None


# --- the next version ---------------------------------------------------------------------


def next_version(versions: Iterable[Version], now: datetime) -> Version:
    """The version after all of `versions`, in the highest one's shape.

    Plain numbers count up (`8` -> `9`, `008` -> `009`), dotted versions bump their last part
    (`1.1` -> `1.2`, `1_9` -> `1_10`), and timestamp-like versions (`20240115103000`,
    `2024.01.15.1`, `2024_01_15_1030`) take `now` in the same shape, counting up the last part
    instead when `now` would not be higher (same day, or a clock behind).
    """
    highest = max(versions, default=None)
    if highest is None:
        return Version((1,), "1", "1")
    stamped = _from_clock(highest, now)
    if stamped is not None and stamped > highest:
        return stamped
    return _bump_last(highest)


def _bump_last(version: Version) -> Version:
    text = version.text
    normalized = text.replace("_", ".")
    cuts = [m.start() for m in _SPLIT.finditer(normalized)]
    starts = [0, *(cut + 1 for cut in cuts)]
    last = text[starts[-1]:]
    value = _big_integer(last.replace("_", "."))
    bumped = (value or 0) + 1
    digits = str(bumped)
    if last.isascii() and last.isdigit():
        digits = digits.zfill(len(last))
    result = read_version(text[: starts[-1]] + digits)
    assert isinstance(result, Version)  # digits after a valid prefix always read back
    return result


def _digits(piece: str, width: int) -> bool:
    return len(piece) == width and piece.isascii() and piece.isdigit()


def _valid(text: str, pattern: str) -> bool:
    try:
        datetime.strptime(text, pattern)
    except ValueError:
        return False
    return True


#: single-number timestamps: width -> strftime pattern
_STAMPS = {14: "%Y%m%d%H%M%S", 12: "%Y%m%d%H%M", 8: "%Y%m%d"}
#: the time part after a dotted date: widths of its pieces -> pattern of each piece
_TIMES = {(2, 2, 2): ("%H", "%M", "%S"), (2, 2): ("%H", "%M"), (6,): ("%H%M%S",), (4,): ("%H%M",)}


def _from_clock(version: Version, now: datetime) -> Version | None:
    """`now` in the shape of a timestamp-like version, or None if it is not one."""
    text = version.text
    if text.isascii() and text.isdigit() and len(text) in _STAMPS:
        pattern = _STAMPS[len(text)]
        return parse_version(now.strftime(pattern)) if _valid(text, pattern) else None
    separator = "_" if "_" in text and "." not in text else "."
    pieces = re.split(r"[._]", text)
    if len(pieces) < 3 or not all(map(_digits, pieces[:3], (4, 2, 2))):
        return None
    if not _valid("".join(pieces[:3]), "%Y%m%d"):
        return None
    date = [now.strftime("%Y"), now.strftime("%m"), now.strftime("%d")]
    rest = pieces[3:]
    widths = tuple(len(p) for p in rest)
    if not rest:
        today = parse_version(separator.join(date))
        if today is not None and today > version:
            return today
        return parse_version(f"{text}{separator}1")  # a second one today: `2024.01.15.1`
    if widths in _TIMES and all(p.isascii() and p.isdigit() for p in rest):
        patterns = _TIMES[widths]
        if all(_valid(p, f) for p, f in zip(rest, patterns, strict=True)):
            return parse_version(separator.join(date + [now.strftime(f) for f in patterns]))
    if len(rest) == 1 and rest[0].isascii() and rest[0].isdigit():
        counter = "1".zfill(len(rest[0])) if rest[0].startswith("0") else "1"
        if date == pieces[:3]:
            return None  # same day: counting up the last part is the answer
        return parse_version(separator.join([*date, counter]))
    return None
