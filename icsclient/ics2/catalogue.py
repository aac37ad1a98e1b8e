"""The ICS2 message catalogue and the interface constants (ICS2-RULES §2, ICD Annex 1).

:data:`CATALOGUE` maps every message id to a :class:`MessageType`: direction, meaning, mode of
transport, family, correlation key, priority class, whether PDF/JPEG attachments may travel with
it, and its filing/amendment twin.  ``IE3F10``–``IE3F51`` are listed one id at a time; there is
no ``IE3A25`` (an IE3F25 cannot be amended).

The AS4 service, service type, agreement reference and payload namespace are data too, held in
:class:`Ics2Interface`.  **Unverified for Release 3**: the defaults are the ICD v3.30 values
(``EU-ICS2-TI-V2.0``, ``urn:wco:datamodel:eu:ics2:2`` ...); whether Release 3 changed them
nobody here could confirm, so every builder and reader takes an ``interface=`` argument and a
caller can pass ``Ics2Interface(namespace=...)`` with the values of its conformance pack.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from .errors import Ics2InputError

INTERFACE_VERSION = "EU-ICS2-TI-V2.0"
"""The AS4 ``AgreementRef`` value (ICD v3.30). Unverified for Release 3 (:class:`Ics2Interface`)."""

AGREEMENT_TYPE = "ics2-interface-version"
"""The ``type`` attribute of the AS4 ``AgreementRef``. Unverified for Release 3."""

SERVICE_T2C = "eu_ics2_t2c"
"""The AS4 service of trader-to-customs messages. Unverified for Release 3."""

SERVICE_C2T = "eu_ics2_c2t"
"""The AS4 service of customs-to-trader messages. Unverified for Release 3."""

SERVICE_TYPE = "eu-customs-service-type"
"""The ``type`` attribute of the AS4 ``Service``. Unverified for Release 3."""

PAYLOAD_NAMESPACE = "urn:wco:datamodel:eu:ics2:2"
"""The XML namespace of every ICS2 payload. Unverified for Release 3."""


class Direction(enum.Enum):
    """Who sends a message."""

    T2C = "trader to customs"
    C2T = "customs to trader"


class Family(enum.Enum):
    """What kind of message it is."""

    FILING = "filing"
    AMENDMENT = "amendment"
    REQUEST = "request"
    RESPONSE = "response"
    NOTIFICATION = "notification"


class Transport(enum.Enum):
    """The mode of transport a filing family belongs to (``None`` for mode-neutral messages)."""

    SEA = "sea and inland waterways"
    AIR = "air"
    EXPRESS = "express"
    POSTAL = "postal"
    ROAD = "road"
    RAIL = "rail"


class Key(enum.Enum):
    """The business reference a message is correlated by (after the AS4 ``RefToMessageId``)."""

    LRN = "LRN"
    MRN = "MRN"


@attrs.frozen
class Ics2Interface:
    """The ICS2 interface values, overridable as a whole.

    The defaults are the ICD v3.30 values; **whether Release 3 changed any of them is
    unverified**, so builders, readers and the AS4 layer accept an instance of this class
    instead of reading the module constants.
    """

    namespace: str = PAYLOAD_NAMESPACE
    agreement_ref: str = INTERFACE_VERSION
    agreement_type: str = AGREEMENT_TYPE
    service_t2c: str = SERVICE_T2C
    service_c2t: str = SERVICE_C2T
    service_type: str = SERVICE_TYPE

    def service_for(self, message_id: str) -> str:
        """The AS4 service a message travels on (the Action is the message id itself)."""
        entry = message_type(message_id)
        return self.service_t2c if entry.direction is Direction.T2C else self.service_c2t


DEFAULT_INTERFACE = Ics2Interface()
"""The ICD v3.30 interface values (see :class:`Ics2Interface` for what is unverified)."""


@attrs.frozen
class MessageType:
    """One ICS2 message and what ICS2-RULES §2 says about it.

    ``priority`` is ``"A"`` (sent first after an outage), ``"B"``, ``"C"`` or ``None`` where the
    table gives none; ``key`` is ``None`` for customs-to-trader messages (they are matched by
    the AS4 ``RefToMessageId``, then by the LRN or MRN they carry); ``twin`` is the amendment of
    a filing or the filing an amendment replaces.
    """

    id: str
    direction: Direction
    meaning: str
    family: Family
    transport: Transport | None = None
    key: Key | None = None
    priority: str | None = None
    attachments: bool = False
    twin: str | None = None

    def __repr__(self) -> str:
        return f"<MessageType {self.id} {self.direction.name} {self.family.value}: {self.meaning}>"


_T2C, _C2T = Direction.T2C, Direction.C2T

# (id, meaning, transport, attachments) for every filing; the amendments are derived from it.
_FILINGS: tuple[tuple[str, str, Transport, bool], ...] = (
    ("IE3F10", "sea: straight bill of lading, complete dataset", Transport.SEA, False),
    ("IE3F11", "sea: master and house bills of lading, complete dataset", Transport.SEA, False),
    *(
        (f"IE3F{n}", "sea and inland waterways: partial dataset", Transport.SEA, False)
        for n in range(12, 18)
    ),
    ("IE3F20", "air: complete dataset, pre-loading", Transport.AIR, True),
    ("IE3F21", "air: partial dataset, master AWB, pre-arrival", Transport.AIR, False),
    ("IE3F22", "air: partial dataset, house AWB, pre-arrival", Transport.AIR, False),
    (
        "IE3F23",
        "air: PLACI minimum dataset, pre-loading, without master AWB reference",
        Transport.AIR,
        True,
    ),
    (
        "IE3F24",
        "air: PLACI minimum dataset, pre-loading, with master AWB reference",
        Transport.AIR,
        True,
    ),
    ("IE3F25", "air: master AWB reference, pre-loading", Transport.AIR, False),
    (
        "IE3F26",
        "air: PLACI minimum dataset and additional house AWB data, pre-loading",
        Transport.AIR,
        True,
    ),
    ("IE3F27", "air: complete dataset, pre-arrival", Transport.AIR, False),
    ("IE3F28", "air: complete dataset, direct AWB, pre-loading", Transport.AIR, True),
    ("IE3F29", "air: complete dataset, direct AWB, pre-arrival", Transport.AIR, False),
    ("IE3F30", "express filing", Transport.EXPRESS, False),
    ("IE3F31", "express filing", Transport.EXPRESS, False),
    ("IE3F32", "express: PLACI minimum dataset", Transport.EXPRESS, True),
    ("IE3F33", "express filing", Transport.EXPRESS, False),
    ("IE3F34", "express filing", Transport.EXPRESS, False),
    *((f"IE3F{n}", "postal filing", Transport.POSTAL, False) for n in range(40, 46)),
    ("IE3F50", "road filing", Transport.ROAD, False),
    ("IE3F51", "rail filing", Transport.RAIL, False),
)

_NO_AMENDMENT = frozenset({"IE3F25"})

# (id, direction, family, meaning, key, priority, attachments)
_OTHERS: tuple[tuple[str, Direction, Family, str, Key | None, str | None, bool], ...] = (
    ("IE3Q04", _T2C, Family.REQUEST, "invalidation request", Key.MRN, "C", False),
    ("IE3Q05", _T2C, Family.REQUEST, "ENS consultation request", Key.MRN, "C", False),
    ("IE3N06", _T2C, Family.NOTIFICATION, "arrival notification", Key.LRN, "A", False),
    (
        "IE3R02",
        _T2C,
        Family.RESPONSE,
        "answer to a request for additional information",
        Key.MRN,
        "B",
        True,
    ),
    (
        "IE3R03",
        _T2C,
        Family.RESPONSE,
        "answer to a high-risk-cargo screening request",
        Key.MRN,
        "A",
        True,
    ),
    ("IE3R01", _C2T, Family.RESPONSE, "ENS registered (LRN to MRN)", None, "B", False),
    ("IE3R04", _C2T, Family.RESPONSE, "arrival registered", None, "B", False),
    ("IE3R07", _C2T, Family.RESPONSE, "invalidation accepted", None, "C", False),
    ("IE3R08", _C2T, Family.RESPONSE, "consultation results", None, "B", False),
    ("IE3Q01", _C2T, Family.REQUEST, "do not load", None, "A", False),
    ("IE3Q02", _C2T, Family.REQUEST, "request for additional information (RFI)", None, "B", False),
    ("IE3Q03", _C2T, Family.REQUEST, "high-risk-cargo screening request (RFS)", None, "A", False),
    ("IE3N01", _C2T, Family.NOTIFICATION, "lifecycle validation error", None, "B", False),
    ("IE3N02", _C2T, Family.NOTIFICATION, "ENS not complete", None, "C", False),
    ("IE3N03", _C2T, Family.NOTIFICATION, "assessment complete", None, "A", False),
    ("IE3N04", _C2T, Family.NOTIFICATION, "RFI notification to the carrier", None, "C", False),
    ("IE3N05", _C2T, Family.NOTIFICATION, "RFS notification to the carrier", None, "C", False),
    ("IE3N07", _C2T, Family.NOTIFICATION, "ENS in an incorrect state", None, "C", False),
    ("IE3N08", _C2T, Family.NOTIFICATION, "control notification", None, "A", False),
    ("IE3N09", _C2T, Family.NOTIFICATION, "AEO control notification", None, "C", False),
    ("IE3N10", _C2T, Family.NOTIFICATION, "amendment accepted", None, "C", False),
    (
        "IE3N11",
        _C2T,
        Family.NOTIFICATION,
        "ENS pending (a party has not filed yet)",
        None,
        None,
        False,
    ),
    (
        "IE3N99",
        _C2T,
        Family.NOTIFICATION,
        "validation error (syntax or semantics)",
        None,
        "B",
        False,
    ),
)


def _build() -> dict[str, MessageType]:
    table: dict[str, MessageType] = {}
    for fid, meaning, transport, att in _FILINGS:
        aid = "IE3A" + fid[4:]
        has_twin = fid not in _NO_AMENDMENT
        table[fid] = MessageType(
            fid, _T2C, meaning, Family.FILING, transport, Key.LRN, "B", att,
            aid if has_twin else None,
        )  # fmt: skip
        if has_twin:
            table[aid] = MessageType(
                aid, _T2C, f"amendment of {fid} ({meaning})", Family.AMENDMENT, transport,
                Key.MRN, "B", att, fid,
            )  # fmt: skip
    for mid, direction, family, meaning, key, prio, att in _OTHERS:
        table[mid] = MessageType(mid, direction, meaning, family, None, key, prio, att)
    return dict(sorted(table.items()))


CATALOGUE: Mapping[str, MessageType] = MappingProxyType(_build())
"""Every ICS2 message id (ICS2-RULES §2) → its :class:`MessageType`. Read-only."""


def message_type(message_id: str) -> MessageType:
    """The catalogue entry of ``message_id``; an unknown id is an :class:`.Ics2InputError`."""
    try:
        return CATALOGUE[message_id]
    except KeyError:
        raise Ics2InputError(f"unknown ICS2 message id {message_id!r}") from None
