"""Interchange Control References (UNB 0020): one sequence per interchange creator.

ICS rules §3: each creator site keeps its own sequence, starting at 1 and rising by 1 per new
interchange, wrapping from ``99999999999999`` (n14) back to 1; a number must never be handed
out twice.  This module holds the rule (:func:`following`), the formatting
(:func:`format_icr`) and :class:`IcrSequence`, the face a caller uses; site IDs are checked by
:func:`icsclient.ics.names.check_site_id`.  It does no I/O: the numbers live in an
:class:`IcrCounter`, which the stores in :mod:`icsclient.store` implement atomically.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from ..errors import BuildError
from .names import MAX_ICR, check_site_id

__all__ = [
    "ICR_DIGITS",
    "IcrCounter",
    "IcrSequence",
    "check_icr_number",
    "following",
    "format_icr",
]

ICR_DIGITS = 14
"""Width of a zero-padded ICR, as the CCF writes its own."""


def check_icr_number(value: object) -> int:
    """Return ``value`` if it is an ICR number, 1..99999999999999, else raise BuildError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ICR:
        raise BuildError(f"invalid ICR number {value!r}: expected an integer from 1 to {MAX_ICR}")
    return value


def following(number: int) -> int:
    """The ICR after ``number``: ``number + 1``, or 1 after ``99999999999999``."""
    return 1 if number >= MAX_ICR else number + 1


def format_icr(number: int, *, pad: bool = False) -> str:
    """Write ICR ``number`` as UNB 0020: plain digits, or zero-padded to 14 digits if ``pad``."""
    check_icr_number(number)
    return f"{number:0{ICR_DIGITS}d}" if pad else str(number)


class IcrCounter(Protocol):
    """Where the numbers of :class:`IcrSequence` live: one counter per site, updated atomically.

    :class:`icsclient.store.Store` implements this; each method may assume a valid site ID.
    """

    def allocate_icr(self, site: str) -> int:
        """Hand out the next number for ``site`` and advance its counter, atomically and durably."""
        ...

    def peek_icr(self, site: str) -> int:
        """The number :meth:`allocate_icr` would hand out next for ``site``, without using it."""
        ...

    def set_next_icr(self, site: str, next_value: int) -> None:
        """Make ``next_value`` the next number handed out for ``site``."""
        ...


@attrs.frozen
class IcrSequence:
    """The Interchange Control Reference sequence of every creator site held in ``store``.

    >>> from icsclient.store import MemoryStore
    >>> seq = IcrSequence(MemoryStore())
    >>> seq.next("AAA676Y"), seq.next("AAA676Y"), seq.next("BBB123Z", pad=True)
    ('1', '2', '00000000000001')

    ``pad`` chooses the default format: plain digits (``"42"``) or 14 digits zero-padded
    (``"00000000000042"``).  Every call names the creator site; each site has its own
    sequence.  Invalid site IDs and numbers raise :class:`~icsclient.errors.BuildError`.
    """

    store: IcrCounter
    pad: bool = attrs.field(default=False, kw_only=True)

    def next(self, site: str, *, pad: bool | None = None) -> str:
        """Hand out the next ICR for creator ``site``: 1, 2, ... 99999999999999, then 1 again.

        The number is used once this returns, whether or not an interchange is ever sent
        with it.  ``pad`` overrides the sequence's default format for this call.
        """
        return format_icr(self.store.allocate_icr(check_site_id(site)), pad=self._pad(pad))

    def peek(self, site: str, *, pad: bool | None = None) -> str:
        """The ICR :meth:`next` would hand out for ``site``, without using it.

        Another process may take that number first: use this for display, never to build.
        """
        return format_icr(self.store.peek_icr(check_site_id(site)), pad=self._pad(pad))

    def reset(self, site: str, next_value: int) -> None:
        """Make ``next_value`` (1..99999999999999) the next ICR handed out for ``site``.

        For administrators only, e.g. to continue the sequence of another system that used
        the same site ID.  Going backwards makes the CCF see duplicates.
        """
        self.store.set_next_icr(check_site_id(site), check_icr_number(next_value))

    def _pad(self, pad: bool | None) -> bool:
        return self.pad if pad is None else pad
