"""Detached CMS SignedData, written here around ``cryptography``'s signing primitives.

The content is hashed in pieces (:class:`DetachedSigner`), so a large MIME entity is
never joined into one buffer just to be signed.  The DER is assembled by hand from
constants made once with asn1crypto; verification (``_verify``) and OpenSSL read it.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib

from asn1crypto import algos, cms  # type: ignore[import-untyped, unused-ignore]
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ..errors import BuildError
from ._algorithms import DigestName, RsaPadding, hash_for
from ._credentials import Credentials
from ._der import integer, tlv
from ._ids import cert_ids

_OID_DATA: bytes = cms.ContentType("data").dump()
_OID_SIGNED: bytes = cms.ContentType("signed_data").dump()
_ATTRIBUTE_OIDS: dict[str, bytes] = {
    name: cms.CMSAttributeType(name).dump()
    for name in ("content_type", "signing_time", "message_digest", "smime_capabilities")
}
_NULL = b"\x05\x00"
_CAPABILITIES = tlv(
    0x30,
    b"".join(
        tlv(0x30, algos.EncryptionAlgorithmId(name).dump())
        for name in ("aes256_cbc", "aes192_cbc", "aes128_cbc")
    ),
)
"""SMIMECapabilities: the ciphers we can decrypt, strongest first."""


@functools.cache
def _digest_algorithm(digest: str) -> bytes:
    return tlv(0x30, algos.DigestAlgorithmId(digest).dump() + _NULL)


@functools.cache
def _signature_algorithm(kind: str, digest: str) -> bytes:
    """The SignerInfo's signatureAlgorithm for ``rsa`` (PKCS#1 v1.5), ``pss`` or ``ecdsa``."""
    if kind == "rsa":
        return tlv(0x30, algos.SignedDigestAlgorithmId("rsassa_pkcs1v15").dump() + _NULL)
    if kind == "pss":
        parameters = algos.RSASSAPSSParams(
            {
                "hash_algorithm": {"algorithm": digest},
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": digest}},
                "salt_length": hash_for(digest).digest_size,
            }
        )
        algorithm = {"algorithm": "rsassa_pss", "parameters": parameters}
    else:
        algorithm = {"algorithm": f"{digest}_ecdsa"}
    der: bytes = algos.SignedDigestAlgorithm(algorithm).dump()
    return der


def _time(when: _dt.datetime) -> bytes:
    """signingTime: UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5652)."""
    utc = when.astimezone(_dt.timezone.utc)
    rest = f"{utc.month:02d}{utc.day:02d}{utc.hour:02d}{utc.minute:02d}{utc.second:02d}Z"
    if 1950 <= utc.year < 2050:
        return tlv(0x17, f"{utc.year % 100:02d}{rest}".encode("ascii"))
    return tlv(0x18, f"{utc.year:04d}{rest}".encode("ascii"))


def _attribute(name: str, value: bytes) -> bytes:
    """One Attribute: SEQUENCE { type OID, SET OF { value } }."""
    return tlv(0x30, _ATTRIBUTE_OIDS[name] + tlv(0x31, value))


_CONTENT_TYPE_ATTRIBUTE = _attribute("content_type", _OID_DATA)
_CAPABILITIES_ATTRIBUTE = _attribute("smime_capabilities", _CAPABILITIES)


class _Fixed:
    """The parts of a SignedData that depend only on the signer and the algorithms."""

    __slots__ = ("signer", "signer_info_head", "signature_algorithm", "signed_data_head")

    def __init__(self, signer: Credentials, digest: str, kind: str) -> None:
        self.signer = signer  # kept alive: the cache key is its id()
        cert = signer.certificate
        ids = cert_ids(cert)
        digest_algorithm = _digest_algorithm(digest)
        self.signer_info_head = (
            integer(1) + tlv(0x30, ids.issuer_der + integer(ids.serial)) + digest_algorithm
        )
        self.signature_algorithm = _signature_algorithm(kind, digest)
        certificates = sorted(cert_ids(c).der for c in (cert, *signer.chain))
        self.signed_data_head = (
            integer(1)
            + tlv(0x31, digest_algorithm)
            + tlv(0x30, _OID_DATA)
            + tlv(0xA0, b"".join(certificates))
        )


