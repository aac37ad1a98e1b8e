"""The UN/EDIFACT syntax layer: service characters, tokenizer, serializer, envelope checks."""

from .codes import ACTIONS, SYNTAX_ERRORS, action_meaning, syntax_error_meaning
from .envelope import Finding, Interchange, Message, parse_interchange
from .segment import DEFAULT_CHARS, Element, Segment, ServiceChars
from .serializer import serialize, serialize_segment
from .tokenizer import SegmentReader, iter_segments

__all__ = [
    "ACTIONS",
    "DEFAULT_CHARS",
    "SYNTAX_ERRORS",
    "Element",
    "Finding",
    "Interchange",
    "Message",
    "Segment",
    "SegmentReader",
    "ServiceChars",
    "action_meaning",
    "iter_segments",
    "parse_interchange",
    "serialize",
    "serialize_segment",
    "syntax_error_meaning",
]
