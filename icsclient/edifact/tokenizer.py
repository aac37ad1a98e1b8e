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
from itertools import chain, compress, count, repeat
from operator import itemgetter, not_
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
        pause_gc: bool = False,
    ) -> None:
        self._chunks = _chunks(data, chunk_size)
        self.share = share
        self.pause_gc = pause_gc
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
        """Read enough to see the UNA; returns the pending text and its offset.

        The tolerated prefix is dropped chunk by chunk as it is read, so each byte of it
        is looked at once whatever its length and the chunk size.
        """
        text, skipped, bom_seen = "", 0, False
        for chunk in self._chunks:
            text += chunk
            stripped = text.lstrip(_LEADING)  # text is at most 9 + a chunk long here
            if not bom_seen and stripped.startswith(_BOM):
                bom_seen = True
                stripped = stripped[3:].lstrip(_LEADING)
            skipped += len(text) - len(stripped)
            text = stripped
            if not bom_seen and text and _BOM.startswith(text):
                continue  # a BOM cut by the chunk boundary: see the next chunk
            if len(text) >= 9:
                break
        offset = skipped
        self.skipped_prefix = offset
        rest = text
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
        """Yield (text, offset) blocks that end just after an unescaped terminator.

        Linear in the input whatever the chunk size: only each new chunk is searched for
        the last unescaped terminator (from its end, in one regular-expression search of
        the reversed chunk), the text waiting for one is kept as a list of chunks and
        joined once, and the release characters ending it are counted, not re-read.  A
        segment longer than :data:`MAX_SEGMENT_BYTES` is refused.
        """
        chars = self.service_chars
        term = chars.terminator
        rel = chars.release if chars.has_release else None
        last_cut = _last_cut_pattern(term, rel)
        waiting: list[str] = []  # the text read since the last cut
        size = run = 0  # its length; the release characters it ends with
        for chunk in chain((pending,), self._chunks):
            cut = _last_cut(chunk, term, rel, last_cut, run)
            if cut < 0:
                waiting.append(chunk)
                size += len(chunk)
                if rel is not None:
                    tail = _release_run(chunk, rel)
                    run = run + tail if tail == len(chunk) else tail
                if size > MAX_SEGMENT_BYTES:
                    raise self._error(
                        f"no segment terminator {term!r} in {size} bytes: a segment may be "
                        f"at most {MAX_SEGMENT_BYTES} bytes long",
                        base,
                        self.segment_number + 1,
                    )
                continue
            waiting.append(chunk[: cut + 1])
            block = "".join(waiting)
            rest = chunk[cut + 1 :]
            waiting = [rest] if rest else []
            size = len(rest)
            run = _release_run(rest, rel) if rel is not None else 0
            yield block, base
            base += len(block)
        if waiting:
            yield "".join(waiting), base

    def _run(self) -> Iterator[list[Segment]]:
        """The segments of each block in turn, as lists.

        A block's faults are all gathered and the first in the text is raised: blocks end
        at unescaped terminators, so the fault reported is the input's first whatever the
        chunk size.
        """
        pending, base = self._start()
        chars = self.service_chars
        term, rel = chars.terminator, chars.release if chars.has_release else ""
        # escaped pairs become private-use sentinels before splitting, and are restored in
        # the components that hold them: no re-joining of split pieces needed
        escaped_chars = (rel, term, chars.element, chars.component)
        valid_tags = _VALID_TAGS
        una_at_start = re.compile(f"(?:^|{re.escape(term)}[\r\n]*)UNA")
        # element text -> components, kept from block to block (up to _CACHE_LIMIT texts)
        cache = _ElementCache(chars.component) if self.share else None
        for block, offset in self._blocks(pending, base):
            if cache is not None and len(cache) > _CACHE_LIMIT:
                cache.clear()
            first = self.segment_number + 1
            # before escapes fold into sentinels; CR/LF are looked at once split
            suspect = self._may_be_invalid(block)
            faults: list[tuple[int, str]] = []  # (offset in the folded block, reason)
            sentinels: tuple[str, ...] = ()
            pairs: list[tuple[str, str]] = []  # (sentinel, the character it stands for)
            if rel and rel in block:
                sentinels = _pick_sentinels(block)
                if not sentinels:
                    raise self._error(
                        "this block of text holds every control and private-use character",
                        offset,
                        first,
                    )
                pairs = list(zip(sentinels, escaped_chars, strict=True))
                block = _fold(block, rel, pairs)
                misplaced = "UNA" in block and una_at_start.search(block)
                if misplaced:
                    faults.append(
                        (
                            misplaced.end() - 3,
                            "UNA service string advice is only allowed at the start",
                        )
                    )
                k = block.find(rel)
                if k >= 0:
                    nxt = _unfold(block[k + 1 : k + 2], pairs)
                    faults.append(
                        (
                            k,
                            f"release character {rel!r} before {nxt!r}, which is not a service "
                            "character"
                            if nxt
                            else f"release character {rel!r} at the end of the data",
                        )
                    )
            pieces = block.split(term)
            rest = pieces.pop()
            if rest.strip("\r\n"):
                k = len(block) - len(rest.lstrip("\r\n"))
                tail = _unfold(rest.strip("\r\n"), pairs)
                faults.append(
                    (k, f"text after the last segment terminator {term!r}: {tail[:20]!r}")
                )
            raw = pieces
            if "\n" in block or "\r" in block:
                pieces = [p.lstrip("\r\n") if p[:1] in "\r\n" else p for p in pieces]
                inside = "".join(pieces)  # CR/LF between segments are fine, not inside one
                suspect = suspect or "\r" in inside or "\n" in inside
            segments = self._segments(pieces, raw, pairs, cache, valid_tags, faults)
            if faults:
                k, reason = min(faults, key=_first)  # the first in the text; ties: as added
                raise self._error(
                    reason, offset + _original(block, k, sentinels), first + block.count(term, 0, k)
                )
            if suspect and self._invalid.search(block):
                self.flagged.update(
                    first + i
                    for i in _pieces_matching(self._invalid, block, raw, pieces)
                    if self._invalid.search(_unfold(pieces[i], pairs))
                )
            self.segment_number += len(segments)
            self.offset = offset + len(block)
            yield segments

    def _segments(
        self,
        pieces: list[str],
        raw: list[str],
        pairs: list[tuple[str, str]],
        cache: _ElementCache | None,
        valid_tags: set[str],
        faults: list[tuple[int, str]],
    ) -> list[Segment]:
        """The segments of a block's pieces, escapes restored; a fault is added to
        ``faults`` (with the empty list returned)."""
        gc_was_enabled = self.pause_gc and gc.isenabled()
        if gc_was_enabled:
            gc.disable()  # many small tuples: the collector would only slow it down
        try:
            segments = _tokenize(pieces, self.service_chars, cache, valid_tags)
        except _Fault as fault:
            i = fault.index
            k = sum(map(len, raw[:i])) + i + len(raw[i]) - len(pieces[i])
            faults.append((k, fault.message(pairs)))
            return []
        finally:
            if gc_was_enabled:
                gc.enable()
        if pairs:
            # sentinels are control or private-use characters: not printable, so only the
            # segments that are not all printable can hold one
            for i in _not_printable(pieces):
                tag, elements = segments[i]
                restored = [
                    tuple([c if c.isprintable() else _unfold(c, pairs) for c in e])
                    for e in elements
                ]
                segments[i] = _new_segment((tag, tuple(restored)))
        return segments

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

    def __init__(self, reason: str, index: int, shown: str | None = None) -> None:
        self.reason = reason
        self.index = index
        self.shown = shown  # the text ``reason`` shows at its ``{!r}``, escapes folded

    def message(self, pairs: list[tuple[str, str]]) -> str:
        """The reason, with the text it shows unfolded."""
        if self.shown is None:
            return self.reason
        return self.reason.format(_unfold(self.shown, pairs))


