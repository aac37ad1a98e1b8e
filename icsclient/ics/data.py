"""Data representation rules of the ICS (ICS rules §7): numbers, times and text.

* :func:`round2` rounds a :class:`~decimal.Decimal` to two decimals the ICS way: a third
  decimal of 5 or more rounds up, anything less is cut off (5.555 → 5.56, 5.554 → 5.55).
  Floats are refused: they cannot hold 5.555 exactly.
* :func:`format_number` writes a number as an EDIFACT numeric value: no exponent, no
  padding, a leading minus for negative values, and a length check that, as in ISO 9735,
  counts neither the minus sign nor the decimal mark.
* :func:`format_time` / :func:`check_time` write and check ``HHMM`` times (0000–2359;
  2400 is refused).
* :func:`normalise_text` does to free text what the ICS does before validating it (drop
  characters the syntax level cannot carry, collapse repeated spaces, trim) and reports
  what it changed, so a client can tell its user that data was altered.

Everything raises :class:`~icsclient.errors.BuildError` for input it refuses.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NamedTuple

import attrs

from ..edifact.charsets import describe_char, invalid_char_pattern
from ..errors import BuildError

Number = Decimal | int
"""What the numeric helpers accept: a :class:`~decimal.Decimal` or an ``int`` (never a float)."""

_CENT = Decimal("0.01")


def _as_decimal(value: object, what: str) -> Decimal:
    """``value`` as a finite Decimal; floats, bools, strings and non-finite values refused."""
    if isinstance(value, float):
        raise BuildError(
            f"{what} {value!r} is a float; pass a decimal.Decimal (e.g. Decimal('5.555')) "
            "so that no binary rounding creeps in"
        )
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise BuildError(f"{what} must be a decimal.Decimal or an int, got {value!r}")
    number = Decimal(value)
    if not number.is_finite():
        raise BuildError(f"{what} {value!r} is not a finite number")
    return number


def round2(value: Number) -> Decimal:
    """Round ``value`` to two decimals, half up: 5.555 → 5.56, 5.554 → 5.55.

    Negative values round symmetrically (−5.555 → −5.56), since the ICS applies the rule
    to the digits and writes the sign separately.  An ``int`` is accepted and comes back
    with two decimals (``7`` → ``Decimal('7.00')``).  A float raises
    :class:`~icsclient.errors.BuildError`.
    """
    return round_decimals(value, 2)


def round_decimals(value: Number, places: int) -> Decimal:
    """Round ``value`` to ``places`` decimals (0 or more), half up, as :func:`round2` does."""
    number = _as_decimal(value, "value")
    if isinstance(places, bool) or not isinstance(places, int) or places < 0:
        raise BuildError(f"number of decimal places must be an int >= 0, got {places!r}")
    quantum = _CENT if places == 2 else Decimal(1).scaleb(-places)
    try:
        return number.quantize(quantum, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise BuildError(f"value {value!r} has too many digits to round") from None


def significant_length(text: str) -> int:
    """The length of a numeric value as ISO 9735 counts it: digits only.

    Neither a leading minus sign nor the decimal mark counts toward an element's maximum
    length, so ``significant_length("-112.50") == 5``.
    """
    return sum(ch.isdigit() for ch in text)


def format_number(
    value: Number,
    *,
    max_length: int | None = None,
    decimals: int | None = None,
    decimal_mark: str = ".",
    what: str = "value",
) -> str:
    """Write ``value`` as an EDIFACT numeric data element value.

    * No exponent and no padding: ``Decimal("1E+3")`` → ``"1000"``, ``Decimal("0.5")`` →
      ``"0.5"`` (a digit always stands before the decimal mark, see 0085 code 38).
    * A negative value gets a leading minus: ``-112`` → ``"-112"``; minus zero is ``"0"``.
    * ``decimals`` rounds half up to that many places first (``decimals=2`` is
      :func:`round2`); otherwise the value is written with the digits it has.
    * ``max_length`` is the element's maximum length (e.g. 18 for ``n..18``); the minus
      sign and the decimal mark do not count.  A longer value raises
      :class:`~icsclient.errors.BuildError` naming ``what``.
    * ``decimal_mark`` is the UNA decimal notation, ``.`` by default.
    """
    number = _as_decimal(value, what)
    if decimals is not None:
        number = round_decimals(number, decimals)
    if decimal_mark not in (".", ","):
        raise BuildError(f"decimal mark must be '.' or ',', got {decimal_mark!r}")
    if number.is_zero():
        number = abs(number)
    text = format(number, "f")
    if decimal_mark != ".":
        text = text.replace(".", decimal_mark)
    if max_length is not None:
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise BuildError(f"max_length must be a positive int, got {max_length!r}")
        length = significant_length(text)
        if length > max_length:
            raise BuildError(
                f"{what} {text} has {length} digits, more than the {max_length} allowed "
                "(the sign and decimal mark are not counted)"
            )
    return text


_HHMM = re.compile(r"[0-9]{4}\Z")


def check_time(text: str, *, what: str = "time") -> str:
    """Return ``text`` if it is a valid ``HHMM`` time (0000–2359), else raise BuildError.

    2400 is not a valid time for the ICS: midnight is 0000 of the next day.
    """
    if not isinstance(text, str) or not _HHMM.match(text):
        raise BuildError(f"{what} must be four digits HHMM, got {text!r}")
    hours, minutes = int(text[:2]), int(text[2:])
    if hours > 23 or minutes > 59:
        raise BuildError(
            f"{what} {text} is not a valid time: times run from 0000 to 2359"
            + (" (write midnight as 0000 of the next day)" if text == "2400" else "")
        )
    return text


def is_valid_time(text: str) -> bool:
    """Whether ``text`` is a valid ``HHMM`` time, 0000 to 2359."""
    try:
        check_time(text)
    except BuildError:
        return False
    return True


def format_time(value: time | datetime | str, *, what: str = "time") -> str:
    """``HHMM`` for a :class:`~datetime.time`, a :class:`~datetime.datetime` or a string.

    A string is checked with :func:`check_time` and returned as is; seconds of a time or
    datetime are dropped (not rounded).  Time zones are left alone: convert an aware
    datetime to the local time you mean before calling.
    """
    if isinstance(value, (time, datetime)):
        return f"{value.hour:02d}{value.minute:02d}"
    if isinstance(value, str):
        return check_time(value, what=what)
    raise BuildError(f"{what} must be a time, a datetime or an HHMM string, got {value!r}")


class ChangeKind(enum.Enum):
    """What :func:`normalise_text` did to a text."""

    DROPPED_CHARACTERS = "dropped characters"
    """Characters the syntax level cannot carry were removed."""
    COLLAPSED_SPACES = "collapsed spaces"
    """Runs of several spaces were reduced to one."""
    TRIMMED = "trimmed"
    """Leading or trailing spaces were removed."""


@attrs.frozen
class TextChange:
    """One change :func:`normalise_text` made: its ``kind`` and a readable ``detail``."""

    kind: ChangeKind
    detail: str

    def __str__(self) -> str:
        return self.detail


class NormalisedText(NamedTuple):
    """The result of :func:`normalise_text`: unpack it as ``text, changes = ...``."""

    text: str
    """The normalised text."""
    changes: tuple[TextChange, ...]
    """What was changed, in the order it was done; empty when the text was already clean."""

    @property
    def changed(self) -> bool:
        """Whether the text differs from the input."""
        return bool(self.changes)


_SPACES = re.compile(r" {2,}")


def normalise_text(text: str, syntax: str = "UNOC") -> NormalisedText:
    """Clean free text as the ICS does before validating it, and say what changed.

    In this order: drop every character the syntax level (``UNOA``, ``UNOB``, ``UNOC``)
    cannot carry (tabs and line breaks included), collapse runs of spaces to one space,
    trim leading and trailing spaces.  Dropping first means the result is stable: running
    it again, or the ICS running its own clean-up on it, changes nothing.

    >>> text, changes = normalise_text("  ACME   Pty Ltd ")
    >>> text, [change.kind.name for change in changes]
    ('ACME Pty Ltd', ['COLLAPSED_SPACES', 'TRIMMED'])

    Returns ``(text, changes)``; ``changes`` is empty when nothing changed.  Raises
    :class:`~icsclient.errors.BuildError` for a non-string or an unknown syntax level.
    """
    if not isinstance(text, str):
        raise BuildError(f"text must be a str, got {type(text).__name__}")
    try:
        bad = invalid_char_pattern(syntax)
    except KeyError:
        raise BuildError(f"unknown syntax level {syntax!r}") from None
    changes: list[TextChange] = []
    dropped = bad.findall(text)
    if dropped:
        text = bad.sub("", text)
        shown = ", ".join(describe_char(ch) for ch in dict.fromkeys(dropped))
        changes.append(
            TextChange(
                ChangeKind.DROPPED_CHARACTERS,
                f"dropped {len(dropped)} character(s) that {syntax} cannot carry: {shown}",
            )
        )
    runs = len(_SPACES.findall(text))
    if runs:
        text = _SPACES.sub(" ", text)
        changes.append(
            TextChange(
                ChangeKind.COLLAPSED_SPACES, f"collapsed {runs} run(s) of spaces to one space"
            )
        )
    stripped = text.strip(" ")
    if stripped != text:
        text = stripped
        changes.append(TextChange(ChangeKind.TRIMMED, "trimmed leading/trailing spaces"))
    return NormalisedText(text, tuple(changes))
