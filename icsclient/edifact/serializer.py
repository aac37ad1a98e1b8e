"""Writing segments as EDIFACT text: release-escaped, no line breaks, repertoire-checked."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from operator import itemgetter

from ..errors import BuildError
from ._pieces import pieces_at
from .charsets import describe_char, invalid_char_pattern
from .segment import DEFAULT_CHARS, Segment, ServiceChars

_ESCAPE_TABLES: dict[ServiceChars, dict[int, str]] = {}


def _escape_table(chars: ServiceChars) -> dict[int, str]:
    table = _ESCAPE_TABLES.get(chars)
    if table is None:
        rel = chars.release
        table = {ord(c): rel + c for c in (chars.component, chars.element, chars.terminator, rel)}
        _ESCAPE_TABLES[chars] = table
    return table


def _locate(segment: Segment, predicate: object) -> tuple[int, int, str]:
    """Find (element, component, char) of the first character matching ``predicate``."""
    for i, element in enumerate(segment.elements, start=1):
        for j, component in enumerate(element, start=1):
            for ch in component:
                if predicate(ch):  # type: ignore[operator]
                    return i, j, ch
    raise AssertionError("unreachable: no offending character")  # pragma: no cover


def serialize_segment(
    segment: Segment, chars: ServiceChars = DEFAULT_CHARS, *, charset: str | None = "UNOC"
) -> str:
    """One segment as text including its terminator.

    ``charset`` is the syntax identifier whose repertoire every character must belong to
    (``None`` skips that check).  Refused characters raise :class:`BuildError` naming the
    segment, the element and the component (1-based, the tag not counted).
    """
    cs, es = chars.component, chars.element
    if chars.has_release:
        table = _escape_table(chars)
        body = es.join(cs.join(c.translate(table) for c in e) for e in segment.elements)
    else:
        specials = {cs, es, chars.terminator}
        for element in segment.elements:
            for component in element:
                if specials.intersection(component):
                    i, j, ch = _locate(segment, specials.__contains__)
                    raise BuildError(
                        f"segment {segment.tag}, element {i}, component {j}: "
                        f"{describe_char(ch)} is a separator and no release character is set"
                    )
        body = es.join(cs.join(e) for e in segment.elements)
    if charset is not None:
        bad = invalid_char_pattern(charset)
        if bad.search(body):
            i, j, ch = _locate(segment, lambda c: bad.match(c) is not None)
            raise BuildError(
                f"segment {segment.tag}, element {i}, component {j}: character "
                f"{describe_char(ch)} cannot be carried by syntax level {charset}"
            )
    if segment.elements:
        return f"{segment.tag}{es}{body}{chars.terminator}"
    return f"{segment.tag}{chars.terminator}"


_BATCH = 2048
_elements = itemgetter(1)


def iter_serialized(
    segments: Iterable[Segment], chars: ServiceChars = DEFAULT_CHARS, *, charset: str = "UNOC"
) -> Iterator[str]:
    """Serialized text of each segment, in order.

    Segments are taken in batches.  The components of a batch are joined and searched once
    for service characters and characters outside ``charset``; only the segments that
    hold one go through :func:`serialize_segment` (escaping, or the error naming the
    place), the others are joined as they are.
    """
    try:
        bad = invalid_char_pattern(charset)
    except KeyError:
        raise BuildError(f"unsupported syntax level {charset!r}") from None
    specials = chars.component + chars.element + chars.terminator
    if chars.has_release:
        specials += chars.release
    attention = re.compile(f"[{re.escape(specials)}]|{bad.pattern}")
    # a character that needs no attention joins a batch's texts (five candidates, of which
    # at most four are service characters)
    gap = next(c for c in " AZ09" if not attention.match(c))
    es, cs, term = chars.element, chars.component, chars.terminator
    flat = chain.from_iterable
    it = iter(segments)
    while batch := list(islice(it, _BATCH)):
        out = [f"{t}{es}{es.join(map(cs.join, e))}{term}" if e else f"{t}{term}" for t, e in batch]
        texts = list(map("".join, map(flat, map(_elements, batch))))
        hits = [m.start() for m in attention.finditer(gap.join(texts))]
        if hits:
            for index in pieces_at(texts, hits):
                out[index] = serialize_segment(batch[index], chars, charset=charset)
        yield from out


def serialize(
    segments: Iterable[Segment],
    *,
    chars: ServiceChars = DEFAULT_CHARS,
    syntax: str = "UNOC",
    una: bool = True,
) -> bytes:
    """Serialize segments to bytes (Latin-1), preceded by a UNA when ``una`` is true.

    No line breaks are written.  ``syntax`` (UNOA, UNOB or UNOC) decides which characters
    are refused with a :class:`BuildError` naming segment, element and component.
    """
    parts = [chars.una] if una else []
    parts.extend(iter_serialized(segments, chars, charset=syntax))
    return "".join(parts).encode("latin-1")
