"""Just enough MIME, on bytes, for S/MIME: fast, CRLF-exact, and never re-serialising.

Header blocks of the usual form (ASCII, ``Name: value`` lines, folded continuations,
CRLF or LF) are split here and the few questions S/MIME asks of them (content type,
``boundary`` and the other parameters, transfer encoding, disposition, single headers)
are answered from the split fields with the same results the :mod:`email` package
(compat32) gives; anything unusual goes to :mod:`email` itself, and a full
:class:`email.message.Message` is only built when someone asks for one.  Bodies are
sliced, searched and coded with ``bytes`` methods and ``pybase64`` (SIMD), so a 10 MB
interchange costs a few copies and no Python-level loop over its lines.  Signatures are
verified over the bytes sliced out here, exactly as received.
"""

from __future__ import annotations

import binascii
import email.errors
import email.parser
import email.policy
import email.utils
import functools
import io
import re
import secrets
from email.header import decode_header, make_header
from email.message import Message

import attrs
import pybase64

from ..errors import MailError

CRLF = b"\r\n"

_HEADER_PARSER = email.parser.BytesHeaderParser(policy=email.policy.compat32)


_LINE_BYTES = 57
"""Input bytes per 76-character base64 line."""
_STEP_LINES = 1024
_STEP = _LINE_BYTES * _STEP_LINES
"""Input bytes per encoding step: 1,024 whole lines, about 78 KB of output, small enough
to stay in the allocator's heap (fresh pages cost more than encoding here)."""


