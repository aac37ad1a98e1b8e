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
from .explain import ExplainedError, Explanation, explain, locate
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
from .replies import KNOWN_CODES, ReferralRequest, Reply, ValidationError, parse_reply

__all__ = [
    "AGREEMENT_TYPE",
    "CATALOGUE",
    "DEFAULT_INTERFACE",
    "INTERFACE_VERSION",
    "KNOWN_CODES",
    "PAYLOAD_NAMESPACE",
    "SERVICE_C2T",
    "SERVICE_T2C",
    "SERVICE_TYPE",
    "Address",
    "Communication",
    "Direction",
    "EoriError",
    "EoriServiceError",
    "ExplainedError",
    "Explanation",
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
    "ReferralRequest",
    "Reply",
    "Severity",
    "Transport",
    "TransportDocument",
    "ValidationError",
    "build_filing",
    "check_eori",
    "check_filing",
    "check_lrn",
    "check_mrn",
    "eori_notes",
    "explain",
    "format_party_id",
    "is_eori",
    "locate",
    "message_type",
    "parse_filing",
    "parse_party_id",
    "parse_reply",
]
