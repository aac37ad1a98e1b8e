"""Just enough MIME, on bytes, for S/MIME: fast, CRLF-exact, and never re-serialising.

The standard :mod:`email` package is used for header blocks only (small); bodies are
sliced, searched and coded with ``bytes`` methods and ``pybase64`` (SIMD), so a 10 MB
interchange costs a few copies and no Python-level loop over its lines.  Signatures are
verified over the bytes sliced out here, exactly as received.
"""

from __future__ import annotations

import binascii
import email.parser
import email.policy
import email.utils
import io
import re
import secrets
from email.header import decode_header, make_header
from email.message import Message

import attrs
import pybase64

from ..errors import MailError

CRLF = b"\r\n"

_HEADER_END = re.compile(rb"\r?\n\r?\n")
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
    (without the blank line); ``headers`` the same parsed by :mod:`email` (compat32).
    """

    raw_headers: bytes = attrs.field(repr=False)
    headers: Message = attrs.field(repr=False)
    source: bytes = attrs.field(repr=False)
    start: int
    body_start: int
    end: int

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

    @property
    def content_type(self) -> str:
        """The lower-case ``maintype/subtype`` (``text/plain`` when the header is absent)."""
        return self.headers.get_content_type()

    def param(self, name: str, header: str = "content-type") -> str | None:
        """A parameter of a structured header (``boundary``, ``smime-type``, ...)."""
        value = self.headers.get_param(name, header=header)
        if value is None:
            return None
        if isinstance(value, tuple):  # RFC 2231 encoded
            return email.utils.collapse_rfc2231_value(value)
        return str(value)

    def header(self, name: str) -> str | None:
        """The first ``name`` header, encoded words decoded, whitespace unfolded."""
        value = self.headers.get(name)
        if value is None:
            return None
        return decode_words(str(value))

    def header_count(self, name: str) -> int:
        """How many ``name`` headers the entity has."""
        return len(self.headers.get_all(name) or ())

    @property
    def transfer_encoding(self) -> str:
        """The lower-case ``Content-Transfer-Encoding`` (``7bit`` when absent)."""
        value = self.headers.get("content-transfer-encoding")
        return str(value).strip().lower() if value else "7bit"

    @property
    def filename(self) -> str | None:
        """The file name from Content-Disposition, else the Content-Type ``name``."""
        return self.param("filename", "content-disposition") or self.param("name")

    @property
    def disposition(self) -> str | None:
        """The lower-case Content-Disposition type (``attachment``, ``inline``) or ``None``."""
        value = self.headers.get("content-disposition")
        if value is None:
            return None
        return str(value).split(";", 1)[0].strip().lower()

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
_FIELD = re.compile(r"[\041-\071\073-\176]+:")
"""A header line's field name and colon, as :mod:`email`'s feed parser recognises them."""


def _parse_headers(head: bytes) -> Message:
    """The header block ``head`` (without its blank line) parsed as :mod:`email` parses it.

    The usual block -- ASCII, CRLF line ends, ``Name: value`` lines and folded
    continuations -- is split here and stored with the same policy calls the feed parser
    makes (``header_source_parse``, ``set_raw``), in a fraction of the time; anything else
    goes to the feed parser itself.
    """
    if head and head.isascii() and not head.startswith(b"From "):
        lines = head.decode("ascii").split("\r\n")
        if all("\r" not in line and "\n" not in line for line in lines) and _FIELD.match(lines[0]):
            message = Message()
            source = email.policy.compat32.header_source_parse
            current: list[str] = []
            for line in lines:
                if line[:1] in (" ", "\t"):
                    current.append(line + "\r\n")
                    continue
                if not _FIELD.match(line):
                    break
                if current:
                    message.set_raw(*source(current))
                current = [line + "\r\n"]
            else:
                message.set_raw(*source(current))
                return message
    return _HEADER_PARSER.parsebytes(head + b"\r\n\r\n")


def parse_entity(raw: bytes, start: int = 0, end: int | None = None) -> Entity:
    """Parse the entity ``raw[start:end]``: headers up to the first empty line (CRLF or LF).

    Nothing large is copied: the returned :class:`Entity` points into ``raw``.
    """
    stop = len(raw) if end is None else end
    if raw.startswith(b"\r\n", start):
        head_end, body_start = start, start + 2
    elif raw.startswith(b"\n", start):
        head_end, body_start = start, start + 1
    else:
        m = _HEADER_END.search(raw, start, stop)
        if m is None:
            head_end = body_start = stop
        else:
            head_end, body_start = m.start(), m.end()
    head = raw[start:head_end]
    headers = _parse_headers(head)
    if headers.defects:
        names = ", ".join(type(d).__name__ for d in headers.defects)
        raise MailError(f"malformed MIME header block ({names})")
    return Entity(
        raw_headers=head, headers=headers, source=raw, start=start, body_start=body_start, end=stop
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

    Raises MailError when there is no usable boundary or no closing delimiter.
    """
    if not boundary or len(boundary) > 200:
        raise MailError("multipart entity without a usable boundary parameter")
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
