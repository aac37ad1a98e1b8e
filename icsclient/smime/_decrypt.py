"""CMS decryption: a fast path on ``cryptography``, a fallback on asn1crypto.

The fast path (``pkcs7_decrypt_der``) handles DER EnvelopedData with AES-128/256-CBC and
RSA PKCS#1 v1.5 key transport to a recipient named by issuer and serial number.  Anything
else -- BER indefinite-length encodings, 3DES, DES, RC2-128, AES-192, AES-GCM
AuthEnvelopedData, RSA-OAEP, recipients named by subject key identifier -- is parsed with
asn1crypto and decrypted with ``cryptography``'s primitives.

Every failure, whatever its cause (garbage, no matching recipient, wrong key, bad padding,
bad tag), raises the same :class:`~icsclient.errors.DecryptionError` with the same message,
so the error is no padding oracle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from asn1crypto import algos, cms, core  # type: ignore[import-untyped, unused-ignore]
from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import RC2, TripleDES
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import pkcs7

from ..errors import DecryptionError
from ._algorithms import HASHES
from ._credentials import Credentials
from ._envelope import CIPHERS, GCMParameters
from ._ids import cert_ids, names

GENERIC_MESSAGE = "the e-mail could not be decrypted with the given recipient credentials"
"""The one message every decryption failure carries."""

_FAST_CIPHERS = ("aes128_cbc", "aes256_cbc")
_CBC_KEY_LENGTHS = {"des": 8, **{k: v[0] for k, v in CIPHERS.items()}}
_RC2_128 = 58
"""RC2CBCParameter version for 128 effective key bits (RFC 8018, B.2.3)."""


@attrs.frozen
class Decrypted:
    """The result of decryption: the content and how it had been protected.

    ``recipient`` is the certificate of ours the message was encrypted to (useful during
    our own certificate rollover).
    """

    content: bytes = attrs.field(repr=False)
    content_encryption: str
    key_transport: str
    recipient: x509.Certificate


def _candidates(recipients: Sequence[Credentials]) -> list[Credentials]:
    """Our credentials that can be key-transport recipients (RSA keys)."""
    return [c for c in recipients if isinstance(c.private_key, rsa.RSAPrivateKey)]


def _matches(rid: cms.RecipientIdentifier, candidate: Credentials) -> bool:
    """Whether the RecipientIdentifier names ``candidate``'s certificate."""
    return names(rid, candidate.certificate)


def decrypt_envelope(data: bytes, recipients: Sequence[Credentials]) -> Decrypted:
    """Decrypt a CMS EnvelopedData or AuthEnvelopedData (DER or BER) with any of ``recipients``.

    Tries each recipient credential whose certificate the message names.  Raises
    :class:`~icsclient.errors.DecryptionError` (always with :data:`GENERIC_MESSAGE`) on
    any failure.
    """
    try:
        return _decrypt(data, recipients)
    except Exception:  # deliberately uniform: no padding or format oracle
        pass
    raise DecryptionError(GENERIC_MESSAGE)


