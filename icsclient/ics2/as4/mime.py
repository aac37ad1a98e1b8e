"""Our own byte-exact ``multipart/related`` writer and reader for AS4 (SOAP with attachments).

The stdlib :mod:`email` package re-folds headers and may alter binary parts, which breaks the
attachment digests of a sealed message; this module keeps every part body byte for byte. The
reader is linear in its input: it scans the body once with :meth:`bytes.find` per boundary.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import attrs

from .errors import As4BuildError, MimeError

SOAP_CONTENT_TYPE = "application/soap+xml"
_CRLF = b"\r\n"
_MAX_HEADER_BYTES = 16384


@attrs.frozen
class MimePart:
    """One part: its ``Content-ID`` (without angle brackets), type, body bytes and extra headers."""

    content_id: str
    content_type: str
    body: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    headers: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or ``None``."""
        low = name.lower()
        for key, value in self.headers:
            if key.lower() == low:
                return value
        return None


def _check_token(what: str, value: str) -> None:
    if not value or any(c in value for c in '\r\n<>"') or not value.isascii():
        raise As4BuildError(
            f"MIME {what} {value!r} must be non-empty ASCII without CR, LF, <, > or quotes"
        )


def write_related(parts: Sequence[MimePart], *, boundary: str | None = None) -> tuple[str, bytes]:
    """Write ``parts`` (the SOAP envelope first) as ``multipart/related``.

    Returns ``(content_type_header_value, body)``. Every part is sent with
    ``Content-Transfer-Encoding: binary`` and its body unchanged. A boundary found inside a part is
    refused when given, and avoided when generated.
    """
    if not parts:
        raise As4BuildError("multipart/related needs at least the SOAP envelope part")
    if parts[0].content_type.split(";")[0].strip() != SOAP_CONTENT_TYPE:
        raise As4BuildError(
            f"the first MIME part must be {SOAP_CONTENT_TYPE}, got {parts[0].content_type!r}"
        )
    seen: set[str] = set()
    for part in parts:
        _check_token("Content-ID", part.content_id)
        _check_token("Content-Type", part.content_type)
        if part.content_id in seen:
            raise As4BuildError(f"MIME Content-ID {part.content_id!r} is used twice")
        seen.add(part.content_id)
    if boundary is None:
        boundary = "MIMEBoundary_" + uuid.uuid4().hex
        while any(boundary.encode() in p.body for p in parts):
            boundary = "MIMEBoundary_" + uuid.uuid4().hex
    else:
        _check_token("boundary", boundary)
        for part in parts:
            if boundary.encode() in part.body:
                raise As4BuildError(
                    f"MIME boundary {boundary!r} occurs inside part <{part.content_id}>"
                )
    delimiter = b"--" + boundary.encode()
    out: list[bytes] = []
    for part in parts:
        out.append(delimiter + _CRLF)
        lines = [
            f"Content-Type: {part.content_type}",
            "Content-Transfer-Encoding: binary",
            f"Content-ID: <{part.content_id}>",
        ]
        lines += [f"{k}: {v}" for k, v in part.headers if k.lower() not in _OWN_HEADERS]
        for line in lines:
            if "\r" in line or "\n" in line or not line.isascii():
                raise As4BuildError(f"MIME header line {line!r} must be one ASCII line")
        out.append(_CRLF.join(s.encode() for s in lines) + _CRLF + _CRLF)
        out.append(part.body + _CRLF)
    out.append(delimiter + b"--" + _CRLF)
    content_type = (
        f'multipart/related; boundary="{boundary}"; type="{SOAP_CONTENT_TYPE}"; '
        f'start="<{parts[0].content_id}>"'
    )
    return content_type, b"".join(out)


_OWN_HEADERS = frozenset({"content-type", "content-transfer-encoding", "content-id"})


def parse_params(value: str) -> tuple[str, dict[str, str]]:
    """Split a ``Content-Type`` value into its lower-cased media type and parameters."""
    media, params, i, n = "", {}, 0, len(value)
    j = value.find(";")
    media = (value if j < 0 else value[:j]).strip().lower()
    i = n if j < 0 else j + 1
    while i < n:
        eq = value.find("=", i)
        if eq < 0:
            break
        name = value[i:eq].strip().lower()
        k = eq + 1
        while k < n and value[k] == " ":
            k += 1
        if k < n and value[k] == '"':
            end = value.find('"', k + 1)
            if end < 0:
                raise MimeError(f"Content-Type parameter {name!r}: unterminated quoted value")
            params[name] = value[k + 1 : end]
            semi = value.find(";", end)
        else:
            semi = value.find(";", k)
            params[name] = (value[k:] if semi < 0 else value[k:semi]).strip()
        i = n if semi < 0 else semi + 1
    return media, params


