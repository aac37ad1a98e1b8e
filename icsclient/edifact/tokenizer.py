"""A streaming, strict, release-aware EDIFACT tokenizer.

Bytes are decoded as Latin-1, so every character offset is a byte offset and no input
can fail to decode; the interchange's repertoire is checked afterwards by the envelope
checker.  The input is read in chunks and never held whole.
"""

from __future__ import annotations

import functools
import gc
import re
from collections.abc import Callable, Iterator
from functools import partial
from itertools import chain, repeat
from operator import itemgetter
from typing import IO, TypeAlias

from ..errors import BuildError, EdifactSyntaxError
from ._pieces import pieces_at
from .charsets import invalid_char_pattern, valid_latin1_bytes
from .segment import DEFAULT_CHARS, Element, Segment, ServiceChars

Source: TypeAlias = "bytes | bytearray | memoryview | str | IO[bytes]"

# Small chunks make small blocks: a block's new objects (~ 16 bytes of them per byte of
# text) are built and handed on while they are still in the processor's cache.  With
# 256 KiB blocks streaming ran at 6 MB/s, with 16 KiB at 8-10 MB/s, for the same work.
CHUNK_SIZE = 1 << 14
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
    ``share`` says whether equal element texts give one shared tuple (see
    :func:`iter_segments`).
    """

    def __init__(
        self,
        data: Source,
        *,
        chunk_size: int = CHUNK_SIZE,
        repertoire: str = "UNOC",
        share: bool = False,
    ) -> None:
        self._chunks = _chunks(data, chunk_size)
        self.share = share
        self.service_chars: ServiceChars = DEFAULT_CHARS
        self.una: str | None = None
        self.skipped_prefix = 0
        self.segment_number = 0
        self.offset = 0
        #: numbers of the segments holding a character outside ``repertoire`` (a syntax
        #: identifier); the envelope checker looks at those in detail
        self.flagged: set[int] = set()
        self._invalid = invalid_char_pattern(repertoire)
        # the bytes a Latin-1 block may hold without a closer look (CR/LF not among them)
        self._valid_bytes = valid_latin1_bytes(repertoire) + b"\r\n"  # see _run
        # each block's segments are made as a list; chain hands them on from C, with no
        # generator frame resumed per segment
        self._gen: Iterator[Segment] = chain.from_iterable(self._run())

    def __next__(self) -> Segment:
        return next(self._gen)

    def __iter__(self) -> Iterator[Segment]:
        # iterate the chain itself: no Python-level __next__ per segment
        return self._gen

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
            chars = _service_chars(una)
        except BuildError as exc:
            raise self._error(
                f"invalid UNA service string advice {una!r}: {exc}", offset, 0
            ) from None
        self.service_chars = chars
        self.una = una
        return rest[9:], offset + 9

    def _blocks(self, pending: str, base: int) -> Iterator[tuple[str, int]]:
        """Yield (text, offset) blocks that end just after an unescaped terminator."""
        chars = self.service_chars
        term = chars.terminator
        rel = chars.release if chars.has_release else None
        for chunk in self._chunks:
            pending += chunk
            cut = pending.rfind(term)
            if rel is not None:
                while cut > 0 and pending[cut - 1] == rel:
                    run = cut - len(pending[:cut].rstrip(rel))
                    if run % 2 == 0:
                        break
                    cut = pending.rfind(term, 0, cut - run)
            if cut < 0:
                if len(pending) > (1 << 26):
                    raise self._error(
                        f"no segment terminator {term!r} in 64 MiB", base, self.segment_number + 1
                    )
                continue
            block, pending = pending[: cut + 1], pending[cut + 1 :]
            yield block, base
            base += len(block)
        if pending:
            yield pending, base

    def _run(self) -> Iterator[list[Segment]]:
        """The segments of each block in turn, as lists."""
        pending, base = self._start()
        chars = self.service_chars
        term, rel = chars.terminator, chars.release if chars.has_release else ""
        # escaped pairs become private-use sentinels before splitting, and are restored in
        # the components that hold them: no re-joining of split pieces needed
        escaped_chars = (rel, term, chars.element, chars.component)
        escapes = [rel + ch for ch in escaped_chars]
        valid_tags = _VALID_TAGS
        una_at_start = re.compile(f"(?:^|{re.escape(term)}[\r\n]*)UNA")
        # element text -> components, kept from block to block (up to _CACHE_LIMIT texts)
        cache = _ElementCache(chars.component) if self.share else None
        for block, offset in self._blocks(pending, base):
            if cache is not None and len(cache) > _CACHE_LIMIT:
                cache.clear()
            first = self.segment_number + 1
            sentinels: tuple[str, ...] = ()
            pairs: list[tuple[str, str]] = []  # (sentinel, the character it stands for)
            folded_at: list[int] = []  # where the sentinels are: none, nothing escaped
            # before escapes fold into sentinels; CR/LF are looked at once split
            suspect = self._may_be_invalid(block)
            if rel and rel in block:
                sentinels = _pick_sentinels(block)
                if not sentinels:
                    raise self._error(
                        "this block of text holds every control and private-use character",
                        offset,
                        first,
                    )
                pairs = list(zip(sentinels, escaped_chars, strict=True))
                folded = _fold(block, rel, {char: sentinel for sentinel, char in pairs})
                if folded is None:  # a release character out of place: found exactly below
                    for esc, sentinel in zip(escapes, sentinels, strict=True):
                        block = block.replace(esc, sentinel)
                else:
                    block, folded_at = folded
                misplaced = "UNA" in block and una_at_start.search(block)
                if misplaced:
                    k = misplaced.end() - 3
                    raise self._error(
                        "UNA service string advice is only allowed at the start",
                        offset + _original(block, k, sentinels),
                        first + block.count(term, 0, k),
                    )
                k = block.find(rel)
                if k >= 0:
                    nxt = block[k + 1 : k + 2]
                    raise self._error(
                        f"release character {rel!r} before {nxt!r}, which is not a service "
                        "character"
                        if nxt
                        else f"release character {rel!r} at the end of the data",
                        offset + _original(block, k, sentinels),
                        first + block.count(term, 0, k),
                    )
            pieces = block.split(term)
            rest = pieces.pop()
            if rest.strip("\r\n"):
                k = len(block) - len(rest) + len(rest) - len(rest.lstrip("\r\n"))
                tail = _unfold(rest.strip("\r\n"), pairs)
                raise self._error(
                    f"text after the last segment terminator {term!r}: {tail[:20]!r}",
                    offset + _original(block, k, sentinels),
                    first + len(pieces),
                )
            raw = pieces
            if "\n" in block or "\r" in block:
                pieces = [p.lstrip("\r\n") if p[:1] in "\r\n" else p for p in pieces]
                inside = "".join(pieces)  # CR/LF between segments are fine, not inside one
                suspect = suspect or "\r" in inside or "\n" in inside
            if suspect and self._invalid.search(block):
                self.flagged.update(
                    first + i
                    for i in _pieces_matching(self._invalid, block, raw, pieces)
                    if self._invalid.search(_unfold(pieces[i], pairs))
                )
            gc_was_enabled = gc.isenabled()
            gc.disable()  # building many small tuples: the collector would only slow it down
            try:
                segments = _tokenize(pieces, chars, cache, valid_tags)
                if folded_at:
                    # sentinels are control or private-use characters: not printable
                    for i in _segments_at(block, term, folded_at):
                        tag, elements = segments[i]
                        restored = [
                            tuple([c if c.isprintable() else _unfold(c, pairs) for c in e])
                            for e in elements
                        ]
                        segments[i] = _new_segment((tag, tuple(restored)))
            except _Fault as fault:
                i = fault.index
                raw = block.split(term)
                k = sum(len(p) + 1 for p in raw[:i]) + len(raw[i]) - len(pieces[i])
                raise self._error(
                    fault.reason, offset + _original(block, k, sentinels), first + i
                ) from None
            finally:
                if gc_was_enabled:
                    gc.enable()
            self.segment_number += len(segments)
            self.offset = offset + len(block)
            yield segments

    def _may_be_invalid(self, block: str) -> bool:
        """Whether ``block`` may hold a character outside the repertoire (fast, C loops)."""
        try:
            return bool(block.encode("latin-1").translate(None, self._valid_bytes))
        except UnicodeEncodeError:
            return True


def _tokenize(
    pieces: list[str], chars: ServiceChars, cache: _ElementCache | None, valid_tags: set[str]
) -> list[Segment]:
    """Segments from the texts of one block; a fault carries the piece's index."""
    parts = list(map(str.split, pieces, repeat(chars.element)))
    tags = list(map(_first, parts))
    if not valid_tags.issuperset(tags):
        for i, tag in enumerate(tags):
            if tag not in valid_tags:
                _check_tag(tag, pieces[i], i)
                valid_tags.add(tag)
    if cache is None:  # ~10% faster than the lookups below, with no tuple shared
        sep = chars.component
        # most elements have one component: a 1-tuple made directly, no list in between
        elements = [
            tuple([(e,) if sep not in e else tuple(e.split(sep)) for e in p[1:]]) for p in parts
        ]
    else:
        # element texts repeat a lot (qualifiers, codes, units): each is split once, and
        # all its occurrences share one tuple of components
        element = cache.__getitem__
        elements = list(map(tuple, map(map, repeat(element), map(_rest, parts))))
    # tuple.__new__(Segment, (tag, elements)) for each, without a partial in between
    return list(map(tuple.__new__, repeat(Segment), zip(tags, elements, strict=True)))


