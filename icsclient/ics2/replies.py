"""Customs replies (customs to trader), read into typed values (ICS2-RULES §3).

:func:`parse_reply` reads any IE3Rxx/IE3Nxx/IE3Qxx message customs sends. Lenient where real
samples are (dates with milliseconds and offsets, missing optional blocks, unknown elements,
unknown validation codes kept with their text); strict about what the library relies on: the
root element must be a customs-to-trader message of the catalogue, in the interface's
namespace, and the LRN/MRN and error codes the value exposes must be present and well-formed,
else an :class:`~icsclient.ics2.errors.Ics2XmlError` names the element.

Every reply says what it answers: :attr:`Reply.reference` is ``(Key.LRN, lrn)`` or
``(Key.MRN, mrn)``; correlate by the AS4 ``RefToMessageId`` first, then by this.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
from lxml import etree

from .._html import html_of
from ._schema import el
from ._xml import local, parse_xml, read_object
from .catalogue import CATALOGUE, DEFAULT_INTERFACE, Direction, Ics2Interface, Key
from .errors import Ics2XmlError, ReferenceNumberError
from .identifiers import check_mrn

KNOWN_CODES: dict[str, str] = {
    "12": "incorrect code value",
    "81": "duplicate transport document reference",
    "92": "message out of sequence",
    "100": "unsatisfactory data quality",
    "102": "Unicode character not allowed",
}
"""CL723 validation codes known from secondary sources (partial); unknown codes pass through."""


@attrs.frozen
class DocumentRef:
    """A transport document named in a reply."""

    number: str | None = el("documentNumber")
    type: str | None = el("type")


@attrs.frozen
class ValidationError:
    """One ``error`` of an IE3N99/N01/N07: ``code`` (CL723), the texts, and ``pointer`` (the
    ``messageElementPath``, kept as an opaque string: an XPath in the ICD, a data-model path in
    samples)."""

    code: str | None = el("validationCode", required=True)
    technical: str | None = el("technicalErrorMessage")
    description: str | None = el("description")
    pointer: str | None = el("pointer/messageElementPath")

    @property
    def meaning(self) -> str:
        """The description given, else the known meaning of the code, else ``""``."""
        return self.description or KNOWN_CODES.get(self.code or "", "")

    def __str__(self) -> str:
        where = f" at {self.pointer}" if self.pointer else ""
        text = self.meaning or self.technical or ""
        return f"{self.code}{where}: {text}" if text else f"{self.code}{where}"


@attrs.frozen
class AdditionalInformation:
    """An ``additionalInformation`` of a referral request."""

    code: str | None = el("code")
    text: str | None = el("text")
    type: str | None = el("type")


@attrs.frozen
class ReferralRequest:
    """One ``referralRequestDetails`` of an IE3Q02/Q03: what customs asks for."""

    reference: str | None = el("referralRequestReference", required=True)
    request_type: str | None = el("requestType")
    house_document: DocumentRef | None = el("transportDocumentHouseLevel", "obj", cls=DocumentRef)
    master_document: DocumentRef | None = el(
        "transportDocumentMasterLevel", "obj", cls=DocumentRef
    )
    additional_information: tuple[AdditionalInformation, ...] = el(
        "additionalInformation", "many", max_occurs=99, cls=AdditionalInformation
    )
    pointer: str | None = el("pointer/messageElementPath")


@attrs.frozen
class Reply:
    """A customs reply. Fields a message type does not carry stay ``None`` / empty.

    ``message_id`` is the root element (``IE3R01``); ``date`` the message's own date
    (``registrationDate``, ``notificationDate``, ``documentIssueDate``, ``completionDate``);
    ``errors`` the validation errors (IE3N99/N01/N07); ``requests`` the referral requests
    (IE3Q02/Q03); ``member_state`` the addressed or responsible member state.
    """

    message_id: str = attrs.field()
    lrn: str | None = el("LRN")
    mrn: str | None = el("MRN")
    functional_reference: str | None = el("functionalReference")
    registration_date: dt.datetime | None = el("registrationDate/DateTime", "date")
    notification_date: dt.datetime | None = el("notificationDate/DateTime", "date")
    issue_date: dt.datetime | None = el("documentIssueDate/DateTime", "date")
    completion_date: dt.datetime | None = el("completionDate/DateTime", "date")
    specific_circumstance: str | None = el("SpecificCircumstanceIndicator")
    addressed_member_state: str | None = el("addressedMemberState/country")
    responsible_member_state: str | None = el("responsibleMemberState/country")
    declarant: str | None = el("declarant/identificationNumber")
    representative: str | None = el("representative/identificationNumber")
    carrier: str | None = el("carrier/identificationNumber")
    transport_document: DocumentRef | None = el("transportDocument", "obj", cls=DocumentRef)
    office_of_first_entry: str | None = el("customsOfficeOfFirstEntry/referenceNumber")
    errors: tuple[ValidationError, ...] = el(
        "error", "many", max_occurs=99999, cls=ValidationError
    )
    requests: tuple[ReferralRequest, ...] = el(
        "referralRequestDetails", "many", max_occurs=999, cls=ReferralRequest
    )

    @property
    def meaning(self) -> str:
        """What the message means, from the catalogue."""
        return CATALOGUE[self.message_id].meaning

    @property
    def date(self) -> dt.datetime | None:
        """The message's own date, whichever element carries it."""
        return (
            self.registration_date
            or self.notification_date
            or self.issue_date
            or self.completion_date
        )

    @property
    def member_state(self) -> str | None:
        """The addressed or responsible member state."""
        return self.addressed_member_state or self.responsible_member_state

    @property
    def reference(self) -> tuple[Key, str] | None:
        """What the reply answers: the LRN of an IE3R01 (it registers a filing), else the MRN,
        else the IE3N99's ``functionalReference`` (an MRN when it has the MRN form, else an
        LRN), or ``None`` when customs could not tell (a filing it could not parse)."""
        if self.message_id == "IE3R01" and self.lrn:
            return (Key.LRN, self.lrn)
        if self.mrn:
            return (Key.MRN, self.mrn)
        if self.lrn:
            return (Key.LRN, self.lrn)
        ref = self.functional_reference
        if not ref:
            return None
        try:
            return (Key.MRN, check_mrn(ref))
        except ReferenceNumberError:
            return (Key.LRN, ref)

    def __repr__(self) -> str:
        ref = self.reference
        about = f" {ref[0].value} {ref[1]}" if ref else ""
        extra = ""
        if self.message_id == "IE3R01":
            extra = f" → MRN {self.mrn}"
        if self.errors:
            extra += f", {len(self.errors)} error(s)"
        if self.requests:
            extra += f", {len(self.requests)} request(s)"
        return f"<Reply {self.message_id} ({self.meaning}){about}{extra}>"

    def _repr_html_(self) -> str | None:
        """The reply, its errors and requests as HTML (Jupyter; see ``icsclient.display``)."""
        return html_of(self)


