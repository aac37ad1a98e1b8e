"""A simulated CCF: the ICS e-mail gateway as ICS-RULES describes it, for tests and demos.

:class:`SimulatedCCF` takes the raw e-mails a client sends and returns the raw e-mails the
gateway sends back, in-process, with no I/O and on its own injectable clock:

- it opens each e-mail with its own credentials (decrypt, verify the signature and the
  signer's chain) and silently *drops* -- recording why in :attr:`SimulatedCCF.dropped` --
  e-mails with body text, more than one attachment, no encryption, a bad signature, an
  untrusted or expired certificate, an interchange in the wrong format, over 10 MB, or
  with an invalid ICR;
- a signer with a valid certificate who is not on the Client Register for the UNB sender
  gets a CONTRL rejecting the interchange with error 23 (unknown interchange sender);
- a duplicate interchange (same creator site and ICR) gets a CONTRL with error 26
  (duplicate detected) and is not processed again;
- otherwise the envelope is checked and a CONTRL built by
  :func:`~icsclient.ics.contrl.build_contrl_interchange` answers: action 7 when clean and
  the UNB asked for an acknowledgement, action 4 with the findings otherwise;
- each business message that passed is handed to "the ICS", which answers with a CUSRES
  named after the request (``AIRCR`` → ``AIRCRR``), outcome ``MS5203`` -- or with the
  errors, advices, status or ERM a :class:`Verdict` configures, so vendors can test
  their error handling;
- every CUSRES interchange is re-sent by :meth:`SimulatedCCF.tick` until the client's
  ICONTRL quotes its ICR, a bounded number of times.  CONTRL is never acknowledged.
- as Client Register settings can ask: CUSRES messages batched several to an
  interchange (``batch_size``, ``batch_window``);
- :meth:`SimulatedCCF.advise` sends an unsolicited advice (an :class:`Advice`: CARST,
  PAYREC, IDL ...), re-sent like a response until acknowledged;
- a client site registered for plain-text responses (``plain_text``) gets its CUSRES as
  signed and encrypted text e-mails with a subject containing spaces.

:class:`SmtpCCF` runs the same gateway as a real SMTP server on loopback (``aiosmtpd``)
and delivers its replies by SMTP or into a Maildir; :class:`SmtpInbox` is a loopback SMTP
server that collects mail (a client's inbox in tests).
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import enum
import functools
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import attrs
from cryptography import x509

from ..edifact.envelope import Finding, Interchange, Message, parse_interchange
from ..edifact.segment import Segment
from ..edifact.serializer import serialize_segment
from ..errors import (
    BuildError,
    DecryptionError,
    EdifactSyntaxError,
    IcsError,
    MailError,
    ReceivedError,
    SignatureError,
    TrustError,
)
from ..ics.contrl import build_contrl_interchange, parse_contrl_all
from ..ics.cusres import Outcome, ResponseError, parse_cusres
from ..ics.envelope import MAX_INTERCHANGE_BYTES, SYDNEY, build_interchange
from ..ics.names import CCF_SITE, check_icr
from ..ics.sequence import IcrSequence
from ..mail import (
    ReceivedEmail,
    check_address,
    check_message_id,
    compose_email,
    format_date,
    open_email,
)
from ..smime import (
    CRLF,
    CertificateLike,
    Credentials,
    NotEncryptedError,
    Trust,
    b64_lines,
    cert_ids,
    load_certificate_list,
    sign_and_encrypt,
)
from ..store import MemoryStore
from ..transport import MaildirReader, MaildirWriter, SmtpSender, TransportError
from .pki import ThrowawayPKI

if TYPE_CHECKING:  # aiosmtpd is needed only by the SMTP servers, and imported there
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP as SmtpServer
    from aiosmtpd.smtp import Envelope, Session

__all__ = [
    "Advice",
    "DropReason",
    "Dropped",
    "LogEntry",
    "ManualClock",
    "Request",
    "Sent",
    "SimulatedCCF",
    "SmtpCCF",
    "SmtpInbox",
    "Verdict",
    "serve_smtp",
]

Clock = Callable[[], _dt.datetime]

Kind = Literal["contrl", "response", "text"]
"""What the gateway sends: a CONTRL, a CUSRES interchange or a plain-text response."""

Environment = Literal["mirror", "test", "production"]
"""How the gateway treats the UNB test indicator; see :class:`SimulatedCCF`."""

MAX_ERRORS = 50
"""The most ERP groups one CUSRES carries (the outcome advice included)."""

MAX_BATCH = 999
"""The most CUSRES messages the Department batches into one interchange (ICS rules §4)."""

MAX_BATCH_WINDOW = _dt.timedelta(minutes=10)
"""The longest the Department holds responses for a time batch (ICS rules §4)."""

_OUTCOME_ADVICE = {
    Outcome.REJECTED: ("MS5201", "Report rejected"),
    Outcome.ACCEPTED_WITH_WARNINGS: ("MS5202", "Report accepted with errors and/or warnings"),
    Outcome.ACCEPTED: ("MS5203", "Report accepted"),
}
_ERROR_CLASSES = frozenset({"ERROR", "CCFERROR"})
_FTX_LENGTH = 512


def _utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


@attrs.define
class ManualClock:
    """A clock that stands still until told: ``clock()`` returns :attr:`now`.

    ``advance(minutes=20)`` (any :class:`datetime.timedelta` keywords) moves it on;
    ``set(when)`` puts it anywhere.  Times are timezone-aware.
    """

    now: _dt.datetime = attrs.field(factory=_utcnow)

    def __attrs_post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware time")

    def __call__(self) -> _dt.datetime:
        return self.now

    def advance(self, delta: _dt.timedelta | None = None, **units: float) -> _dt.datetime:
        """Move the clock on by ``delta`` and/or ``units`` (``minutes=5``); return the new time."""
        step = (delta or _dt.timedelta()) + _dt.timedelta(**units)
        if step < _dt.timedelta():
            raise ValueError("a clock does not go backwards")
        self.now += step
        return self.now

    def set(self, when: _dt.datetime) -> None:
        """Put the clock at ``when`` (timezone-aware)."""
        if when.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware time")
        self.now = when


class DropReason(str, enum.Enum):
    """Why the gateway dropped an e-mail without any answer (ICS rules §1, §5.1)."""

    BODY_TEXT = "body-text"
    """The e-mail has text beside (or instead of) the interchange attachment."""
    ATTACHMENTS = "attachments"
    """More than one attachment."""
    NOT_ENCRYPTED = "not-encrypted"
    """Not encrypted to the gateway certificate."""
    UNDECRYPTABLE = "undecryptable"
    """Encrypted, but not to a key the gateway has (or damaged)."""
    BAD_SIGNATURE = "bad-signature"
    """Not signed, or the signature does not verify."""
    CERTIFICATE = "certificate"
    """The signer's certificate is untrusted, expired or not yet valid."""
    WRONG_FORMAT = "wrong-format"
    """The e-mail or its interchange is not in a form the gateway can read."""
    TOO_LARGE = "too-large"
    """The interchange is larger than the CCF accepts (10 MB; ICS rules §1)."""
    INVALID_ICR = "invalid-icr"
    """The interchange control reference is missing or not a valid number (never answered)."""
    UNANSWERABLE = "unanswerable"
    """The UNB lacks what an answer must quote (sender, recipient) or cannot be addressed."""


@attrs.frozen
class Dropped:
    """An e-mail the gateway recorded but neither acknowledged nor processed.

    ``reason`` says which rule dropped it and ``detail`` the check that failed; ``raw`` is
    the e-mail as received; ``sender`` / ``icr`` are the UNB values when they were read.
    """

    at: _dt.datetime
    reason: DropReason
    detail: str
    raw: bytes = attrs.field(repr=False)
    sender: str | None = None
    icr: str | None = None