def _read_headers(block: bytes, offset: int) -> tuple[tuple[str, str], ...]:
    if len(block) > _MAX_HEADER_BYTES:
        raise MimeError(
            f"MIME part at byte {offset}: headers longer than {_MAX_HEADER_BYTES} bytes"
        )
    try:
        text = block.decode("ascii")
    except UnicodeDecodeError as exc:
        raise MimeError(f"MIME part at byte {offset}: header bytes are not ASCII") from exc
    headers: list[tuple[str, str]] = []
    for line in text.split("\r\n"):
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip())
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise MimeError(f"MIME part at byte {offset}: header line {line[:60]!r} has no name")
        headers.append((name.strip(), value.strip()))
    return tuple(headers)


def _part(block: bytes, offset: int) -> MimePart:
    end = block.find(_CRLF + _CRLF)
    if end < 0:
        raise MimeError(f"MIME part at byte {offset}: no blank line after its headers")
    headers = _read_headers(block[:end], offset)
    lookup = {k.lower(): v for k, v in headers}
    cid = lookup.get("content-id", "").strip()
    if not (cid.startswith("<") and cid.endswith(">") and len(cid) > 2):
        raise MimeError(f"MIME part at byte {offset}: Content-ID {cid!r} is missing or not <...>")
    cte = lookup.get("content-transfer-encoding", "binary").lower()
    if cte not in ("binary", "8bit", "7bit"):
        raise MimeError(f"MIME part <{cid[1:-1]}>: Content-Transfer-Encoding {cte!r} is not binary")
    ctype = lookup.get("content-type")
    if ctype is None:
        raise MimeError(f"MIME part <{cid[1:-1]}> at byte {offset}: no Content-Type")
    extra = tuple((k, v) for k, v in headers if k.lower() not in _OWN_HEADERS)
    return MimePart(cid[1:-1], ctype, block[end + 4 :], extra)


def read_related(content_type: str, body: bytes) -> tuple[MimePart, ...]:
    """Read a ``multipart/related`` body; the start part (the SOAP envelope) comes first.

    Part bodies are returned byte for byte. Raises :class:`MimeError` naming the header or byte
    offset at fault.
    """
    media, params = parse_params(content_type)
    if media != "multipart/related":
        raise MimeError(f"Content-Type {media!r} is not multipart/related")
    boundary = params.get("boundary", "")
    if not boundary:
        raise MimeError("Content-Type multipart/related has no boundary parameter")
    delimiter = b"--" + boundary.encode("ascii", "replace")
    if body.startswith(delimiter):
        pos = 0
    else:
        pos = body.find(_CRLF + delimiter)
        if pos < 0:
            raise MimeError(f"MIME boundary {boundary!r} not found in the body")
        pos += 2
    parts: list[MimePart] = []
    sep = _CRLF + delimiter
    while True:
        after = pos + len(delimiter)
        if body[after : after + 2] == b"--":
            break
        line_end = body.find(_CRLF, after)
        if line_end < 0 or body[after:line_end].strip(b" \t"):
            raise MimeError(f"MIME boundary line at byte {pos} is malformed")
        start = line_end + 2
        nxt = body.find(sep, start)
        if nxt < 0:
            raise MimeError(f"MIME part at byte {start} has no closing boundary")
        parts.append(_part(body[start:nxt], start))
        pos = nxt + 2
    if not parts:
        raise MimeError("multipart/related body holds no part")
    ids = [p.content_id for p in parts]
    if len(set(ids)) != len(ids):
        raise MimeError(f"MIME Content-IDs repeat: {ids}")
    start_param = params.get("start")
    if start_param is not None:
        want = start_param.strip().removeprefix("<").removesuffix(">")
        if want not in ids:
            raise MimeError(f"Content-Type start={start_param!r} names no part (parts: {ids})")
        idx = ids.index(want)
        parts.insert(0, parts.pop(idx))
    return tuple(parts)