class _Fault(Exception):
    """A fault in the ``index``-th segment of a block."""

    def __init__(self, reason: str, index: int) -> None:
        self.reason = reason
        self.index = index


def _check_tag(tag: str, piece: str, index: int) -> None:
    if not piece:
        raise _Fault("empty segment", index)
    if piece.startswith("UNA"):
        raise _Fault("UNA service string advice is only allowed at the start", index)
    if not (len(tag) == 3 and tag.isascii() and tag.isalnum() and tag.isupper()):
        raise _Fault(f"invalid segment tag {tag[:20]!r}", index)


# characters a block cannot carry validly (C0 controls bar CR/LF), then private-use ones:
# four of those absent from a block stand in for its escaped pairs while it is split
_SENTINEL_CANDIDATES = tuple(chr(c) for c in range(1, 32) if c not in (10, 13)) + tuple(
    chr(c) for c in range(0xE000, 0xF900)
)


def _pieces_matching(
    pattern: re.Pattern[str], block: str, raw: list[str], pieces: list[str]
) -> list[int]:
    """Indexes of the pieces (``pieces[i]`` is ``raw[i]`` less leading CR/LF) that
    ``pattern`` matches, found from the matches in the whole ``block``."""
    hits = [m.start() for m in pattern.finditer(block)]
    if not hits:
        return []
    candidates = sorted(pieces_at(raw, hits) - {len(raw)})
    return [i for i in candidates if pattern.search(pieces[i])]