@attrs.frozen
class Sent:
    """An e-mail the gateway sent (or meant to send and "lost").

    ``kind`` is ``"contrl"``, ``"response"`` (a CUSRES interchange) or ``"text"`` (a
    plain-text response: ``icr`` is ``""``, ``interchange`` empty and ``text`` the text
    it carries; never re-sent, a client cannot acknowledge it); ``site`` the client
    site it is addressed to and ``icr`` the gateway's own ICR (14 digits);
    ``answers`` the client's ICR it answers (a batch: the ICRs, comma-separated; an
    advice: ``""``); ``to``
    the e-mail address; ``attempt`` 0 for the first sending, 1, 2 ... for re-sends;
    ``lost`` true when the loss simulation swallowed it (it was not returned).  ``email``
    is the complete e-mail and ``interchange`` the EDIFACT inside it.
    """

    at: _dt.datetime
    kind: Kind
    site: str
    icr: str
    answers: str
    to: str
    email: bytes = attrs.field(repr=False)
    interchange: bytes = attrs.field(repr=False)
    test: bool = False
    attempt: int = 0
    lost: bool = False
    text: str | None = attrs.field(default=None, repr=False)


@attrs.frozen
class LogEntry:
    """One line of the gateway's log: ``event`` happened at ``at`` for ``site`` / ``icr``.

    Events: ``received`` (an interchange opened), ``dropped``, ``contrl``, ``response``,
    ``resent``, ``lost``, ``duplicate``, ``processed`` (a business message passed to
    the ICS), ``acknowledged`` (an ICONTRL matched one of our responses),
    ``unmatched-acknowledgement``, ``gave-up`` (re-sends exhausted), ``violation`` (the
    client did something the rules forbid, e.g. acknowledging a CONTRL), ``held`` (a
    CUSRES kept for a batch), ``text`` (a plain-text response sent) and
    ``delivery-failed`` (SMTP mode).
    """

    at: _dt.datetime
    event: str
    site: str | None = None
    icr: str | None = None
    detail: str = ""


@attrs.frozen
class Request:
    """One business message as "the ICS" sees it; a rule decides the :class:`Verdict`.

    ``document_name`` (BGM C002 4th component, ``AIRCR``), ``document_code`` (BGM 1001),
    ``document_id`` / ``document_version`` (BGM C106), ``function`` (BGM 1225),
    ``sender_reference`` / ``version`` (RFF+ABO, else BGM C106).  ``site`` and ``icr``
    are the client's UNB sender and ICR, ``test`` the interchange's test indicator,
    ``received`` when the gateway received it.
    """

    site: str
    icr: str
    message: Message = attrs.field(repr=False)
    document_name: str
    document_code: str
    document_id: str
    document_version: str
    function: str
    sender_reference: str | None
    version: str | None
    test: bool
    received: _dt.datetime

    @classmethod
    def read(
        cls, message: Message, *, site: str, icr: str, test: bool, received: _dt.datetime
    ) -> Request:
        """Read the document fields of a business ``message``."""
        bgm = next((s for s in message.segments if s.tag == "BGM"), None)
        abo = next((s for s in message.segments if s.tag == "RFF" and s.get(0, 0) == "ABO"), None)
        doc_id = bgm.get(1, 0) if bgm else ""
        doc_version = bgm.get(1, 1) if bgm else ""
        if abo is not None and abo.get(0, 1):
            reference: str | None = abo.get(0, 1)
            version: str | None = abo.get(0, 3) or doc_version or None
        else:
            reference, version = doc_id or None, doc_version or None
        return cls(
            site=site,
            icr=icr,
            message=message,
            document_name=bgm.get(0, 3) if bgm else "",
            document_code=bgm.get(0, 0) if bgm else "",
            document_id=doc_id,
            document_version=doc_version,
            function=bgm.get(2, 0) if bgm else "",
            sender_reference=reference,
            version=version,
            test=test,
            received=received,
        )


def _problem(value: ResponseError | tuple[str, str, str]) -> ResponseError:
    if isinstance(value, ResponseError):
        return value
    if isinstance(value, tuple) and len(value) == 3 and all(isinstance(v, str) for v in value):
        return ResponseError(*value)
    raise TypeError(f"an error is a ResponseError or a (class, code, text) tuple, got {value!r}")


def _problems(values: Iterable[ResponseError | tuple[str, str, str]]) -> tuple[ResponseError, ...]:
    return tuple(_problem(v) for v in values)


def _pairs(values: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((str(q), str(v)) for q, v in values)


@attrs.frozen
class Verdict:
    """What "the ICS" answers to one request.

    ``errors`` are ERP groups: :class:`~icsclient.ics.cusres.ResponseError` values or
    ``(class, code, text)`` tuples, class ``ERROR``, ``ADVICE``, ``WARNING`` or
    ``CCFERROR``.  ``outcome`` defaults to REJECTED when any error is of class ERROR or
    CCFERROR, ACCEPTED_WITH_WARNINGS when there are only advices or warnings, ACCEPTED
    otherwise; its outcome advice (``MS5201`` / ``MS5202`` / ``MS5203``) is appended.
    ``status`` / ``status_text`` become ``FTX+AHN+++<status>:<text>``, ``references``
    extra ``RFF`` segments (``("ED", "AB12345")``).  ``erm`` answers with an ERM (an error
    raised before the application, no outcome advice) instead of ``<name>R``; ``respond``
    false sends nothing at all.
    """

    errors: tuple[ResponseError, ...] = attrs.field(default=(), converter=_problems)
    outcome: Outcome | None = None
    status: str | None = None
    status_text: str | None = None
    references: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)
    erm: bool = False
    respond: bool = True

    @classmethod
    def accepted(cls, *advices: ResponseError | tuple[str, str, str]) -> Verdict:
        """Accepted (``MS5203``), or with errors/warnings (``MS5202``) when ``advices`` given."""
        return cls(errors=advices)

    @classmethod
    def rejected(cls, *errors: ResponseError | tuple[str, str, str]) -> Verdict:
        """Rejected (``MS5201``) with ``errors``."""
        return cls(errors=errors, outcome=Outcome.REJECTED)

    def decided_outcome(self) -> Outcome:
        """The outcome this verdict states, explicit or derived from the error classes."""
        if self.outcome is not None:
            return self.outcome
        if any(e.error_class.upper() in _ERROR_CLASSES for e in self.errors):
            return Outcome.REJECTED
        return Outcome.ACCEPTED_WITH_WARNINGS if self.errors else Outcome.ACCEPTED


_ACCEPT = Verdict()

_ADVICE_FUNCTIONS = {"14": "advice", "8": "status"}
"""The BGM functions (1225) of an unsolicited advice, with their meaning."""


