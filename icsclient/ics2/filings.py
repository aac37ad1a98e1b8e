"""Build air ENS filings (IE3F23/F24/F26/F27 and their amendments) as XML, and read them back.

:func:`build_filing` checks the filing first (:func:`~icsclient.ics2.check_filing`) and refuses
one with errors unless ``force=True``; it writes UTF-8 XML in the interface's namespace, the
root element named by the message id, elements in table order, dates as
``YYYY-MM-DDThh:mm:ssZ``. :func:`parse_filing` reads such a document into the same
:class:`~icsclient.ics2.model.Filing`; build → parse → build gives the same bytes.
"""

from __future__ import annotations

from lxml import etree

from ._xml import local, parse_xml, read_object, serialise, write_object
from .catalogue import DEFAULT_INTERFACE, Ics2Interface
from .check import check_filing
from .errors import FilingError, Ics2InputError, Ics2XmlError
from .model import AIR_AMENDMENTS, AIR_FILINGS, Filing


def filing_element(
    filing: Filing, *, interface: Ics2Interface = DEFAULT_INTERFACE
) -> etree._Element:
    """The filing as an lxml element (no checks); :func:`build_filing` writes the same
    document as bytes, faster."""
    _known(filing)
    ns = interface.namespace
    root = etree.Element(f"{{{ns}}}{filing.message_id}", nsmap={None: ns})
    write_object(root, filing, ns)
    return root


def _known(filing: Filing) -> None:
    if filing.message_id not in AIR_FILINGS | AIR_AMENDMENTS:
        raise Ics2InputError(
            f"cannot build {filing.message_id!r}: the model builds "
            f"{', '.join(sorted(AIR_FILINGS | AIR_AMENDMENTS))}"
        )


def build_filing(
    filing: Filing, *, interface: Ics2Interface = DEFAULT_INTERFACE, force: bool = False
) -> bytes:
    """The filing as UTF-8 XML bytes; a :class:`.FilingError` lists the errors that stop it.

    ``force=True`` writes a filing with errors anyway (to test a peer's validation, say).
    """
    if not force:
        errors = [f for f in check_filing(filing) if f.is_error]
        if errors:
            raise FilingError(errors)
    _known(filing)
    return serialise(filing, filing.message_id, interface.namespace)


def parse_filing(xml: bytes | str, *, interface: Ics2Interface = DEFAULT_INTERFACE) -> Filing:
    """Read an air filing or amendment back into the model.

    Strict: the root must be one of the built message ids in the interface's namespace, and
    an element the model does not know is an :class:`.Ics2XmlError` naming it, so nothing read
    is silently dropped. Text is read with the whitespace around it removed.
    """
    root = parse_xml(xml, what="filing")
    name = local(root)
    if etree.QName(root).namespace != interface.namespace:
        raise Ics2XmlError(
            f"root element {name!r} is not in the ICS2 namespace {interface.namespace!r}",
            path=f"/{name}",
        )
    if name not in AIR_FILINGS | AIR_AMENDMENTS:
        raise Ics2XmlError(
            f"root element {name!r} is not an air filing "
            f"({', '.join(sorted(AIR_FILINGS | AIR_AMENDMENTS))})",
            path=f"/{name}",
        )
    filing: Filing = read_object(
        root, Filing, interface.namespace, f"/{name}", strict=True, message_id=name
    )
    return filing