_REQUIRED: dict[str, tuple[str, ...]] = {
    "IE3R01": ("LRN", "MRN"),
    "IE3N03": ("MRN",),
    "IE3Q02": ("MRN",),
}
"""Elements a reply must carry for the library to use it (the IE tables' M fields it relies on)."""

_ERROR_TYPES = frozenset({"IE3N99", "IE3N01", "IE3N07"})


def parse_reply(xml: bytes | str, *, interface: Ics2Interface = DEFAULT_INTERFACE) -> Reply:
    """Read any customs-to-trader ICS2 message into a :class:`Reply`."""
    root = parse_xml(xml, what="reply")
    return reply_from_element(root, interface=interface)


def reply_from_element(
    root: etree._Element, *, interface: Ics2Interface = DEFAULT_INTERFACE
) -> Reply:
    """A :class:`Reply` from an already parsed root element."""
    name = local(root)
    path = f"/{name}"
    if etree.QName(root).namespace != interface.namespace:
        raise Ics2XmlError(
            f"root element {name!r} is not in the ICS2 namespace {interface.namespace!r}",
            path=path,
        )
    entry = CATALOGUE.get(name)
    if entry is None or entry.direction is not Direction.C2T:
        raise Ics2XmlError(f"root element {name!r} is not a customs reply", path=path)
    ns = interface.namespace
    reply: Reply = read_object(root, Reply, ns, path, strict=False, message_id=name)
    _require(reply, name, path)
    return reply


def _require(reply: Reply, name: str, path: str) -> None:
    present: dict[str, Any] = {"LRN": reply.lrn, "MRN": reply.mrn}
    for element in _REQUIRED.get(name, ()):
        if not present[element]:
            raise Ics2XmlError(f"{name} has no {element}", path=f"{path}/{element}")
    if reply.mrn:
        try:
            check_mrn(reply.mrn)
        except ReferenceNumberError as exc:
            raise Ics2XmlError(str(exc), path=f"{path}/MRN") from None
    if name in _ERROR_TYPES:
        if not reply.errors and name == "IE3N99":
            raise Ics2XmlError("IE3N99 has no error", path=f"{path}/error")
        for i, error in enumerate(reply.errors, 1):
            if not error.code:
                raise Ics2XmlError(
                    "error has no validationCode", path=f"{path}/error[{i}]/validationCode"
                )
