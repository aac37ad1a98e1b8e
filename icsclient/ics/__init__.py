"""The ICS domain: the CCF envelope, site IDs and names, responses and acknowledgements."""

from .catalogue import CATALOGUE, Direction, DocumentCatalogue, DocumentType, document
from .contrl import (
    ActionCode,
    ContrlReport,
    ElementError,
    ErrorCode,
    MessageReport,
    SegmentError,
    build_contrl,
    build_contrl_interchange,
    parse_contrl,
    parse_contrl_all,
)
from .cusres import CusresResponse, Outcome, ResponseError, parse_cusres, parse_cusres_all
from .data import format_number, format_time, normalise_text, round2
from .envelope import MAX_INTERCHANGE_BYTES, SYDNEY, build_interchange
from .icontrl import build_icontrl, needs_acknowledgement
from .names import (
    CCF_SITE,
    MAX_ICR,
    SubjectFields,
    attachment_filename,
    email_subject,
    parse_attachment_filename,
    parse_subject,
)
from .ordering import ResponseArrival, compare_responses, newer_response
from .sequence import IcrSequence

__all__ = [
    "CATALOGUE",
    "CCF_SITE",
    "MAX_ICR",
    "MAX_INTERCHANGE_BYTES",
    "SYDNEY",
    "ActionCode",
    "ContrlReport",
    "CusresResponse",
    "Direction",
    "DocumentCatalogue",
    "DocumentType",
    "ElementError",
    "ErrorCode",
    "IcrSequence",
    "MessageReport",
    "Outcome",
    "ResponseArrival",
    "ResponseError",
    "SegmentError",
    "SubjectFields",
    "attachment_filename",
    "build_contrl",
    "build_contrl_interchange",
    "build_icontrl",
    "build_interchange",
    "compare_responses",
    "document",
    "email_subject",
    "format_number",
    "format_time",
    "needs_acknowledgement",
    "newer_response",
    "normalise_text",
    "parse_attachment_filename",
    "parse_contrl",
    "parse_contrl_all",
    "parse_cusres",
    "parse_cusres_all",
    "parse_subject",
    "round2",
]
