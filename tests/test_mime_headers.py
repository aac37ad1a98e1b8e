"""Header blocks read by hand (``icsclient.smime._mime``) answer as the ``email`` package does.

``parse_entity`` splits a header block of the usual form itself and answers the questions
S/MIME asks (content type, parameters, transfer encoding, disposition, single headers)
from the split fields; anything unusual goes to ``email`` (compat32).  The reference here
is what the accessors gave when every block went through ``email``'s feed parser and
every answer through :class:`email.message.Message`.  The tests also check that the
usual blocks really take the hand-made path, so they fail if it stops being taken.
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import re
from email.message import Message

import pytest
from hypothesis import given
from hypothesis import strategies as st

from icsclient.errors import MailError
from icsclient.smime._mime import (
    Entity,
    _content_type,
    _header_end,
    _param,
    _split_fields,
    _Unsure,
    decode_words,
    header_defects,
    parse_entity,
)

_PARSER = email.parser.BytesHeaderParser(policy=email.policy.compat32)
_OLD_HEADER_END = re.compile(rb"\r?\n\r?\n")

PARAMS = ("boundary", "protocol", "micalg", "smime-type", "name", "filename", "charset", "x")
HEADERS = (
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "subject",
    "from",
    "message-id",
    "date",
    "x-other",
    "absent",
)


def _reference(head: bytes) -> Message:
    """The header block as ``email``'s feed parser reads it, with only its header defects.

    (3.10 also reports MultipartInvariantViolationDefect for a multipart type read
    header-only: about a body it never read, so ``header_defects`` leaves it out.)
    """
    message = _PARSER.parsebytes(head + b"\r\n\r\n")
    message.defects[:] = header_defects(message)
    return message


def _ref_param(message: Message, name: str, header: str = "content-type") -> str | None:
    value = message.get_param(name, header=header)
    if value is None:
        return None
    if isinstance(value, tuple):
        return email.utils.collapse_rfc2231_value(value)
    return str(value)


def _ref_get(message: Message, name: str) -> str | None:
    value = message.get(name)
    return None if value is None else str(value)


def _answers_of_entity(entity: Entity) -> dict[str, object]:
    answers: dict[str, object] = {
        "content_type": entity.content_type,
        "content_maintype": entity.content_maintype,
        "transfer_encoding": entity.transfer_encoding,
        "disposition": entity.disposition,
        "filename": entity.filename,
    }
    for header in ("content-type", "Content-Disposition"):
        for name in PARAMS:
            answers[f"param {header} {name}"] = entity.param(name, header)
    for name in HEADERS:
        answers[f"header {name}"] = entity.header(name)
        answers[f"count {name}"] = entity.header_count(name)
    return answers


def _answers_of_message(message: Message) -> dict[str, object]:
    """What ``Entity``'s accessors answered when they all asked ``message``."""
    cte = _ref_get(message, "content-transfer-encoding")
    disposition = _ref_get(message, "content-disposition")
    answers: dict[str, object] = {
        "content_type": message.get_content_type(),
        "content_maintype": message.get_content_maintype(),
        "transfer_encoding": cte.strip().lower() if cte else "7bit",
        "disposition": None
        if disposition is None
        else disposition.split(";", 1)[0].strip().lower(),
        "filename": _ref_param(message, "filename", "content-disposition")
        or _ref_param(message, "name"),
    }
    for header in ("content-type", "Content-Disposition"):
        for name in PARAMS:
            answers[f"param {header} {name}"] = _ref_param(message, name, header)
    for name in HEADERS:
        value = _ref_get(message, name)
        answers[f"header {name}"] = None if value is None else decode_words(value)
        answers[f"count {name}"] = len(message.get_all(name) or ())
    return answers


def _assert_same_as_email(head: bytes, *, fast: bool) -> Entity:
    """``parse_entity`` of ``head`` and a body answers as ``email`` does; the fields come
    from the hand-made split if ``fast``, else from ``email``."""
    raw = head + b"\r\n\r\nthe body\r\n"
    reference = _reference(head)
    assert not reference.defects
    entity = parse_entity(raw)
    assert (_split_fields(head) is not None) is fast
    assert entity.raw_headers == head and entity.body == b"the body\r\n"
    assert _answers_of_entity(entity) == _answers_of_message(reference)
    assert entity.headers.items() == reference.items()
    assert entity.headers.get_unixfrom() == reference.get_unixfrom()
    return entity


# ----------------------------------------------------------------- generated usual blocks


