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
from ._ids import names
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