def _check_tag(tag: str, piece: str, index: int) -> None:
    if not piece:
        raise _Fault("empty segment", index)
    if piece.startswith("UNA"):
        raise _Fault("UNA service string advice is only allowed at the start", index)
    if not (len(tag) == 3 and tag.isascii() and tag.isalnum() and tag.isupper()):
        raise _Fault("invalid segment tag {!r}", index, tag[:20])


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


def _fold(block: str, rel: str, pairs: list[tuple[str, str]]) -> str:
    """``block`` with each escaped pair (the release character and the service character
    it escapes) turned into that character's sentinel.  Pairs are read left to right, as
    ``str.replace`` finds them, the released release character first, so ``??'`` is a
    released ``?`` and a terminator.  A release character left over escapes nothing.
    Four C-speed passes, whatever the number of escapes."""
    for sentinel, char in pairs:
        block = block.replace(rel + char, sentinel)
    return block


def _unfold(text: str, pairs: list[tuple[str, str]]) -> str:
    """``text`` with its sentinels turned back into the characters they stand for."""
    for sentinel, char in pairs:
        text = text.replace(sentinel, char)
    return text


def _not_printable(pieces: list[str]) -> list[int]:
    """Indexes of the pieces holding a character that is not printable (C-speed test)."""
    return list(compress(count(), map(not_, map(str.isprintable, pieces))))


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