def _tlv(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """Read one DER header at ``pos``: (tag byte, content start, content end).

    Raises ValueError for indefinite lengths, multi-byte tags and overruns: callers then
    take the general (asn1crypto) path.
    """
    if pos + 2 > end:
        raise ValueError("truncated")
    tag = buf[pos]
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte tag")
    first = buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    elif first == 0x80 or first > 0x84:
        raise ValueError("indefinite or oversized length")
    else:
        count = first & 0x7F
        length = int.from_bytes(buf[pos : pos + count], "big")
        pos += count
    if pos + length > end:
        raise ValueError("overrun")
    return tag, pos, pos + length


def _peek_enveloped(data: bytes) -> tuple[bytes, bytes] | None:
    """Find the RecipientInfos and content-encryption AlgorithmIdentifier of DER
    EnvelopedData without parsing (or copying) the encrypted content.

    Returns their DER, or ``None`` when the layout is anything else (BER, AuthEnveloped,
    ...), for which the general path parses everything with asn1crypto.
    """
    try:
        tag, pos, end = _tlv(data, 0, len(data))  # ContentInfo
        if tag != 0x30:
            return None
        tag, start, stop = _tlv(data, pos, end)  # contentType
        if tag != 0x06 or data[start:stop] != _OID_ENVELOPED_VALUE:
            return None
        tag, pos, end = _tlv(data, stop, end)  # [0] EXPLICIT
        if tag != 0xA0:
            return None
        tag, pos, end = _tlv(data, pos, end)  # EnvelopedData
        if tag != 0x30:
            return None
        tag, _, header = _tlv(data, pos, end)  # version
        if tag != 0x02:
            return None
        tag, _, stop = _tlv(data, header, end)
        if tag == 0xA0:  # originatorInfo
            header = stop
            tag, _, stop = _tlv(data, header, end)
        if tag != 0x31:
            return None
        recipient_infos = data[header:stop]
        tag, pos, eci_end = _tlv(data, stop, end)  # EncryptedContentInfo
        if tag != 0x30:
            return None
        tag, _, stop = _tlv(data, pos, eci_end)  # contentType
        tag, _, alg_stop = _tlv(data, stop, eci_end)  # AlgorithmIdentifier
        if tag != 0x30:
            return None
        return recipient_infos, data[stop:alg_stop]
    except (ValueError, IndexError):
        return None


# the content bytes of the id-envelopedData OID 1.2.840.113549.1.7.3
_OID_ENVELOPED_VALUE = bytes.fromhex("2a864886f70d010703")
# ... of rsaEncryption (RSA PKCS#1 v1.5 key transport), aes128-CBC and aes256-CBC
_OID_RSA_ENCRYPTION = bytes.fromhex("2a864886f70d010101")
_FAST_CIPHER_OIDS = {
    bytes.fromhex("608648016503040102"): "aes128_cbc",
    bytes.fromhex("60864801650304012a"): "aes256_cbc",
}


def _algorithm_oid(der: bytes) -> bytes:
    """The OID content bytes of an AlgorithmIdentifier (DER); ``b""`` if it is not one."""
    try:
        tag, pos, end = _tlv(der, 0, len(der))
        if tag != 0x30:
            return b""
        tag, start, stop = _tlv(der, pos, end)
        return der[start:stop] if tag == 0x06 else b""
    except (ValueError, IndexError):
        return b""


def _pkcs1_recipients(der: bytes) -> list[tuple[bytes, int]]:
    """(issuer name DER, serial number) of each KeyTransRecipientInfo with RSA PKCS#1 v1.5
    key transport named by issuer and serial, read from DER RecipientInfos.

    Anything unexpected is skipped (the general path reads it).  These only pick whose key
    to try: ``pkcs7_decrypt_der`` itself matches the recipient and checks the algorithms.
    """
    found: list[tuple[bytes, int]] = []
    try:
        tag, pos, end = _tlv(der, 0, len(der))  # SET OF RecipientInfo
        if tag != 0x31:
            return found
        while pos < end:
            tag, start, stop = _tlv(der, pos, end)
            pos = stop
            if tag != 0x30:  # ktri is the only untagged choice
                continue
            tag, _, at = _tlv(der, start, stop)  # version
            if tag != 0x02:
                continue
            tag, rid, rid_end = _tlv(der, at, stop)  # IssuerAndSerialNumber
            if tag != 0x30:
                continue
            tag, _, name_end = _tlv(der, rid, rid_end)  # issuer Name
            if tag != 0x30:
                continue
            tag, serial_start, serial_end = _tlv(der, name_end, rid_end)
            if tag != 0x02:
                continue
            tag, alg, alg_end = _tlv(der, rid_end, stop)  # keyEncryptionAlgorithm
            if tag != 0x30:
                continue
            tag, oid, oid_end = _tlv(der, alg, alg_end)
            if tag != 0x06 or der[oid:oid_end] != _OID_RSA_ENCRYPTION:
                continue
            serial = int.from_bytes(der[serial_start:serial_end], "big", signed=True)
            found.append((der[rid:name_end], serial))
    except (ValueError, IndexError):
        pass
    return found


def _decrypt(data: bytes, recipients: Sequence[Credentials]) -> Decrypted:
    """Decrypt or raise anything: :func:`decrypt_envelope` turns every failure into one error."""
    candidates = _candidates(recipients)
    last_error: Exception | None = None
    peeked = _peek_enveloped(data)
    cipher = None if peeked is None else _FAST_CIPHER_OIDS.get(_algorithm_oid(peeked[1]))
    if peeked is not None and cipher is not None:
        # fast path: cryptography decrypts DER AES-CBC with RSA PKCS#1 v1.5 key transport
        for issuer, serial in _pkcs1_recipients(peeked[0]):
            for creds in candidates:
                ids = cert_ids(creds.certificate)
                if ids.serial != serial or ids.issuer_der != issuer:
                    continue
                key = creds.private_key
                assert isinstance(key, rsa.RSAPrivateKey)
                try:
                    content = pkcs7.pkcs7_decrypt_der(data, creds.certificate, key, [])
                    return Decrypted(content, cipher, "rsaes_pkcs1v15", creds.certificate)
                except Exception as exc:  # fall through to the general path
                    last_error = exc
    info = cms.ContentInfo.load(data)
    kind = info["content_type"].native
    envelope = info["content"]
    if kind == "enveloped_data":
        eci = envelope["encrypted_content_info"]
    elif kind == "authenticated_enveloped_data":
        eci = envelope["auth_encrypted_content_info"]
    else:
        raise ValueError("not an enveloped-data content")
    cipher = eci["content_encryption_algorithm"]["algorithm"].native
    for recipient_info in envelope["recipient_infos"]:
        if recipient_info.name != "ktri":
            continue
        ktri = recipient_info.chosen
        key_transport = ktri["key_encryption_algorithm"]["algorithm"].native
        for candidate in candidates:
            if not _matches(ktri["rid"], candidate):
                continue
            creds = candidate
            try:
                cek = _unwrap_key(ktri, creds)
                if kind == "enveloped_data":
                    content = _decrypt_cbc(eci, cipher, cek)
                else:
                    content = _decrypt_gcm(envelope, eci, cipher, cek)
                return Decrypted(content, cipher, key_transport, creds.certificate)
            except Exception as exc:
                last_error = exc
    raise ValueError("no recipient could decrypt") from last_error


def _unwrap_key(ktri: cms.KeyTransRecipientInfo, creds: Credentials) -> bytes:
    """Recover the content-encryption key (RSA PKCS#1 v1.5 or OAEP with its parameters)."""
    key = creds.private_key
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA key")
    algorithm = ktri["key_encryption_algorithm"]
    name = algorithm["algorithm"].native
    encrypted_key = ktri["encrypted_key"].native
    if name == "rsaes_pkcs1v15":
        return key.decrypt(encrypted_key, padding.PKCS1v15())
    if name == "rsaes_oaep":
        params = algorithm["parameters"]
        hash_name, mgf_hash, label = "sha1", "sha1", b""
        if isinstance(params, algos.RSAESOAEPParams):
            hash_name = params["hash_algorithm"]["algorithm"].native
            mgf = params["mask_gen_algorithm"]
            if mgf["algorithm"].native != "mgf1":
                raise ValueError("unsupported OAEP mask generation")
            mgf_hash = mgf["parameters"]["algorithm"].native
            source = params["p_source_algorithm"]["parameters"].native
            label = source or b""
        oaep = padding.OAEP(
            mgf=padding.MGF1(HASHES[mgf_hash]()),
            algorithm=HASHES[hash_name](),
            label=label or None,
        )
        return key.decrypt(encrypted_key, oaep)
    raise ValueError("unsupported key transport")


def _content_octets(eci: cms.EncryptedContentInfo) -> bytes:
    """The encrypted content (BER constructed octet strings merged)."""
    encrypted = eci["encrypted_content"]
    if isinstance(encrypted, core.Void):
        raise ValueError("detached encrypted content is not supported")
    return bytes(encrypted.native)


def _decrypt_cbc(eci: cms.EncryptedContentInfo, cipher: str, cek: bytes) -> bytes:
    """Decrypt AES/3DES/DES/RC2-CBC content and strip its PKCS#7 padding.

    RC2 (what old S/MIME clients used) only with 128 effective key bits, as OpenSSL's
    ``-rc2`` writes it: cryptography's RC2 takes no other key size, so RC2-40 and RC2-64
    fail like any envelope that cannot be decrypted.
    """
    parameters = eci["content_encryption_algorithm"]["parameters"]
    block: Any
    if cipher == "rc2":
        if parameters["rc2_parameter_version"].native != _RC2_128:
            raise ValueError("unsupported RC2 key size")
        if len(cek) != 16:
            raise ValueError("content-encryption key of the wrong length")
        block, iv = RC2, parameters["iv"].native
    else:
        if cipher not in _CBC_KEY_LENGTHS or cipher.endswith("_gcm"):
            raise ValueError("unsupported content encryption")
        if len(cek) != _CBC_KEY_LENGTHS[cipher]:
            raise ValueError("content-encryption key of the wrong length")
        block, iv = (algorithms.AES if cipher.startswith("aes") else TripleDES), parameters.native
    if not isinstance(iv, bytes) or len(iv) * 8 != block.block_size:
        raise ValueError("bad IV")
    decryptor = Cipher(block(cek), modes.CBC(iv)).decryptor()
    padded = decryptor.update(_content_octets(eci)) + decryptor.finalize()
    unpadder = sym_padding.PKCS7(block.block_size).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def _decrypt_gcm(
    envelope: cms.AuthEnvelopedData, eci: cms.EncryptedContentInfo, cipher: str, cek: bytes
) -> bytes:
    """Decrypt and authenticate AES-GCM AuthEnvelopedData content (RFC 5084)."""
    if not cipher.endswith("_gcm") or len(cek) != CIPHERS[cipher][0]:
        raise ValueError("unsupported authenticated content encryption")
    params = GCMParameters.load(eci["content_encryption_algorithm"]["parameters"].dump())
    nonce = params["nonce"].native
    tag = envelope["mac"].native
    if len(tag) != params["icvlen"].native or not 12 <= len(tag) <= 16:
        raise ValueError("bad GCM tag length")
    decryptor = Cipher(
        algorithms.AES(cek), modes.GCM(nonce, tag, min_tag_length=len(tag))
    ).decryptor()
    auth_attrs = envelope["auth_attrs"]
    if not isinstance(auth_attrs, core.Void):
        # authenticated attributes are MACed as their DER SET OF (tag 0x31, not [1])
        decryptor.authenticate_additional_data(b"\x31" + auth_attrs.dump()[1:])
    return decryptor.update(_content_octets(eci)) + decryptor.finalize()
