"""The PKIPath token: root first, signer last, full chain; malformed tokens are refused."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from icsclient.errors import BuildError, SignatureError
from icsclient.ics2.as4.errors import As4BuildError, TokenError
from icsclient.ics2.as4.token import read_pkipath, write_pkipath
from icsclient.testing.ics2_pki import make_ics2_pki


@pytest.mark.parametrize("levels", [2, 3])
def test_round_trip_root_first(levels: int) -> None:
    pki = make_ics2_pki(levels)
    token = write_pkipath(pki.chain)
    assert token[0] == 0x30
    got = read_pkipath(token)
    assert got == pki.chain
    assert got[0] == pki.root and got[-1] == pki.signer
    assert pki.signer.public_key().public_numbers() == pki.key.public_key().public_numbers()


def test_leaf_only_token_is_refused() -> None:
    pki = make_ics2_pki(2)
    token = write_pkipath(pki.chain[-1:])
    with pytest.raises(TokenError, match="1 certificate.*leaf-only") as info:
        read_pkipath(token)
    assert isinstance(info.value, SignatureError)
    assert read_pkipath(token, min_length=1) == pki.chain[-1:]


def test_reversed_chain_is_refused_naming_the_certificate() -> None:
    pki = make_ics2_pki(3)
    reversed_token = b"".join(c.public_bytes(Encoding.DER) for c in reversed(pki.chain))
    body = b"\x30\x82" + len(reversed_token).to_bytes(2, "big") + reversed_token
    with pytest.raises(TokenError, match="certificate 1 .*trader issuing CA.* not issued by"):
        read_pkipath(body)
    with pytest.raises(As4BuildError, match="root first") as info:
        write_pkipath(tuple(reversed(pki.chain)))
    assert isinstance(info.value, BuildError)


def test_a_foreign_certificate_in_the_middle_is_refused() -> None:
    ours, theirs = make_ics2_pki(3), make_ics2_pki(3, name="other", index=1)
    with pytest.raises(As4BuildError, match="certificate 2"):
        write_pkipath((ours.chain[0], ours.chain[1], theirs.chain[2]))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: b"\x31" + t[1:], "not a DER SEQUENCE"),
        (lambda t: t + b"\x00", "trailing byte"),
        (lambda t: t[:-10], "runs past the end"),
        (lambda t: t[:4] + b"\x30\x03abc" + t[4:], "not valid DER|runs past|trailing"),
        (lambda t: b"", "not a DER SEQUENCE"),
    ],
)
def test_malformed_tokens(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    token = write_pkipath(make_ics2_pki(2).chain)
    with pytest.raises(TokenError, match=message):
        read_pkipath(mutate(token))


def test_empty_chain_is_refused() -> None:
    with pytest.raises(As4BuildError, match="empty"):
        write_pkipath(())
