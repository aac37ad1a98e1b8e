"""S/MIME entities: sign-then-encrypt a MIME entity, and peel the layers off a received one.

The MIME around the DER is written here, by hand, CRLF everywhere; received entities are
split on bytes (see :mod:`._mime`) so signatures are checked over the bytes as received.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

import attrs
from cryptography import x509

from ..errors import MailError, SignatureError
from ._algorithms import MICALG, Algorithms, CipherName, DigestName, KeyTransportName, RsaPadding
from ._credentials import Credentials
from ._decrypt import decrypt_envelope
from ._envelope import RecipientId, envelope_pieces
from ._errors import NotEncryptedError, NotSignedError
from ._ids import cert_ids
from ._mime import (
    CRLF,
    Base64Lines,
    Entity,
    b64_lines,
    canonicalise_crlf,
    new_boundary,
    parse_entity,
    split_multipart,
)
from ._sign import DetachedSigner
from ._trust import Trust
from ._verify import VerifiedSignature, verify_signed_data

_PKCS7_MIME = ("application/pkcs7-mime", "application/x-pkcs7-mime")
_PKCS7_SIGNATURE = ("application/pkcs7-signature", "application/x-pkcs7-signature")
_MAX_LAYERS = 4

# DER of the contentType OIDs, as found near the start of a ContentInfo
_OID_SIGNED = bytes.fromhex("06092a864886f70d010702")
_OID_ENVELOPED = bytes.fromhex("06092a864886f70d010703")
_OID_AUTH_ENVELOPED = bytes.fromhex("060b2a864886f70d0109100117")


_SIGNATURE_HEAD = (
    b'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b'Content-Disposition: attachment; filename="smime.p7s"\r\n\r\n'
)


def _occurs(boundary: bytes, parts: list[bytes]) -> bool:
    """Whether ``boundary`` (which starts with ``-``) occurs in the parts joined."""
    width = len(boundary) - 1
    tail = b""  # the last ``width`` bytes before the current part
    for part in parts:
        if boundary in tail + part[:width]:  # across the joint
            return True
        if b"-" in part and boundary in part:  # memchr first: base64 has no "-"
            return True
        tail = (tail + part[-width:])[-width:]
    return False


def _signed_pieces(
    parts: list[bytes], signer: Credentials, digest: DigestName, rsa_padding: RsaPadding
) -> list[bytes]:
    """Sign the entity given as ``parts``; return the ``multipart/signed`` entity in pieces.

    The parts are hashed one by one, never joined: the result is the multipart head,
    the parts themselves, and the delimiter with the signature part.
    """
    signing = DetachedSigner(signer, digest=digest, rsa_padding=rsa_padding)
    for part in parts:
        signing.update(part)
    boundary = new_boundary(b"").encode("ascii")
    while _occurs(boundary, parts):  # practically never
        boundary = new_boundary(b"").encode("ascii")
    head = (
        b'Content-Type: multipart/signed; protocol="application/pkcs7-signature";'
        + b' micalg="'
        + MICALG[digest].encode("ascii")
        + b'";'
        + CRLF
        + b' boundary="'
        + boundary
        + b'"'
        + CRLF
        + CRLF
        + b"--"
        + boundary
        + CRLF
    )
    signature = signing.finish()
    tail = (
        CRLF + b"--" + boundary + CRLF
        + _SIGNATURE_HEAD + b64_lines(signature)
        + b"--" + boundary + b"--" + CRLF
    )  # fmt: skip
    return [head, *parts, tail]


def signed_entity(
    entity: bytes,
    signer: Credentials,
    *,
    digest: DigestName = "sha256",
    rsa_padding: RsaPadding = "pkcs1v15",
) -> bytes:
    """Wrap a MIME entity (headers + body, CRLF) in a detached ``multipart/signed`` entity.

    ``entity`` is signed exactly as given; it should already use CRLF line endings (the
    canonical form), which this library's composers guarantee.
    """
    return b"".join(_signed_pieces([entity], signer, digest, rsa_padding))


def _enveloped_head(authenticated: bool) -> bytes:
    """The Content-* header lines (and blank line) of an enveloped-data entity."""
    smime_type = b"authEnveloped-data" if authenticated else b"enveloped-data"
    return (
        b"Content-Type: application/pkcs7-mime; smime-type="
        + smime_type
        + b";"
        + CRLF
        + b' name="smime.p7m"'
        + CRLF
        + b"Content-Transfer-Encoding: base64"
        + CRLF
        + b'Content-Disposition: attachment; filename="smime.p7m"'
        + CRLF
        + CRLF
    )


def enveloped_entity(der: bytes, *, authenticated: bool = False, headers: bytes = b"") -> bytes:
    """The ``application/pkcs7-mime`` entity (headers, blank line, base64) around CMS DER.

    ``headers`` (complete CRLF-ended header lines, e.g. an e-mail's From/To/Subject) are
    put before the Content-* lines.
    """
    encoder = Base64Lines(headers + _enveloped_head(authenticated))
    encoder.feed(der)
    return encoder.finish()


def sign_and_encrypt(
    entity: bytes | list[bytes],
    *,
    signer: Credentials,
    recipients: Sequence[x509.Certificate],
    digest: DigestName = "sha256",
    rsa_padding: RsaPadding = "pkcs1v15",
    cipher: CipherName = "aes256_cbc",
    key_transport: KeyTransportName = "rsaes_pkcs1v15",
    recipient_id: RecipientId = "issuer_serial",
    headers: bytes = b"",
) -> bytes:
    """Sign ``entity`` (detached, ``multipart/signed``), then encrypt that to ``recipients``.

    Returns the ``application/pkcs7-mime; smime-type=enveloped-data`` entity: its
    Content-* header lines, a blank line and the base64 body, CRLF throughout, preceded by
    ``headers`` (complete CRLF-ended lines: with an e-mail's headers the result is the
    e-mail).  ``entity`` may be given as a list of byte strings that concatenate to it;
    the list is emptied as the pieces are used, to keep memory down.
    """
    parts = entity if isinstance(entity, list) else [entity]
    signed = _signed_pieces(parts, signer, digest, rsa_padding)
    parts.clear()  # the caller's pieces are now in ``signed``, dropped as soon as it is
    encoder = Base64Lines(headers + _enveloped_head(cipher.endswith("_gcm")))
    for piece in envelope_pieces(
        signed, recipients, cipher=cipher, key_transport=key_transport, recipient_id=recipient_id
    ):
        encoder.feed(piece)  # the envelope is encrypted and encoded in steps
    del signed
    return encoder.finish()


@attrs.frozen
class Unwrapped:
    """What is left once the S/MIME layers are off, and what they were.

    ``entity`` is the innermost MIME entity (for a CCF e-mail: the interchange
    attachment); :attr:`content` its raw bytes.  ``signer`` is ``None`` when the message was
    not signed (only possible with ``require_signature=False``); ``chain`` is the
    validated chain, signer first.  ``recipient`` is our certificate the message was
    encrypted to, ``None`` when it was not encrypted.
    """

    entity: Entity = attrs.field(repr=False)
    encrypted: bool
    signer: x509.Certificate | None
    chain: tuple[x509.Certificate, ...] = attrs.field(repr=False)
    signing_time: _dt.datetime | None
    algorithms: Algorithms
    recipient: x509.Certificate | None

    @property
    def content(self) -> bytes:
        """The innermost entity's bytes, headers and body (a copy if it is a part)."""
        return self.entity.raw()


def _cms_kind(der: bytes) -> str | None:
    """``enveloped`` or ``signed`` from the contentType OID near the start of the DER."""
    head = der[:40]
    if _OID_ENVELOPED in head:
        return "enveloped"
    if _OID_AUTH_ENVELOPED in head:
        return "enveloped"
    if _OID_SIGNED in head:
        return "signed"
    return None


def unwrap(
    raw: bytes,
    *,
    recipients: Sequence[Credentials],
    trust: Trust | None,
    require_encryption: bool = True,
    require_signature: bool = True,
    strict: bool = False,
) -> Unwrapped:
    """Decrypt and verify a received S/MIME entity (a whole e-mail will do).

    Layers are peeled in the order found: ``application/pkcs7-mime`` enveloped-data is
    decrypted with whichever of ``recipients`` it names; ``multipart/signed`` (detached)
    and ``application/pkcs7-mime`` signed-data (opaque) are verified over the bytes as
    received.  Then, with ``trust``, the signer's chain is validated and the signer must be
    one of the pinned certificates.

    A detached signature is accepted over the signed part as received or over its
    CRLF-canonical form.  With ``strict`` it must verify over the canonical form, as
    OpenSSL's ``cms -verify`` checks it: a signature made over bare LF line endings is then
    refused with :class:`~icsclient.errors.SignatureError` (a strict gateway would drop it).

    Raises :class:`~icsclient.errors.DecryptionError` (always the same, generic),
    :class:`~icsclient.errors.SignatureError` (naming the failed check),
    :class:`~icsclient.errors.TrustError` subclasses, :class:`NotEncryptedError` /
    :class:`NotSignedError` when a required layer is missing, and
    :class:`~icsclient.errors.MailError` for malformed MIME.
    """
    return unwrap_entity(
        parse_entity(raw),
        recipients=recipients,
        trust=trust,
        require_encryption=require_encryption,
        require_signature=require_signature,
        strict=strict,
    )


def unwrap_entity(
    entity: Entity,
    *,
    recipients: Sequence[Credentials],
    trust: Trust | None,
    require_encryption: bool = True,
    require_signature: bool = True,
    strict: bool = False,
) -> Unwrapped:
    """:func:`unwrap` of an entity already parsed with :func:`._mime.parse_entity`."""
    top = entity.content_type
    encrypted = False
    verified: VerifiedSignature | None = None
    cipher: str | None = None
    key_transport: str | None = None
    recipient: x509.Certificate | None = None
    for _ in range(_MAX_LAYERS):
        ctype = entity.content_type
        if ctype in _PKCS7_MIME or (
            ctype == "application/octet-stream" and (entity.filename or "").lower().endswith(".p7m")
        ):
            der = entity.decoded_body()
            kind = _cms_kind(der)
            if kind == "enveloped":
                decrypted = decrypt_envelope(der, recipients)
                del der
                encrypted = True
                cipher = decrypted.content_encryption
                key_transport = decrypted.key_transport
                recipient = decrypted.recipient
                entity = parse_entity(decrypted.content)
            elif kind == "signed":
                if require_encryption and not encrypted:
                    break  # refuse below, before spending effort on the signature
                result = verify_signed_data(der, None, extra_certs=_extra(trust))
                verified = verified or result
                entity = parse_entity(result.content)
            else:
                raise MailError(
                    f"{ctype} entity (smime-type={entity.param('smime-type')}) holds no "
                    "enveloped-data or signed-data"
                )
        elif ctype == "multipart/signed":
            if require_encryption and not encrypted:
                break
            entity, result = _verify_multipart(entity, trust, strict)
            verified = verified or result
        else:
            break
    else:
        raise MailError(f"more than {_MAX_LAYERS} nested S/MIME layers")
    if require_encryption and not encrypted:
        raise NotEncryptedError(
            f"the e-mail is not encrypted (its top-level entity is {top}); "
            "encryption to our certificate is required"
        )
    if verified is None:
        if require_signature:
            raise NotSignedError(
                f"the e-mail is not signed (the decrypted entity is {entity.content_type}); "
                "a signature is required"
            )
        return Unwrapped(
            entity=entity,
            encrypted=encrypted,
            signer=None,
            chain=(),
            signing_time=None,
            algorithms=Algorithms(content_encryption=cipher, key_transport=key_transport),
            recipient=recipient,
        )
    chain: tuple[x509.Certificate, ...] = (verified.signer,)
    if trust is not None:
        signer_der = cert_ids(verified.signer).der  # comparing certificates costs ~10 µs
        others = [c for c in verified.certificates if cert_ids(c).der != signer_der]
        chain = tuple(trust.validate_chain(verified.signer, others))
        trust.check_pinned(verified.signer)
    return Unwrapped(
        entity=entity,
        encrypted=encrypted,
        signer=verified.signer,
        chain=chain,
        signing_time=verified.signing_time,
        algorithms=Algorithms(
            digest=verified.digest,
            signature=verified.signature,
            content_encryption=cipher,
            key_transport=key_transport,
        ),
        recipient=recipient,
    )


def _extra(trust: Trust | None) -> Sequence[x509.Certificate]:
    """Certificates to search for a signer the SignedData does not carry: the pinned ones."""
    return trust.gateway_certs if trust is not None else ()


def _verify_multipart(
    entity: Entity, trust: Trust | None, strict: bool = False
) -> tuple[Entity, VerifiedSignature]:
    """Verify a detached ``multipart/signed`` entity over its first part as received.

    Returns the signed part (parsed in place, or from its CRLF-canonical form when only
    that verified) and the verification result.  ``strict`` refuses a signature that
    verified only over the part as received when that is not CRLF-canonical (bare LFs):
    OpenSSL canonicalises before verifying, so it would refuse it.
    """
    boundary = entity.param("boundary")
    if not boundary:
        raise MailError("multipart/signed entity without a boundary parameter")
    source = entity.source
    spans = split_multipart(source, boundary, entity.body_start, entity.end).spans
    if len(spans) != 2:
        raise SignatureError(
            f"multipart/signed must have 2 parts (content, signature), found {len(spans)}"
        )
    (begin, stop), sig_span = spans
    sig_entity = parse_entity(source, *sig_span)
    if sig_entity.content_type not in _PKCS7_SIGNATURE:
        raise SignatureError(
            f"the second part of multipart/signed is {sig_entity.content_type}, "
            "not application/pkcs7-signature"
        )
    content = memoryview(source)[begin:stop]
    result = verify_signed_data(sig_entity.decoded_body(), content, extra_certs=_extra(trust))
    if result.signed is content:
        if strict and canonicalise_crlf(bytes(content)) != content:
            raise SignatureError(
                "the detached signature covers the signed part with bare LF line endings; "
                "S/MIME signs the CRLF-canonical form, and a strict peer (OpenSSL cms -verify, "
                "the CCF) canonicalises before verifying and refuses it: sign CRLF text"
            )
        return parse_entity(source, begin, stop), result
    return parse_entity(result.content), result
