"""SHA-256 without loading OpenSSL for a run that hashes little (issue 16).

`import hashlib` loads the OpenSSL binding (`_hashlib`, libcrypto): 4-5 ms, a few percent of
a warm `check`, whose digests are a handful of short keys (the code fingerprint, the burned
versions' cache files) and the text of the two or three files it lints. Python's own SHA-256
(`_sha256`; `_sha2` from Python 3.12) gives the same digest and loads in ~0.5 ms, but hashes
about six times slower (74 ms against 13 ms over 20 MB on the bench machine). So the builtin
one serves until a run has hashed `BUILTIN_BUDGET` bytes; after that, or once anything else
has imported hashlib, OpenSSL's does. Either way the digest is the same.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Protocol

#: Bytes the builtin SHA-256 may hash in a run: ~1 ms of its time, a fifth of what loading
#: OpenSSL costs; a `lint` of thousands of files passes it after a few hundred.
BUILTIN_BUDGET = 256 * 1024


class Digest(Protocol):
    """What the gate uses of a hash object (`hashlib.sha256()` and the builtin alike)."""

    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...

    def hexdigest(self) -> str: ...


_spent = 0
_builtin: Callable[[], Digest] | None = None
_looked = False


def sha256(size: int) -> Digest:
    """A new SHA-256 object for about `size` bytes of input (what the caller will feed it)."""
    global _spent
    if "hashlib" not in sys.modules and _spent + size <= BUILTIN_BUDGET:
        builtin = _builtin_sha256()
        if builtin is not None:
            _spent += size
            return builtin()
    import hashlib

    return hashlib.sha256()


def _builtin_sha256() -> Callable[[], Digest] | None:
    """CPython's own SHA-256 constructor, or None (another interpreter, a build without it)."""
    global _builtin, _looked
    if not _looked:
        _looked = True
        for name in ("_sha256", "_sha2"):
            try:
                module = __import__(name)
            except ImportError:
                continue
            found = getattr(module, "sha256", None)
            if callable(found):
                _builtin = found
                break
    return _builtin
