"""The WS-Security X.509 PKIPath token: a DER ``SEQUENCE OF Certificate``, root first, signer last.

``ICS2-RULES.md`` §6 item 4: the token holds the **full chain**, the root side first and the
signing certificate last; a leaf-only token is the most common onboarding failure, so
:func:`read_pkipath` can insist on a minimum length and checks that each certificate is issued
by the one before it.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from .errors import As4BuildError, TokenError

PKIPATH_VALUE_TYPE = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509PKIPathv1"
)
X509V3_VALUE_TYPE = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
)


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _read_tlv(data: bytes, pos: int, what: str) -> tuple[int, int]:
    """The (start, end) of the value of the SEQUENCE at ``pos``; refuses anything else."""
    if pos + 2 > len(data) or data[pos] != 0x30:
        raise TokenError(f"PKIPath token: {what} at byte {pos} is not a DER SEQUENCE")
    first = data[pos + 1]
    start = pos + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or start + count > len(data):
            raise TokenError(f"PKIPath token: {what} at byte {pos} has a bad DER length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    end = start + length
    if end > len(data):
        raise TokenError(
            f"PKIPath token: {what} at byte {pos} runs past the end ({end} > {len(data)})"
        )
    return start, end


def _describe(index: int, cert: x509.Certificate) -> str:
    return f"certificate {index} ({cert.subject.rfc4514_string()})"


def check_chain_order(chain: Sequence[x509.Certificate]) -> None:
    """Each certificate must be issued (name and signature) by the one before it."""
    for i in range(1, len(chain)):
        try:
            chain[i].verify_directly_issued_by(chain[i - 1])
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise TokenError(
                f"PKIPath token: {_describe(i, chain[i])} is not issued by "
                f"{_describe(i - 1, chain[i - 1])}: the chain must run root first, signer last"
            ) from exc


def write_pkipath(chain: Sequence[x509.Certificate]) -> bytes:
    """The DER PKIPath of ``chain`` (root first, signing certificate last), order checked."""
    if not chain:
        raise As4BuildError("PKIPath token: the certificate chain is empty")
    try:
        check_chain_order(chain)
    except TokenError as exc:
        raise As4BuildError(str(exc)) from exc
    inner = b"".join(c.public_bytes(Encoding.DER) for c in chain)
    return b"\x30" + _der_length(len(inner)) + inner


def read_pkipath(data: bytes, *, min_length: int = 2) -> tuple[x509.Certificate, ...]:
    """The certificates of a DER PKIPath, root first; the last one is the signer.

    ``min_length`` (default 2) refuses a leaf-only token, which customs refuses too.
    """
    start, end = _read_tlv(data, 0, "the outer value")
    if end != len(data):
        raise TokenError(f"PKIPath token: {len(data) - end} trailing byte(s) after the sequence")
    certs: list[x509.Certificate] = []
    pos = start
    while pos < end:
        _, cert_end = _read_tlv(data, pos, f"certificate {len(certs)}")
        try:
            certs.append(x509.load_der_x509_certificate(data[pos:cert_end]))
        except ValueError as exc:
            raise TokenError(f"PKIPath token: certificate {len(certs)} is not valid DER") from exc
        pos = cert_end
    if len(certs) < min_length:
        raise TokenError(
            f"PKIPath token holds {len(certs)} certificate(s), at least {min_length} needed: "
            "send the full chain, root first, signing certificate last "
            "(a leaf-only token is refused)"
        )
    check_chain_order(certs)
    return tuple(certs)
