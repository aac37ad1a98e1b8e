"""ICS2 identifiers: EORI numbers, the AS4 sender party id, LRNs and MRNs (ICS2-RULES §1).

Pure functions over strings; no I/O (the optional online EORI check is
:mod:`icsclient.ics2.eos`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator

import attrs

from .errors import EoriError, PartyIdError, ReferenceNumberError

EU_PREFIXES: frozenset[str] = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK XI".split()
)
"""The EORI country prefixes accepted for ICS2: the EU-27 ISO codes and ``XI`` (Northern
Ireland). Greece is ``GR`` here; ``EL`` is accepted too (see :func:`eori_notes`)."""

GREECE_ALIASES: frozenset[str] = frozenset({"GR", "EL"})
"""Greece appears with both prefixes in the wild; both are accepted."""

_EORI = re.compile(r"[A-Z]{2}[A-Z0-9]{1,15}")
_BODY = re.compile(r"[A-Z0-9]+")
_AN = re.compile(r"[A-Za-z0-9]+")
_SYSID = re.compile(r"[A-Za-z0-9]{1,12}")


def check_eori(text: str, *, greece: str = "GR") -> str:
    """The EORI ``text`` normalised (spaces removed, upper case), or an :class:`.EoriError`.

    The error says what is wrong: the length (3 to 17 characters), the prefix (EU-27, ``XI``,
    ``EL``; ``GB`` is not an EU EORI for ICS2) or the characters (``A-Z0-9``). There is no
    EU-wide check digit. ``greece`` is the Greek prefix the caller's systems use: the other one
    is accepted too, and :func:`eori_notes` reports it.
    """
    value = "".join(text.split()).upper()
    if not value:
        raise EoriError("EORI is empty")
    if len(value) < 3 or len(value) > 17:
        raise EoriError(f"EORI {value!r} has {len(value)} characters; 3 to 17 are allowed")
    prefix = value[:2]
    if not prefix.isascii() or not prefix.isalpha():
        raise EoriError(f"EORI {value!r} must start with a two-letter country prefix")
    if prefix not in EU_PREFIXES and prefix not in GREECE_ALIASES:
        hint = " (GB is not an EU EORI for ICS2 filings)" if prefix == "GB" else ""
        raise EoriError(f"EORI {value!r} has prefix {prefix!r}, not an EU-27 or XI country{hint}")
    if not _BODY.fullmatch(value[2:]) or not value.isascii():
        bad = sorted({c for c in value[2:] if not ("A" <= c <= "Z" or "0" <= c <= "9")})
        raise EoriError(f"EORI {value!r} holds characters other than A-Z and 0-9: {bad}")
    if greece not in GREECE_ALIASES:
        raise EoriError(f"greece must be 'GR' or 'EL', not {greece!r}")
    return value


def is_eori(text: str) -> bool:
    """Whether :func:`check_eori` accepts ``text``."""
    try:
        check_eori(text)
    except EoriError:
        return False
    return True


def eori_notes(text: str, *, greece: str = "GR") -> tuple[str, ...]:
    """Warnings about an EORI that :func:`check_eori` accepts: today only a Greek prefix that
    is not the configured ``greece`` one."""
    value = check_eori(text, greece=greece)
    if value[:2] in GREECE_ALIASES and value[:2] != greece:
        return (f"EORI {value!r} uses the Greek prefix {value[:2]!r}; {greece!r} is configured",)
    return ()


@attrs.frozen
class PartyId:
    """An AS4 sender party id ``[sysid@]EORI[@MS]``.

    ``eori`` is the access point operator's EORI; ``system`` an optional system id (at most 12
    letters or digits); ``member_state`` the country where the sealing certificate is
    registered, given only when it differs from the EORI's.
    """

    eori: str
    system: str | None = None
    member_state: str | None = None

    def __str__(self) -> str:
        return format_party_id(self.eori, system=self.system, member_state=self.member_state)


def format_party_id(
    eori: str, *, system: str | None = None, member_state: str | None = None
) -> str:
    """The party id text ``[system@]EORI[@member_state]``, refusing malformed parts."""
    try:
        value = check_eori(eori)
    except EoriError as exc:
        raise PartyIdError(f"party id: {exc}") from None
    if system is not None and not (_SYSID.fullmatch(system) and system.isascii()):
        raise PartyIdError(f"party id system id {system!r} must be 1 to 12 letters or digits")
    if member_state is not None and member_state not in EU_PREFIXES | GREECE_ALIASES:
        raise PartyIdError(f"party id member state {member_state!r} is not an EU country code")
    return "@".join(p for p in (system, value, member_state) if p is not None)


def parse_party_id(text: str) -> PartyId:
    """Read ``[sysid@]EORI[@MS]``; a malformed party id is a :class:`.PartyIdError`."""
    parts = text.split("@")
    if len(parts) > 3 or any(not p for p in parts):
        raise PartyIdError(f"party id {text!r} is not of the form [sysid@]EORI[@MS]")
    system = member_state = None
    if len(parts) == 3:
        system, eori, member_state = parts
    elif len(parts) == 2:
        # A two-letter tail is a member state; anything else before the EORI is a system id.
        if len(parts[1]) == 2 and parts[1].isalpha():
            eori, member_state = parts
        else:
            system, eori = parts
    else:
        (eori,) = parts
    if eori != "".join(eori.split()).upper():
        raise PartyIdError(f"party id {text!r}: the EORI must be upper case without spaces")
    format_party_id(eori, system=system, member_state=member_state)
    return PartyId(eori, system, member_state)


# --- LRN and MRN ------------------------------------------------------------------------------

LRN_MAX = 22
MRN_LENGTH = 18
_MRN = re.compile(r"[0-9]{2}[A-Z]{2}[A-Z0-9]{14}")


def check_lrn(text: str) -> str:
    """``text`` if it is a valid LRN (``an..22``: 1 to 22 letters and digits), else an error.

    The IE tables say only ``an..22``; we also refuse characters outside ``A-Za-z0-9`` so an
    LRN survives every transport and file name unchanged.
    """
    if not 1 <= len(text) <= LRN_MAX:
        raise ReferenceNumberError(f"LRN {text!r} has {len(text)} characters; 1 to 22 allowed")
    if not (_AN.fullmatch(text) and text.isascii()):
        raise ReferenceNumberError(f"LRN {text!r} may hold only letters and digits")
    return text


def check_mrn(text: str) -> str:
    """``text`` if it is an MRN in the form the library relies on, else an error.

    An MRN is ``an18``: two digits (the year), the two-letter country, then 14 letters or
    digits. Its last character is a check character whose algorithm the ICS2 tables do not
    give, so it is not verified here.
    """
    if len(text) != MRN_LENGTH:
        raise ReferenceNumberError(f"MRN {text!r} has {len(text)} characters; 18 are required")
    if not _MRN.fullmatch(text):
        raise ReferenceNumberError(
            f"MRN {text!r} must be two digits, a two-letter country and 14 letters or digits"
        )
    return text


class LrnGenerator:
    """Unique LRNs for one sender: ``prefix`` followed by a counter, zero-padded.

    ``counter`` is the source of numbers and must never repeat one for this sender: an
    ``itertools.count()`` for a process that keeps no state, or a callable backed by the
    ledger (the AS4 client of part 2 passes a ledger sequence; until then the caller owns the
    persistence). The generator is thread-safe and refuses a number that would make the LRN
    longer than 22 characters.
    """

    def __init__(self, prefix: str, counter: Iterator[int] | Callable[[], int], *, width: int = 10):
        if prefix:
            check_lrn(prefix)
        if len(prefix) + width > LRN_MAX or width < 1:
            raise ReferenceNumberError(
                f"LRN prefix {prefix!r} with width {width} exceeds 22 characters"
            )
        self._prefix = prefix
        self._width = width
        self._next: Callable[[], int] = (
            counter.__next__ if isinstance(counter, Iterator) else counter
        )
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LrnGenerator(prefix={self._prefix!r}, width={self._width})"

    def __call__(self) -> str:
        """The next LRN."""
        with self._lock:
            number = self._next()
        if number < 0:
            raise ReferenceNumberError(f"LRN counter gave a negative number {number}")
        digits = str(number).zfill(self._width)
        return check_lrn(self._prefix + digits)
