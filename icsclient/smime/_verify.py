"""CMS signature verification with asn1crypto and ``cryptography``'s public-key primitives.

``cryptography`` has no PKCS#7/CMS verification, so the SignedData is parsed with
asn1crypto: the signer is picked by issuer and serial number or subject key identifier,
the contentType and messageDigest signed attributes are checked against the content, and
the signature is verified over the DER ``SET OF`` the signed attributes (RSA PKCS#1 v1.5,
RSA-PSS or ECDSA).  Chain validation and pinning are separate: see :class:`Trust`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import hmac
from collections.abc import Iterable, Iterator, Sequence

import attrs
from asn1crypto import cms, core  # type: ignore[import-untyped, unused-ignore]
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ..errors import SignatureError
from ._algorithms import HASHES
from ._decrypt import _tlv
from ._ids import cert_ids, names
from ._load import describe_certificate
from ._mime import canonicalise_crlf


@attrs.frozen
class VerifiedSignature:
    """A signature that verified (cryptographically; trust is checked separately).

    ``signed`` is the exact byte string the signature covers -- the content given (maybe
    a memoryview into the message), or for a detached signature over text that lost its
    CRs in transit its CRLF-canonical form; ``content`` is it as bytes.  ``certificates``
    holds every certificate the SignedData carried, for chain building.
    """

    signed: bytes | memoryview = attrs.field(repr=False, eq=False)
    signer: x509.Certificate
    certificates: tuple[x509.Certificate, ...] = attrs.field(repr=False)
    digest: str
    signature: str
    signing_time: _dt.datetime | None

    @property
    def content(self) -> bytes:
        """The signed bytes (a copy when ``signed`` is a view into a larger message)."""
        return self.signed if isinstance(self.signed, bytes) else bytes(self.signed)


class _Candidates:
    """The byte strings a detached signature may cover: as received, then CRLF-canonical.

    The canonical form is computed only if the first does not verify (it costs a pass
    over the content), and at most once.
    """

    def __init__(self, content: bytes | memoryview, *, canonicalise: bool) -> None:
        self._content = content
        self._canonicalise = canonicalise
        self._canonical: bytes | None = None

    def __iter__(self) -> Iterator[bytes | memoryview]:
        yield self._content
        if not self._canonicalise:
            return
        if self._canonical is None:
            plain = bytes(self._content)
            canonical = canonicalise_crlf(plain)
            self._canonical = b"" if canonical is plain else canonical
        if self._canonical:
            yield self._canonical


_MALFORMED = "the signature is not a well-formed CMS SignedData"


def _load_signed_data(der: bytes) -> cms.SignedData:
    """Parse a ContentInfo holding SignedData (lazily: parts are parsed as they are read)."""
    info = cms.ContentInfo.load(der)
    if info["content_type"].native != "signed_data":
        raise SignatureError(f"expected CMS signed-data, found {info['content_type'].native}")
    return info["content"]


@functools.lru_cache(maxsize=64)
def _certificate(der: bytes) -> x509.Certificate:
    """A certificate carried in a SignedData (the same few arrive again and again)."""
    return x509.load_der_x509_certificate(der)


def _find_signer(
    sid: cms.SignerIdentifier, certs: Sequence[x509.Certificate]
) -> x509.Certificate | None:
    """The certificate the SignerIdentifier names, or ``None``."""
    for cert in certs:
        if names(sid, cert):
            return cert
    return None


# ---------------------------------------------------------------- the quick path
#
# What we and most peers send -- DER, one signer named by issuer and serial number, signed
# attributes, RSA PKCS#1 v1.5 -- is read here by walking the DER, several times faster
# than asn1crypto.  The walk only ever *accepts*: anything unexpected, and every failed
# check, returns None and the full path below reads the message again and gives the
# answer (and the error message) it always gave.

_OID_SIGNED_DATA = bytes.fromhex("2a864886f70d010702")
_OID_CONTENT_TYPE = bytes.fromhex("2a864886f70d010903")
_OID_MESSAGE_DIGEST = bytes.fromhex("2a864886f70d010904")
_OID_SIGNING_TIME = bytes.fromhex("2a864886f70d010905")
_DIGEST_OIDS = {
    bytes.fromhex("2b0e03021a"): "sha1",
    bytes.fromhex("608648016503040204"): "sha224",
    bytes.fromhex("608648016503040201"): "sha256",
    bytes.fromhex("608648016503040202"): "sha384",
    bytes.fromhex("608648016503040203"): "sha512",
}
# rsaEncryption and sha1/224/256/384/512WithRSAEncryption: all PKCS#1 v1.5
_RSA_PKCS1_OIDS = frozenset(
    bytes.fromhex("2a864886f70d0101" + last) for last in ("01", "05", "0e", "0b", "0c", "0d")
)


def _children(der: bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(tag, TLV start, content start, end) of each DER element in ``der[start:end]``."""
    pos = start
    while pos < end:
        tag, body, stop = _tlv(der, pos, end)
        yield tag, pos, body, stop
        pos = stop


