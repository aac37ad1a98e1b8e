"""Just enough MIME, on bytes, for S/MIME: fast, CRLF-exact, and never re-serialising.

The standard :mod:`email` package is used for header blocks only (small); bodies are
sliced, searched and decoded with ``bytes`` methods and :mod:`binascii`, so a 10 MB
interchange costs a few copies and no Python-level loop over its lines.  Signatures are
verified over the bytes sliced out here, exactly as received.
"""

from __future__ import annotations

import binascii
import email.parser
import email.policy
import email.utils
import operator
import re
import secrets
import struct
from email.header import decode_header, make_header
from email.message import Message

import attrs

from ..errors import MailError

CRLF = b"\r\n"

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_HEADER_PARSER = email.parser.BytesHeaderParser(policy=email.policy.compat32)


_LINE = struct.Struct("76s")


def b64_lines(data: bytes | bytearray | memoryview) -> bytes:
    """Base64 in 76-character lines, each ended by CRLF (RFC 2045).

    ``base64.encodebytes`` loops in Python over 57-byte chunks; encoding in one call and
    cutting the text into lines in C (``struct.iter_unpack``) is several times faster on
    megabytes.
    """
    text = binascii.b2a_base64(data, newline=False)
    full = len(text) - len(text) % 76
    lines = list(map(operator.itemgetter(0), _LINE.iter_unpack(memoryview(text)[:full])))
    if full < len(text):
        lines.append(text[full:])
    lines.append(b"")
    return CRLF.join(lines) if len(lines) > 1 else b""


def new_boundary(avoid: bytes = b"") -> str:
    """A fresh MIME boundary that does not occur in ``avoid``."""
    while True:
        boundary = "----=_icsclient_" + secrets.token_hex(12)
        if boundary.encode("ascii") not in avoid:
            return boundary


@attrs.frozen
class Entity:
    """One MIME entity split into its parsed header block and its raw body bytes.

    ``raw_headers`` is the header block as received (without the blank line);
    ``headers`` the same parsed by :mod:`email` (compat32); ``body`` the bytes after the
    blank line, untouched.
    """

    raw_headers: bytes = attrs.field(repr=False)
    headers: Message = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)

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
        return decode_body(self.body, self.transfer_encoding)


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words and unfold a header value."""
    try:
        text = str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError):
        text = value
    return re.sub(r"\r?\n[ \t]", " ", text)


def parse_entity(raw: bytes) -> Entity:
    """Split ``raw`` at the first empty line (CRLF or bare LF) and parse the headers."""
    if raw.startswith((b"\r\n", b"\n")):
        head, body = b"", raw[2 if raw.startswith(b"\r\n") else 1 :]
    else:
        m = _HEADER_END.search(raw)
        if m is None:
            head, body = raw, b""
        else:
            head, body = raw[: m.start()], raw[m.end() :]
    headers = _HEADER_PARSER.parsebytes(head + b"\r\n\r\n")
    if headers.defects:
        names = ", ".join(type(d).__name__ for d in headers.defects)
        raise MailError(f"malformed MIME header block ({names})")
    return Entity(raw_headers=head, headers=headers, body=body)


def decode_body(body: bytes, transfer_encoding: str) -> bytes:
    """Undo a Content-Transfer-Encoding (base64, quoted-printable, 7bit, 8bit, binary)."""
    cte = transfer_encoding.strip().lower()
    if cte == "base64":
        try:
            return binascii.a2b_base64(body)
        except binascii.Error as exc:
            raise MailError(f"the base64 body is malformed: {exc}") from None
    if cte == "quoted-printable":
        return binascii.a2b_qp(body)
    if cte in ("7bit", "8bit", "binary"):
        return body
    raise MailError(f"unsupported Content-Transfer-Encoding {transfer_encoding!r}")


@attrs.frozen
class Multipart:
    """The pieces of a multipart body: ``parts`` exactly as received, between delimiters.

    Per RFC 2046 the line break before each delimiter belongs to the delimiter, so a part
    is the bytes a signer signed (for ``multipart/signed``).
    """

    preamble: bytes = attrs.field(repr=False)
    parts: tuple[bytes, ...] = attrs.field(repr=False)
    epilogue: bytes = attrs.field(repr=False)


def split_multipart(body: bytes, boundary: str) -> Multipart:
    """Split a multipart body at ``--boundary`` lines; raises MailError when malformed."""
    if not boundary or len(boundary) > 200:
        raise MailError("multipart entity without a usable boundary parameter")
    delim = b"--" + boundary.encode("latin-1")
    marks: list[tuple[int, int, bool]] = []  # (start incl. preceding EOL, end of line, close)
    i = body.find(delim)
    while i != -1:
        if i == 0 or body[i - 1] == 0x0A:
            after = i + len(delim)
            close = body.startswith(b"--", after)
            eol = body.find(b"\n", after)
            line_end = len(body) if eol == -1 else eol + 1
            if not body[after + (2 if close else 0) : line_end].strip():
                start = i
                if i > 0:
                    start = i - 2 if i >= 2 and body[i - 2] == 0x0D else i - 1
                marks.append((start, line_end, close))
                if close:
                    break
        i = body.find(delim, i + len(delim))
    if not marks or not marks[-1][2]:
        raise MailError(f"multipart body without its closing boundary --{boundary}--")
    parts = tuple(body[marks[k][1] : marks[k + 1][0]] for k in range(len(marks) - 1))
    return Multipart(preamble=body[: marks[0][0]], parts=parts, epilogue=body[marks[-1][1] :])


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
