"""One redaction for every message that may hold a connection string: passwords become `***`.

Why one function: a database URL reaches the user through many paths -- `status`'s header, a
connection error, a driver error that echoes the connection string (libpq's `invalid
percent-encoded token: "p%ZZ..."`), a note in a CI log. Each path calls `redact`, so a new
path cannot forget a form. Two layers:

- the shapes a password takes in a connection string are rewritten wherever they appear in
  the text: `scheme://user:PASSWORD@host`, `?password=PASSWORD` (also `&`), and libpq's
  `password=PASSWORD` / `password='PASS WORD'`;
- the passwords of the connection strings the caller knows (`sources`) are removed wherever
  else they appear, as written, percent-decoded and percent-encoded (a driver may echo a
  fragment that no longer looks like a URL). Passwords shorter than `MIN_LITERAL` are only
  removed in those shapes: blanking every `ab` of a message would make it unreadable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
#: The shortest password also removed where it appears outside a connection-string shape.
MIN_LITERAL = 4
#: Parameter names that hold a secret, in URLs' queries and in libpq's key=value strings.
SECRET_KEYS = ("password", "passwd", "pwd", "sslpassword")

_KEYS = "|".join(SECRET_KEYS)
#: `scheme://user:secret@`: the secret runs to the last `@` of the authority.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s]*:)(?P<secret>[^/?#\s]*)@")
#: `?password=secret` and `&password=secret`.
_QUERY = re.compile(rf"(?P<head>[?&;](?:{_KEYS})=)(?P<secret>[^&#\s]*)", re.IGNORECASE)
#: libpq's `password=secret` or `password = 'se cret'` (with `\'` and `\\` escapes).
_KEYWORD = re.compile(
    rf"(?P<head>(?<![^\s,;(\"'])(?:{_KEYS})\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'?|[^\s'\"]+)",
    re.IGNORECASE,
)


def redact(text: str, *sources: str | None) -> str:
    """`text` with every password masked: those in connection-string shapes, and those of
    `sources` (and of `text` itself) wherever they appear."""
    known = set(secrets_of(text))
    for source in sources:
        if source:
            known.update(secrets_of(source))
    masked = _mask_shapes(text)
    for secret in sorted(known, key=len, reverse=True):
        if len(secret) >= MIN_LITERAL:
            masked = masked.replace(secret, MASK)
    return masked


def _mask_shapes(text: str) -> str:
    text = _USERINFO.sub(lambda m: f"{m['head']}{MASK}@" if m["secret"] else m[0], text)
    text = _QUERY.sub(lambda m: f"{m['head']}{MASK}" if m["secret"] else m[0], text)
    return _KEYWORD.sub(lambda m: f"{m['head']}{MASK}" if m["secret"] != MASK else m[0], text)


def secrets_of(connection: str) -> set[str]:
    """Every password of a connection string (URL or key=value), in each spelling a message
    may show it: as written, percent-decoded, percent-encoded, unquoted."""
    from urllib.parse import quote, unquote

    found: set[str] = set()
    raw = [m["secret"] for m in _USERINFO.finditer(connection)]
    raw += [m["secret"] for m in _QUERY.finditer(connection)]
    for match in _KEYWORD.finditer(connection):
        value = match["secret"]
        raw.append(value)
        if value.startswith("'"):
            raw.append(re.sub(r"\\(.)", r"\1", value[1:].removesuffix("'")))
    for secret in raw:
        if secret and secret != MASK:
            found.update({secret, unquote(secret), quote(unquote(secret), safe="")})
    return found


def redact_all(lines: Iterable[str], *sources: str | None) -> list[str]:
    """`redact` of each line."""
    return [redact(line, *sources) for line in lines]
