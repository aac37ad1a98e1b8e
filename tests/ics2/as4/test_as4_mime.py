"""The AS4 multipart/related writer and reader keep every byte, and refuse malformed input."""

from __future__ import annotations

import gzip
import os

import attrs
import pytest

from icsclient.errors import BuildError, ReceivedError
from icsclient.ics2.as4.errors import As4BuildError, MimeError
from icsclient.ics2.as4.mime import MimePart, parse_params, read_related, write_related
from icsclient.ics2.as4.profile import DEFAULT_PROFILE, As4Profile

SOAP = b'<?xml version="1.0"?><S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"/>'


def _parts() -> list[MimePart]:
    binary = bytes(range(256)) * 3 + b"\r\n\r\n--\r\n" + os.urandom(4096)
    return [
        MimePart("soap@example.eu", "application/soap+xml; charset=UTF-8", SOAP),
        MimePart("payload-1@example.eu", "application/gzip", gzip.compress(b"<x>\xc3\xa9</x>")),
        MimePart("att@example.eu", "application/gzip", binary, (("X-Note", "kept"),)),
    ]


def test_round_trip_is_byte_exact() -> None:
    parts = _parts()
    ctype, body = write_related(parts)
    media, params = parse_params(ctype)
    assert media == "multipart/related"
    assert params["type"] == "application/soap+xml"
    assert params["start"] == "<soap@example.eu>"
    got = read_related(ctype, body)
    assert [p.content_id for p in got] == [p.content_id for p in parts]
    assert [p.body for p in got] == [p.body for p in parts]
    assert got[2].header("x-note") == "kept"
    assert gzip.decompress(got[1].body) == "<x>é</x>".encode()


def test_start_part_is_put_first() -> None:
    parts = _parts()
    ctype, body = write_related([parts[0], parts[1]])
    # a peer may send the root later: rewrite the order and keep start=
    _, params = parse_params(ctype)
    swapped_ct, swapped = write_related([parts[0], parts[1]], boundary=params["boundary"])
    assert swapped == body and swapped_ct == ctype
    delim = b"--" + params["boundary"].encode()
    chunks = body.split(delim)
    reordered = delim.join(
        [
            chunks[0],
            chunks[2].rstrip(b"\r\n") + b"\r\n",
            chunks[1].rstrip(b"\r\n") + b"\r\n",
            chunks[3],
        ]
    )
    got = read_related(ctype, reordered)
    assert got[0].content_id == "soap@example.eu"
    assert got[1].content_id == "payload-1@example.eu"
    assert got[1].body == parts[1].body


def test_given_boundary_inside_a_part_is_refused() -> None:
    parts = [MimePart("a@x", "application/soap+xml", b"--B--")]
    with pytest.raises(As4BuildError, match="boundary 'B' occurs inside part <a@x>"):
        write_related(parts, boundary="B")


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ([], "at least the SOAP envelope"),
        (
            [MimePart("a@x", "application/gzip", b"")],
            "first MIME part must be application/soap",
        ),
        (
            [
                MimePart("a@x", "application/soap+xml", b""),
                MimePart("a@x", "application/gzip", b""),
            ],
            "used twice",
        ),
        ([MimePart("a>@x", "application/soap+xml", b"")], "Content-ID"),
        ([MimePart("a@x", "application/soap+xml", b"", (("X-Bad", "a\r\nb"),))], "one ASCII line"),
    ],
)
def test_writer_refuses(parts: list[MimePart], message: str) -> None:
    with pytest.raises(As4BuildError, match=message) as info:
        write_related(parts)
    assert isinstance(info.value, BuildError)


def _written() -> tuple[str, bytes, str]:
    ctype, body = write_related(_parts()[:2], boundary="BND")
    return ctype, body, "BND"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda ct, b: ("text/plain", b), "not multipart/related"),
        (lambda ct, b: ("multipart/related; type=x", b), "no boundary"),
        (lambda ct, b: (ct.replace("BND", "OTHER"), b), "not found"),
        (lambda ct, b: (ct, b[: b.rfind(b"--BND--")]), "no closing boundary"),
        (
            lambda ct, b: (
                ct,
                b.replace(b"Content-ID: <payload-1@example.eu>", b"Content-ID: payload"),
            ),
            "Content-ID",
        ),
        (
            lambda ct, b: (ct, b.replace(b"Content-Type: application/gzip\r\n", b"")),
            "no Content-Type",
        ),
        (lambda ct, b: (ct, b.replace(b"binary", b"base64", 1)), "not binary"),
        (lambda ct, b: (ct, b.replace(b"payload-1@", b"soap@")), "repeat"),
        (lambda ct, b: (ct.replace("<soap@example.eu>", "<nope@x>"), b), "names no part"),
        (lambda ct, b: (ct, b.replace(b"Content-ID: <soap", b"\xff: <soap")), "not ASCII"),
        (lambda ct, b: (ct, b.replace(b"--BND\r\n", b"--BNDjunk\r\n", 1)), "malformed"),
        (lambda ct, b: (ct + '; x="open', b), "unterminated"),
    ],
)
def test_reader_refuses(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    ctype, body, _ = _written()
    bad_ct, bad_body = mutate(ctype, body)
    with pytest.raises(MimeError, match=message) as info:
        read_related(bad_ct, bad_body)
    assert isinstance(info.value, ReceivedError)


def test_reader_accepts_a_preamble_and_folded_headers() -> None:
    ctype, body, _ = _written()
    body = b"preamble\r\n" + body.replace(
        b"Content-Type: application/gzip", b"Content-Type: application/gzip;\r\n  x=1"
    )
    got = read_related(ctype, body)
    assert got[1].content_type == "application/gzip; x=1"
    assert got[1].body == _parts()[1].body


def test_profile_defaults_and_overrides() -> None:
    assert DEFAULT_PROFILE.mpc("IT123") == "urn:fdc:ec.europa.eu:2019:eu_ics2_c2t/EORI/IT123"
    assert DEFAULT_PROFILE.receipt_retry_delay == 10.0
    assert DEFAULT_PROFILE.test_action.endswith("/200704/test")
    national = attrs.evolve(DEFAULT_PROFILE, customs_party_id="nti-de", receipt_retry_delay=3.0)
    assert national.customs_party_id == "nti-de" and national.receipt_retry_delay == 3.0
    with pytest.raises(As4BuildError, match="receipt_retry_delay"):
        As4Profile(receipt_retry_delay=-1.0)
    with pytest.raises(As4BuildError, match="EORI"):
        DEFAULT_PROFILE.mpc("IT 1")
