"""S/MIME for the CCF: credentials, trust, sign-then-encrypt and decrypt-and-verify.

``cryptography`` does the heavy lifting (signing, AES-CBC envelopes, the fast decryption
path, every primitive); asn1crypto covers what it cannot do: verifying CMS signatures and
decrypting the envelope variants real gateways and old clients send (BER, 3DES, RC2-128,
AES-192, AES-GCM, RSA-OAEP, recipients named by key identifier).  Outgoing mail defaults to
AES-256-CBC and SHA-256; 3DES and SHA-1 are there for legacy peers.  The MIME around the
DER is written and read here on bytes, CRLF everywhere.

Most users need only :class:`Credentials` and :class:`Trust`, and
:func:`icsclient.mail.compose_email` / :func:`icsclient.mail.open_email` on top.
"""

from ..errors import CryptoError, DecryptionError, SignatureError, TrustError
from ._algorithms import Algorithms, CipherName, DigestName, KeyTransportName, RsaPadding
from ._credentials import Credentials, MissingChainWarning, issued_by_a_root
from ._decrypt import Decrypted, decrypt_envelope
from ._envelope import RecipientId, encrypt_envelope
from ._errors import (
    CertificateExpiredError,
    CertificateNotYetValidError,
    CredentialsError,
    NotEncryptedError,
    NotPinnedError,
    NotSignedError,
    SenderMismatchError,
    UntrustedCertificateError,
)
from ._ids import CertIds, cert_ids
from ._load import (
    CertificateLike,
    PrivateKey,
    load_certificate,
    load_certificate_list,
    load_certificates,
)
from ._mime import CRLF, Entity, b64_lines, parse_entity
from ._sign import sign_detached
from ._smime import (
    Unwrapped,
    enveloped_entity,
    sign_and_encrypt,
    signed_entity,
    unwrap,
    unwrap_entity,
)
from ._trust import Trust
from ._validity import WARN_DAYS, CertificateExpiringWarning, Validity, check_validity
from ._verify import VerifiedSignature, verify_signed_data

__all__ = [
    "CRLF",
    "WARN_DAYS",
    "Algorithms",
    "CertIds",
    "CertificateExpiredError",
    "CertificateExpiringWarning",
    "CertificateLike",
    "CertificateNotYetValidError",
    "CipherName",
    "Credentials",
    "CredentialsError",
    "CryptoError",
    "Decrypted",
    "DecryptionError",
    "DigestName",
    "Entity",
    "KeyTransportName",
    "MissingChainWarning",
    "NotEncryptedError",
    "NotPinnedError",
    "NotSignedError",
    "PrivateKey",
    "RecipientId",
    "RsaPadding",
    "SenderMismatchError",
    "SignatureError",
    "Trust",
    "TrustError",
    "UntrustedCertificateError",
    "Unwrapped",
    "Validity",
    "VerifiedSignature",
    "b64_lines",
    "cert_ids",
    "check_validity",
    "decrypt_envelope",
    "encrypt_envelope",
    "enveloped_entity",
    "issued_by_a_root",
    "load_certificate",
    "load_certificate_list",
    "load_certificates",
    "parse_entity",
    "sign_and_encrypt",
    "sign_detached",
    "signed_entity",
    "unwrap",
    "unwrap_entity",
    "verify_signed_data",
]
