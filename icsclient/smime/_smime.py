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
from ._envelope import RecipientId, encrypt_envelope
from ._errors import NotEncryptedError, NotSignedError
from ._mime import CRLF, Entity, b64_lines, new_boundary, parse_entity, split_multipart
from ._sign import sign_detached
from ._trust import Trust
from ._verify import VerifiedSignature, verify_signed_data

_PKCS7_MIME = ("application/pkcs7-mime", "application/x-pkcs7-mime")
_PKCS7_SIGNATURE = ("application/pkcs7-signature", "application/x-pkcs7-signature")
_MAX_LAYERS = 4

# DER of the contentType OIDs, as found near the start of a ContentInfo
_OID_SIGNED = bytes.fromhex("06092a864886f70d010702")
_OID_ENVELOPED = bytes.fromhex("06092a864886f70d010703")
_OID_AUTH_ENVELOPED = bytes.fromhex("060b2a864886f70d0109100117")


def signed_entity(
    entity: bytes,
    signer: Credentials,
    *,
    digest: DigestName = "sha256",
    rsa_padding: RsaPadding = "pkcs1v15",
) -> bytes:
    """Wrap a MIME entity (headers + body, CRLF) in a detached ``multipart/signed`` entity.

    ``entity`` is signed exactly as given; it should already use CRLF line endings (the
    canonical form), which :func:`sign_and_encrypt`'s callers in this library guarantee.
    """
    signature = sign_detached(entity, signer, digest=digest, rsa_padding=rsa_padding)
    boundary = new_boundary(entity).encode("ascii")
    head = (
        b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
        b'micalg="'
        + MICALG[digest].encode("ascii")
        + b'";'
        + CRLF
        + b' boundary="'
        + boundary
        + b'"'
        + CRLF
        + CRLF
    )
    sig_head = (
        b'Content-Type: application/pkcs7-signature; name="smime.p7s"'
        + CRLF
        + b"Content-Transfer-Encoding: base64"
        + CRLF
        + b'Content-Disposition: attachment; filename="smime.p7s"'
        + CRLF
        + CRLF
    )
    return b"".join(
        (
            head,
            b"--" + boundary + CRLF,
            entity,
            CRLF + b"--" + boundary + CRLF,
            sig_head,
            b64_lines(signature),
            b"--" + boundary + b"--" + CRLF,
        )
    )


def enveloped_entity(der: bytes, *, authenticated: bool = False) -> bytes:
    """The ``application/pkcs7-mime`` entity (headers, blank line, base64) around CMS DER."""
    smime_type = b"authEnveloped-data" if authenticated else b"enveloped-data"
    head = (
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
    return head + b64_lines(der)


def sign_and_encrypt(
    entity: bytes,
    *,
    signer: Credentials,
    recipients: Sequence[x509.Certificate],
    digest: DigestName = "sha256",
    rsa_padding: RsaPadding = "pkcs1v15",
    cipher: CipherName = "aes256_cbc",
    key_transport: KeyTransportName = "rsaes_pkcs1v15",
    recipient_id: RecipientId = "issuer_serial",
) -> bytes:
    """Sign ``entity`` (detached, ``multipart/signed``), then encrypt that to ``recipients``.

    Returns the ``application/pkcs7-mime; smime-type=enveloped-data`` entity: its
    Content-* header lines, a blank line and the base64 body, CRLF throughout.  A mail
    is this entity preceded by the RFC 5322 headers.
    """
    signed = signed_entity(entity, signer, digest=digest, rsa_padding=rsa_padding)
    der = encrypt_envelope(
        signed, recipients, cipher=cipher, key_transport=key_transport, recipient_id=recipient_id
    )
    del signed
    return enveloped_entity(der, authenticated=cipher.endswith("_gcm"))


@attrs.frozen
class Unwrapped:
    """What is left once the S/MIME layers are off, and what they were.

    ``entity`` is the innermost MIME entity (for a CCF e-mail: the interchange
    attachment); ``content`` its raw bytes.  ``signer`` is ``None`` when the message was
    not signed (only possible with ``require_signature=False``); ``chain`` is the
    validated chain, signer first.  ``recipient`` is our certificate the message was
    encrypted to, ``None`` when it was not encrypted.
    """

    content: bytes = attrs.field(repr=False)
    entity: Entity = attrs.field(repr=False)
    encrypted: bool
    signer: x509.Certificate | None
    chain: tuple[x509.Certificate, ...] = attrs.field(repr=False)
    signing_time: _dt.datetime | None
    algorithms: Algorithms
    recipient: x509.Certificate | None


def _cms_kind(der: bytes) -> str | None:
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
) -> Unwrapped:
    """Decrypt and verify a received S/MIME entity (a whole e-mail will do).

    Layers are peeled in the order found: ``application/pkcs7-mime`` enveloped-data is
    decrypted with whichever of ``recipients`` it names; ``multipart/signed`` (detached)
    and ``application/pkcs7-mime`` signed-data (opaque) are verified over the bytes as
    received.  Then, with ``trust``, the signer's chain is validated and the signer must be
    one of the pinned certificates.

    Raises :class:`~icsclient.errors.DecryptionError` (always the same, generic),
    :class:`~icsclient.errors.SignatureError` (naming the failed check),
    :class:`~icsclient.errors.TrustError` subclasses, :class:`NotEncryptedError` /
    :class:`NotSignedError` when a required layer is missing, and
    :class:`~icsclient.errors.MailError` for malformed MIME.
    """
    entity = parse_entity(raw)
    content = raw
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
                content = decrypted.content
            elif kind == "signed":
                if require_encryption and not encrypted:
                    break  # refuse below, before spending effort on the signature
                result = verify_signed_data(der, None, extra_certs=_extra(trust))
                verified = verified or result
                content = result.content
            else:
                raise MailError(
                    f"{ctype} entity (smime-type={entity.param('smime-type')}) holds no "
                    "enveloped-data or signed-data"
                )
        elif ctype == "multipart/signed":
            if require_encryption and not encrypted:
                break
            result = _verify_multipart(entity, trust)
            verified = verified or result
            content = result.content
        else:
            break
        entity = parse_entity(content)
    else:
        raise MailError(f"more than {_MAX_LAYERS} nested S/MIME layers")
    if require_encryption and not encrypted:
        top = parse_entity(raw).content_type
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
            content=content,
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
        others = [c for c in verified.certificates if c != verified.signer]
        chain = tuple(trust.validate_chain(verified.signer, others))
        trust.check_pinned(verified.signer)
    return Unwrapped(
        content=content,
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
    return trust.gateway_certs if trust is not None else ()


def _verify_multipart(entity: Entity, trust: Trust | None) -> VerifiedSignature:
    """Verify a detached ``multipart/signed`` entity over its first part as received."""
    boundary = entity.param("boundary")
    if not boundary:
        raise MailError("multipart/signed entity without a boundary parameter")
    multipart = split_multipart(entity.body, boundary)
    if len(multipart.parts) != 2:
        raise SignatureError(
            f"multipart/signed must have 2 parts (content, signature), found {len(multipart.parts)}"
        )
    content, signature_part = multipart.parts
    sig_entity = parse_entity(signature_part)
    if sig_entity.content_type not in _PKCS7_SIGNATURE:
        raise SignatureError(
            f"the second part of multipart/signed is {sig_entity.content_type}, "
            "not application/pkcs7-signature"
        )
    return verify_signed_data(sig_entity.decoded_body(), content, extra_certs=_extra(trust))
