"""The CCF e-mail: compose what we send, open what we receive.

One interchange per e-mail, as the only part: an ``application/EDIFACT`` attachment in
base64, named ``<creator>_<ICR>.edi``, under a subject ``<creator>_<ICR>_<recipient>``
taken from the interchange's own UNB (so neither can disagree with it), signed (detached
``multipart/signed``) and then encrypted (``application/pkcs7-mime``), no body text
anywhere, CRLF line endings throughout.  See ``ICS-RULES.md`` section 1.

:func:`compose_email` returns the finished RFC 5322 message as bytes for SMTP;
:func:`open_email` takes the raw bytes of a received message and returns a
:class:`ReceivedEmail` after every check: decryption, signature, chain, pin, UNB sender,
subject against UNB, and the one-attachment form.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import functools
import re
from collections.abc import Iterable, Sequence

import attrs
from cryptography import x509

from ._html import html_of
from .edifact import Segment, iter_segments
from .edifact.charsets import ascii_number
from .edifact.envelope import parse_interchange
from .errors import BuildError, EdifactSyntaxError, EnvelopeError, MailError
from .ics.envelope import MAX_INTERCHANGE_BYTES
from .ics.names import CCF_SITE, SubjectFields, attachment_filename, email_subject, parse_subject
from .smime import (
    CRLF,
    Algorithms,
    CertificateLike,
    CipherName,
    Credentials,
    DigestName,
    Entity,
    KeyTransportName,
    RsaPadding,
    SenderMismatchError,
    Trust,
    b64_lines,
    load_certificate_list,
    parse_entity,
    sign_and_encrypt,
    unwrap_entity,
)

__all__ = [
    "ReceivedEmail",
    "check_address",
    "check_message_id",
    "compose_email",
    "format_date",
    "open_email",
]

_ADDR_SPEC = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
_MESSAGE_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>")
_INTERCHANGE_TYPES = frozenset(
    {"application/edifact", "application/octet-stream", "application/edi-consent"}
)


def check_address(value: object, what: str = "address") -> str:
    """Validate one mailbox (``a@b.c`` or ``Name <a@b.c>``); refuse header injection.

    Returns it normalised; raises :class:`~icsclient.errors.BuildError` naming ``what``.
    """
    if not isinstance(value, str):
        raise BuildError(f"{what} must be a string, not {type(value).__name__}")
    return _checked_address(value, what)


@functools.lru_cache(maxsize=256)
def _checked_address(value: str, what: str) -> str:
    """:func:`check_address` of a string (cached: a sender uses the same few addresses)."""
    if not value.isascii() or not value.isprintable() or "\r" in value or "\n" in value:
        raise BuildError(f"{what} {value!r} must be printable ASCII on one line")
    found = email.utils.getaddresses([value])
    if len(found) != 1:
        raise BuildError(f"{what} {value!r} must be exactly one address")
    name, addr = found[0]
    if not _ADDR_SPEC.fullmatch(addr) or len(addr) > 254:
        raise BuildError(f"{what} {value!r} is not a valid e-mail address")
    return email.utils.formataddr((name, addr)) if name else addr


@functools.lru_cache(maxsize=256)
def _domain(mail_from: str) -> str:
    """The domain of a checked address (cached: parsing an address costs about 35 µs)."""
    return email.utils.parseaddr(mail_from)[1].rpartition("@")[2]


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_date(date: _dt.datetime) -> str:
    """``email.utils.format_datetime(date)`` for an aware ``date``, in a fraction of its time.

    An offset that is not a whole number of minutes goes to :mod:`email.utils` itself.
    """
    offset = date.utcoffset()
    if offset is None or offset.microseconds or offset.seconds % 60:
        return email.utils.format_datetime(date)
    minutes = offset.days * 1440 + offset.seconds // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return (
        f"{_DAYS[date.weekday()]}, {date.day:02d} {_MONTHS[date.month - 1]} {date.year:04d} "
        f"{date.hour:02d}:{date.minute:02d}:{date.second:02d} {sign}{hours:02d}{minutes:02d}"
    )


def check_message_id(value: str | None, mail_from: str) -> str:
    """A generated Message-ID, or the given one if it is ``<unique@domain>``."""
    if value is None:
        return email.utils.make_msgid(domain=_domain(mail_from))
    if not isinstance(value, str) or not _MESSAGE_ID.fullmatch(value):
        raise BuildError(f"message_id {value!r} must look like <unique@domain>")
    return value


_PLAIN_SEGMENT = re.compile(r"[\x20-\x7e]*")


def _quick_unb(data: bytes) -> tuple[str, str, str, str] | None:
    """:func:`_unb_fields` for the plain case, without a tokenizer; ``None`` otherwise.

    The plain case: the interchange starts with ``UNB`` (or a UNA and then ``UNB``) and
    the UNB is printable ASCII without a release character.  Everything else (a prefix,
    CR/LF after the UNA, escapes, odd service characters) goes to the tokenizer, so that
    what is read from a UNB and which UNBs are refused stay exactly the tokenizer's.  Only
    the UNB is read: a fault after it is found when the interchange is parsed (the
    tokenizer would also notice one within its first 4 KB).  (Creating a tokenizer costs
    about 0.2 ms, more than the rest of reading the UNB.)
    """
    head = data[:2048].decode("latin-1")
    component, element, release, terminator = ":", "+", "?", "'"
    if head.startswith("UNA"):
        if len(head) < 9:
            return None
        component, element, release, terminator = head[3], head[4], head[6], head[8]
        if len({component, element, release, terminator}) != 4 or not head[3:9].isprintable():
            return None
        head = head[9:]
    end = head.find(terminator)
    if end < 0:
        return None
    text = head[:end]
    if (
        not text.startswith("UNB" + element)
        or release in text
        or not _PLAIN_SEGMENT.fullmatch(text)
    ):
        return None
    unb = Segment("UNB", *(tuple(e.split(component)) for e in text.split(element)[1:]))
    return unb.get(1, 0), unb.get(1, 2), unb.get(2, 0), unb.get(4)


def _unb_fields(data: bytes) -> tuple[str, str, str, str]:
    """(sender, owner, recipient, ICR as written) from the UNB, reading only the start."""
    quick = _quick_unb(data)
    if quick is not None:
        return quick
    reader = iter_segments(data, chunk_size=4096)
    first = next(reader, None)
    if first is None or first.tag != "UNB":
        found = "nothing" if first is None else first.tag
        raise MailError(f"the attachment is not an interchange: it starts with {found}, not UNB")
    return first.get(1, 0), first.get(1, 2), first.get(2, 0), first.get(4)


def compose_email(
    interchange: bytes,
    *,
    signer: Credentials,
    gateway: CertificateLike | Iterable[CertificateLike],
    mail_from: str,
    mail_to: str,
    digest: DigestName = "sha256",
    rsa_padding: RsaPadding = "pkcs1v15",
    cipher: CipherName = "aes256_cbc",
    key_transport: KeyTransportName = "rsaes_pkcs1v15",
    copy_to_self: bool = False,
    date: _dt.datetime | None = None,
    message_id: str | None = None,
    validate: bool = True,
) -> bytes:
    """Compose the S/MIME e-mail that carries ``interchange`` to the CCF; return its bytes.

    The subject (``<creator>_<ICR>_<recipient>``) and the attachment name
    (``<creator>_<ICR>.edi`` to the CCF; ``<recipient>_<ICR>.edi`` when the CCF, or a
    simulation of it, is the sender) come from the interchange's UNB.  The interchange is signed
    by ``signer`` (detached; ``digest`` SHA-256 by default, ``"sha1"`` with ``cipher=
    "tripledes_3key"`` for a legacy peer; ``rsa_padding`` PKCS#1 v1.5 or PSS; EC keys sign
    with ECDSA) and then encrypted to the ``gateway`` certificate(s) (``cipher``
    AES-256-CBC by default) -- and to the signer's own certificate too with
    ``copy_to_self``, so an archived sent copy can be read back.  ``date`` (aware;
    default now) and ``message_id`` (default generated) fill those headers.

    ``validate`` parses and checks the whole interchange first (about 1 s per 10 MB);
    pass ``False`` for bytes just made by :func:`~icsclient.ics.build_interchange`.

    Raises :class:`~icsclient.errors.BuildError` for an interchange over 10 MB, bytes
    that are not a valid interchange, an invalid address or header value, or an
    unusable certificate or algorithm.
    """
    if not isinstance(interchange, (bytes, bytearray)):
        raise BuildError(f"the interchange must be bytes, not {type(interchange).__name__}")
    interchange = bytes(interchange)
    if len(interchange) > MAX_INTERCHANGE_BYTES:
        raise BuildError(
            f"the interchange is {len(interchange):,} bytes; the CCF accepts at most "
            f"{MAX_INTERCHANGE_BYTES:,}"
        )
    if not isinstance(signer, Credentials):
        raise BuildError("signer must be Credentials (certificate + private key)")
    sender_addr = check_address(mail_from, "mail_from")
    recipient_addr = check_address(mail_to, "mail_to")
    try:
        if validate:
            parsed = parse_interchange(interchange, strict=True)
            creator, icr, recipient = parsed.sender, parsed.control_reference, parsed.recipient
        else:
            creator, _, recipient, icr = _unb_fields(interchange)
    except (EdifactSyntaxError, EnvelopeError, MailError) as exc:
        raise BuildError(f"not a valid interchange: {exc}") from None
    subject = email_subject(creator, icr, recipient)
    # to the CCF the file is named after the creator, from the CCF after the recipient
    filename = attachment_filename(creator if recipient == CCF_SITE else recipient, icr)
    recipients = list(load_certificate_list(gateway, "gateway certificate"))
    if not recipients:
        raise BuildError("at least one gateway certificate is needed to encrypt to")
    if copy_to_self:
        recipients.append(signer.certificate)
    if date is None:
        date = _dt.datetime.now(_dt.timezone.utc)
    elif date.tzinfo is None:
        raise BuildError("date must be timezone-aware")
    msgid = check_message_id(message_id, sender_addr)

    headers = "\r\n".join(
        (
            f"From: {sender_addr}",
            f"To: {recipient_addr}",
            f"Subject: {subject}",
            f"Date: {format_date(date)}",
            f"Message-ID: {msgid}",
            "MIME-Version: 1.0",
            "",
        )
    ).encode("ascii")
    name = filename.encode("ascii")
    entity_head = (
        b'Content-Type: application/EDIFACT; name="' + name + b'"' + CRLF
        + b"Content-Transfer-Encoding: base64" + CRLF
        + b'Content-Disposition: attachment; filename="' + name + b'"' + CRLF + CRLF
    )  # fmt: skip
    # the entity goes down in pieces: sign_and_encrypt joins them once and drops them
    return sign_and_encrypt(
        [entity_head, b64_lines(interchange)],
        signer=signer,
        recipients=recipients,
        digest=digest,
        rsa_padding=rsa_padding,
        cipher=cipher,
        key_transport=key_transport,
        headers=headers,
    )


@attrs.frozen
class ReceivedEmail:
    """A received CCF e-mail, decrypted and verified.

    ``interchange`` is the attachment's bytes (``None`` for a plain-text response, whose
    text is in ``text``); ``subject`` the parsed subject line; ``filename`` the attachment
    name; ``signer`` the verified signer certificate (``chain``: signer first, anchor
    last) and ``signing_time`` its signed time (``None`` if absent); ``algorithms`` the
    digest, signature, cipher and key transport used; ``recipient`` the certificate of ours
    it was encrypted to.  ``sender`` and ``control_reference`` are the UNB sender site and
    ICR; ``mail_from``, ``message_id`` and ``date`` come from the headers.
    """

    interchange: bytes | None = attrs.field(repr=False)
    subject: SubjectFields
    filename: str | None
    signer: x509.Certificate | None
    signing_time: _dt.datetime | None
    algorithms: Algorithms
    encrypted: bool
    recipient: x509.Certificate | None
    chain: tuple[x509.Certificate, ...] = attrs.field(repr=False)
    sender: str | None
    control_reference: str | None
    mail_from: str | None
    message_id: str | None
    date: _dt.datetime | None
    text: str | None = attrs.field(repr=False, default=None)

    @property
    def plain_text(self) -> bool:
        """True for a plain-text response (subject with spaces, text instead of EDIFACT)."""
        return self.interchange is None

    def _repr_html_(self) -> str | None:
        """Who signed it and how, then the interchange, as HTML (Jupyter)."""
        return html_of(self)


def _leaf(entity: Entity) -> Entity:
    """The one part a CCF e-mail may hold; MailError for more parts or body text."""
    for _ in range(4):
        if entity.content_maintype != "multipart":
            return entity
        parts = entity.parts()
        if len(parts) == 1:
            entity = parts[0]
            continue
        attachments = [p for p in parts if _is_attachment(p)]
        if len(attachments) >= 2:
            raise MailError(
                f"the e-mail carries {len(attachments)} attachments; the CCF form is exactly one"
            )
        texts = [p.content_type for p in parts if not _is_attachment(p)]
        raise MailError(
            f"the e-mail has body text ({', '.join(texts)}) beside the attachment; "
            "the CCF form has none"
        )
    raise MailError("multipart entities nested too deeply")


def _is_attachment(entity: Entity) -> bool:
    """Whether a part is an attachment (disposition, file name or non-text type)."""
    if entity.disposition == "attachment" or entity.filename:
        return True
    return entity.content_maintype not in ("text", "multipart")


_USUAL_DATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{1,2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) "
    r"(\d\d):(\d\d):(\d\d) ([+-]\d\d)(\d\d)"
)
_MONTH_NUMBERS = {name: number for number, name in enumerate(_MONTHS, start=1)}


def _header_date(value: str | None) -> _dt.datetime | None:
    """The Date header as an aware datetime, ``None`` if absent or unreadable.

    The usual form (what :func:`format_date` and most mailers write) is read here, in a
    fraction of :func:`email.utils.parsedate_to_datetime`'s time; anything else, and
    ``-0000`` (which that function reads as "no zone"), goes to it.
    """
    if not value:
        return None
    usual = _USUAL_DATE.fullmatch(value)
    if usual is not None and not value.endswith("-0000"):
        day, month, year, hour, minute, second, hours, minutes = usual.groups()
        offset = int(hours) * 60 + (int(minutes) if hours[0] == "+" else -int(minutes))
        try:
            return _dt.datetime(
                int(year),
                _MONTH_NUMBERS[month],
                int(day),
                int(hour),
                int(minute),
                int(second),
                tzinfo=_dt.timezone(_dt.timedelta(minutes=offset)),
            )
        except ValueError:
            return None
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):  # Overflow: a year of 20 digits
        return None


def open_email(
    raw: bytes,
    *,
    recipient: Credentials | Sequence[Credentials],
    trust: Trust,
    require_encryption: bool = True,
    require_signature: bool = True,
    strict: bool = False,
) -> ReceivedEmail:
    """Open a received CCF e-mail: decrypt, verify, check, and return its interchange.

    ``recipient`` is our credentials (several during our own certificate rollover);
    ``trust`` says whom we trust to sign.  Checks, in order: decryption (any failure is one
    generic :class:`~icsclient.errors.DecryptionError`), the signature over the bytes as
    received (:class:`~icsclient.errors.SignatureError`), the chain and the pin
    (:class:`~icsclient.errors.TrustError` subclasses), the single-attachment form
    (:class:`~icsclient.errors.MailError`), the UNB sender against
    ``trust.gateway_site`` (:class:`~icsclient.smime.SenderMismatchError`) and the subject
    against the UNB (:class:`~icsclient.errors.MailError`).  Both the encryption and the
    signature are required unless ``require_encryption`` / ``require_signature`` say
    otherwise.  ``strict`` verifies a detached signature as OpenSSL's ``cms -verify`` does,
    over the CRLF-canonical form only (see :func:`icsclient.smime.unwrap`).  A plain-text
    response (subject with spaces, a text body) is returned with
    ``interchange=None`` and the text in ``text``.
    """
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise TypeError(f"open_email() takes the raw message bytes, not {type(raw).__name__}")
    raw = bytes(raw)
    recipients = [recipient] if isinstance(recipient, Credentials) else list(recipient)
    top = parse_entity(raw)
    if top.header_count("subject") != 1:
        raise MailError(f"the e-mail has {top.header_count('subject')} Subject headers, not 1")
    subject = parse_subject(top.header("subject") or "")
    opened = unwrap_entity(
        top,
        recipients=recipients,
        trust=trust,
        require_encryption=require_encryption,
        require_signature=require_signature,
        strict=strict,
    )
    leaf = _leaf(opened.entity)
    base = ReceivedEmail(
        interchange=None,
        subject=subject,
        filename=leaf.filename,
        signer=opened.signer,
        signing_time=opened.signing_time,
        algorithms=opened.algorithms,
        encrypted=opened.encrypted,
        recipient=opened.recipient,
        chain=opened.chain,
        sender=None,
        control_reference=None,
        mail_from=top.header("from"),
        message_id=(top.header("message-id") or "").strip() or None,
        date=_header_date(top.header("date")),
    )
    if subject.plain_text:
        if _is_attachment(leaf) or leaf.content_type != "text/plain":
            raise MailError(
                f"the subject {subject.text[:80]!r} is a plain-text response subject but the "
                f"e-mail carries {leaf.content_type} {leaf.filename or ''}".rstrip()
            )
        charset = leaf.headers.get_content_charset() or "us-ascii"
        body = leaf.decoded_body()
        try:
            text = body.decode(charset)
        except (LookupError, UnicodeDecodeError):
            text = body.decode("latin-1")
        return attrs.evolve(base, text=text)
    if not _is_attachment(leaf) and leaf.content_type == "text/plain":
        raise MailError("the e-mail has body text and no interchange attachment")
    if leaf.content_type not in _INTERCHANGE_TYPES and not (
        leaf.content_type == "text/plain" and _is_attachment(leaf)
    ):
        raise MailError(f"the attachment is {leaf.content_type}, not application/EDIFACT")
    data = leaf.decoded_body()
    if not data or data.isspace():
        raise MailError("the interchange attachment is empty")
    sender, _owner, unb_recipient, icr = _unb_fields(data)
    if trust.gateway_site is not None and sender != trust.gateway_site:
        raise SenderMismatchError(
            f"the UNB sender is {sender!r}, not the gateway's site ID {trust.gateway_site!r}"
        )
    mismatches = []
    if subject.creator != sender:
        mismatches.append(f"creator {subject.creator} vs UNB sender {sender}")
    unb_icr = ascii_number(icr, 14)  # ASCII digits only: int() refuses '¹²³' and 5,000 digits
    if subject.icr is None or unb_icr is None or ascii_number(subject.icr, 14) != unb_icr:
        mismatches.append(f"ICR {subject.icr} vs UNB ICR {icr}")
    if subject.recipient != unb_recipient:
        mismatches.append(f"recipient {subject.recipient} vs UNB recipient {unb_recipient}")
    if mismatches:
        raise MailError(
            f"the subject {subject.text!r} disagrees with the UNB: {'; '.join(mismatches)}"
        )
    return attrs.evolve(base, interchange=data, sender=sender, control_reference=icr)