def _der_time(tag: int, text: bytes) -> _dt.datetime | None:
    """A UTCTime / GeneralizedTime in its DER form (``...Z``, whole seconds); else None."""
    if tag == 0x17 and len(text) == 13 and text.endswith(b"Z") and text[:12].isdigit():
        year = int(text[:2])
        year += 2000 if year < 50 else 1900
        rest = text[2:12]
    elif tag == 0x18 and len(text) == 15 and text.endswith(b"Z") and text[:14].isdigit():
        year, rest = int(text[:4]), text[4:14]
    else:
        return None
    month, day, hour, minute, second = (int(rest[i : i + 2]) for i in range(0, 10, 2))
    return _dt.datetime(year, month, day, hour, minute, second, tzinfo=_dt.timezone.utc)


def _quick_verify(
    der: bytes, content: bytes | memoryview | None, extra_certs: Sequence[x509.Certificate]
) -> VerifiedSignature | None:
    """:func:`verify_signed_data` for the common case; ``None``: use the full path."""
    try:
        return _quick(der, content, extra_certs)
    except Exception:  # anything at all: the full path decides
        return None


def _quick(
    der: bytes, content: bytes | memoryview | None, extra_certs: Sequence[x509.Certificate]
) -> VerifiedSignature | None:
    tag, pos, end = _tlv(der, 0, len(der))  # ContentInfo
    if tag != 0x30:
        return None
    tag, oid, pos = _tlv(der, pos, end)
    if tag != 0x06 or der[oid:pos] != _OID_SIGNED_DATA:
        return None
    tag, pos, end = _tlv(der, pos, end)  # [0] EXPLICIT
    if tag != 0xA0:
        return None
    tag, pos, end = _tlv(der, pos, end)  # SignedData
    if tag != 0x30:
        return None
    items = list(_children(der, pos, end))
    if len(items) < 4 or [t for t, *_ in items[:3]] != [0x02, 0x31, 0x30]:
        return None
    # encapContentInfo: eContentType, then [0] EXPLICIT OCTET STRING when not detached
    encap = list(_children(der, items[2][2], items[2][3]))
    if not encap or encap[0][0] != 0x06:
        return None
    econtent_type = der[encap[0][2] : encap[0][3]]
    if content is None:
        if len(encap) != 2 or encap[1][0] != 0xA0:
            return None
        tag, body, stop = _tlv(der, encap[1][2], encap[1][3])
        if tag != 0x04 or stop != encap[1][3]:
            return None
        signed_content: bytes | memoryview = der[body:stop]
    elif len(encap) != 1:
        return None
    else:
        signed_content = content
    rest = items[3:]
    certs: list[x509.Certificate] = []
    if rest and rest[0][0] == 0xA0:  # [0] IMPLICIT certificates
        for tag, start, _, stop in _children(der, rest[0][2], rest[0][3]):
            if tag == 0x30:
                certs.append(_certificate(der[start:stop]))
        rest = rest[1:]
    if rest and rest[0][0] == 0xA1:  # [1] IMPLICIT crls
        rest = rest[1:]
    if len(rest) != 1 or rest[0][0] != 0x31:
        return None
    signer_infos = list(_children(der, rest[0][2], rest[0][3]))
    if len(signer_infos) != 1 or signer_infos[0][0] != 0x30:
        return None
    fields = list(_children(der, signer_infos[0][2], signer_infos[0][3]))
    if len(fields) < 6 or [t for t, *_ in fields[:6]] != [0x02, 0x30, 0x30, 0xA0, 0x30, 0x04]:
        return None
    sid = list(_children(der, fields[1][2], fields[1][3]))  # IssuerAndSerialNumber
    if len(sid) != 2 or sid[0][0] != 0x30 or sid[1][0] != 0x02:
        return None
    issuer = der[sid[0][1] : sid[0][3]]
    serial = int.from_bytes(der[sid[1][2] : sid[1][3]], "big", signed=True)
    tag, oid, stop = _tlv(der, fields[2][2], fields[2][3])
    digest_name = _DIGEST_OIDS.get(der[oid:stop]) if tag == 0x06 else None
    if digest_name is None:
        return None
    found: dict[bytes, list[tuple[int, int, int]]] = {}
    for tag, _, body, stop in _children(der, fields[3][2], fields[3][3]):  # signed attrs
        if tag != 0x30:
            return None
        parts = list(_children(der, body, stop))
        if len(parts) != 2 or parts[0][0] != 0x06 or parts[1][0] != 0x31:
            return None
        values = [(t, b, e) for t, _, b, e in _children(der, parts[1][2], parts[1][3])]
        found.setdefault(der[parts[0][2] : parts[0][3]], []).extend(values)
    for oid_value in (_OID_CONTENT_TYPE, _OID_MESSAGE_DIGEST, _OID_SIGNING_TIME):
        if len(found.get(oid_value, ((),))) != 1:
            return None  # absent or repeated: the full path names the fault
    ((ct_tag, ct_start, ct_stop),) = found[_OID_CONTENT_TYPE]
    ((md_tag, md_start, md_stop),) = found[_OID_MESSAGE_DIGEST]
    if ct_tag != 0x06 or der[ct_start:ct_stop] != econtent_type or md_tag != 0x04:
        return None
    signing_time = None
    if _OID_SIGNING_TIME in found:
        ((st_tag, st_start, st_stop),) = found[_OID_SIGNING_TIME]
        signing_time = _der_time(st_tag, der[st_start:st_stop])
        if signing_time is None:
            return None
    tag, oid, stop = _tlv(der, fields[4][2], fields[4][3])
    if tag != 0x06 or der[oid:stop] not in _RSA_PKCS1_OIDS:
        return None
    signer = next(
        (
            c
            for c in (*certs, *extra_certs)
            if cert_ids(c).serial == serial and cert_ids(c).issuer_der == issuer
        ),
        None,
    )
    if signer is None:
        return None
    expected = der[md_start:md_stop]
    for candidate in _Candidates(signed_content, canonicalise=content is not None):
        if hmac.compare_digest(_digest(digest_name, candidate), expected):
            break
    else:
        return None
    public_key = signer.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        return None
    signed_attrs = b"\x31" + der[fields[3][1] + 1 : fields[3][3]]
    public_key.verify(
        der[fields[5][2] : fields[5][3]], signed_attrs, padding.PKCS1v15(), HASHES[digest_name]()
    )
    return VerifiedSignature(
        signed=candidate,
        signer=signer,
        certificates=tuple(certs),
        digest=digest_name,
        signature="rsassa_pkcs1v15",
        signing_time=signing_time,
    )