MAX_SEGMENT_BYTES = 1 << 26
"""The longest text without an unescaped segment terminator the tokenizer reads (64 MiB):
beyond it :class:`~icsclient.errors.EdifactSyntaxError` is raised rather than holding
more.  An interchange the CCF takes is at most 10 MB, so no real segment comes near."""


@functools.lru_cache(maxsize=64)
def _last_cut_pattern(term: str, rel: str | None) -> re.Pattern[str]:
    """Matches, in a reversed text, a terminator with an even run of release characters
    after it (before it in the text): an unescaped one, if the run does not reach the end."""
    if rel is None:
        return re.compile(re.escape(term))
    r = re.escape(rel)
    return re.compile(f"{re.escape(term)}(?:{r}{r})*(?:(?!{r})|{r}\\Z)")


def _release_run(text: str, rel: str | None) -> int:
    """How many release characters ``text`` ends with."""
    if not rel or not text.endswith(rel):
        return 0
    return len(text) - len(text.rstrip(rel))


def _last_cut(
    chunk: str, term: str, rel: str | None, pattern: re.Pattern[str], run_before: int
) -> int:
    """Index in ``chunk`` of its last unescaped terminator, or -1; ``run_before`` release
    characters end the text before it.  Each character is looked at a bounded number of
    times (the search walks from the end and stops at the first unescaped terminator)."""
    cut = chunk.rfind(term)
    if cut < 0 or rel is None:
        return cut
    before = chunk[cut - 1] if cut else (rel if run_before else "")
    if before != rel:
        return cut
    n = len(chunk)
    m = pattern.search(chunk[::-1], n - 1 - cut)
    if m is None:
        return -1
    if m.end() < n:
        return n - 1 - m.start()
    # the run of release characters reaches the chunk's start and goes on before it; no
    # terminator precedes this one in the chunk
    return n - 1 - m.start() if (m.end() - m.start() - 1 + run_before) % 2 == 0 else -1


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
    data: Source,
    *,
    chunk_size: int = CHUNK_SIZE,
    repertoire: str = "UNOC",
    share: bool = False,
    pause_gc: bool = False,
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

    With ``pause_gc=True`` the garbage collector is paused while each block's segments
    are built (and put back as it was): faster, but a process-wide side effect, so only
    on request.

    Text without an unescaped terminator longer than :data:`MAX_SEGMENT_BYTES` is refused.
    Time is linear in the input whatever ``chunk_size``; the error raised for faulty text
    is its first fault, whatever ``chunk_size``.
    """
    return SegmentReader(
        data, chunk_size=chunk_size, repertoire=repertoire, share=share, pause_gc=pause_gc
    )
