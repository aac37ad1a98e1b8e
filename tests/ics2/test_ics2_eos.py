"""The online EORI check, against a stand-in EOS server on 127.0.0.1 that the test starts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from lxml import etree

from icsclient.errors import ReceivedError
from icsclient.ics2 import EoriError, EoriServiceError
from icsclient.ics2.eos import EOS_NAMESPACE, validate_eoris

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


class StandIn(BaseHTTPRequestHandler):
    batches: list[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        numbers = [e.text or "" for e in etree.fromstring(body).iter(f"{{{EOS_NAMESPACE}}}eori")]
        self.batches.append(numbers)
        if "DE0SLOW" in numbers:
            time.sleep(1.5)
        if "DE0FAULT" in numbers:
            self._send(500, f'<s:Envelope xmlns:s="{SOAP}"><s:Body><s:Fault><faultcode>s:Server'
                            "</faultcode><faultstring>too many</faultstring></s:Fault></s:Body>"
                            "</s:Envelope>")  # fmt: skip
            return
        if "DE0HTTP" in numbers:
            self._send(503, "down")
            return
        results = "".join(
            f"<result><eori>{n}</eori><status>{1 if n.endswith('9') else 0}</status>"
            f"<statusDescr>{'Not valid' if n.endswith('9') else 'Valid'}</statusDescr>"
            + ("<name>Example GmbH</name><street>Musterweg 4</street><postalCode>65451"
               "</postalCode><city>Kelsterbach</city><country>DE</country>"
               if n == "DE123" else "")  # fmt: skip
            + "</result>"
            for n in numbers
            if n != "DE0LOST"
        )
        self._send(200, f'<s:Envelope xmlns:s="{SOAP}"><s:Body><ns2:validateEORIResponse '
                        f'xmlns:ns2="{EOS_NAMESPACE}"><return><requestDate>2026-03-02'
                        f"</requestDate>{results}</return></ns2:validateEORIResponse></s:Body>"
                        "</s:Envelope>")  # fmt: skip

    def _send(self, code: int, text: str) -> None:
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def eos() -> Iterator[str]:
    StandIn.batches = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/validation"
    server.shutdown()
    server.server_close()


def test_batches_and_results(eos: str) -> None:
    numbers = ["de123"] + [f"DE{n:05d}" for n in range(1, 24)] + ["DE123"]
    results = validate_eoris(numbers, url=eos)
    assert list(results)[0] == "DE123" and len(results) == 24
    assert [len(b) for b in StandIn.batches] == [10, 10, 4]
    first = results["DE123"]
    assert first.valid and first.name == "Example GmbH" and first.postal_code == "65451"
    assert not results["DE00009"].valid and results["DE00009"].description == "Not valid"
    assert results["DE00001"].name is None
    validate_eoris(["DE1", "DE2", "DE3"], url=eos, batch_size=2)
    assert [len(b) for b in StandIn.batches[-2:]] == [2, 1]


def test_malformed_numbers_never_leave(eos: str) -> None:
    with pytest.raises(EoriError):
        validate_eoris(["DE1", "GB123456"], url=eos)
    assert StandIn.batches == []


@pytest.mark.parametrize(
    ("number", "says"),
    [("DE0FAULT", "SOAP fault: s:Server too many"), ("DE0HTTP", "HTTP 503"),
     ("DE0LOST", "no result for DE0LOST")],
)  # fmt: skip
def test_service_failures(eos: str, number: str, says: str) -> None:
    with pytest.raises(EoriServiceError, match=says) as info:
        validate_eoris([number], url=eos)
    assert isinstance(info.value, ReceivedError)


def test_timeout_and_unreachable(eos: str) -> None:
    with pytest.raises(EoriServiceError, match="could not be reached"):
        validate_eoris(["DE0SLOW"], url=eos, timeout=0.2)
    closed = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    port = closed.server_address[1]
    closed.server_close()
    with pytest.raises(EoriServiceError, match="could not be reached"):
        validate_eoris(["DE1"], url=f"http://127.0.0.1:{port}/", timeout=2)
