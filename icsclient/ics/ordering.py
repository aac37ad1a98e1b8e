"""Which of two responses about the same report stands (ICS rules §5.2, last bullet).

Responses can arrive in any order, and the Department may re-send one with a new UNB
date/time.  The rule: the response with the later UNB date/time stands; with equal
stamps, the later arrival stands; a response whose content was already received is a
re-sent duplicate and does not replace anything.

:func:`compare_responses` applies the rule to two objects that carry ``prepared`` (the
UNB date/time as written, or ``None`` when unreadable), ``arrived`` (when it arrived
here) and ``content`` (anything comparable with ``==``, e.g. :func:`content_digest` of
the message body), such as :class:`ResponseArrival`.  :func:`newer_response` returns the
one that stands.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Protocol, TypeVar

import attrs

from ..edifact.envelope import Interchange
from ..edifact.segment import Segment
from ..edifact.serializer import serialize_segment
from ..errors import BuildError
from .cusres import CusresResponse

__all__ = [
    "Arrival",
    "Precedence",
    "ResponseArrival",
    "compare_responses",
    "content_digest",
    "newer_response",
]


class Arrival(Protocol):
    """What the ordering rule needs to know about a received response."""

    @property
    def prepared(self) -> datetime | None:
        """The UNB date/time of preparation as written, ``None`` if unreadable."""

    @property
    def arrived(self) -> datetime:
        """When the response arrived (all arrivals aware, or all naive)."""

    @property
    def content(self) -> object:
        """The response's content; equal content means a re-sent duplicate."""


A = TypeVar("A", bound=Arrival)


def content_digest(segments: Iterable[Segment]) -> str:
    """A SHA-256 hex digest of message body segments, for spotting re-sent duplicates.

    Two messages with the same segments have the same digest whatever their envelope
    (ICR, UNB date/time, message reference).
    """
    digest = hashlib.sha256()
    for seg in segments:
        digest.update(serialize_segment(seg, charset=None).encode("utf-8"))
    return digest.hexdigest()


@attrs.frozen
class ResponseArrival:
    """A received response as the ordering rule sees it.

    ``sender_reference`` (optional) names the report it is about; comparing responses
    about different reports is refused.  ``label`` is anything the caller wants to carry
    along (an inbox id, the parsed response); it takes no part in comparisons.
    """

    prepared: datetime | None
    arrived: datetime
    content: object
    sender_reference: str | None = None
    label: object = attrs.field(default=None, eq=False)

    @classmethod
    def of(
        cls, interchange: Interchange, response: CusresResponse, arrived: datetime
    ) -> ResponseArrival:
        """The arrival of ``response``, read from ``interchange``, at time ``arrived``.

        ``content`` is the :func:`content_digest` of the response's segments and
        ``label`` the response itself.
        """
        return cls(
            prepared=interchange.prepared,
            arrived=arrived,
            content=content_digest(response.segments),
            sender_reference=response.sender_reference,
            label=response,
        )


@attrs.frozen
class Precedence:
    """The verdict of :func:`compare_responses`.

    ``standing`` is the response that stands, ``superseded`` the other one;
    ``duplicate`` is true when the incoming response repeats content already received
    (then the current one stands and the incoming one must not be processed again);
    ``reason`` says which rule decided.
    """

    standing: object
    superseded: object
    duplicate: bool
    reason: str


def _later(a: datetime, b: datetime, what: str) -> int:
    """1 if ``b`` is later than ``a``, -1 if earlier, 0 if equal."""
    try:
        return (b > a) - (b < a)
    except TypeError:
        raise BuildError(
            f"cannot compare {what} {a.isoformat()} and {b.isoformat()}: one has a time "
            "zone and the other has none"
        ) from None


def compare_responses(
    current: Arrival, incoming: Arrival, *, history: Collection[object] = ()
) -> Precedence:
    """Decide which of two responses about the same report stands.

    ``current`` is the response held so far and ``incoming`` the newcomer.  In order:

    1. same ``content`` as ``current``, or as any content in ``history`` (earlier
       responses about the report): a re-sent duplicate, ``current`` stands;
    2. both UNB stamps known and different: the later stamp stands;
    3. otherwise the later arrival stands, and on a full tie the incoming one.

    Raises :class:`~icsclient.errors.BuildError` when both name a ``sender_reference``
    and they differ, or when the times cannot be compared (aware mixed with naive).
    """
    refs = (getattr(current, "sender_reference", None), getattr(incoming, "sender_reference", None))
    if None not in refs and refs[0] != refs[1]:
        raise BuildError(
            f"responses about different reports ({refs[0]!r} and {refs[1]!r}) do not compete"
        )
    if incoming.content == current.content or incoming.content in history:
        return Precedence(current, incoming, True, "same content: a re-sent duplicate")
    if current.prepared is not None and incoming.prepared is not None:
        order = _later(current.prepared, incoming.prepared, "UNB date/times")
        if order:
            newer, older = (incoming, current) if order > 0 else (current, incoming)
            return Precedence(newer, older, False, "later UNB date/time")
        reason = "equal UNB date/times: later arrival"
    else:
        reason = "UNB date/time unreadable: later arrival"
    order = _later(current.arrived, incoming.arrived, "arrival times")
    if order < 0:
        return Precedence(current, incoming, False, reason)
    return Precedence(incoming, current, False, reason)


def newer_response(current: A, incoming: A, *, history: Collection[object] = ()) -> A:
    """The response that stands of ``current`` and ``incoming`` (see :func:`compare_responses`).

    A re-sent duplicate never stands: ``current`` is returned for it.
    """
    standing = compare_responses(current, incoming, history=history).standing
    return current if standing is current else incoming