# ---------------------------------------------------------------- the full path


def _attribute(attrs_: cms.CMSAttributes, name: str) -> core.Asn1Value | None:
    """The single value of signed attribute ``name``, ``None`` if absent."""
    found = [a for a in attrs_ if a["type"].native == name]
    if not found:
        return None
    if len(found) > 1 or len(found[0]["values"]) != 1:
        raise SignatureError(f"the {name} signed attribute must occur once with one value")
    return found[0]["values"][0]


def _digest(name: str, data: bytes | memoryview) -> bytes:
    """The ``name`` digest of ``data``."""
    return hashlib.new(name, data).digest()


def verify_signed_data(
    der: bytes,
    content: bytes | memoryview | None = None,
    *,
    extra_certs: Sequence[x509.Certificate] = (),
) -> VerifiedSignature:
    """Verify a CMS SignedData (DER or BER) over ``content`` (detached) or its own content.

    For a detached signature ``content`` is the signed MIME entity as received; when its
    digest does not match, the CRLF-canonical form (as OpenSSL signs text) is tried.
    ``extra_certs`` are searched for the signer certificate when the SignedData does not
    carry it.  Every signer must verify; the first is reported.  Raises
    :class:`~icsclient.errors.SignatureError` naming the check that failed.
    """
    quick = _quick_verify(der, content, extra_certs)
    if quick is not None:
        return quick
    try:
        return _verify_signed_data(der, content, extra_certs)
    except SignatureError:
        raise
    except Exception:  # asn1crypto parses lazily: a malformed part fails where it is read
        raise SignatureError(_MALFORMED) from None


def _verify_signed_data(
    der: bytes,
    content: bytes | memoryview | None,
    extra_certs: Sequence[x509.Certificate],
) -> VerifiedSignature:
    """:func:`verify_signed_data`, letting parse errors out as they come."""
    signed = _load_signed_data(der)
    encap = signed["encap_content_info"]
    econtent_type = encap["content_type"].native
    embedded = encap["content"]
    if content is None:
        if isinstance(embedded, core.Void) or embedded.native is None:
            raise SignatureError("detached signature but no signed content was found")
        candidates = _Candidates(bytes(embedded.native), canonicalise=False)
    else:
        if not isinstance(embedded, core.Void) and embedded.native is not None:
            raise SignatureError("the signature embeds content but was used as detached")
        candidates = _Candidates(content, canonicalise=True)
    certs = [
        _certificate(choice.chosen.dump())
        for choice in signed["certificates"] or ()
        if choice.name == "certificate"
    ]
    certs.extend(extra_certs)
    signer_infos = list(signed["signer_infos"])
    if not signer_infos:
        raise SignatureError("the SignedData has no signer")
    results = [_verify_signer(si, econtent_type, candidates, certs) for si in signer_infos]
    first = results[0]
    return VerifiedSignature(
        signed=first[0],
        signer=first[1],
        certificates=tuple(certs[: len(certs) - len(extra_certs)]),
        digest=first[2],
        signature=first[3],
        signing_time=first[4],
    )


