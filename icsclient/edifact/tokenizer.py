"""A streaming, strict, release-aware EDIFACT tokenizer.

Bytes are decoded as Latin-1, so every character offset is a byte offset and no input
can fail to decode; the interchange's repertoire is checked afterwards by the envelope
checker.  The input is read in chunks and never held whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, TypeAlias

from ..errors import BuildError, EdifactSyntaxError
from .segment import DEFAULT_CHARS, Element, Segment, ServiceChars

Source: TypeAlias = "bytes | bytearray | memoryview | str | IO[bytes]"

CHUNK_SIZE = 1 << 20
_BOM = "\xef\xbb\xbf"  # a UTF-8 BOM as decoded by Latin-1
_LEADING = " \t\r\n"


def _chunks(data: Source, chunk_size: int) -> Iterator[str]:
    if isinstance(data, str):
        for i in range(0, len(data), chunk_size):
            yield data[i : i + chunk_size]
        return
    if isinstance(data, (bytes, bytearray, memoryview)):
        view = memoryview(data)
        for i in range(0, len(view), chunk_size):
            yield bytes(view[i : i + chunk_size]).decode("latin-1")
        return
    read = getattr(data, "read", None)
    if read is None:
        raise TypeError(
            f"iter_segments() takes bytes, str or a binary file object, not {type(data).__name__}"
        )
    while True:
        block = read(chunk_size)
        if not block:
            return
        yield block if isinstance(block, str) else bytes(block).decode("latin-1")


class SegmentReader(Iterator[Segment]):
    """Iterator of :class:`Segment` with what the tokenizer learnt on the way.

    ``service_chars`` and ``una`` (the UNA text or ``None``) are known once the first
    segment has been read; ``skipped_prefix`` is the number of bytes (a UTF-8 BOM,
    whitespace) tolerated before the first segment; ``segment_number`` is the number of
    segments read so far (UNA not counted) and ``offset`` the byte offset of the next one.
    """

    def __init__(self, data: Source, *, chunk_size: int = CHUNK_SIZE) -> None:
        self._chunks = _chunks(data, chunk_size)
        self.service_chars: ServiceChars = DEFAULT_CHARS
        self.una: str | None = None
        self.skipped_prefix = 0
        self.segment_number = 0
        self.offset = 0
        #: set by the envelope checker: segments whose raw text matches are added to
        #: ``flagged`` (by segment number) for a detailed repertoire check
        self.invalid_chars: re.Pattern[str] | None = None
        self.flagged: set[int] = set()
        self._gen = self._run()

    def __next__(self) -> Segment:
        return next(self._gen)

    def __iter__(self) -> SegmentReader:
        return self

    def _error(self, message: str, offset: int, segment_number: int) -> EdifactSyntaxError:
        return EdifactSyntaxError(message, offset=offset, segment_number=segment_number)

    def _start(self) -> tuple[str, int]:
        """Read enough to see the UNA; returns the pending text and its offset."""
        text = ""
        for chunk in self._chunks:
            text += chunk
            if len(text) - _prefix_len(text) >= 9:
                break
        offset = _prefix_len(text)
        self.skipped_prefix = offset
        rest = text[offset:]
        if not rest.startswith("UNA"):
            return rest, offset
        if len(rest) < 9:
            raise self._error("UNA service string advice is cut short", offset, 0)
        una = rest[:9]
        try:
            chars = ServiceChars(*una[3:9])
        except BuildError as exc:
            raise self._error(
                f"invalid UNA service string advice {una!r}: {exc}", offset, 0
            ) from None
        self.service_chars = chars
        self.una = una
        return rest[9:], offset + 9

    def _run(self) -> Iterator[Segment]:
        pending, base = self._start()
        chars = self.service_chars
        term, es, cs = chars.terminator, chars.element, chars.component
        rel = chars.release if chars.has_release else None
        number = 0
        valid_tags: set[str] = set()
        escaped = re.compile(re.escape(rel) + "(.)", re.S) if rel else None
        allowed_escapes = {cs, es, term, rel} if rel else set()
        exhausted = False
        while True:
            if not exhausted:
                chunk = next(self._chunks, None)
                if chunk is None:
                    exhausted = True
                else:
                    pending += chunk
                    if term not in chunk and len(pending) < (1 << 26):
                        continue
            pieces = pending.split(term)
            pending = pieces.pop()
            if rel is not None and pieces:
                pieces = _merge_escaped(pieces, term, rel)
                # a piece ending in an odd run of release characters escaped the terminator
                # that followed it; if it is the last piece it must wait for more text
                last = pieces[-1]
                if (len(last) - len(last.rstrip(rel))) % 2:
                    pending = pieces.pop() + term + pending
            for text in pieces:
                seg_offset = base
                base += len(text) + 1
                number += 1
                if text and text[0] in "\r\n":
                    stripped = text.lstrip("\r\n")
                    seg_offset += len(text) - len(stripped)
                    text = stripped
                if not text:
                    raise self._error("empty segment", seg_offset, number)
                inv = self.invalid_chars
                if inv is not None and inv.search(text):
                    self.flagged.add(number)
                if rel is None or rel not in text:
                    parts = text.split(es)
                    tag = parts[0]
                    elements: tuple[Element, ...] = tuple([tuple(p.split(cs)) for p in parts[1:]])
                else:
                    if text.startswith("UNA"):
                        raise self._error(
                            "UNA service string advice is only allowed at the start",
                            seg_offset,
                            number,
                        )
                    tag, elements = self._split_escaped(
                        text, es, cs, rel, escaped, allowed_escapes, seg_offset, number
                    )
                if tag not in valid_tags:
                    if len(tag) == 3 and tag.isascii() and tag.isalnum() and tag.isupper():
                        if tag == "UNA":
                            raise self._error(
                                "UNA service string advice is only allowed at the start",
                                seg_offset,
                                number,
                            )
                        valid_tags.add(tag)
                    else:
                        raise self._error(f"invalid segment tag {tag[:20]!r}", seg_offset, number)
                self.segment_number = number
                self.offset = base
                yield Segment._make(tag, elements)
            if exhausted:
                break
        rest = pending.strip("\r\n")
        if rest:
            lead = len(pending) - len(pending.lstrip("\r\n"))
            raise self._error(
                f"text after the last segment terminator {chars.terminator!r}: {rest[:20]!r}",
                base + lead,
                number + 1,
            )

    def _split_escaped(
        self,
        text: str,
        es: str,
        cs: str,
        rel: str,
        escaped: re.Pattern[str] | None,
        allowed: set[str],
        offset: int,
        number: int,
    ) -> tuple[str, tuple[Element, ...]]:
        assert escaped is not None
        for m in escaped.finditer(text):
            if m.group(1) not in allowed:
                raise self._error(
                    f"release character {rel!r} before {m.group(1)!r}, which is not a "
                    "service character",
                    offset + m.start(),
                    number,
                )
        parts = _merge_escaped(text.split(es), es, rel)
        tag = parts[0]
        elements: list[Element] = []
        for part in parts[1:]:
            comps = _merge_escaped(part.split(cs), cs, rel) if rel in part else part.split(cs)
            elements.append(tuple([escaped.sub(r"\1", c) if rel in c else c for c in comps]))
        return tag, tuple(elements)


def _prefix_len(text: str) -> int:
    """Length of the tolerated prefix: whitespace, at most one UTF-8 BOM, whitespace."""
    i, n = 0, len(text)
    while i < n and text[i] in _LEADING:
        i += 1
    if text.startswith(_BOM, i):
        i += 3
    while i < n and text[i] in _LEADING:
        i += 1
    return i


def _merge_escaped(pieces: list[str], sep: str, rel: str) -> list[str]:
    """Re-join pieces split at a separator that an odd run of release characters escaped."""
    out: list[str] = []
    carry: str | None = None
    for piece in pieces:
        if carry is not None:
            piece = carry + sep + piece
            carry = None
        if piece.endswith(rel) and (len(piece) - len(piece.rstrip(rel))) % 2:
            carry = piece
        else:
            out.append(piece)
    if carry is not None:
        out.append(carry)
    return out


def iter_segments(data: Source, *, chunk_size: int = CHUNK_SIZE) -> SegmentReader:
    """Tokenize EDIFACT ``data`` (bytes, str or a binary file object) into segments.

    Returns a :class:`SegmentReader`, an iterator of :class:`Segment` that also exposes the
    service characters in use.  Malformed input raises :class:`EdifactSyntaxError` naming
    the byte offset and the segment number.
    """
    return SegmentReader(data, chunk_size=chunk_size)