def _any_case(word: str) -> st.SearchStrategy[str]:
    return st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda flips: "".join(c.swapcase() if f else c for c, f in zip(word, flips, strict=True))
    )


_FOLD = "\x00"  # replaced by a line break and a blank when the block is assembled
_SPACE = st.sampled_from(["", " ", "  ", "\t", " \t "])
_TOKEN = st.text(alphabet="abcXYZ09-._/+=<>@", min_size=0, max_size=10)
_QUOTED_TEXT = st.text(alphabet='ab ;=,:<>\\"\t', max_size=10)


@st.composite
def _param_value(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["token", "quoted", "escaped", "angle", "unbalanced"]))
    if kind == "token":
        return draw(_TOKEN)
    text = draw(_QUOTED_TEXT)
    if kind == "quoted":
        return '"' + text.replace("\\", "").replace('"', "") + '"'
    if kind == "escaped":  # quotes and backslashes escaped as RFC 2045 says
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if kind == "angle":
        return "<" + text.replace('"', "") + ">"
    return '"' + text  # no closing quote: runs to the end of the value


@st.composite
def _structured_value(draw: st.DrawFn) -> str:
    main = draw(
        st.one_of(
            st.sampled_from(
                [
                    "application/pkcs7-mime",
                    "multipart/signed",
                    "application/EDIFACT",
                    "Text/Plain",
                    "attachment",
                    "inline",
                    "text",
                    "a/b/c",
                    "",
                ]
            ),
            _TOKEN,
        )
    )
    params = draw(
        st.lists(
            st.tuples(
                st.one_of(st.sampled_from(PARAMS).flatmap(_any_case), _TOKEN),
                st.sampled_from(["=", " = ", "=\t", ""]),
                _param_value(),
            ),
            max_size=5,
        )
    )
    separators = st.sampled_from(
        [";", "; ", " ; ", ";\t", ";;", f";{_FOLD} ", f";{_FOLD}\t", f"{_FOLD} ;"]
    )
    value = main
    for name, equals, param in params:
        value += draw(separators) + name + equals + (param if equals else "")
    return value + draw(st.sampled_from(["", " ", ";", "\t"]))


@st.composite
def _field(draw: st.DrawFn) -> str:
    name = draw(
        st.one_of(
            st.sampled_from(
                [
                    "Content-Type",
                    "Content-Disposition",
                    "Content-Transfer-Encoding",
                    "Subject",
                    "From",
                    "Message-ID",
                    "Date",
                    "X-Other",
                ]
            ).flatmap(_any_case),
            st.text(alphabet="abXY-_!#~09", min_size=1, max_size=8),
        )
    )
    if name.lower() in ("content-type", "content-disposition"):
        value = draw(_structured_value())
    elif name.lower() == "content-transfer-encoding":
        value = draw(st.sampled_from(["base64", " BASE64 ", "7bit", "Quoted-Printable", ""]))
    else:
        value = draw(st.text(alphabet=f'ab ;:="\t<>@.{_FOLD}', max_size=20))
    return name + ":" + draw(_SPACE) + value


@st.composite
def _usual_block(draw: st.DrawFn) -> bytes:
    fields = draw(st.lists(_field(), min_size=1, max_size=8))
    text = "\x01".join(fields)  # \x01: a line break between fields
    out = []
    for char in text:
        if char in (_FOLD, "\x01"):
            char = draw(st.sampled_from(["\r\n", "\n"])) + (" " if char == _FOLD else "")
        out.append(char)
    return "".join(out).encode("ascii")


@given(_usual_block())
def test_usual_blocks_are_read_by_hand_as_email_reads_them(head: bytes) -> None:
    entity = _assert_same_as_email(head, fast=True)
    # and every parameter was answered without asking email
    for header in ("content-type", "content-disposition"):
        value = entity._first.get(header) if entity._first is not None else None
        for name in PARAMS:
            assert not isinstance(_param(value, name), _Unsure)


