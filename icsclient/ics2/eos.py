"""The optional online EORI check: the EU's EOS ``validateEORI`` SOAP service (ICS2-RULES §1).

The only module of :mod:`icsclient.ics2` that does I/O. Numbers are first checked offline
(:func:`~icsclient.ics2.check_eori`), then sent in batches of ``batch_size`` per call (10 by
default: the EU's batch limit is **unverified**, so it is an argument), each call with a
``timeout``. The result per number is the ``status`` (0 valid, 1 invalid), ``statusDescr``, and
the name and address only where the operator consented to publish them.

**Unverified**: the endpoint (:data:`EOS_URL` is the address published for the service), the
SOAP element names other than those in ICS2-RULES §1, and the batch limit; pass ``url=``,
``batch_size=`` to override. The reader is lenient: it reads every ``result`` element by local
name. Never called in this library's tests except against a local stand-in server.
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import escape

import attrs
import httpx

from ._xml import local, parse_xml
from .errors import EoriServiceError, Ics2XmlError
from .identifiers import check_eori

EOS_NAMESPACE = "http://eori.ws.eos.dds.s/"
"""The namespace of the EOS validation service."""

EOS_URL = "https://ec.europa.eu/taxation_customs/dds2/eos/validation/services/validation"
"""The published EOS validation endpoint (unverified; pass ``url=`` to override)."""

DEFAULT_BATCH_SIZE = 10
"""Numbers per call (the EU's limit is unverified; pass ``batch_size=`` to override)."""

_SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"


@attrs.frozen
class EoriResult:
    """The EOS answer for one number: ``valid`` when ``status`` is 0; ``name`` and the
    address parts only where the operator consented to publish them."""

    eori: str
    status: int
    description: str = ""
    name: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None

    @property
    def valid(self) -> bool:
        """Whether EOS says the number is valid (status 0)."""
        return self.status == 0


def request_body(numbers: Iterable[str]) -> bytes:
    """The SOAP 1.1 request asking EOS about ``numbers`` (already normalised)."""
    items = "".join(f"<ev:eori>{escape(n)}</ev:eori>" for n in numbers)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{_SOAP11}" '
        f'xmlns:ev="{EOS_NAMESPACE}"><soap:Body><ev:validateEORI>{items}'
        "</ev:validateEORI></soap:Body></soap:Envelope>"
    ).encode()


def read_response(body: bytes) -> tuple[EoriResult, ...]:
    """The results in an EOS answer; a SOAP fault or an unreadable answer is an
    :class:`.EoriServiceError`."""
    try:
        root = parse_xml(body, what="EOS answer")
    except Ics2XmlError as exc:
        raise EoriServiceError(str(exc)) from None
    results = []
    for element in root.iter():
        name = local(element)
        if name == "Fault":
            text = " ".join(t.strip() for t in element.itertext() if t.strip())
            raise EoriServiceError(f"EOS answered a SOAP fault: {text}")
        if name != "result":
            continue
        fields = {local(c): (c.text or "").strip() for c in element}
        try:
            status = int(fields.get("status", ""))
        except ValueError:
            raise EoriServiceError(
                f"EOS result for {fields.get('eori')!r} has no numeric status"
            ) from None
        if not fields.get("eori"):
            raise EoriServiceError("EOS result without an eori")
        results.append(
            EoriResult(
                fields["eori"], status, fields.get("statusDescr", ""),
                fields.get("name") or None, fields.get("street") or None,
                fields.get("postalCode") or None, fields.get("city") or None,
                fields.get("country") or None,
            )  # fmt: skip
        )
    return tuple(results)


def validate_eoris(
    numbers: Iterable[str],
    *,
    url: str = EOS_URL,
    batch_size: int = DEFAULT_BATCH_SIZE,
    timeout: float = 10.0,
    client: httpx.Client | None = None,
) -> dict[str, EoriResult]:
    """Ask EOS about ``numbers``: normalised EORI → result, in the order given.

    Each number is checked offline first (a malformed one raises an
    :class:`~icsclient.ics2.errors.EoriError` before any call); duplicates are asked once.
    An unreachable service, an HTTP error, a timeout or a number missing from the answer is
    an :class:`.EoriServiceError`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    wanted = list(dict.fromkeys(check_eori(n) for n in numbers))
    own = client is None
    http = client or httpx.Client(timeout=timeout)
    found: dict[str, EoriResult] = {}
    try:
        for start in range(0, len(wanted), batch_size):
            batch = wanted[start : start + batch_size]
            try:
                answer = http.post(
                    url,
                    content=request_body(batch),
                    headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": ""},
                    timeout=timeout,
                )
            except httpx.HTTPError as exc:
                raise EoriServiceError(f"EOS at {url} could not be reached: {exc}") from None
            if answer.status_code != 200 and b"Fault" not in answer.content:
                raise EoriServiceError(f"EOS at {url} answered HTTP {answer.status_code}")
            for result in read_response(answer.content):
                found[result.eori] = result
    finally:
        if own:
            http.close()
    missing = [n for n in wanted if n not in found]
    if missing:
        raise EoriServiceError(f"EOS gave no result for {', '.join(missing)}")
    return {n: found[n] for n in wanted}
