"""Writing segments as EDIFACT text: release-escaped, no line breaks, repertoire-checked."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain, islice
from operator import itemgetter

from ..errors import BuildError
from ._pieces import pieces_at
from .charsets import SUPPORTED_SYNTAXES, describe_char, invalid_char_pattern
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


def _attention_table(chars: ServiceChars, charset: str) -> tuple[bytes, str]:
    """A ``bytes.translate`` table turning every byte that needs a closer look when
    serializing (a service character, or one ``charset`` cannot carry) into 0, and a
    character that needs none, to join texts with."""
    key = (chars, charset)
    found = _ATTENTION_TABLES.get(key)
    if found is None:
        bad = invalid_char_pattern(charset)
        specials = {chars.component, chars.element, chars.terminator}
        if chars.has_release:
            specials.add(chars.release)
        table = bytes(0 if chr(b) in specials or bad.match(chr(b)) else b for b in range(256))
        # five candidates, of which at most four are service characters
        gap = next(c for c in " AZ09" if table[ord(c)])
        found = _ATTENTION_TABLES[key] = (table, gap)
    return found


_ATTENTION_TABLES: dict[tuple[ServiceChars, str], tuple[bytes, str]] = {}


def _batches(segments: Iterable[Segment], chars: ServiceChars, charset: str) -> Iterator[bytes]:
    """The serialized text of the segments, a batch at a time, encoded as Latin-1.

    The components of a batch are joined and looked at once (one C-level translate) for
    service characters and characters outside ``charset``; only the segments that hold
    one go through :func:`serialize_segment` (escaping, or the error naming the place),
    the others are joined as they are.
    """
    if charset not in SUPPORTED_SYNTAXES:
        raise BuildError(f"unsupported syntax level {charset!r}")
    table, gap = _attention_table(chars, charset)
    es, cs, term = chars.element, chars.component, chars.terminator
    flat = chain.from_iterable
    it = iter(segments)
    while batch := list(islice(it, _BATCH)):
        out = [f"{t}{es}{es.join(map(cs.join, e))}{term}" if e else f"{t}{term}" for t, e in batch]
        texts = list(map("".join, map(flat, map(_elements, batch))))
        joined = gap.join(texts)
        try:
            marked = joined.encode("latin-1").translate(table)
        except UnicodeEncodeError:  # beyond Latin-1, which no syntax level carries:
            hits: Iterable[int] = range(len(batch))  # an error, raised for the first such
        else:
            found = []
            k = marked.find(0)
            while k >= 0:
                found.append(k)
                k = marked.find(0, k + 1)
            hits = sorted(pieces_at(texts, found)) if found else []
        for index in hits:
            out[index] = serialize_segment(batch[index], chars, charset=charset)
        # every character is now one the syntax level (a subset of Latin-1) carries
        yield "".join(out).encode("latin-1")


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
    parts = [chars.una.encode("latin-1")] if una else []
    parts.extend(_batches(segments, chars, syntax))
    return b"".join(parts)