class Base64Lines:
    """Base64 (RFC 2045: 76-character lines, CRLF) of a byte stream fed in pieces.

    Pieces may have any length and may be views of a buffer that is reused afterwards:
    each is encoded or copied before :meth:`feed` returns.  :meth:`finish` returns
    ``prefix`` and the encoded text as one byte string.  The text collects in a
    ``BytesIO``, which hands its buffer over without a copy: a large result is written
    once, into memory it owns, instead of into pieces that are then joined (fresh pages
    cost about as much as encoding on this kind of machine).

    Each whole step is encoded with ``pybase64`` (SIMD) into one reused buffer and
    joined with CRLF through a fixed list of 76-byte views of it, so cutting lines costs
    one C-level ``join`` and no object per line.
    """

    def __init__(self, prefix: bytes = b"") -> None:
        self._out = io.BytesIO()
        self._out.write(prefix)
        self._carry = bytearray()
        self._text = bytearray()
        self._lines: list[bytes | memoryview] = []

    def _encode(self, data: bytes | bytearray | memoryview) -> None:
        text = pybase64.b64encode(data)
        if len(text) == 76 * _STEP_LINES:
            if not self._lines:  # the first whole step: make the buffer and its lines
                self._text = bytearray(len(text))
                view = memoryview(self._text)
                self._lines = [view[i : i + 76] for i in range(0, len(text), 76)] + [b""]
            self._text[:] = text
            self._out.write(CRLF.join(self._lines))
            return
        lines = [text[i : i + 76] for i in range(0, len(text), 76)]
        lines.append(b"")
        self._out.write(CRLF.join(lines))

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Encode ``data``, continuing the stream fed so far."""
        with memoryview(data) as view:
            if self._carry:  # complete the pending step first
                need = _STEP - len(self._carry)
                self._carry += view[:need]
                if len(self._carry) < _STEP:
                    return
                self._encode(self._carry)
                self._carry.clear()
                view = view[need:]
            whole = len(view) - len(view) % _STEP
            for i in range(0, whole, _STEP):
                self._encode(view[i : i + _STEP])
            self._carry += view[whole:]

    def finish(self) -> bytes:
        """The prefix and the encoded stream (the last line padded with ``=`` as needed)."""
        if self._carry:
            self._encode(self._carry)
            self._carry.clear()
        out, self._out = self._out.getvalue(), io.BytesIO()
        return out


def b64_lines(data: bytes | bytearray | memoryview) -> bytes:
    """Base64 in 76-character lines, each ended by CRLF (RFC 2045)."""
    encoder = Base64Lines()
    encoder.feed(data)
    return encoder.finish()


def new_boundary(avoid: bytes = b"") -> str:
    """A fresh MIME boundary that does not occur in ``avoid``."""
    while True:
        boundary = "----=_icsclient_" + secrets.token_hex(12)
        if boundary.encode("ascii") not in avoid:
            return boundary


@attrs.frozen
class Entity:
    """One MIME entity: its parsed header block and where its body lies.

    The entity is a span ``source[start:end]`` of a larger byte string (a whole e-mail, a
    decrypted envelope) that is never copied: :attr:`body_view` is a memoryview of the
    body, :attr:`body` a copy of it.  ``raw_headers`` is the header block as received
    (without the blank line); :attr:`headers` the same parsed by :mod:`email` (compat32).

    Made by :func:`parse_entity`, which gives either ``fields`` (the header block split
    by hand: ``(name, value)`` pairs as :mod:`email` stores them, and ``first``, the
    first value of each lower-case name) or ``parsed`` (the :mod:`email` parse of an
    unusual block).  The accessors answer from ``first`` where they can and from
    :attr:`headers` otherwise.
    """

    raw_headers: bytes = attrs.field(repr=False)
    source: bytes = attrs.field(repr=False)
    start: int
    body_start: int
    end: int
    _fields: tuple[tuple[str, str], ...] | None = attrs.field(
        alias="fields", default=None, repr=False
    )
    _first: dict[str, str] | None = attrs.field(alias="first", default=None, repr=False, eq=False)
    _parsed: Message | None = attrs.field(alias="parsed", default=None, repr=False, eq=False)

    @functools.cached_property
    def headers(self) -> Message:
        """The header block as :mod:`email` (compat32) parses it.

        A copy, for reading: changing it changes neither the entity nor what its other
        properties (:attr:`content_type`, :meth:`header`, ...) return.
        """
        if self._parsed is not None:
            return self._parsed
        message = Message()
        for name, value in self._fields or ():
            message.set_raw(name, value)
        return message

    @property
    def body_view(self) -> memoryview:
        """The body bytes after the blank line, untouched, without a copy."""
        return memoryview(self.source)[self.body_start : self.end]

    @property
    def body(self) -> bytes:
        """The body bytes after the blank line, untouched (a copy)."""
        return self.source[self.body_start : self.end]

    def raw(self) -> bytes:
        """The whole entity, headers and body, as received (a copy)."""
        if self.start == 0 and self.end == len(self.source):
            return self.source
        return self.source[self.start : self.end]

    @functools.cached_property
    def content_type(self) -> str:
        """The lower-case ``maintype/subtype`` (``text/plain`` when the header is absent)."""
        if self._first is None:
            return self.headers.get_content_type()
        return _content_type(self._first.get("content-type"))

    @property
    def content_maintype(self) -> str:
        """The lower-case main type (``multipart``, ``application``, ``text`` ...)."""
        return self.content_type.split("/")[0]

    def param(self, name: str, header: str = "content-type") -> str | None:
        """A parameter of a structured header (``boundary``, ``smime-type``, ...)."""
        if self._first is not None:
            found = _param(self._first.get(header.lower()), name)
            if not isinstance(found, _Unsure):
                return found
        value = self.headers.get_param(name, header=header)
        if value is None:
            return None
        if isinstance(value, tuple):  # RFC 2231 encoded
            return email.utils.collapse_rfc2231_value(value)
        return str(value)

    def _get(self, name: str) -> str | None:
        """The first ``name`` header's value as :meth:`email.message.Message.get` gives it
        (as a string)."""
        if self._first is not None:
            return self._first.get(name.lower())
        value = self.headers.get(name)
        return None if value is None else str(value)

    def header(self, name: str) -> str | None:
        """The first ``name`` header, encoded words decoded, whitespace unfolded."""
        value = self._get(name)
        if value is None:
            return None
        return decode_words(value)

    def header_count(self, name: str) -> int:
        """How many ``name`` headers the entity has."""
        if self._fields is not None:
            wanted = name.lower()
            return sum(1 for field, _ in self._fields if field.lower() == wanted)
        return len(self.headers.get_all(name) or ())

    @property
    def transfer_encoding(self) -> str:
        """The lower-case ``Content-Transfer-Encoding`` (``7bit`` when absent)."""
        value = self._get("content-transfer-encoding")
        return value.strip().lower() if value else "7bit"

    @property
    def filename(self) -> str | None:
        """The file name from Content-Disposition, else the Content-Type ``name``."""
        return self.param("filename", "content-disposition") or self.param("name")

    @property
    def disposition(self) -> str | None:
        """The lower-case Content-Disposition type (``attachment``, ``inline``) or ``None``."""
        value = self._get("content-disposition")
        if value is None:
            return None
        return value.split(";", 1)[0].strip().lower()

    def decoded_body(self) -> bytes:
        """The body with its Content-Transfer-Encoding undone."""
        return decode_body(self.body_view, self.transfer_encoding)

    def parts(self) -> tuple[Entity, ...]:
        """The parts of a multipart entity, each parsed in place (MailError if malformed)."""
        boundary = self.param("boundary")
        if not boundary:
            raise MailError(f"{self.content_type} entity without a boundary parameter")
        spans = split_multipart(self.source, boundary, self.body_start, self.end).spans
        return tuple(parse_entity(self.source, begin, stop) for begin, stop in spans)


def _content_type(value: str | None) -> str:
    """:meth:`email.message.Message.get_content_type` of a Content-Type value (or none)."""
    if value is None:
        return "text/plain"
    ctype = value.partition(";")[0].strip().lower()
    return ctype if ctype.count("/") == 1 else "text/plain"


class _Unsure:
    """The type of :data:`_UNSURE`."""


_UNSURE = _Unsure()
"""What :func:`_param` answers when only :mod:`email` should decide."""


def _param(value: str | None, name: str) -> str | None | _Unsure:
    """The parameter ``name`` of the header value ``value`` as
    :meth:`email.message.Message.get_param` (compat32, unquoted) gives it, or
    :data:`_UNSURE` for values with RFC 2231 parameters (``*``), encoded words or
    comments, which :mod:`email` answers itself.

    Like :mod:`email`: the value splits at each ``;`` outside double quotes (a quote
    preceded by a backslash does not count), the header's own value is the first
    "parameter", names are compared case-insensitively, the first match wins, a
    parameter without ``=`` has the value ``""``, and the value is unquoted once
    (surrounding quotes dropped, ``\\"`` and ``\\\\`` unescaped, or ``<...>``
    dropped).
    """
    if value is None:
        return None
    if "*" in value or "=?" in value or "(" in value:
        return _UNSURE
    wanted = name.lower()
    pieces = value.split(";")
    if '"' in value:
        pieces = _join_quoted(pieces)
    for piece in pieces:
        i = piece.find("=")
        if i < 0:
            key, found = piece.strip(), ""
        else:
            key, found = piece[:i].strip(), piece[i + 1 :].strip()
        if key.lower() == wanted:
            return _unquote(found)
    return None


def _join_quoted(pieces: list[str]) -> list[str]:
    """``;``-split pieces re-joined where the ``;`` lay inside a quoted string."""
    joined: list[str] = []
    current: str | None = None
    for piece in pieces:
        current = piece if current is None else current + ";" + piece
        if (current.count('"') - current.count('\\"')) % 2 == 0:
            joined.append(current)
            current = None
    if current is not None:  # an unbalanced quote runs to the end
        joined.append(current)
    return joined


def _unquote(value: str) -> str:
    """:func:`email.utils.unquote`."""
    if len(value) > 1:
        if value[0] == '"' and value[-1] == '"':
            return value[1:-1].replace("\\\\", "\\").replace('\\"', '"')
        if value[0] == "<" and value[-1] == ">":
            return value[1:-1]
    return value


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words and unfold a header value."""
    if "=?" not in value:  # no encoded word: the decoders would give the value back
        return _FOLD.sub(" ", value) if "\n" in value else value
    try:
        text = str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError):
        text = value
    return _FOLD.sub(" ", text)


