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
from .check import check_filing
from .errors import (
    EoriError,
    EoriServiceError,
    FilingError,
    Ics2InputError,
    Ics2XmlError,
    PartyIdError,
    ReferenceNumberError,
)
from .filings import build_filing, parse_filing
from .findings import Finding, Severity
from .identifiers import (
    LrnGenerator,
    PartyId,
    check_eori,
    check_lrn,
    check_mrn,
    eori_notes,
    format_party_id,
    is_eori,
    parse_party_id,
)
from .model import (
    Address,
    Communication,
    Filing,
    GoodsItem,
    HouseConsignment,
    MasterConsignment,
    Packaging,
    Party,
    Place,
    TransportDocument,
)

__all__ = [
    "AGREEMENT_TYPE",
    "CATALOGUE",
    "DEFAULT_INTERFACE",
    "INTERFACE_VERSION",
    "PAYLOAD_NAMESPACE",
    "SERVICE_C2T",
    "SERVICE_T2C",
    "SERVICE_TYPE",
    "Address",
    "Communication",
    "Direction",
    "EoriError",
    "EoriServiceError",
    "Family",
    "Filing",
    "FilingError",
    "Finding",
    "GoodsItem",
    "HouseConsignment",
    "Ics2InputError",
    "Ics2Interface",
    "Ics2XmlError",
    "Key",
    "LrnGenerator",
    "MasterConsignment",
    "MessageType",
    "Packaging",
    "Party",
    "PartyId",
    "PartyIdError",
    "Place",
    "ReferenceNumberError",
    "Severity",
    "Transport",
    "TransportDocument",
    "build_filing",
    "check_eori",
    "check_filing",
    "check_lrn",
    "check_mrn",
    "eori_notes",
    "format_party_id",
    "is_eori",
    "message_type",
    "parse_filing",
    "parse_party_id",
]
