"""Jupyter displays of ICS2 values: a filing with its checks marked, and each reply."""

from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest

pytest.importorskip("lxml")

import icsclient.display  # noqa: F401,E402 - registers the displays
from icsclient.display import render_filing, render_reply  # noqa: E402
from icsclient.ics2 import check_filing, parse_reply  # noqa: E402
from icsclient.ics2.sample import sample_filing  # noqa: E402

REPLIES = Path(__file__).parent / "replies"


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_a_clean_filing_says_its_checks_pass() -> None:
    filing = sample_filing(houses=2)
    assert check_filing(filing) == ()
    html = filing._repr_html_()
    assert html == render_filing(filing)
    text = text_of(html)
    assert "IE3F26" in text and "checks pass" in text and filing.lrn in text
    assert "house consignments2" in text


def test_a_faulty_filing_lists_every_finding_with_its_pointer() -> None:
    filing = attrs.evolve(sample_filing(), lrn="X" * 30)  # an..22
    findings = check_filing(filing)
    assert findings
    text = text_of(render_filing(filing))
    assert re.search(r"\d+ errors?", text)
    for f in findings:
        assert f.pointer in text and f.message.replace("'", "&#x27;") in text


@pytest.mark.parametrize("name", ["IE3N99.xml", "IE3R01.xml", "IE3Q02.xml"])
def test_replies_show_what_they_say(name: str) -> None:
    reply = parse_reply((REPLIES / name).read_bytes())
    html = reply._repr_html_()
    assert html == render_reply(reply)
    text = text_of(html)
    assert reply.message_id in text
    for e in reply.errors:
        assert (e.code or "?") in text
    for r in reply.requests:
        assert (r.reference or "?") in text
    if reply.mrn:
        assert reply.mrn in text