_FOLD = re.compile(r"\r?\n[ \t]")
_FIELDS = re.compile(r"^([\041-\071\073-\176]+):[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)", re.M)
"""One field of a header block: a line starting with its name (as :mod:`email`'s feed
parser recognises a name: printable ASCII but ``:`` and space) and a colon, then any
continuation lines (starting with a space or a tab).  Groups: the name, and the value as
``header_source_parse`` makes it when a CR occurs only before an LF (without leading
blanks, with the continuation lines and their line breaks, without the last line
break)."""


def _split_fields(head: bytes) -> list[tuple[str, str]] | None:
    """The fields of the header block ``head`` (without its blank line) as :mod:`email`'s
    feed parser (compat32) stores them, or ``None`` when the block is not of the usual
    form and only the feed parser should read it.

    The usual form: ASCII; lines ended by CRLF or a bare LF (a CR anywhere else ends a
    line for :mod:`email` too, so it is not usual); each line either ``Name:`` (any
    printable ASCII but ``:`` and space in the name) and its value, or a continuation
    starting with a space or a tab after such a line.  Each field is ``(name, value)``
    with the name as received and the value as ``header_source_parse`` makes it: leading
    blanks dropped, continuation lines joined with their line breaks, trailing line
    breaks dropped.  A leading ``From`` line, a line of another form and a block that
    starts with a continuation are left to the feed parser (which notes defects there).
    """
    if not head:
        return []
    if not head.isascii() or head.startswith((b" ", b"\t", b"From ")):
        return None
    text = head.decode("ascii")
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return None
    fields: list[tuple[str, str]] = _FIELDS.findall(text)
    # A field starts on each line that is not a continuation, or the block is unusual.
    if len(fields) != text.count("\n") + 1 - text.count("\n ") - text.count("\n\t"):
        return None
    return fields


