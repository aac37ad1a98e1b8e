"""Writing segments as EDIFACT text: release-escaped, no line breaks, repertoire-checked."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice, repeat
from operator import itemgetter

from ..errors import BuildError
from ._pieces import pieces_at
from .charsets import SUPPORTED_SYNTAXES, describe_char, invalid_char_pattern
from .segment import DEFAULT_CHARS, Segment, ServiceChars

_ESCAPERS: dict[ServiceChars, tuple[re.Pattern[str], Callable[[str], str]]] = {}


def _escaper(chars: ServiceChars) -> tuple[re.Pattern[str], Callable[[str], str]]:
    """A pattern finding the service characters in a text, and a function escaping them
    with the release character (called only when there is one: :func:`_body` refuses
    them otherwise)."""
    found = _ESCAPERS.get(chars)
    if found is None:
        rel = chars.release
        specials = [chars.component, chars.element, chars.terminator]
        if chars.has_release:
            specials.insert(0, rel)  # first: the releases put in by the others stay single
        pairs = [(c, rel + c) for c in specials]

        def escape(text: str) -> str:
            for char, escaped in pairs:
                text = text.replace(char, escaped)
            return text

        pattern = re.compile("[" + re.escape("".join(specials)) + "]")
        found = _ESCAPERS[chars] = (pattern, escape)
    return found


def _locate(segment: Segment, predicate: object) -> tuple[int, int, str]:
    """Find (element, component, char) of the first character matching ``predicate``."""
    for i, element in enumerate(segment.elements, start=1):
        for j, component in enumerate(element, start=1):
            for ch in component:
                if predicate(ch):  # type: ignore[operator]
                    return i, j, ch
    raise AssertionError("unreachable: no offending character")  # pragma: no cover


def _trimmed(elements: Iterable[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """``elements`` without trailing empty components and trailing empty elements.

    ISO 9735 (and the CCF) ask for only the significant characters: ``("CN", "", "")``
    is written ``CN`` and a segment's empty last elements are left out, as pydifact and
    bots write them (``NAD+CN++X``, not ``NAD+CN::++X::``).
    """
    out: list[tuple[str, ...]] = []
    for element in elements:
        k = len(element)
        while k > 1 and not element[k - 1]:
            k -= 1
        out.append(element if k == len(element) else element[:k])
    while out and out[-1] == ("",):
        out.pop()
    return out


def _body(segment: Segment, chars: ServiceChars, charset: str | None) -> str:
    """The elements of ``segment`` as escaped text, between the tag's element separator
    and the terminator, trailing empty components and elements left out (see
    :func:`_trimmed`); refused characters raise :class:`BuildError`."""
    elements: Iterable[Iterable[str]] = _trimmed(segment.elements)
    content = "".join(chain.from_iterable(elements))
    pattern, escape = _escaper(chars)
    if pattern.search(content):
        if not chars.has_release:
            i, j, ch = _locate(segment, pattern.match)
            raise BuildError(
                f"segment {segment.tag}, element {i}, component {j}: "
                f"{describe_char(ch)} is a separator and no release character is set"
            )
        elements = [map(escape, element) for element in _trimmed(segment.elements)]
    if charset is not None:
        bad = invalid_char_pattern(charset)
        if bad.search(content):
            i, j, ch = _locate(segment, bad.match)
            raise BuildError(
                f"segment {segment.tag}, element {i}, component {j}: character "
                f"{describe_char(ch)} cannot be carried by syntax level {charset}"
            )
    return chars.element.join(map(chars.component.join, elements))


def serialize_segment(
    segment: Segment, chars: ServiceChars = DEFAULT_CHARS, *, charset: str | None = "UNOC"
) -> str:
    """One segment as text including its terminator.

    ``charset`` is the syntax identifier whose repertoire every character must belong to
    (``None`` skips that check).  Refused characters raise :class:`BuildError` naming the
    segment, the element and the component (1-based, the tag not counted).
    """
    body = _body(segment, chars, charset)
    if body:
        return f"{segment.tag}{chars.element}{body}{chars.terminator}"
    return f"{segment.tag}{chars.terminator}"


_BATCH = 2048
_tags = itemgetter(0)
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

    See :func:`_batch_parts`; every character is one the syntax level (a subset of
    Latin-1) carries once it has passed there.
    """
    term = chars.terminator
    for tags, seps, bodies in _batch_parts(segments, chars, charset, check=True):
        yield "".join(chain.from_iterable(zip(tags, seps, bodies, repeat(term)))).encode("latin-1")