def _verify_signer(
    si: cms.SignerInfo,
    econtent_type: str,
    candidates: _Candidates,
    certs: Sequence[x509.Certificate],
) -> tuple[bytes | memoryview, x509.Certificate, str, str, _dt.datetime | None]:
    """Check one SignerInfo: attributes, digest, signature; return what it covers."""
    found = _find_signer(si["sid"], certs)
    if found is None:
        raise SignatureError(
            "the signer certificate is neither in the signature nor among the known certificates"
        )
    digest_name = si["digest_algorithm"]["algorithm"].native
    if digest_name not in HASHES:
        raise SignatureError(f"unsupported digest algorithm {digest_name}")
    signed_attrs = si["signed_attrs"]
    signing_time: _dt.datetime | None = None
    content: bytes | memoryview | None = None
    if isinstance(signed_attrs, core.Void) or len(signed_attrs) == 0:
        # no signed attributes: the signature covers the content itself
        to_verify: Iterable[bytes | memoryview] = candidates
    else:
        content_type = _attribute(signed_attrs, "content_type")
        message_digest = _attribute(signed_attrs, "message_digest")
        if content_type is None or message_digest is None:
            raise SignatureError("the signed attributes lack contentType or messageDigest")
        if content_type.native != econtent_type:
            raise SignatureError(
                f"the contentType attribute ({content_type.native}) does not match the "
                f"signed content type ({econtent_type})"
            )
        expected = message_digest.native
        for candidate in candidates:
            if hmac.compare_digest(_digest(digest_name, candidate), expected):
                content = candidate
                break
        else:
            raise SignatureError(
                "the content does not match the messageDigest attribute (altered in transit)"
            )
        when = _attribute(signed_attrs, "signing_time")
        if when is not None:
            signing_time = when.native
        # the signature covers the DER SET OF the attributes, not their [0] IMPLICIT tag
        to_verify = [b"\x31" + signed_attrs.dump()[1:]]
    algorithm = si["signature_algorithm"]
    try:
        kind = algorithm.signature_algo
    except ValueError:
        raise SignatureError(
            f"unsupported signature algorithm {algorithm['algorithm'].dotted}"
        ) from None
    signature = si["signature"].native
    public_key = found.public_key()
    for data in to_verify:
        try:
            _check_signature(kind, algorithm, digest_name, public_key, signature, data)
        except InvalidSignature:
            continue
        if content is None:
            content = data
        return content, found, digest_name, kind, signing_time
    raise SignatureError(
        f"the signature does not verify with the key of {describe_certificate(found)} "
        "(signature altered, or made with another key)"
    )


def _check_signature(
    kind: str,
    algorithm: cms.SignedDigestAlgorithm,
    digest_name: str,
    public_key: object,
    signature: bytes,
    data: bytes | memoryview,
) -> None:
    """Verify ``signature`` over ``data``; InvalidSignature when it does not match."""
    hash_algorithm = HASHES[digest_name]()
    if isinstance(data, memoryview):  # only without signed attributes: rare, small
        data = bytes(data)
    if kind == "rsassa_pkcs1v15":
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise SignatureError("an RSA signature, but the signer certificate has no RSA key")
        public_key.verify(signature, data, padding.PKCS1v15(), hash_algorithm)
    elif kind == "rsassa_pss":
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise SignatureError("an RSA-PSS signature, but the signer certificate has no RSA key")
        params = algorithm["parameters"]
        pss_hash = params["hash_algorithm"]["algorithm"].native
        mgf = params["mask_gen_algorithm"]
        if mgf["algorithm"].native != "mgf1":
            raise SignatureError("unsupported RSA-PSS mask generation function")
        mgf_hash = mgf["parameters"]["algorithm"].native
        if pss_hash not in HASHES or mgf_hash not in HASHES:
            raise SignatureError("unsupported RSA-PSS digest")
        pad = padding.PSS(
            mgf=padding.MGF1(HASHES[mgf_hash]()), salt_length=params["salt_length"].native
        )
        public_key.verify(signature, data, pad, HASHES[pss_hash]())
    elif kind == "ecdsa":
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise SignatureError("an ECDSA signature, but the signer certificate has no EC key")
        public_key.verify(signature, data, ec.ECDSA(hash_algorithm))
    else:
        raise SignatureError(f"unsupported signature algorithm {kind}")
