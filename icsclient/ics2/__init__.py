"""EU Import Control System 2 (ICS2): Entry Summary Declarations as XML, filed through AS4.

This package is the ICS2 twin of :mod:`icsclient.ics` (see ``ICS2-RULES.md``): identifiers, the
message catalogue, the ENS model with its filings and the customs replies, and, in
``icsclient.ics2.as4``, the AS4 access-point messages. It needs the ``ics2`` extra
(``pip install 'icsclient[ics2]'``).
"""

from .catalogue import (
    AGREEMENT_TYPE,
    CATALOGUE,
    DEFAULT_INTERFACE,
    INTERFACE_VERSION,
    PAYLOAD_NAMESPACE,
    SERVICE_C2T,
    SERVICE_T2C,
    SERVICE_TYPE,
    Direction,
    Family,
    Ics2Interface,
    Key,
    MessageType,
    Transport,
    message_type,
)
from .errors import (
    EoriError,
    EoriServiceError,
    FilingError,
    Ics2InputError,
    Ics2XmlError,
    PartyIdError,
    ReferenceNumberError,
)
from .findings import Finding, Severity

__all__ = [
    "AGREEMENT_TYPE",
    "CATALOGUE",
    "DEFAULT_INTERFACE",
    "INTERFACE_VERSION",
    "PAYLOAD_NAMESPACE",
    "SERVICE_C2T",
    "SERVICE_T2C",
    "SERVICE_TYPE",
    "Direction",
    "EoriError",
    "EoriServiceError",
    "Family",
    "FilingError",
    "Finding",
    "Ics2InputError",
    "Ics2Interface",
    "Ics2XmlError",
    "Key",
    "MessageType",
    "PartyIdError",
    "ReferenceNumberError",
    "Severity",
    "Transport",
    "message_type",
]
