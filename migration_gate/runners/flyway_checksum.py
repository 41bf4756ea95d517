"""Flyway's checksum: `ChecksumCalculator.calculateChecksumForResource`, exactly.

Flyway decodes the file (UTF-8 unless `encoding` says otherwise; malformed input is an error,
the decoder reporting rather than replacing it), reads it with `BufferedReader.readLine`
(lines end at `\\n`, `\\r` or `\\r\\n`, the terminator dropped), removes one byte-order mark
from the start of the first line, feeds each line's UTF-8 bytes to one `java.util.zip.CRC32`
and stores `(int) crc.getValue()`: a signed 32-bit integer.

CRC32 of consecutive chunks is the CRC32 of their concatenation, so the checksum is the CRC32
of the text with every `\\r` and `\\n` removed: line endings, blank lines and the final newline
never change it, while any other byte does. Test vectors: tests/data/flyway-checksums.json.
"""

from __future__ import annotations

import codecs
import zlib

from migration_gate.runners.model import ContentProblem

BOM = "\ufeff"


def to_int32(value: int) -> int:
    """Java's `(int)` cast of an unsigned 32-bit CRC."""
    value &= 0xFFFFFFFF
    return value - 0x1_0000_0000 if value >= 0x8000_0000 else value


def checksum_text(text: str) -> int:
    """The checksum of already-decoded text (e.g. after placeholder replacement)."""
    if text.startswith(BOM):
        text = text[1:]
    lines = text.replace("\r", "").replace("\n", "")
    return to_int32(zlib.crc32(lines.encode("utf-8", "surrogatepass")))


def decode(content: bytes, encoding: str = "UTF-8") -> str | ContentProblem:
    """The file's text as Flyway's reader sees it, or why Flyway cannot read it."""
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        return ContentProblem(f"unknown encoding {encoding!r} (flyway.encoding)")
    try:
        return content.decode(codec.name)
    except UnicodeDecodeError as error:
        return ContentProblem(
            f"not valid {encoding} at byte {error.start}: Flyway stops with \"Unable to "
            "calculate checksum\" (set flyway.encoding to the file's encoding)"
        )


def checksum(content: bytes, encoding: str = "UTF-8") -> int | ContentProblem:
    """The value Flyway stores in `flyway_schema_history.checksum` for this file's bytes."""
    text = decode(content, encoding)
    if isinstance(text, ContentProblem):
        return text
    return checksum_text(text)