def _parse_headers(head: bytes) -> Message:
    """The header block ``head`` (without its blank line) parsed as :mod:`email` parses it.

    The usual block is split by :func:`_split_fields` and stored with ``set_raw`` as the
    feed parser stores it, in a fraction of the time; anything else goes to the feed
    parser itself.
    """
    fields = _split_fields(head)
    if fields is None:
        return _HEADER_PARSER.parsebytes(head + b"\r\n\r\n")
    message = Message()
    for name, value in fields:
        message.set_raw(name, value)
    return message


def _header_end(raw: bytes, start: int, stop: int) -> tuple[int, int]:
    """Where the first empty line in ``raw[start:stop]`` starts and ends (``(stop, stop)``
    if there is none): the span of the first match of ``\\r?\\n\\r?\\n``, found by
    ``bytes.find`` (the first LF followed by CRLF or by LF, and the CR before it if there
    is one), which is several times faster than the regular expression."""
    crlf = raw.find(b"\n\r\n", start, stop)
    lf = raw.find(b"\n\n", start, stop if crlf < 0 else crlf + 2)
    if lf >= 0:
        at, after = lf, lf + 2
    elif crlf >= 0:
        at, after = crlf, crlf + 3
    else:
        return stop, stop
    if at > start and raw[at - 1] == 0x0D:
        at -= 1
    return at, after


def header_defects(parsed: Message) -> list[email.errors.MessageDefect]:
    """The defects ``email`` found in a header block parsed alone.

    Python 3.10's header-only parser also reports ``MultipartInvariantViolationDefect`` for
    every multipart type (it judges a body it never read); 3.11 does not.  That one says
    nothing about the headers, so it is left out on every version.
    """
    body_only = email.errors.MultipartInvariantViolationDefect
    return [d for d in parsed.defects if not isinstance(d, body_only)]


def parse_entity(raw: bytes, start: int = 0, end: int | None = None) -> Entity:
    """Parse the entity ``raw[start:end]``: headers up to the first empty line (CRLF or LF).

    Nothing large is copied: the returned :class:`Entity` points into ``raw``.  A header
    block of the usual form is split by hand (see :func:`_split_fields`), any other is
    parsed by :mod:`email`; MailError if :mod:`email` finds defects in it.
    """
    stop = len(raw) if end is None else end
    if raw.startswith(b"\r\n", start):
        head_end, body_start = start, start + 2
    elif raw.startswith(b"\n", start):
        head_end, body_start = start, start + 1
    else:
        head_end, body_start = _header_end(raw, start, stop)
    head = raw[start:head_end]
    fields = _split_fields(head)
    first: dict[str, str] | None = None
    parsed: Message | None = None
    if fields is not None:
        first = {name.lower(): value for name, value in reversed(fields)}  # first wins
    else:  # an unusual block: email parses it
        parsed = _HEADER_PARSER.parsebytes(head + b"\r\n\r\n")
        defects = header_defects(parsed)
        if defects:
            names = ", ".join(type(d).__name__ for d in defects)
            raise MailError(f"malformed MIME header block ({names})")
    return Entity(
        raw_headers=head,
        source=raw,
        start=start,
        body_start=body_start,
        end=stop,
        fields=None if fields is None else tuple(fields),
        first=first,
        parsed=parsed,
    )


