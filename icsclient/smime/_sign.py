"""Detached CMS signatures with ``cryptography``'s PKCS#7 signature builder."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from ..errors import BuildError
from ._algorithms import DigestName, RsaPadding, hash_for
from ._credentials import Credentials


def sign_detached(
    content: bytes | bytearray | memoryview,
    signer: Credentials,
    *,
    digest: DigestName = "sha256",
    rsa_padding: RsaPadding = "pkcs1v15",
) -> bytes:
    """Sign ``content`` as it is (binary: no line-ending translation); return DER SignedData.

    The SignedData is detached (no content inside), carries the signer certificate and
    its chain, and the signed attributes contentType, signingTime, messageDigest and
    SMIMECapabilities.  RSA keys sign with PKCS#1 v1.5 or PSS (salt length = digest
    length, MGF1 with the same digest); EC keys sign with ECDSA.
    """
    if digest not in ("sha256", "sha384", "sha512"):
        raise BuildError(f"digest must be sha256, sha384 or sha512, not {digest!r}")
    if rsa_padding not in ("pkcs1v15", "pss"):
        raise BuildError(f"rsa_padding must be 'pkcs1v15' or 'pss', not {rsa_padding!r}")
    algorithm = hash_for(digest)
    pad: padding.PSS | padding.PKCS1v15 | None = None
    if isinstance(signer.private_key, rsa.RSAPrivateKey):
        if rsa_padding == "pss":
            pad = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=padding.PSS.DIGEST_LENGTH)
        else:
            pad = padding.PKCS1v15()
    elif rsa_padding == "pss":
        raise BuildError("rsa_padding='pss' needs an RSA signing key; this one is EC")
    builder = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(signer.certificate, signer.private_key, algorithm, rsa_padding=pad)  # type: ignore[arg-type]
    )
    # add_certificate() must come last: anything chained after it loses the certificates
    for cert in signer.chain:
        builder = builder.add_certificate(cert)
    return builder.sign(
        serialization.Encoding.DER,
        [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
    )
