"""The catalogue of ICS document names (BGM C002, fourth component).

Every ICS transaction is a UN/EDIFACT message whose BGM names the ICS document: ``AIRCR``
(an air cargo report, a CUSCAR with document code 933), ``EXD`` (an export declaration, a
CUSDEC with code 830), and so on.  Customs answers with a CUSRES whose document name is
the request's name plus ``R`` (``AIRCR`` → ``AIRCRR``), with an ``ERM`` for errors raised
before the application, or with an unsolicited advice (``CARST``, ``PAYREC``, ``IDL`` ...).

:data:`CATALOGUE` holds at least every name in ICS rules §8.  It records only what those
rules state: where they give no UN message type or BGM document code for a name, the
entry says ``None`` rather than guess, and a caller who knows better can extend the
catalogue with :meth:`DocumentCatalogue.with_documents`.

Function codes (BGM 1225) follow the direction: requests to Customs may be sent as 9
(original), 4 (change), 5 (replace), 20/21 (partial replace) or 50 (withdraw); documents
from Customs carry 11 (response), 8 (status) or 14 (advice).  The rules do not narrow these
per document, so neither does the catalogue.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType

import attrs

from ..errors import BuildError

FUNCTION_CODES: Mapping[str, str] = MappingProxyType(
    {
        "9": "original",
        "4": "change",
        "5": "replace",
        "20": "partial replace",
        "21": "partial replace",
        "50": "withdraw",
        "11": "response",
        "8": "status",
        "14": "advice",
    }
)
"""BGM 1225 message function codes used with the ICS and their meanings."""

REQUEST_FUNCTIONS: frozenset[str] = frozenset({"9", "4", "5", "20", "21", "50"})
"""Function codes a client may send to Customs."""

RESPONSE_FUNCTIONS: frozenset[str] = frozenset({"11", "8", "14"})
"""Function codes Customs uses in what it sends back."""


def function_meaning(code: str) -> str:
    """The meaning of a BGM 1225 function code, or ``"unknown function code N"``."""
    return FUNCTION_CODES.get(code, f"unknown function code {code}")


def _codes(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


class Direction(enum.Enum):
    """Who sends a document."""

    TO_CUSTOMS = "to Customs"
    """A request a client lodges."""
    FROM_CUSTOMS = "from Customs"
    """A response, status or advice the Department sends."""


@attrs.frozen
class DocumentType:
    """One ICS document name and what the rules say about it.

    ``message_type`` is the UN message (``CUSCAR``, ``CUSDEC``, ``CUSREP``, ``CUSRES`` ...)
    and ``document_code`` the BGM 1001 code (``"933"``), each ``None`` where the ICS
    rules do not state it.  ``response`` is the name of the document Customs answers a
    request with (``None`` for documents from Customs); ``functions`` the BGM 1225 codes
    the document may carry.
    """

    name: str
    description: str
    direction: Direction
    message_type: str | None = None
    document_code: str | None = None
    response: str | None = None
    functions: frozenset[str] = attrs.field(converter=_codes, default=frozenset())

    @property
    def is_request(self) -> bool:
        """Whether a client sends this document to Customs."""
        return self.direction is Direction.TO_CUSTOMS


def _request(
    name: str,
    description: str,
    message_type: str | None = None,
    document_code: str | None = None,
) -> tuple[DocumentType, DocumentType]:
    """A request and its ``<name>R`` response."""
    return (
        DocumentType(
            name,
            description,
            Direction.TO_CUSTOMS,
            message_type,
            document_code,
            response=f"{name}R",
            functions=REQUEST_FUNCTIONS,
        ),
        DocumentType(
            f"{name}R",
            f"response to {name} ({description})",
            Direction.FROM_CUSTOMS,
            "CUSRES",
            None,
            functions=RESPONSE_FUNCTIONS,
        ),
    )


def _from_customs(name: str, description: str, document_code: str | None = None) -> DocumentType:
    return DocumentType(
        name,
        description,
        Direction.FROM_CUSTOMS,
        "CUSRES",
        document_code,
        functions=RESPONSE_FUNCTIONS,
    )


class DocumentCatalogue(Mapping[str, DocumentType]):
    """A read-only mapping of document name → :class:`DocumentType`.

    >>> CATALOGUE["AIRCR"].response, CATALOGUE["AIRCR"].document_code
    ('AIRCRR', '933')
    >>> CATALOGUE.request_for("EXDR").name
    'EXD'
    """

    __slots__ = ("_documents",)

    def __init__(self, documents: Iterable[DocumentType] = ()) -> None:
        merged: dict[str, DocumentType] = {}
        for doc in documents:
            if not isinstance(doc, DocumentType):
                raise BuildError(f"expected a DocumentType, got {doc!r:.80}")
            merged[doc.name] = doc
        self._documents: Mapping[str, DocumentType] = MappingProxyType(merged)

    def __getitem__(self, name: str) -> DocumentType:
        return self._documents[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._documents)

    def __len__(self) -> int:
        return len(self._documents)

    def __repr__(self) -> str:
        return f"DocumentCatalogue({len(self)} documents: {', '.join(self)})"

    def request_for(self, response_name: str) -> DocumentType | None:
        """The request that ``response_name`` answers (``AIRCRR`` → ``AIRCR``), or ``None``."""
        for doc in self._documents.values():
            if doc.response == response_name:
                return doc
        return None

    def with_documents(self, documents: Iterable[DocumentType]) -> DocumentCatalogue:
        """A new catalogue with ``documents`` added (replacing entries of the same name)."""
        return DocumentCatalogue((*self._documents.values(), *documents))


def _default() -> DocumentCatalogue:
    docs: list[DocumentType] = []
    for pair in (
        _request("AIRCR", "air cargo report", "CUSCAR", "933"),
        _request("SEACR", "sea cargo report"),
        _request("AIROUT", "air outturn report", "CUSCAR", "263"),
        _request("SEAOUT", "sea outturn report", "CUSCAR", "263"),
        _request("AIRIAR", "air impending arrival report"),
        _request("SEAIAR", "sea impending arrival report"),
        _request("AIRAAR", "air actual arrival report"),
        _request("SEAAAR", "sea actual arrival report"),
        _request("AIRINT", "AIRINT report"),
        _request("SEAINT", "SEAINT report"),
        _request("CARLST", "CARLST request"),
        _request("EXD", "export declaration", "CUSDEC", "830"),
        _request("IMD", "import declaration", "CUSDEC", "929"),
        _request("SAC", "self-assessed clearance", "CUSDEC", "929"),
        _request("DEPART", "departure report", "CUSREP", "124"),
        _request("CTOREC", "CTOREC report"),
        _request("CTOREM", "CTOREM report"),
        _request("UBMREQ", "underbond movement request"),
        _request("CLREG", "CLREG request"),
        _request("DRWBCK", "drawback request"),
        _request("STREQ", "STREQ request"),
    ):
        docs.extend(pair)
    docs.extend(
        (
            _from_customs("ERM", "error response raised before the application", "963"),
            _from_customs("UBMREQE", "UBMREQE response"),
            _from_customs("CLNTDUP", "CLNTDUP response"),
            _from_customs("CARST", "cargo status advice"),
            _from_customs("PAYREC", "PAYREC advice"),
            _from_customs("IDL", "IDL advice"),
            _from_customs("SEI", "SEI advice"),
            _from_customs("ATD", "ATD advice"),
            _from_customs("REFACC", "REFACC advice"),
            _from_customs("REFREJ", "REFREJ advice"),
        )
    )
    return DocumentCatalogue(docs)


CATALOGUE: DocumentCatalogue = _default()
"""The ICS document names known to ``icsclient`` (at least every name in ICS rules §8)."""


def document(name: str) -> DocumentType:
    """The catalogue entry for ``name``; raises :class:`~icsclient.errors.BuildError` if unknown."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise BuildError(
            f"unknown ICS document name {name!r}; known: {', '.join(sorted(CATALOGUE))}"
        ) from None