def test_a_realistic_outer_header_block() -> None:
    head = (
        b"From: edi@broker.test\r\n"
        b"To: cargo@ccf.test\r\n"
        b"Subject: AAA676Y_1_AAA336C\r\n"
        b"Date: Sun, 22 Nov 2026 07:27:09 +0000\r\n"
        b"Message-ID: <179533242943.21759.13377980737708781309@broker.test>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data;\r\n"
        b' name="smime.p7m"\r\n'
        b"Content-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="smime.p7m"'
    )
    entity = _assert_same_as_email(head, fast=True)
    assert entity.content_type == "application/pkcs7-mime"
    assert entity.param("smime-type") == "enveloped-data" and entity.filename == "smime.p7m"
    assert entity.header("subject") == "AAA676Y_1_AAA336C" and entity.header_count("subject") == 1
    assert entity.headers["content-type"] == (
        'application/pkcs7-mime; smime-type=enveloped-data;\r\n name="smime.p7m"'
    )


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        # repeated headers: the first wins, all are counted
        (b"Subject: one\r\nsubject: two\r\nSUBJECT: three", {"subject": "one", "count": 3}),
        # LF and CRLF mixed, folded with a tab
        (b"Subject: a\n\tb\r\n c\nFrom: x", {"subject": "a b c", "count": 1}),
        # no blank after the colon, blanks before the value
        (b"Subject:a", {"subject": "a", "count": 1}),
        (b"Subject: \t a", {"subject": "a", "count": 1}),
        # an empty value, then a continuation
        (b"Subject:\r\n a", {"subject": " a", "count": 1}),
    ],
)
def test_single_headers(head: bytes, expected: dict[str, object]) -> None:
    entity = _assert_same_as_email(head, fast=True)
    assert entity.header("subject") == expected["subject"]
    assert entity.header_count("Subject") == expected["count"]


@pytest.mark.parametrize(
    ("value", "name", "expected"),
    [
        (
            'multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256',
            "micalg",
            "sha-256",
        ),
        ('multipart/signed; boundary="a;b"; micalg=sha-256', "boundary", "a;b"),
        ('multipart/signed; boundary="a;b"; micalg=sha-256', "micalg", "sha-256"),
        (r'x/y; name="a \"b; c\" d"; z=1', "name", 'a "b; c" d'),
        (r'x/y; name="a \"b; c\" d"; z=1', "z", "1"),
        (r'x/y; name="back\\slash"', "name", "back\\slash"),
        ("x/y; name=<angle>", "name", "angle"),
        ("x/y; NAME = first; name=second", "name", "first"),
        ("x/y; name", "name", ""),
        ("x/y; name=", "name", ""),
        ('x/y; name="unbalanced; z=1', "z", None),
        ("x/y", "name", None),
        ("x/y; other=1", "name", None),
    ],
)
def test_parameters(value: str, name: str, expected: str | None) -> None:
    head = f"Content-Type: {value}".encode("ascii")
    entity = _assert_same_as_email(head, fast=True)
    assert not isinstance(_param(value, name), _Unsure)
    assert entity.param(name) == expected


# ----------------------------------------------------------------- falling back to email


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        # RFC 2231: an encoded value, and one in continuations
        (b"Content-Type: x/y; name*=utf-8''caf%C3%A9.edi", "name", "café.edi"),
        (b"Content-Type: x/y; name*0*=utf-8''caf%C3%A9; name*1=.edi", "name", "café.edi"),
        (b'Content-Type: x/y; name*0="a"; name*1="b"', "name", "ab"),
        # encoded words are left as they are by email, and so here
        (b'Content-Type: x/y; name="=?utf-8?q?caf=C3=A9?="', "name", "=?utf-8?q?caf=C3=A9?="),
        # comments are not understood by email's parameter reader either
        (b"Content-Type: x/y (comment); name=a (b)", "name", "a (b)"),
    ],
)
def test_unusual_parameters_are_answered_by_email(head: bytes, name: str, expected: str) -> None:
    entity = _assert_same_as_email(head, fast=True)
    assert isinstance(
        _param(entity._first["content-type"] if entity._first else None, name), _Unsure
    )
    assert entity.param(name) == expected


def test_encoded_words_in_the_subject_are_decoded() -> None:
    entity = _assert_same_as_email(
        b"Subject: =?utf-8?q?caf=C3=A9_AAA?=\r\n =?utf-8?q?_B?=", fast=True
    )
    assert entity.header("subject") == "café AAA B"


@pytest.mark.parametrize(
    "head",
    [
        "Subject: café".encode("latin-1"),  # not ASCII
        "Subject: café".encode(),
        b'Content-Type: x/y; name="\xe9.edi"',
        b"From nobody Mon Jan  1 00:00:00 2024\r\nSubject: a",  # an mbox From line
        b"Subject: a\rFrom: b\r\n c",  # a lone CR ends a line for email
    ],
)
def test_unusual_blocks_are_parsed_by_email(head: bytes) -> None:
    entity = _assert_same_as_email(head, fast=False)
    assert entity._first is None