_FIXED: dict[tuple[int, str, str], _Fixed] = {}
""":class:`_Fixed` by (``id()`` of the Credentials, digest, signature kind); each entry
keeps its Credentials alive, so the ``id()`` is never another object's."""


def _fixed(signer: Credentials, digest: str, kind: str) -> _Fixed:
    key = (id(signer), digest, kind)
    fixed = _FIXED.get(key)
    if fixed is None or fixed.signer is not signer:
        if len(_FIXED) >= 64:
            _FIXED.clear()
        fixed = _FIXED[key] = _Fixed(signer, digest, kind)
    return fixed


class DetachedSigner:
    """A detached CMS signature over content fed in pieces with :meth:`update`.

    RSA keys sign with PKCS#1 v1.5 or PSS (salt length = digest length, MGF1 with the
    same digest); EC keys sign with ECDSA.  :meth:`finish` returns the DER SignedData:
    no content inside, the signer certificate and its chain, and the signed attributes
    contentType, signingTime, messageDigest and SMIMECapabilities.
    """

    def __init__(
        self,
        signer: Credentials,
        *,
        digest: DigestName = "sha256",
        rsa_padding: RsaPadding = "pkcs1v15",
    ) -> None:
        if digest not in ("sha256", "sha384", "sha512", "sha1"):
            raise BuildError(f"digest must be sha256, sha384, sha512 or sha1, not {digest!r}")
        if rsa_padding not in ("pkcs1v15", "pss"):
            raise BuildError(f"rsa_padding must be 'pkcs1v15' or 'pss', not {rsa_padding!r}")
        key = signer.private_key
        if isinstance(key, rsa.RSAPrivateKey):
            self._kind = "pss" if rsa_padding == "pss" else "rsa"
        elif not isinstance(key, ec.EllipticCurvePrivateKey):
            raise BuildError(f"cannot sign with a {type(key).__name__}: only RSA and EC keys")
        elif rsa_padding == "pss":
            raise BuildError("rsa_padding='pss' needs an RSA signing key; this one is EC")
        else:
            self._kind = "ecdsa"
        self._signer = signer
        self._digest = digest
        self._hash = hashlib.new(digest)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Hash the next piece of the content."""
        self._hash.update(data)

    def _sign(self, data: bytes) -> bytes:
        key = self._signer.private_key
        algorithm = hash_for(self._digest)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(algorithm))
        assert isinstance(key, rsa.RSAPrivateKey)  # checked in __init__
        if self._kind == "pss":
            pss = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=padding.PSS.DIGEST_LENGTH)
            return key.sign(data, pss, algorithm)
        return key.sign(data, padding.PKCS1v15(), algorithm)

    def finish(self, signing_time: _dt.datetime | None = None) -> bytes:
        """The DER ContentInfo with the SignedData (``signing_time`` defaults to now)."""
        when = signing_time or _dt.datetime.now(_dt.timezone.utc)
        attributes = b"".join(
            sorted(  # a DER SET OF is ordered by the encodings
                (
                    _CONTENT_TYPE_ATTRIBUTE,
                    _attribute("signing_time", _time(when)),
                    _attribute("message_digest", tlv(0x04, self._hash.digest())),
                    _CAPABILITIES_ATTRIBUTE,
                )
            )
        )
        signature = self._sign(tlv(0x31, attributes))  # signed as a SET OF, stored [0]
        fixed = _fixed(self._signer, self._digest, self._kind)
        signer_info = tlv(
            0x30,
            fixed.signer_info_head
            + tlv(0xA0, attributes)
            + fixed.signature_algorithm
            + tlv(0x04, signature),
        )
        signed_data = tlv(0x30, fixed.signed_data_head + tlv(0x31, signer_info))
        return tlv(0x30, _OID_SIGNED + tlv(0xA0, signed_data))


def sign_detached(
    content: bytes | bytearray | memoryview,
    signer: Credentials,
    *,
    digest: DigestName = "sha256",
    rsa_padding: RsaPadding = "pkcs1v15",
) -> bytes:
    """Sign ``content`` as it is (binary: no line-ending translation); return DER SignedData.

    See :class:`DetachedSigner` for what the SignedData holds and the algorithms.
    """
    signing = DetachedSigner(signer, digest=digest, rsa_padding=rsa_padding)
    signing.update(content)
    return signing.finish()
