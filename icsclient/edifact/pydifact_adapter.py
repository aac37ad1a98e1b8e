"""Conversion to and from pydifact objects, for users who already hold them.

pydifact is an optional dependency (``pip install icsclient[test]`` or ``pydifact``);
this module imports it on first use only.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from .._optional import require
from .envelope import Interchange, interchange_from_segments
from .segment import Segment, ServiceChars


def _pydifact() -> Any:
    for name in ("pydifact.control", "pydifact.segmentcollection", "pydifact.segments"):
        require(name, "the pydifact adapter")
    return sys.modules["pydifact"]


def to_pydifact_segment(segment: Segment) -> Any:
    """Our :class:`Segment` as a ``pydifact.segments.Segment``."""
    pd = _pydifact()
    return pd.segments.Segment(
        segment.tag, *[e[0] if len(e) == 1 else list(e) for e in segment.elements]
    )


def from_pydifact_segment(segment: Any) -> Segment:
    """A ``pydifact.segments.Segment`` as our :class:`Segment`."""
    elements: list[str | tuple[str, ...]] = []
    for e in segment.elements:
        elements.append(tuple(e) if isinstance(e, (list, tuple)) else e)
    return Segment(segment.tag, *elements)


def to_pydifact_interchange(interchange: Interchange) -> Any:
    """Our :class:`Interchange` as a ``pydifact.segmentcollection.Interchange``."""
    pd = _pydifact()
    unb = interchange.header
    chars = interchange.service_chars
    elements = [e[0] if len(e) == 1 else list(e) for e in unb.elements]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = pd.segmentcollection.Interchange(
            sender=elements[1],
            recipient=elements[2],
            control_reference=interchange.control_reference,
            syntax_identifier=(interchange.syntax_id, int(interchange.syntax_version or 3)),
            timestamp=interchange.prepared,
            characters=pd.control.Characters.from_str(chars.una),
            extra_header_elements=elements[5:],
        )
        result.has_una_segment = interchange.una
        for message in interchange.messages:
            for seg in message.all_segments():
                result.add_segment(to_pydifact_segment(seg))
    return result


def from_pydifact_interchange(interchange: Any, *, strict: bool = True) -> Interchange:
    """A ``pydifact.segmentcollection.Interchange`` as our checked :class:`Interchange`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        segments = [
            interchange.get_header_segment(),
            *interchange.segments,
            interchange.get_footer_segment(),
        ]
    chars = interchange.characters
    service = ServiceChars(
        chars.component_separator,
        chars.data_separator,
        chars.decimal_point,
        chars.escape_character,
        chars.reserved_character,
        chars.segment_terminator,
    )
    return interchange_from_segments(
        [from_pydifact_segment(s) for s in segments],
        service_chars=service,
        una=bool(getattr(interchange, "has_una_segment", True)),
        strict=strict,
    )