@pytest.mark.parametrize(
    "head",
    [
        b" Subject: starts with a continuation",
        b"Subject: a\r\nno colon here",
        b": no name",
        b"Subject: a\r\nFrom x\r\nTo: b",  # a misplaced From line
    ],
)
def test_malformed_blocks_are_refused_as_before(head: bytes) -> None:
    assert _split_fields(head) is None
    assert _reference(head).defects
    with pytest.raises(MailError, match="malformed MIME header block"):
        parse_entity(head + b"\r\n\r\nbody")


def test_the_message_is_built_only_when_asked_for() -> None:
    entity = parse_entity(b"Content-Type: text/plain; charset=ISO-8859-1\r\n\r\nbody")
    assert entity._parsed is None
    assert entity.content_type == "text/plain" and entity.param("charset") == "ISO-8859-1"
    assert "headers" not in dir(entity) or entity._parsed is None
    assert entity.headers.get_content_charset() == "iso-8859-1"
    assert entity.headers is entity.headers  # built once


def test_an_empty_header_block() -> None:
    for raw in (b"\r\nbody", b"\nbody"):
        entity = parse_entity(raw)
        assert entity._fields == () and entity.body == b"body"
        assert entity.content_type == "text/plain" and entity.header("subject") is None
        assert entity.headers.items() == []


# ----------------------------------------------------------------- arbitrary input


_ARBITRARY = st.lists(
    st.one_of(
        st.sampled_from(
            [
                'Content-Type: multipart/signed; boundary="x;y"; micalg=sha-256',
                "content-type: application/pkcs7-mime; name*=utf-8''a.p7m",
                'Content-Disposition: attachment; filename="a \\"b\\".edi"',
                "Content-Transfer-Encoding: BASE64 ",
                ' name="smime.p7m"',
                "\tboundary=z",
                "Subject: a",
                "Subject: =?utf-8?q?caf=C3=A9?=",
                "From nobody",
                "X: (c) v",
                ":",
                "no colon",
                "Caf\xe9: x",
            ]
        ),
        st.text(alphabet=' \t:;="\\<>()*?abAB-/\r\n\x0b\x0c\x1c\xe9', max_size=14),
    ),
    max_size=6,
)


@given(_ARBITRARY, st.sampled_from(["\r\n", "\n"]))
def test_any_block_is_answered_as_email_answers_it(lines: list[str], eol: str) -> None:
    raw = eol.join(lines).encode("latin-1") + b"\r\n\r\nbody"
    # where parse_entity split a block from its body when it used the regular expression
    if raw.startswith((b"\r\n", b"\n")):
        head_end = 0
        body_start = 2 if raw.startswith(b"\r\n") else 1
    else:
        found = _OLD_HEADER_END.search(raw)
        assert found is not None
        head_end, body_start = found.span()
    head = raw[:head_end]
    reference = _reference(head)
    if reference.defects:
        with pytest.raises(MailError):
            parse_entity(raw)
        return
    entity = parse_entity(raw)
    assert entity.raw_headers == head and entity.body == raw[body_start:]
    assert _answers_of_entity(entity) == _answers_of_message(reference)
    assert entity.headers.items() == reference.items()
    fields = _split_fields(head)
    if fields is not None:
        assert fields == reference.items()


@given(
    st.text(alphabet=' \t;="\\<>()*?=abAB/\r\n', max_size=30), st.sampled_from(PARAMS + ("ab", "a"))
)
def test_any_parameter_value_is_answered_as_email_answers_it(value: str, name: str) -> None:
    message = Message()
    message.set_raw("Content-Type", value)
    found = _param(value, name)
    if isinstance(found, _Unsure):
        assert "*" in value or "=?" in value or "(" in value
    else:
        assert found == _ref_param(message, name)
    assert _content_type(value) == message.get_content_type()


@given(
    st.lists(
        st.sampled_from([b"a", b":", b" ", b"\r", b"\n", b"\r\n", b"\n\n", b"\r\n\r\n"]),
        max_size=12,
    ),
    st.integers(0, 3),
)
def test_the_header_end_is_where_the_regular_expression_finds_it(
    pieces: list[bytes], start: int
) -> None:
    raw = b"".join(pieces)
    start = min(start, len(raw))
    for stop in {len(raw), max(start, len(raw) - 2)}:
        found = _OLD_HEADER_END.search(raw, start, stop)
        expected = (stop, stop) if found is None else found.span()
        assert _header_end(raw, start, stop) == expected