def segment_texts(segments: Iterable[Segment], chars: ServiceChars = DEFAULT_CHARS) -> list[str]:
    """Each segment's EDIFACT text, escaped, without its terminator, for display.

    As fast as :func:`serialize` (the same batched path); no character is refused, so
    what was received can always be shown.
    """
    out: list[str] = []
    for tags, seps, bodies in _batch_parts(segments, chars, "UNOC", check=False):
        out.extend(map("".join, zip(tags, seps, bodies, strict=False)))
    return out


def _batch_parts(
    segments: Iterable[Segment], chars: ServiceChars, charset: str, *, check: bool
) -> Iterator[tuple[list[str], Iterable[str], list[str]]]:
    """Tags, separators after them and escaped bodies of the segments, a batch at a time.

    All the components of a batch are joined and looked at once (one C-level translate)
    for service characters and characters outside ``charset``; only the segments that
    hold one go through :func:`_body` (escaping, or -- with ``check`` -- the error naming
    the place), the others are joined as they are, in C loops.
    """
    if charset not in SUPPORTED_SYNTAXES:
        raise BuildError(f"unsupported syntax level {charset!r}")
    table, gap = _attention_table(chars, charset)
    es, cs = chars.element, chars.component
    refuse = charset if check else None
    flat = chain.from_iterable
    it = iter(segments)
    while batch := list(islice(it, _BATCH)):
        elements = list(map(_elements, batch))
        bodies = list(map(es.join, map(map, repeat(cs.join), elements)))
        # each body is its components joined by one character: the components joined
        # by ``gap`` line up with the bodies joined by ``gap``, position for position
        every_segment_has_elements = all(elements)
        if every_segment_has_elements:
            content: Iterable[str] = flat(flat(elements))
        else:  # a segment with no elements: an empty body, an empty text here
            content = map(gap.join, map(flat, elements))
        try:
            marked = gap.join(content).encode("latin-1").translate(table)
        except UnicodeEncodeError:  # beyond Latin-1, which no syntax level carries:
            hits: Iterable[int] = range(len(batch))  # an error, raised for the first such
        else:
            hits = sorted(pieces_at(bodies, _zeros(marked))) if 0 in marked else ()
        for index in hits:
            bodies[index] = _body(batch[index], chars, refuse)
        if _may_have_trailing_empties(bodies, cs, es):
            for index, body in enumerate(bodies):
                if not body or body.endswith((cs, es)) or cs + es in body:
                    bodies[index] = _body(batch[index], chars, refuse)
            every_segment_has_elements = all(bodies)
        seps: Iterable[str]
        if every_segment_has_elements:
            seps = repeat(es)
        else:  # a segment with no (significant) elements is its tag and terminator
            seps = [es if body else "" for body in bodies]
        yield list(map(_tags, batch)), seps, bodies


def _may_have_trailing_empties(bodies: list[str], cs: str, es: str) -> bool:
    """Whether any body may end an element or the segment with empty data (one C-level
    search over the batch; an escaped separator before an element separator or at the
    end is a false alarm that the exact check in :func:`_trimmed` settles)."""
    joined = "\n".join(bodies) + "\n"
    return (
        (cs + es) in joined
        or (cs + "\n") in joined
        or (es + "\n") in joined
        or ("\n\n" in joined or joined.startswith("\n"))
    )


def _zeros(marked: bytes) -> list[int]:
    """The offsets of the zero bytes in ``marked``."""
    found = []
    k = marked.find(0)
    while k >= 0:
        found.append(k)
        k = marked.find(0, k + 1)
    return found


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