def _fold(block: str, rel: str, sentinel: dict[str, str]) -> tuple[str, list[int]] | None:
    """``block`` with each escaped pair (the release character and the service character
    it escapes) turned into that character's sentinel, in one split and one join, and the
    sentinels' offsets in the result; ``None`` if a release character escapes nothing (the
    caller then finds and reports it)."""
    parts = block.split(rel)
    out = [parts[0]]
    at: list[int] = []
    length = len(parts[0])
    i, n = 1, len(parts)
    while i < n:
        part = parts[i]
        if part:  # the release character escaped the first character of this part
            folded = sentinel.get(part[0])
            if folded is None:
                return None
            rest = part[1:]
        elif i + 1 < n:  # two release characters in a row: the first escaped the second,
            folded = sentinel[rel]  # and what follows is plain text
            i += 1
            rest = parts[i]
        else:  # a release character at the very end
            return None
        out.append(folded)
        out.append(rest)
        at.append(length)
        length += 1 + len(rest)
        i += 1
    return "".join(out), at


def _unfold(text: str, pairs: list[tuple[str, str]]) -> str:
    """``text`` with its sentinels turned back into the characters they stand for."""
    for sentinel, char in pairs:
        text = text.replace(sentinel, char)
    return text


def _segments_at(block: str, term: str, offsets: list[int]) -> list[int]:
    """Indexes of the segments of ``block`` (split at ``term``) holding the given offsets,
    which come in increasing order."""
    found: list[int] = []
    index = previous = 0
    for k in offsets:
        index += block.count(term, previous, k)
        previous = k
        if not found or found[-1] != index:
            found.append(index)
    return found


def _pick_sentinels(block: str) -> tuple[str, ...]:
    """Four characters absent from ``block`` (none found: an empty tuple)."""
    found: list[str] = []
    for ch in _SENTINEL_CANDIDATES:
        if ch not in block:
            found.append(ch)
            if len(found) == 4:
                return tuple(found)
    return ()


def _original(block: str, k: int, sentinels: tuple[str, ...]) -> int:
    """Offset in the original text of position ``k`` of a block whose escapes were folded."""
    return k + sum(block.count(s, 0, k) for s in sentinels)


_VALID_TAGS: set[str] = set()
"""Segment tags already checked (at most 36**3 of them): shared by every reader."""

_first = itemgetter(0)
_rest = itemgetter(slice(1, None))


_CACHE_LIMIT = 1 << 14
"""Element texts a reader remembers before it starts afresh (a few MiB at most)."""


class _ElementCache(dict[str, Element]):
    """Element text -> tuple of components, split on first use."""

    __slots__ = ("separator",)

    def __init__(self, separator: str) -> None:
        super().__init__()
        self.separator = separator

    def __missing__(self, text: str) -> Element:
        value = self[text] = tuple(text.split(self.separator))
        return value


_new_segment: Callable[[tuple[str, tuple[Element, ...]]], Segment] = partial(tuple.__new__, Segment)


@functools.lru_cache(maxsize=64)
def _service_chars(una: str) -> ServiceChars:
    """The (validated) service characters of a UNA, made once per distinct UNA."""
    return ServiceChars(*una[3:9])


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


def iter_segments(
    data: Source, *, chunk_size: int = CHUNK_SIZE, repertoire: str = "UNOC", share: bool = False
) -> SegmentReader:
    """Tokenize EDIFACT ``data`` (bytes, str or a binary file object) into segments.

    Returns a :class:`SegmentReader`, an iterator of :class:`Segment` that also exposes the
    service characters in use.  Malformed input raises :class:`EdifactSyntaxError` naming
    the byte offset and the segment number.

    With ``share=True`` equal element texts (qualifiers, codes, units: they repeat a lot)
    give one shared tuple of components.  That costs about a tenth more time and saves
    memory when the segments are kept: all of a 10 MB interchange's take about 105 MiB
    shared and 180 MiB not.  :func:`parse_interchange` shares; streaming, which hands each
    segment on and forgets it, need not.
    """
    return SegmentReader(data, chunk_size=chunk_size, repertoire=repertoire, share=share)
