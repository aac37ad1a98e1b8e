"""The few DER encodings the CMS writers need: a tag with its length, and INTEGERs."""

from __future__ import annotations


def header(tag: int, length: int) -> bytes:
    """A DER tag and definite length."""
    if length < 0x80:
        return bytes((tag, length))
    size = (length.bit_length() + 7) // 8
    return bytes((tag, 0x80 | size)) + length.to_bytes(size, "big")


def tlv(tag: int, content: bytes) -> bytes:
    """A DER element: ``tag``, the length of ``content``, ``content``."""
    return header(tag, len(content)) + content


def integer(value: int) -> bytes:
    """A DER INTEGER (two's complement, minimal length)."""
    size = (value if value >= 0 else ~value).bit_length() // 8 + 1
    return tlv(0x02, value.to_bytes(size, "big", signed=True))