def decode_body(body: bytes | memoryview, transfer_encoding: str) -> bytes:
    """Undo a Content-Transfer-Encoding (base64, quoted-printable, 7bit, 8bit, binary)."""
    cte = transfer_encoding.strip().lower()
    if cte == "base64":
        try:
            return pybase64.b64decode(body)  # SIMD; skips line breaks like binascii
        except binascii.Error as exc:
            raise MailError(f"the base64 body is malformed: {exc}") from None
    if cte == "quoted-printable":
        return binascii.a2b_qp(body)
    if cte in ("7bit", "8bit", "binary"):
        return bytes(body)
    raise MailError(f"unsupported Content-Transfer-Encoding {transfer_encoding!r}")


@attrs.frozen
class Multipart:
    """Where the pieces of a multipart body lie in ``source``: ``spans`` of the parts.

    Per RFC 2046 the line break before each delimiter belongs to the delimiter, so a part
    is exactly the bytes a signer signed (for ``multipart/signed``).
    """

    source: bytes = attrs.field(repr=False)
    spans: tuple[tuple[int, int], ...]
    preamble_span: tuple[int, int]
    epilogue_span: tuple[int, int]

    @property
    def parts(self) -> tuple[bytes, ...]:
        """Copies of the parts, exactly as received."""
        return tuple(self.source[a:b] for a, b in self.spans)

    @property
    def preamble(self) -> bytes:
        """The text before the first delimiter."""
        return self.source[self.preamble_span[0] : self.preamble_span[1]]

    @property
    def epilogue(self) -> bytes:
        """The text after the closing delimiter line."""
        return self.source[self.epilogue_span[0] : self.epilogue_span[1]]


def split_multipart(
    body: bytes, boundary: str, start: int = 0, end: int | None = None
) -> Multipart:
    """Split the multipart body ``body[start:end]`` at ``--boundary`` lines.

    Raises MailError when there is no usable boundary (RFC 2046: 1-70 printable ASCII
    characters; up to 200 are taken, and nothing outside printable ASCII, which the
    headers of a received e-mail may carry unsigned) or no closing delimiter.
    """
    if not boundary or len(boundary) > 200:
        raise MailError("multipart entity without a usable boundary parameter")
    if not (boundary.isascii() and boundary.isprintable()):
        raise MailError(
            f"multipart boundary {boundary[:80]!r} holds a character outside printable ASCII"
        )
    stop = len(body) if end is None else end
    delim = b"--" + boundary.encode("latin-1")
    marks: list[tuple[int, int, bool]] = []  # (start incl. preceding EOL, end of line, close)
    i = body.find(delim, start, stop)
    while i != -1:
        if i == start or body[i - 1] == 0x0A:
            after = i + len(delim)
            close = body.startswith(b"--", after, stop)
            eol = body.find(b"\n", after, stop)
            line_end = stop if eol == -1 else eol + 1
            if not body[after + (2 if close else 0) : line_end].strip():
                mark = i
                if i > start:
                    mark = i - 2 if i - 2 >= start and body[i - 2] == 0x0D else i - 1
                marks.append((mark, line_end, close))
                if close:
                    break
        i = body.find(delim, i + len(delim), stop)
    if not marks or not marks[-1][2]:
        raise MailError(f"multipart body without its closing boundary --{boundary}--")
    spans = tuple((marks[k][1], marks[k + 1][0]) for k in range(len(marks) - 1))
    return Multipart(
        source=body,
        spans=spans,
        preamble_span=(start, marks[0][0]),
        epilogue_span=(marks[-1][1], stop),
    )


_BARE_LF = re.compile(rb"\r*\n")


def canonicalise_crlf(data: bytes) -> bytes:
    """Line endings as OpenSSL canonicalises text before signing: every EOL becomes CRLF.

    Like OpenSSL's ``SMIME_crlf_copy``, any run of CRs before an LF collapses into the one
    CRLF, and trailing CRs at the very end are dropped.  Returns ``data`` itself (no copy)
    when it is already canonical.
    """
    lf = data.count(b"\n")
    if lf == data.count(b"\r\n") and b"\r\r" not in data and not data.endswith(b"\r"):
        return data
    out = _BARE_LF.sub(CRLF, data)
    return out.rstrip(b"\r") if out.endswith(b"\r") else out