def _advice_function(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if value not in _ADVICE_FUNCTIONS:
        raise ValueError(f"an advice's function is 14 (advice) or 8 (status), got {value!r}")


def _document_name(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value.isascii() or not value.isalnum():
        raise ValueError(f"a document name is letters and digits like CARST, got {value!r}")


@attrs.frozen
class Advice:
    """An unsolicited advice from "the ICS" (ICS rules §5.2): a CUSRES answering no request.

    ``document_name`` (``CARST``, ``PAYREC``, ``IDL`` ...) and ``function`` (BGM 1225:
    ``"14"`` advice, the default, or ``"8"`` status) head it; ``reference`` / ``version``
    name the client's report it is about (``RFF+ABO``).  ``advices`` are ERP groups, as
    :attr:`Verdict.errors`; ``outcome`` appends its outcome advice (``MS5203`` ...) --
    none by default, so that the client reads :attr:`~icsclient.ics.cusres.Outcome.UNKNOWN`.
    ``status`` / ``status_text`` become ``FTX+AHN``, ``references`` extra ``RFF``
    segments (``("ED", "AB12345")``).  ``to`` overrides the address it goes to, ``test``
    its UNB test indicator (default: set only in ``environment="test"``).  Send it with
    :meth:`SimulatedCCF.advise`.
    """

    document_name: str = attrs.field(validator=_document_name)
    function: str = attrs.field(default="14", validator=_advice_function)
    reference: str | None = None
    version: str | None = None
    advices: tuple[ResponseError, ...] = attrs.field(default=(), converter=_problems)
    outcome: Outcome | None = None
    status: str | None = None
    status_text: str | None = None
    references: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)
    to: str | None = None
    test: bool | None = None


Rule = Callable[[Request], "Verdict | None"]
"""A callable deciding the verdict for a request (``None``: fall back to the defaults)."""


def _positive_int(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be a positive whole number, got {value!r}")


def _batch_size(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BATCH:
        raise ValueError(f"batch_size must be a whole number from 1 to {MAX_BATCH}, got {value!r}")


def _batch_window(
    instance: object, attribute: attrs.Attribute[_dt.timedelta | None], value: object
) -> None:
    if value is None:
        return
    if not isinstance(value, _dt.timedelta) or not _dt.timedelta() < value <= MAX_BATCH_WINDOW:
        raise ValueError(
            f"batch_window must be None or a timedelta over 0 and at most {MAX_BATCH_WINDOW}, "
            f"got {value!r}"
        )


def _sites(value: Iterable[str]) -> set[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"plain_text is a set of client site IDs, got {value!r}")
    sites = set(value)
    for site in sites:
        if not isinstance(site, str):
            raise TypeError(f"plain_text holds client site IDs (strings), got {site!r}")
    return sites


def _certs(value: Iterable[CertificateLike] | CertificateLike) -> tuple[x509.Certificate, ...]:
    return load_certificate_list(value, "registered client certificate")


def _register(
    value: Mapping[str, Iterable[CertificateLike] | CertificateLike],
) -> dict[str, tuple[x509.Certificate, ...]]:
    return {site: _certs(certs) for site, certs in value.items()}


@attrs.frozen
class _ChainOnlyTrust(Trust):
    """A Trust that validates the signer's chain but pins nobody: the Client Register decides.

    ``open_email`` validates the chain and then calls :meth:`check_pinned`; the gateway
    must still *answer* a signer with a valid certificate who is not registered (CONTRL
    23), so the pin check is left to :meth:`SimulatedCCF._registered`.  (A gateway sees
    the same few client certificates again and again: :class:`Trust` remembers each
    successful validation for a while.)
    """

    def check_pinned(self, cert: x509.Certificate) -> None:
        """No pin check here (see the class docstring)."""


@attrs.define
class _Pending:
    sent: Sent
    due: _dt.datetime
    resends: int = 0


class _Reply(NamedTuple):
    """Where a reply goes and what it says of itself.

    To the client ``site``, encrypted to ``recipients`` (its certificate or certificates),
    mailed to ``to``; ``answers`` the client ICR(s) it answers (``""``: none), ``test``
    its UNB test indicator, ``now`` when it is sent.
    """

    site: str
    answers: str
    test: bool
    recipients: x509.Certificate | Sequence[x509.Certificate]
    to: str
    now: _dt.datetime


_ENVELOPE_BYTES = 256
"""More than UNA, UNB and UNZ take in a CCF interchange."""


@attrs.define
class _Batch:
    """CUSRES messages held for one client site (and test indicator) until sent together.

    ``since`` is when the first was held; ``reply`` addresses the latest; ``answers``
    are the client ICRs the messages answer, in order, each once.
    """

    since: _dt.datetime
    reply: _Reply
    bodies: list[list[Segment]] = attrs.field(factory=list)
    answers: list[str] = attrs.field(factory=list)
    size: int = _ENVELOPE_BYTES
    """The bytes its interchange will take, about (UNA, UNB and UNZ counted generously)."""


def _message_bytes(body: list[Segment]) -> int:
    """The bytes a CUSRES message with ``body`` takes in an interchange (UNH/UNT about)."""
    return sum(len(serialize_segment(segment)) for segment in body) + 64


_SUBJECT_LENGTH = 200


def _header_text(value: str) -> str:
    """``value`` fit for a header line: printable ASCII, anything else as ``?``."""
    return "".join(c if " " <= c <= "~" else "?" for c in value)


@functools.lru_cache(maxsize=256)
def _address(value: str | None) -> str:
    """The address in a From header (cached: a gateway hears from a few senders, and
    :func:`email.utils.parseaddr` costs tens of microseconds)."""
    return email.utils.parseaddr(value or "")[1]


def _segments_text(text: str) -> tuple[str, ...]:
    """Free text as FTX C108 components: at most 5 of at most 512 characters."""
    chunks = [text[i : i + _FTX_LENGTH] for i in range(0, len(text), _FTX_LENGTH)] or [""]
    return tuple(chunks[:5])


@attrs.define(eq=False)
class SimulatedCCF:
    """The CCF e-mail gateway and the ICS behind it, simulated in-process.

    ``credentials`` are the gateway's own (it decrypts with them and signs its replies);
    ``trust`` anchors the client certificates it accepts (its pins are used only to find
    signer certificates; who may send for a site is the ``register``: client site →
    signer certificate(s)).  ``site`` is the gateway's site ID (``AAA336C``) and
    ``address`` the From address of its replies.

    ``clock`` (timezone-aware, injectable) times everything; a CUSRES interchange not
    acknowledged by an ICONTRL is re-sent by :meth:`tick` every ``resend_after``, at most
    ``max_resends`` times.  ``environment`` says how the test indicator is honoured:
    ``"mirror"`` (default) answers with the request's indicator, ``"test"`` (Industry
    Test) processes everything and answers with the test indicator set, ``"production"``
    rejects test interchanges (CONTRL error 25) without processing them.
    ``max_interchange_bytes`` (default 10 MB,
    :data:`~icsclient.ics.envelope.MAX_INTERCHANGE_BYTES`) is the largest interchange
    it takes: a larger one is dropped (:attr:`DropReason.TOO_LARGE`), like any other
    interchange in the wrong format recorded but neither acknowledged nor processed.

    Outbound batching (ICS rules §4, a Client Register setting): with ``batch_size`` *n*
    (1 to 999; default 1, no batching) the CUSRES messages for one client site are held
    (logged ``held``) until *n* are waiting and then sent as one interchange; with
    ``batch_window`` (at most 10 minutes) :meth:`tick` also sends a batch once that long
    has passed since its first message (a time batch alone, ``batch_size`` 1, holds up
    to 999).  A message that would take a batch past ``max_interchange_bytes`` sends the
    batch first and starts the next.  :meth:`flush` sends whatever is held at once;
    :attr:`held` counts it.

    Plain-text responses (ICS rules §1, a Client Register setting per client): the sites
    in ``plain_text`` get each CUSRES (response or advice) as an e-mail of its own,
    signed and encrypted like any other, whose content is the response explained in
    English (:meth:`~icsclient.ics.cusres.CusresResponse.explain`) as ``text/plain``
    under a subject with spaces -- no interchange, no ICR, nothing to acknowledge and so
    never re-sent or batched.  Their CONTRLs stay EDIFACT.

    ``strict`` makes the gateway verify signatures as OpenSSL's ``cms -verify`` does: a
    detached signature made over bare LF line endings (which icsclient itself accepts, as
    lenient peers do) is dropped as :attr:`DropReason.BAD_SIGNATURE`.  Use it to check that
    your sender signs the CRLF-canonical form a strict gateway requires.

    Verdicts: ``rule(request)`` when it returns one, else ``verdicts[sender reference]``,
    else accepted.  ``lose`` (a predicate on :class:`Sent`) or :meth:`lose_next` makes
    replies vanish, to test a client's recovery.  Everything is recorded in
    :attr:`log`, :attr:`dropped`, :attr:`sent`, :attr:`received` and :attr:`processed`.
    The methods are thread-safe (the SMTP server calls them from its own thread).
    """

    credentials: Credentials
    trust: Trust = attrs.field(repr=False)
    register: dict[str, tuple[x509.Certificate, ...]] = attrs.field(converter=_register, repr=False)
    site: str = attrs.field(default=CCF_SITE, kw_only=True)
    address: str = attrs.field(default="cargo@ccf.test", kw_only=True)
    clock: Clock = attrs.field(default=_utcnow, kw_only=True)
    resend_after: _dt.timedelta = attrs.field(default=_dt.timedelta(minutes=30), kw_only=True)
    max_resends: int = attrs.field(default=3, kw_only=True)
    environment: Environment = attrs.field(default="mirror", kw_only=True)
    rule: Rule | None = attrs.field(default=None, kw_only=True)
    verdicts: dict[str, Verdict] = attrs.field(factory=dict, kw_only=True)
    lose: Callable[[Sent], bool] | None = attrs.field(default=None, kw_only=True)
    response_document_code: str = attrs.field(default="962", kw_only=True)
    max_interchange_bytes: int = attrs.field(
        default=MAX_INTERCHANGE_BYTES, kw_only=True, validator=_positive_int
    )
    batch_size: int = attrs.field(default=1, kw_only=True, validator=_batch_size)
    batch_window: _dt.timedelta | None = attrs.field(
        default=None, kw_only=True, validator=_batch_window
    )
    plain_text: set[str] = attrs.field(factory=set, converter=_sites, kw_only=True)
    strict: bool = attrs.field(default=False, kw_only=True)

    log: list[LogEntry] = attrs.field(factory=list, init=False, repr=False)
    dropped: list[Dropped] = attrs.field(factory=list, init=False, repr=False)
    sent: list[Sent] = attrs.field(factory=list, init=False, repr=False)
    received: list[Interchange] = attrs.field(factory=list, init=False, repr=False)
    processed: list[Request] = attrs.field(factory=list, init=False, repr=False)
    _seen: set[tuple[str, int]] = attrs.field(factory=set, init=False, repr=False)
    _pending: dict[int, _Pending] = attrs.field(factory=dict, init=False, repr=False)
    _held: dict[tuple[str, bool], _Batch] = attrs.field(factory=dict, init=False, repr=False)
    _contrl_icrs: set[int] = attrs.field(factory=set, init=False, repr=False)
    _lose_next: dict[str, int] = attrs.field(factory=dict, init=False, repr=False)
    _icrs: IcrSequence = attrs.field(init=False, repr=False)
    _opening: Trust = attrs.field(init=False, repr=False)
    _transactions: Iterator[int] = attrs.field(
        factory=lambda: itertools.count(1), init=False, repr=False
    )
    _lock: threading.RLock = attrs.field(factory=threading.RLock, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.environment not in ("mirror", "test", "production"):
            raise ValueError(f"environment must be mirror, test or production: {self.environment}")
        if self.max_resends < 0 or self.resend_after <= _dt.timedelta():
            raise ValueError("max_resends must be >= 0 and resend_after positive")
        self._icrs = IcrSequence(MemoryStore(), pad=True)
        self._rebuild_trust()

    def _rebuild_trust(self) -> None:
        registered = [c for certs in self.register.values() for c in certs]
        self._opening = _ChainOnlyTrust(
            self.trust.anchors,
            [*self.trust.gateway_certs, *registered],
            gateway_site=None,
            at=self.trust.at,
            intermediates=self.trust.intermediates,
            cache_validation=self.trust.cache_validation,
        )

    @classmethod
    def for_pki(cls, pki: ThrowawayPKI, **options: Any) -> SimulatedCCF:
        """A gateway wired to a :func:`~icsclient.testing.pki.make_test_pki` PKI.

        The gateway credentials, a trust anchored at the test root, the client site
        registered with the client certificate, the PKI's gateway site and e-mail
        address; ``options`` override any of them or set the others.
        """
        settings: dict[str, Any] = {
            "site": pki.gateway_site,
            "address": pki.gateway_email,
        }
        settings.update(options)
        credentials = settings.pop("credentials", pki.gateway)
        trust = settings.pop("trust", pki.trust_for_gateway())
        register = settings.pop("register", {pki.client_site: [pki.client.certificate]})
        return cls(credentials, trust, register, **settings)

    # ------------------------------------------------------------------ configuration

    def register_client(self, site: str, *certificates: CertificateLike) -> None:
        """Put ``site`` on the Client Register with these signer certificates (added)."""
        with self._lock:
            self.register[site] = (*self.register.get(site, ()), *_certs(certificates))
            self._rebuild_trust()

    def lose_next(self, kind: Kind | Literal["any"] = "any", count: int = 1) -> None:
        """Lose the next ``count`` replies of ``kind`` (re-sends count as responses)."""
        with self._lock:
            self._lose_next[kind] = self._lose_next.get(kind, 0) + count

    # ------------------------------------------------------------------ views

    @property
    def pending(self) -> list[Sent]:
        """The CUSRES interchanges still waiting for the client's ICONTRL."""
        with self._lock:
            return [p.sent for p in self._pending.values()]

    @property
    def held(self) -> dict[str, int]:
        """How many CUSRES messages wait in a batch, per client site (see ``batch_size``)."""
        with self._lock:
            counts: dict[str, int] = {}
            for (site, _), batch in self._held.items():
                counts[site] = counts.get(site, 0) + len(batch.bodies)
            return counts

    def events(self, event: str) -> list[LogEntry]:
        """The log entries of one ``event`` kind (``"acknowledged"``, ``"resent"`` ...)."""
        with self._lock:
            return [e for e in self.log if e.event == event]

    def sent_of(self, kind: Kind) -> list[Sent]:
        """The replies of one ``kind`` actually sent (lost ones left out), in order."""
        with self._lock:
            return [s for s in self.sent if s.kind == kind and not s.lost]

    # ------------------------------------------------------------------ receiving

    def receive(self, raw_email: bytes) -> list[bytes]:
        """Take one e-mail from a client; return the e-mails the gateway sends back."""
        return [s.email for s in self.receive_records(raw_email)]

    def receive_records(self, raw_email: bytes) -> list[Sent]:
        """As :meth:`receive`, returning :class:`Sent` records (with addresses)."""
        with self._lock:
            now = self.clock()
            out: list[Sent] = []
            self._receive(bytes(raw_email), now, out)
            return [s for s in out if not s.lost]

    def _log(
        self, now: _dt.datetime, event: str, site: str | None, icr: str | None, detail: str = ""
    ) -> None:
        self.log.append(LogEntry(now, event, site, icr, detail))

    def _drop(
        self,
        now: _dt.datetime,
        reason: DropReason,
        detail: str,
        raw: bytes,
        sender: str | None = None,
        icr: str | None = None,
    ) -> None:
        self.dropped.append(Dropped(now, reason, detail, raw, sender, icr))
        self._log(now, "dropped", sender, icr, f"{reason.value}: {detail}")

    def _open(self, raw: bytes, now: _dt.datetime) -> ReceivedEmail | None:
        try:
            opened = open_email(
                raw, recipient=self.credentials, trust=self._opening, strict=self.strict
            )
        except DecryptionError as exc:
            self._drop(now, DropReason.UNDECRYPTABLE, str(exc), raw)
        except NotEncryptedError as exc:
            self._drop(now, _outer_form(raw) or DropReason.NOT_ENCRYPTED, str(exc), raw)
        except SignatureError as exc:
            self._drop(now, DropReason.BAD_SIGNATURE, str(exc), raw)
        except TrustError as exc:
            self._drop(now, DropReason.CERTIFICATE, str(exc), raw)
        except MailError as exc:
            text = str(exc)
            if "attachments" in text:
                reason = DropReason.ATTACHMENTS
            elif "body text" in text:
                reason = DropReason.BODY_TEXT
            else:
                reason = DropReason.WRONG_FORMAT
            self._drop(now, reason, text, raw)
        except (IcsError, ValueError) as exc:
            self._drop(now, DropReason.WRONG_FORMAT, str(exc), raw)
        else:
            if opened.interchange is None:
                self._drop(now, DropReason.BODY_TEXT, "a text body and no interchange", raw)
                return None
            return opened
        return None

    def _receive(self, raw: bytes, now: _dt.datetime, out: list[Sent]) -> None:
        opened = self._open(raw, now)
        if opened is None:
            return
        assert opened.interchange is not None and opened.signer is not None
        if len(opened.interchange) > self.max_interchange_bytes:
            size = len(opened.interchange)
            detail = f"the interchange is {size:,} bytes, over {self.max_interchange_bytes:,}"
            self._drop(
                now, DropReason.TOO_LARGE, detail, raw, opened.sender, opened.control_reference
            )
            return
        try:
            interchange = parse_interchange(opened.interchange, strict=False)
        except EdifactSyntaxError as exc:
            self._drop(now, DropReason.WRONG_FORMAT, str(exc), raw)
            return
        site, icr = interchange.sender, interchange.control_reference
        bad_icr = [f for f in interchange.issues if f.segment_tag == "UNB" and f.element == 6]
        try:
            check_icr(icr)
        except BuildError as exc:
            self._drop(now, DropReason.INVALID_ICR, str(exc), raw, site, icr)
            return
        if bad_icr:
            self._drop(now, DropReason.INVALID_ICR, str(bad_icr[0]), raw, site, icr)
            return
        self.received.append(interchange)
        self._log(now, "received", site, icr, ", ".join(m.type for m in interchange.messages))
        reply_to = _address(opened.mail_from) or _certificate_email(opened.signer)
        reply = _Reply(site, icr, self._test_flag(interchange), opened.signer, reply_to, now)
        context = _Context(interchange, reply, raw)
        # a CONTRL (the client's ICONTRL) is never answered, not even with an error
        only_contrl = bool(interchange.messages) and all(
            m.type == "CONTRL" for m in interchange.messages
        )
        if not self._registered(site, opened.signer):
            detail = f"the signatory is not on the Client Register for {site}"
            if only_contrl:
                self._log(now, "violation", site, icr, f"a CONTRL: {detail}")
            else:
                self._contrl(context, [Finding(23, "UNB", 1, 3, 1, detail=detail)], out)
            return
        key = (site, int(icr))
        duplicate = key in self._seen
        self._seen.add(key)
        if duplicate:
            self._log(now, "duplicate", site, icr)
            if not only_contrl:
                detail = f"interchange {icr} from {site} seen before"
                self._contrl(context, [Finding(26, "UNB", 1, 6, detail=detail)], out)
            return
        if only_contrl:
            self._acknowledgements(interchange, now)
            return
        findings = list(interchange.issues)
        if interchange.recipient != self.site:
            findings.insert(
                0,
                Finding(
                    7,
                    "UNB",
                    1,
                    4,
                    1,
                    detail=f"the recipient {interchange.recipient} is not the CCF ({self.site})",
                ),
            )
        if interchange.test and self.environment == "production":
            findings.insert(
                0, Finding(25, "UNB", 1, 12, detail="test interchange sent to production")
            )
        if findings or interchange.ack_requested:
            if not self._contrl(context, findings, out):
                return
        if any(f.message_reference is None for f in findings):
            return
        faulty = {f.message_reference for f in findings}
        for message in interchange.messages:
            if message.reference in faulty or message.type == "CONTRL":
                continue
            self._process(context, message, out)

    def _registered(self, site: str, signer: x509.Certificate) -> bool:
        der = cert_ids(signer).der  # certificates are equal by their DER (cached here)
        return any(cert_ids(cert).der == der for cert in self.register.get(site, ()))

    def _test_flag(self, interchange: Interchange) -> bool:
        if self.environment == "test":
            return True
        if self.environment == "production":
            return False
        return interchange.test

    def _contrl(self, ctx: _Context, findings: Sequence[Finding], out: list[Sent]) -> bool:
        """Send the CONTRL for ``ctx``; False (and the e-mail dropped) when none can be built."""
        interchange = ctx.interchange
        icr = self._icrs.next(self.site)
        try:
            data = build_contrl_interchange(
                interchange,
                findings,
                sender=self.site,
                icr=icr,
                prepared=ctx.reply.now,
                test=ctx.reply.test,
            )
        except BuildError as exc:
            self._drop(
                ctx.reply.now,
                DropReason.UNANSWERABLE,
                str(exc),
                ctx.raw,
                interchange.sender,
                interchange.control_reference,
            )
            return False
        self._contrl_icrs.add(int(icr))
        self._send("contrl", icr, data, ctx.reply, out)
        return True

    def _send(
        self,
        kind: Literal["contrl", "response"],
        icr: str,
        data: bytes,
        reply: _Reply,
        out: list[Sent],
    ) -> Sent:
        """Compose the e-mail carrying the interchange ``data`` as ``reply`` says."""
        raw = compose_email(
            data,
            signer=self.credentials,
            gateway=reply.recipients,
            mail_from=self.address,
            mail_to=reply.to,
            date=reply.now,
            validate=False,
        )
        sent = Sent(
            at=reply.now,
            kind=kind,
            site=reply.site,
            icr=icr,
            answers=reply.answers,
            to=reply.to,
            email=raw,
            interchange=data,
            test=reply.test,
        )
        sent = self._emit(sent, out)
        if kind == "response":
            self._pending[int(icr)] = _Pending(sent, reply.now + self.resend_after)
        return sent

    def _send_cusres(self, bodies: Sequence[list[Segment]], reply: _Reply, out: list[Sent]) -> None:
        """Send CUSRES messages in one interchange with the gateway's next ICR."""
        icr = self._icrs.next(self.site)
        data = build_interchange(
            self.site,
            [("CUSRES", body) for body in bodies],
            icr,
            recipient=reply.site,
            test=reply.test,
            prepared=reply.now,
        )
        self._send("response", icr, data, reply, out)

    def _route(self, body: list[Segment], reply: _Reply, out: list[Sent]) -> None:
        """Send one CUSRES message as the options say: at once, as text, or held for a batch."""
        if self.plain_text and reply.site in self.plain_text:
            self._send_text(body, reply, out)
            return
        if self.batch_size == 1 and self.batch_window is None:
            self._send_cusres([body], reply, out)
            return
        key = (reply.site, reply.test)
        size = _message_bytes(body)
        batch = self._held.get(key)
        if batch is not None and batch.size + size > self.max_interchange_bytes:
            self._release(key, reply.now, out)  # full by size: send it, start the next
            batch = None
        if batch is None:
            batch = self._held[key] = _Batch(reply.now, reply)
        else:  # the batch goes to wherever the latest reply would
            batch.reply = reply
        batch.bodies.append(body)
        batch.size += size
        if reply.answers and reply.answers not in batch.answers:
            batch.answers.append(reply.answers)
        limit = self._batch_limit()
        if len(batch.bodies) >= limit:
            self._release(key, reply.now, out)
        else:
            self._log(reply.now, "held", reply.site, None, f"{len(batch.bodies)} of {limit}")

    def _send_text(self, body: list[Segment], reply: _Reply, out: list[Sent]) -> None:
        """Send one CUSRES message as a plain-text response: the message explained."""
        text = parse_cusres(Message.create("1", "CUSRES", body)).explain()
        subject = _header_text(text.partition("\n")[0])[:_SUBJECT_LENGTH]
        headers = "\r\n".join(
            (
                f"From: {self.address}",
                f"To: {check_address(reply.to, 'the reply address')}",
                f"Subject: {subject}",
                f"Date: {format_date(reply.now)}",
                f"Message-ID: {check_message_id(None, self.address)}",
                "MIME-Version: 1.0",
                "",
            )
        ).encode("ascii")
        entity = (
            b"Content-Type: text/plain; charset=utf-8" + CRLF
            + b"Content-Transfer-Encoding: base64" + CRLF + CRLF
            + b64_lines(text.replace("\n", "\r\n").encode("utf-8") + CRLF)
        )  # fmt: skip
        recipients = reply.recipients
        raw = sign_and_encrypt(
            entity,
            signer=self.credentials,
            recipients=[recipients] if isinstance(recipients, x509.Certificate) else recipients,
            headers=headers,
        )
        sent = Sent(
            at=reply.now,
            kind="text",
            site=reply.site,
            icr="",
            answers=reply.answers,
            to=reply.to,
            email=raw,
            interchange=b"",
            test=reply.test,
            text=text,
        )
        self._emit(sent, out)

    def _batch_limit(self) -> int:
        """How many CUSRES messages fill a batch (a time batch alone: :data:`MAX_BATCH`)."""
        if self.batch_size == 1 and self.batch_window is not None:
            return MAX_BATCH
        return self.batch_size

    def _release(self, key: tuple[str, bool], now: _dt.datetime, out: list[Sent]) -> None:
        """Send the batch held under ``key`` as one interchange."""
        batch = self._held.pop(key)
        reply = batch.reply._replace(answers=",".join(batch.answers), now=now)
        self._send_cusres(batch.bodies, reply, out)

    def _emit(self, sent: Sent, out: list[Sent]) -> Sent:
        lost = self._should_lose(sent)
        if lost:
            sent = attrs.evolve(sent, lost=True)
            self._log(sent.at, "lost", sent.site, sent.icr, f"{sent.kind} attempt {sent.attempt}")
        elif sent.attempt:
            self._log(sent.at, "resent", sent.site, sent.icr, f"attempt {sent.attempt}")
        else:
            detail = f"answers {sent.answers}" if sent.answers else "unsolicited"
            self._log(sent.at, sent.kind, sent.site, sent.icr, detail)
        self.sent.append(sent)
        out.append(sent)
        return sent

    def _should_lose(self, sent: Sent) -> bool:
        for kind in (sent.kind, "any"):
            if self._lose_next.get(kind, 0) > 0:
                self._lose_next[kind] -= 1
                return True
        return self.lose is not None and bool(self.lose(sent))

    # ------------------------------------------------------------------ the "ICS"

    def _verdict(self, request: Request) -> Verdict:
        if self.rule is not None:
            decided = self.rule(request)
            if decided is not None:
                return decided
        if request.sender_reference is not None:
            return self.verdicts.get(request.sender_reference, _ACCEPT)
        return _ACCEPT

    def _process(self, ctx: _Context, message: Message, out: list[Sent]) -> None:
        interchange = ctx.interchange
        request = Request.read(
            message,
            site=interchange.sender,
            icr=interchange.control_reference,
            test=interchange.test,
            received=ctx.reply.now,
        )
        self.processed.append(request)
        self._log(
            ctx.reply.now,
            "processed",
            request.site,
            request.icr,
            f"message {message.reference} {request.document_name or message.type} "
            f"{request.sender_reference or ''}".rstrip(),
        )
        verdict = self._verdict(request)
        if not verdict.respond:
            return
        if not request.document_name:
            verdict = Verdict(
                errors=[("CCFERROR", "CCF0001", "The BGM names no ICS document")], erm=True
            )
        body = self._erm(request, verdict) if verdict.erm else self._cusres(request, verdict)
        self._route(body, ctx.reply, out)

    def _head(self, request: Request) -> list[Segment]:
        received = request.received.astimezone(SYDNEY).strftime("%Y%m%d%H%M%S")
        return [Segment("DTM", ("310", received, "204"))]

    @staticmethod
    def _groups(errors: Sequence[ResponseError]) -> list[Segment]:
        out: list[Segment] = []
        for e in errors:
            out.extend(
                (
                    Segment("ERP", "1"),
                    Segment("ERC", (e.error_class, "80", "95")),
                    Segment("ERC", (e.code, "6", "95")),
                    Segment("FTX", "AAO", "", "", _segments_text(e.text)),
                )
            )
        return out

    def _cusres(self, request: Request, verdict: Verdict) -> list[Segment]:
        name = request.document_name
        body = [
            Segment(
                "BGM",
                (self.response_document_code, "", "", f"{name}R"),
                (f"{name}{next(self._transactions):07d}", request.version or "1"),
                "11",
            ),
            *self._head(request),
            Segment("RFF", ("ACW", name)),
        ]
        if request.function:
            body.append(Segment("RFF", ("AFM", request.function)))
        if request.sender_reference:
            body.append(
                Segment("RFF", ("ABO", request.sender_reference, "", request.version or ""))
            )
        return self._said(body, request.site, verdict, verdict.decided_outcome())

    def _said(
        self, body: list[Segment], site: str, verdict: Verdict, outcome: Outcome | None
    ) -> list[Segment]:
        """End a CUSRES ``body`` with what the ICS says: references, NAD, status, ERP, CNT.

        ``outcome`` adds its outcome advice (``MS5201`` ...) after the verdict's errors.
        """
        errors = list(verdict.errors[: MAX_ERRORS - 1])
        if outcome in _OUTCOME_ADVICE:
            code, text = _OUTCOME_ADVICE[outcome]
            errors.append(ResponseError("ADVICE", code, text))
        body.extend(Segment("RFF", (q, v)) for q, v in verdict.references)
        body.append(Segment("NAD", "MR", site))
        if verdict.status:
            body.append(Segment("FTX", "AHN", "", "", (verdict.status, verdict.status_text or "")))
        body.extend(self._groups(errors))
        body.append(Segment("CNT", ("55", str(len(errors)))))
        return body

    def _advice(self, site: str, advice: Advice) -> list[Segment]:
        name = advice.document_name
        body = [
            Segment(
                "BGM",
                (self.response_document_code, "", "", name),
                (f"{name}{next(self._transactions):07d}", advice.version or "1"),
                advice.function,
            )
        ]
        if advice.reference:
            body.append(Segment("RFF", ("ABO", advice.reference, "", advice.version or "")))
        said = Verdict(
            errors=advice.advices,
            status=advice.status,
            status_text=advice.status_text,
            references=advice.references,
        )
        return self._said(body, site, said, advice.outcome)

    # ------------------------------------------------------------------ advices

    def advise(
        self, site: str, advice: Advice | str, now: _dt.datetime | None = None
    ) -> list[bytes]:
        """Send ``site`` an unsolicited advice (ICS rules §5.2); return the e-mails sent.

        ``advice`` is an :class:`Advice`, or just its document name (``"PAYREC"``).  It
        goes as a CUSRES interchange with the gateway's next ICR, signed and encrypted to
        the certificate(s) registered for ``site`` (see :meth:`register_client`), to
        ``advice.to`` or else the e-mail address bound into the last registered
        certificate that has one, at ``now`` (default: the clock).  It is recorded in
        :attr:`sent` and :attr:`log` (``response``, ``unsolicited``), waits in
        :attr:`pending` for the client's ICONTRL and is re-sent by :meth:`tick` until it
        comes -- or, with ``batch_size`` / ``batch_window``, is held for a batch like any
        CUSRES (then nothing is returned yet).

        Raises ``ValueError`` for a site not on the Client Register or without an
        address.
        """
        return [s.email for s in self.advise_records(site, advice, now)]

    def advise_records(
        self, site: str, advice: Advice | str, now: _dt.datetime | None = None
    ) -> list[Sent]:
        """As :meth:`advise`, returning :class:`Sent` records (with addresses)."""
        if not isinstance(advice, Advice):
            advice = Advice(advice)
        to, test = advice.to, advice.test
        with self._lock:
            certificates = self.register.get(site)
            if not certificates:
                raise ValueError(
                    f"site {site!r} is not on the Client Register: register_client() it first"
                )
            emails = (_certificate_email(c) for c in reversed(certificates))
            address = to or next((e for e in emails if e), "")
            if not address:
                raise ValueError(
                    f"no e-mail address for site {site!r}: none is bound into its registered "
                    "certificates; pass to="
                )
            when = self.clock() if now is None else now
            flag = self.environment == "test" if test is None else test
            reply = _Reply(site, "", flag, certificates, address, when)
            out: list[Sent] = []
            self._route(self._advice(site, advice), reply, out)
            return [s for s in out if not s.lost]

    def _erm(self, request: Request, verdict: Verdict) -> list[Segment]:
        message = request.message
        errors = list(verdict.errors[:MAX_ERRORS])
        ident = f"CCF_{request.site}_{int(request.icr)}_{message.type}_{message.reference}"
        body = [
            Segment("BGM", ("963", "", "", "ERM"), ident, "11"),
            *self._head(request),
        ]
        if request.sender_reference:
            body.append(
                Segment("RFF", ("AAY", request.sender_reference, "", request.version or ""))
            )
        body.extend(
            (
                Segment("NAD", "MR", request.site),
                Segment("FTX", "ACX", "", "", message.type),
                Segment("FTX", "ADN", "", "", request.function or ""),
                Segment("FTX", "AAH", "", "", "CCF"),
            )
        )
        body.extend(self._groups(errors))
        body.append(Segment("CNT", ("55", str(len(errors)))))
        return body

    # ------------------------------------------------------------------ acknowledgements

    def _acknowledgements(self, interchange: Interchange, now: _dt.datetime) -> None:
        site = interchange.sender
        try:
            reports = parse_contrl_all(interchange)
        except ReceivedError as exc:
            self._log(now, "violation", site, interchange.control_reference, str(exc))
            return
        for report in reports:
            quoted = report.control_reference
            number = int(quoted) if quoted.isdigit() else -1
            pending = self._pending.get(number)
            if pending is not None and pending.sent.site == site:
                del self._pending[number]
                self._log(now, "acknowledged", site, pending.sent.icr, f"action {report.action}")
            elif number in self._contrl_icrs:
                self._log(now, "violation", site, quoted, "the client acknowledged a CONTRL")
            else:
                self._log(now, "unmatched-acknowledgement", site, quoted, f"action {report.action}")

    def tick(self, now: _dt.datetime | None = None) -> list[bytes]:
        """The re-sends due at ``now`` (default: the clock), as e-mails to send.

        Each CUSRES interchange not yet acknowledged is re-sent (the same e-mail, the
        same ICR) once ``resend_after`` has passed since it was last sent, at most
        ``max_resends`` times; after that the gateway gives up on it (logged
        ``gave-up``).  With a ``batch_window``, the batches held that long are sent too
        (first).
        """
        return [s.email for s in self.tick_records(now)]

    def flush(self, now: _dt.datetime | None = None) -> list[bytes]:
        """Send every batch held (see ``batch_size``) now, full or not; return the e-mails."""
        return [s.email for s in self.flush_records(now)]

    def flush_records(self, now: _dt.datetime | None = None) -> list[Sent]:
        """As :meth:`flush`, returning :class:`Sent` records (with addresses)."""
        with self._lock:
            when = self.clock() if now is None else now
            out: list[Sent] = []
            for key in list(self._held):
                self._release(key, when, out)
            return [s for s in out if not s.lost]

    def tick_records(self, now: _dt.datetime | None = None) -> list[Sent]:
        """As :meth:`tick`, returning :class:`Sent` records (with addresses)."""
        with self._lock:
            when = self.clock() if now is None else now
            out: list[Sent] = []
            window = self.batch_window
            if window is not None:
                for key, batch in list(self._held.items()):
                    if batch.since + window <= when:
                        self._release(key, when, out)
            for number, pending in sorted(self._pending.items()):
                if pending.due > when:
                    continue
                if pending.resends >= self.max_resends:
                    del self._pending[number]
                    self._log(when, "gave-up", pending.sent.site, pending.sent.icr)
                    continue
                pending.resends += 1
                pending.due = when + self.resend_after
                resend = attrs.evolve(pending.sent, at=when, attempt=pending.resends, lost=False)
                self._emit(resend, out)
            return [s for s in out if not s.lost]


@attrs.frozen
class _Context:
    """What answering one received interchange needs: where the replies go, and the e-mail."""

    interchange: Interchange
    reply: _Reply
    raw: bytes = attrs.field(repr=False)


def _certificate_email(cert: x509.Certificate) -> str:
    """The first e-mail address bound into ``cert`` (SAN rfc822Name), or ``""``."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ""
    return next(iter(san.get_values_for_type(x509.RFC822Name)), "")


def _outer_form(raw: bytes) -> DropReason | None:
    """Why an unencrypted e-mail has the form it has: body text or several attachments."""
    message = email.message_from_bytes(raw)
    if not message.is_multipart():
        return DropReason.BODY_TEXT if message.get_content_maintype() == "text" else None
    if message.get_content_subtype() == "signed":
        return None
    parts = [p for p in message.get_payload() if isinstance(p, email.message.Message)]
    attachments = [p for p in parts if p.get_content_disposition() == "attachment"]
    if len(attachments) > 1:
        return DropReason.ATTACHMENTS
    if any(p.get_content_maintype() == "text" for p in parts):
        return DropReason.BODY_TEXT
    return None


# ---------------------------------------------------------------------- SMTP


def _controller(handler: object, host: str, port: int, **options: Any) -> Controller:
    """An aiosmtpd threaded controller on ``host``, able to listen on port 0 (a free port).

    ``options`` go to aiosmtpd's ``Controller`` (``ssl_context`` for implicit TLS,
    ``tls_context``, ``require_starttls``, ``authenticator``, ``auth_require_tls`` ...).
    aiosmtpd is imported here, so that the in-process gateway works without it.
    """
    from aiosmtpd.controller import Controller

    server_class = _fast_data_smtp()

    class _PortZeroController(Controller):
        def _trigger_server(self) -> None:
            sockets = getattr(self.server, "sockets", None)
            if self.port == 0 and sockets:
                self.port = int(sockets[0].getsockname()[1])
            super()._trigger_server()  # type: ignore[no-untyped-call]

        def factory(self) -> SmtpServer:
            return server_class(self.handler, **self.SMTP_kwargs)

    return _PortZeroController(handler, hostname=host, port=port, **options)


_END_OF_DATA = b".\r\n"


@functools.cache
def _fast_data_smtp() -> type[SmtpServer]:
    """aiosmtpd's ``SMTP`` taking the DATA in blocks instead of line by line.

    aiosmtpd reads DATA one line at a time, about 10 µs a line in Python (a CCF e-mail
    has about 80).  This reads up to each ``.<CR><LF>`` with the stream reader's
    ``readuntil`` (its limit only makes it hand over long stretches in two steps) until
    one starts a line, then applies what aiosmtpd applies to the whole: the size limit
    (552), the line length limit (500), both answered after the end of the data as
    aiosmtpd does, and dot-unstuffing (RFC 5321 4.5.2).  Nothing after the terminating
    line is consumed.  With a handler without ``handle_DATA``, aiosmtpd's own reading
    is used.
    """
    import asyncio

    from aiosmtpd.smtp import MISSING, SMTP

    class _FastDataSMTP(SMTP):
        async def smtp_DATA(self, arg: str) -> None:
            if "DATA" not in self._handle_hooks:
                await super().smtp_DATA(arg)
                return
            if await self.check_helo_needed():
                return
            if await self.check_auth_needed("DATA"):
                return
            assert self.envelope is not None
            if not self.envelope.rcpt_tos:
                await self.push("503 Error: need RCPT command")
                return
            if arg:
                await self.push("501 Syntax: DATA")
                return
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            received = await self._read_data()
            if received is None:  # the connection went away
                return
            data, too_much = received
            if too_much:
                await self.push("552 Error: Too much mail data")
                self._set_post_data_state()  # type: ignore[no-untyped-call]
                return
            if max(map(len, data.split(b"\r\n"))) + 2 > self.line_length_limit:
                await self.push("500 Line too long (see RFC5321 4.5.3.1.6)")
                self._set_post_data_state()  # type: ignore[no-untyped-call]
                return
            # dot-unstuffing: a line that starts with a dot loses that dot
            content = data.replace(b"\r\n.", b"\r\n")
            if content.startswith(b"."):
                content = content[1:]
            if self._decode_data:
                try:
                    text = content.decode(
                        "utf-8" if self.enable_SMTPUTF8 else "ascii",
                        errors="surrogateescape" if self.enable_SMTPUTF8 else "strict",
                    )
                except UnicodeDecodeError:
                    await self.push("500 Error: strict ASCII mode")
                    return
                self.envelope.content = text
            else:
                self.envelope.content = content
            self.envelope.original_content = content
            status = await self._call_handler_hook("DATA")
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            await self.push("250 OK" if status is MISSING else status)

        async def _read_data(self) -> tuple[bytes, bool] | None:
            """The DATA up to (without) its terminating ``.<CR><LF>`` line, and whether
            it was over the size limit (then it is dropped as it comes, and b"")."""
            reader = self._reader
            limit = self.data_size_limit
            pieces: list[bytes] = []
            size = 0
            tail = b"\r\n"  # the DATA starts at the start of a line
            while True:
                try:
                    try:
                        piece = await reader.readuntil(_END_OF_DATA)
                    except asyncio.LimitOverrunError as exc:  # a long stretch: take it
                        piece = await reader.readexactly(exc.consumed)
                except asyncio.CancelledError:
                    self._writer.close()
                    raise
                except asyncio.IncompleteReadError:
                    self._writer.close()
                    return None
                size += len(piece)
                at_line_start = (tail + piece)[-5:-3] == b"\r\n"
                if limit and size - 3 > limit:
                    pieces.clear()
                else:
                    pieces.append(piece)
                tail = (tail + piece)[-2:]
                if piece.endswith(_END_OF_DATA) and at_line_start:
                    break
            if limit and size - 3 > limit:
                return b"", True
            data = b"".join(pieces)
            return data[:-3], False

    return _FastDataSMTP


class _Handler:
    """aiosmtpd handler: passes each message's raw bytes to ``take``."""

    def __init__(self, take: Callable[[bytes, str, list[str]], None]) -> None:
        self.take = take

    async def handle_DATA(self, server: SmtpServer, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.take(raw, envelope.mail_from or "", list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class _LoopbackServer:
    """Shared start/stop of an aiosmtpd server on 127.0.0.1."""

    _controller: Controller | None = None
    host: str = "127.0.0.1"
    port: int = 0

    _options: dict[str, Any] = {}

    def _start(self, take: Callable[[bytes, str, list[str]], None], port: int) -> None:
        if self._controller is not None:
            return
        controller = _controller(_Handler(take), self.host, port, **self._options)
        controller.start()
        self._controller = controller
        self.port = int(controller.port)

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._controller is not None

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def sender(self, **options: Any) -> SmtpSender:
        """An :class:`~icsclient.transport.SmtpSender` for this server (plain, loopback)."""
        return SmtpSender(self.host, self.port, **options)


class SmtpInbox(_LoopbackServer):
    """A loopback SMTP server that collects mail: a client's inbox in tests.

    Every message is kept in :attr:`messages` as ``(mail_from, rcpt_tos, raw)`` and, when
    ``maildir`` is given, delivered into that Maildir (read it with :meth:`reader`).
    Start it with :meth:`start` or a ``with`` block; ``host`` / ``port`` say where it
    listens (port 0 picks a free one).  ``server_options`` go to aiosmtpd's
    ``Controller``: ``ssl_context`` (implicit TLS), ``tls_context`` and
    ``require_starttls`` (STARTTLS), ``authenticator`` and ``auth_require_tls`` (AUTH),
    to try a sender against each.
    """

    def __init__(
        self, maildir: str | Path | None = None, *, port: int = 0, **server_options: Any
    ) -> None:
        self._options = dict(server_options)
        self.maildir = None if maildir is None else Path(maildir)
        self._writer = None if maildir is None else MaildirWriter(maildir)
        self.messages: list[tuple[str, list[str], bytes]] = []
        self._requested_port = port
        self._lock = threading.Lock()

    def _take(self, raw: bytes, mail_from: str, rcpt_tos: list[str]) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.deliver(raw)
            self.messages.append((mail_from, rcpt_tos, raw))

    def start(self) -> SmtpInbox:
        """Start listening; return self."""
        self._start(self._take, self._requested_port)
        return self

    def __enter__(self) -> SmtpInbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reader(self, **options: Any) -> MaildirReader:
        """A :class:`~icsclient.transport.MaildirReader` on the inbox's Maildir."""
        if self.maildir is None:
            raise ValueError("this inbox keeps messages in memory only (no maildir given)")
        return MaildirReader(self.maildir, **options)


class SmtpCCF(_LoopbackServer):
    """A :class:`SimulatedCCF` served as a real SMTP server on 127.0.0.1 (``aiosmtpd``).

    Clients send to ``host`` / ``port`` (port 0, the default, picks a free port).  The
    gateway's replies are delivered by SMTP to ``reply_to`` -- a ``(host, port)`` pair or
    an :class:`~icsclient.transport.SmtpSender` --, to ``inbox`` (an :class:`SmtpInbox`,
    started and stopped with the gateway if it is not running yet), or into the Maildir
    ``maildir``.  A reply is delivered before the client's SMTP transaction completes, so
    once a send returns its replies are there.  Re-sends (and time batches) happen when
    :meth:`tick` is called (no timers); :meth:`flush` delivers held batches.  Delivery
    failures are logged (``delivery-failed``) and kept in :attr:`delivery_errors`.
    """

    def __init__(
        self,
        gateway: SimulatedCCF,
        *,
        reply_to: tuple[str, int] | SmtpSender | None = None,
        inbox: SmtpInbox | None = None,
        maildir: str | Path | None = None,
        port: int = 0,
    ) -> None:
        if sum(x is not None for x in (reply_to, inbox, maildir)) != 1:
            raise ValueError("give exactly one of reply_to, inbox or maildir for the replies")
        self.gateway = gateway
        self.inbox = inbox
        if isinstance(reply_to, tuple):
            reply_to = SmtpSender(reply_to[0], reply_to[1])
        self._sender = reply_to
        self._writer = None if maildir is None else MaildirWriter(maildir)
        self.maildir = None if maildir is None else Path(maildir)
        self.delivery_errors: list[str] = []
        self._requested_port = port
        self._owns_inbox = False
        self._delivery_lock = threading.Lock()

    def _deliver(self, records: Iterable[Sent]) -> None:
        for sent in records:
            try:
                with self._delivery_lock:
                    self._deliver_one(sent)
            except (TransportError, OSError) as exc:
                self.delivery_errors.append(str(exc))
                with self.gateway._lock:
                    self.gateway._log(sent.at, "delivery-failed", sent.site, sent.icr, str(exc))

    def _deliver_one(self, sent: Sent) -> None:
        if self._writer is not None:
            self._writer.deliver(sent.email)
            return
        if self._sender is None:
            assert self.inbox is not None
            self._sender = self.inbox.sender()
        sender = self._sender
        sender.open()  # one connection serves every reply
        try:
            sender.send(sent.email, mail_from=self.gateway.address, rcpt_to=sent.to)
        except TransportError:
            if sender.connected:
                raise
            # the kept connection went away (idle timeout, server restart): once more, afresh
            sender.open()
            sender.send(sent.email, mail_from=self.gateway.address, rcpt_to=sent.to)

    def _take(self, raw: bytes, mail_from: str, rcpt_tos: list[str]) -> None:
        self._deliver(self.gateway.receive_records(raw))

    def start(self) -> SmtpCCF:
        """Start listening (and the ``inbox``, if it is not running); return self."""
        if self.inbox is not None and not self.inbox.running:
            self.inbox.start()
            self._owns_inbox = True
        self._start(self._take, self._requested_port)
        return self

    def stop(self) -> None:
        """Stop the server, and the ``inbox`` if :meth:`start` started it (idempotent)."""
        super().stop()
        if self._sender is not None:
            with self._delivery_lock:
                self._sender.close()
        if self._owns_inbox and self.inbox is not None:
            self.inbox.stop()
            self._owns_inbox = False

    def __enter__(self) -> SmtpCCF:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def tick(self, now: _dt.datetime | None = None) -> list[bytes]:
        """Deliver the gateway's due re-sends (see :meth:`SimulatedCCF.tick`); return them."""
        return self._delivered(self.gateway.tick_records(now))

    def flush(self, now: _dt.datetime | None = None) -> list[bytes]:
        """Deliver the batches the gateway holds (see :meth:`SimulatedCCF.flush`)."""
        return self._delivered(self.gateway.flush_records(now))

    def advise(
        self, site: str, advice: Advice | str, now: _dt.datetime | None = None
    ) -> list[bytes]:
        """Deliver an unsolicited advice (see :meth:`SimulatedCCF.advise`); return it."""
        return self._delivered(self.gateway.advise_records(site, advice, now))

    def _delivered(self, records: list[Sent]) -> list[bytes]:
        self._deliver(records)
        return [s.email for s in records]


@contextmanager
def serve_smtp(
    gateway: SimulatedCCF,
    *,
    reply_to: tuple[str, int] | SmtpSender | None = None,
    inbox: SmtpInbox | None = None,
    maildir: str | Path | None = None,
    port: int = 0,
) -> Iterator[SmtpCCF]:
    """Serve ``gateway`` on loopback SMTP for the ``with`` block; see :class:`SmtpCCF`."""
    server = SmtpCCF(gateway, reply_to=reply_to, inbox=inbox, maildir=maildir, port=port)
    with server:
        yield server
