"""`digest.sha256`: the same SHA-256 as hashlib's, without loading OpenSSL for a run that
hashes little (issue 16), and with it once a run hashes much."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from migration_gate.digest import BUILTIN_BUDGET, _builtin_sha256, sha256
from tests.conftest import CHECKOUT


@pytest.mark.parametrize("data", [b"", b"abc", "é\0ß".encode(), bytes(range(256)) * 5000])
def test_the_digest_is_hashlibs(data: bytes) -> None:
    digest = sha256(len(data))
    digest.update(data[:7])
    digest.update(data[7:])
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert sha256(0).digest() == hashlib.sha256().digest()


@pytest.mark.skipif(_builtin_sha256() is None, reason="no builtin SHA-256 in this interpreter")
def test_small_inputs_do_not_load_openssl_and_a_large_run_does() -> None:
    """In a fresh interpreter: short keys leave hashlib unloaded; past the budget (a `lint`
    of thousands of files) OpenSSL's faster SHA-256 takes over, with the same digests."""
    script = (
        "import sys\n"
        "from migration_gate.digest import sha256\n"
        "d = sha256(3); d.update(b'abc'); small = d.hexdigest()\n"
        "print('hashlib' in sys.modules, '_hashlib' in sys.modules)\n"
        f"big = b'x' * {BUILTIN_BUDGET}\n"
        "d = sha256(len(big)); d.update(big); large = d.hexdigest()\n"
        "print('hashlib' in sys.modules)\n"
        "import hashlib\n"
        "print(small == hashlib.sha256(b'abc').hexdigest(),"
        " large == hashlib.sha256(big).hexdigest())\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=CHECKOUT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.split() == ["False", "False", "True", "True", "True"]
