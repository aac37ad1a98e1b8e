"""ICONTRL: the client's acknowledgement of what the Department sends (ICS rules §5.3).

Every interchange the Department sends with a business message must be acknowledged on
receipt and safe storage, before any processing, with a CONTRL in an interchange of its
own::

    UNA:+.? 'UNB+UNOC:3+AAA676Y::AAA676Y+AAA336C+240102:1404+57'
    UNH+1+CONTRL:D:3:UN'UCI+00000000001234+AAA336C::AAA336C+AAA676Y+8'UNT+3+1'UNZ+1+57'

The UCI quotes the received UNB exactly (the ICR with its zero padding, the sender and
owner, the recipient) with action 8, "interchange received".  An interchange that holds
only CONTRL messages is never acknowledged, and the ICONTRL itself asks for no
acknowledgement.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..edifact.envelope import Interchange
from ..edifact.segment import Segment
from ..errors import BuildError
from .contrl import contrl_interchange
from .names import CCF_SITE

__all__ = ["build_icontrl", "icontrl_segments", "needs_acknowledgement"]


def needs_acknowledgement(interchange: Interchange) -> bool:
    """Whether ``interchange`` must be acknowledged with an ICONTRL.

    True when it carries at least one business message (any type but CONTRL), whether or
    not its UNB asks for an acknowledgement (0031): the rules require an ICONTRL for
    every Department interchange with a business message.  False for an interchange that
    holds only CONTRL messages, or none at all.
    """
    return any(m.type != "CONTRL" for m in interchange.messages)


def icontrl_segments(received: Interchange) -> tuple[Segment, ...]:
    """The ICONTRL body for ``received``: one ``UCI+<ICR>+<sender>+<recipient>+8`` segment.

    The ICR, S002 (sender, qualifier, owner) and S003 are copied from the received UNB as
    written.  Raises :class:`~icsclient.errors.BuildError` when the received interchange
    needs no acknowledgement or its UNB lacks one of those values.
    """
    if not needs_acknowledgement(received):
        kinds = ", ".join(m.type for m in received.messages) or "no messages"
        raise BuildError(
            f"interchange {received.control_reference!r} from {received.sender!r} needs no "
            f"acknowledgement: it holds no business message ({kinds}); a CONTRL is never "
            "acknowledged"
        )
    header = received.header
    elements = header.elements
    if not received.control_reference or len(elements) < 3 or not received.sender:
        raise BuildError(
            f"cannot acknowledge: the received UNB lacks its sender or control reference ({header})"
        )
    if not received.recipient:
        raise BuildError(f"cannot acknowledge: the received UNB has no recipient ({header})")
    return (Segment("UCI", received.control_reference, elements[1], elements[2], "8"),)


def build_icontrl(
    received: Interchange,
    *,
    sender: str,
    icr: int | str,
    prepared: datetime | None = None,
    test: bool | None = None,
    recipient: str = CCF_SITE,
    owner: str | None = None,
    clock: Callable[[], datetime] | None = None,
) -> bytes:
    """The bytes of a complete interchange acknowledging ``received`` (the ICONTRL).

    ``sender`` is your site ID, which must be the recipient of ``received``; ``icr`` is
    your next interchange control reference (the ICONTRL is an interchange of its own);
    ``recipient`` is the CCF.  The test indicator follows ``received`` unless ``test``
    is given; ``prepared`` (an aware datetime) or ``clock()`` is the UNB time.  No
    acknowledgement is requested.

    Raises :class:`~icsclient.errors.BuildError` for an interchange that needs no
    acknowledgement (only CONTRL messages), one addressed to another site, or invalid
    site IDs / ICR.
    """
    body = icontrl_segments(received)
    if received.recipient != sender:
        raise BuildError(
            f"interchange {received.control_reference!r} is addressed to "
            f"{received.recipient!r}, not to {sender!r}: acknowledge it as its recipient"
        )
    return contrl_interchange(
        body,
        sender=sender,
        icr=icr,
        recipient=recipient,
        test=received.test if test is None else test,
        prepared=prepared,
        clock=clock,
        owner=owner,
    )
