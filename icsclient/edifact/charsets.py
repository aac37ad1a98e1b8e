"""Character repertoires of the syntax levels ``icsclient`` understands.

The tokenizer always decodes bytes as Latin-1 (one byte, one character, so character
offsets are byte offsets); the repertoire of the interchange's syntax identifier then
decides which characters are valid (0085 code 21 otherwise).
"""

from __future__ import annotations

import functools
import re

_UNOA = r"A-Z0-9 .,\-()/='+:?!\"%&*;<>"
_REPERTOIRES: dict[str, str] = {
    # Level A: upper case letters, digits and a few punctuation marks.
    "UNOA": _UNOA,
    # Level B: printable ASCII.
    "UNOB": r"\x20-\x7e",
    # ISO 8859-1 graphic characters (Latin-1).
    "UNOC": r"\x20-\x7e\xa0-\xff",
}

SUPPORTED_SYNTAXES: tuple[str, ...] = tuple(_REPERTOIRES)
"""Syntax identifiers (S001/0001) whose repertoire is known."""

_INVALID: dict[str, re.Pattern[str]] = {
    name: re.compile(f"[^{chars}]") for name, chars in _REPERTOIRES.items()
}


def invalid_char_pattern(syntax: str) -> re.Pattern[str]:
    """A compiled pattern that matches any character the syntax level cannot carry."""
    return _INVALID[syntax]


@functools.cache
def valid_latin1_bytes(syntax: str) -> bytes:
    """The byte values (as Latin-1 characters) the syntax level carries, for fast checks."""
    bad = _INVALID[syntax]
    return bytes(b for b in range(256) if not bad.match(chr(b)))


def describe_char(ch: str) -> str:
    """A readable name for a character in an error message, e.g. ``'€' (U+20AC)``."""
    return f"{ch!r} (U+{ord(ch):04X})"


def ascii_number(text: str, max_digits: int) -> int | None:
    """``text`` as an int if it is 1 to ``max_digits`` ASCII digits, else ``None``.

    The one digit check for every ICR, count and number read from received data:
    ``str.isdigit()`` alone also takes ``'¹²³'`` (which ``int()`` refuses) and any length
    (``int()`` refuses more than 4,300 digits), so neither can reach ``int()`` here.
    """
    if 0 < len(text) <= max_digits and text.isascii() and text.isdigit():
        return int(text)
    return None
