"""SipHash-1-3 with a 64-bit result: the hash behind refinery's checksums.

The checksum itself is described in docs/refinery.md#checksum.

No maintained PyPI package implements the 1-3 variant, so this is a small, direct
implementation. CPython itself uses SipHash-1-3 for `hash(bytes)` (3.11+), and with
PYTHONHASHSEED=0 its key is all zeros, which is exactly refinery's key: large inputs are
hashed by a child interpreter in C instead of the slow pure-Python loop.
"""

from __future__ import annotations

import os
import subprocess
import sys

_MASK = 0xFFFFFFFFFFFFFFFF
#: Inputs at least this large are hashed by a child interpreter when it can.
NATIVE_THRESHOLD = 512 * 1024


def _rotl(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (64 - bits))) & _MASK


def siphash13(key: bytes, data: bytes) -> int:
    """SipHash-1-3 of `data` under a 16-byte `key`, as an unsigned 64-bit integer."""
    k0 = int.from_bytes(key[:8], "little")
    k1 = int.from_bytes(key[8:16], "little")
    v0 = k0 ^ 0x736F6D6570736575
    v1 = k1 ^ 0x646F72616E646F6D
    v2 = k0 ^ 0x6C7967656E657261
    v3 = k1 ^ 0x7465646279746573
    length = len(data)
    end = length - (length % 8)
    mask = _MASK
    for offset in range(0, end, 8):
        m = int.from_bytes(data[offset : offset + 8], "little")
        v3 ^= m
        # one compression round (the "1" of 1-3)
        v0 = (v0 + v1) & mask
        v1 = ((v1 << 13) | (v1 >> 51)) & mask
        v1 ^= v0
        v0 = ((v0 << 32) | (v0 >> 32)) & mask
        v2 = (v2 + v3) & mask
        v3 = ((v3 << 16) | (v3 >> 48)) & mask
        v3 ^= v2
        v0 = (v0 + v3) & mask
        v3 = ((v3 << 21) | (v3 >> 43)) & mask
        v3 ^= v0
        v2 = (v2 + v1) & mask
        v1 = ((v1 << 17) | (v1 >> 47)) & mask
        v1 ^= v2
        v2 = ((v2 << 32) | (v2 >> 32)) & mask
        v0 ^= m
    last = int.from_bytes(data[end:], "little") | ((length & 0xFF) << 56)
    v3 ^= last
    v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    v0 ^= last
    v2 ^= 0xFF
    for _ in range(3):
        v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


def _round(v0: int, v1: int, v2: int, v3: int) -> tuple[int, int, int, int]:
    v0 = (v0 + v1) & _MASK
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = (v2 + v3) & _MASK
    v3 = _rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & _MASK
    v3 = _rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & _MASK
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


_ZERO_KEY = bytes(16)


def siphash13_zero_key(data: bytes) -> int:
    """SipHash-1-3 under the all-zero key, using CPython's C implementation for big inputs."""
    if len(data) >= NATIVE_THRESHOLD and _native_available():
        value = _native_hash(data)
        if value is not None:
            return value
    return siphash13(_ZERO_KEY, data)


def _native_available() -> bool:
    info = sys.hash_info
    return info.algorithm == "siphash13" and info.hash_bits == 64


def _native_hash(data: bytes) -> int | None:
    """hash(data) in a child interpreter started with PYTHONHASHSEED=0 (a zero SipHash key).

    CPython maps a hash of -1 to -2, so that one value (probability 2**-64) is recomputed in
    Python instead of trusted.
    """
    script = "import sys; print(hash(sys.stdin.buffer.read()))"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    try:
        result = subprocess.run(
            [sys.executable, "-S", "-c", script],
            input=data,
            capture_output=True,
            env=env,
            check=True,
        )
        signed = int(result.stdout)
    except (OSError, subprocess.CalledProcessError, ValueError):
        return None
    if signed == -2:
        return None
    return signed & _MASK
