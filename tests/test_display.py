"""Jupyter displays (icsclient.display): every display renders, and shows the right things."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest

from icsclient import Segment, build_interchange, parse_contrl, parse_cusres, parse_interchange
from icsclient.display import (
    SEGMENT_NAMES,
    HtmlDisplay,
    contrl_outcome,
    cusres_outcome,
    render_contrl,
    render_cusres,
    render_interchange,
    render_message,
    render_received_email,
    render_segment,
    segment_name,
    short_repr,
)
from icsclient.edifact.envelope import Interchange
from icsclient.ics import parse_cusres_all
from icsclient.mail import ReceivedEmail, compose_email, open_email
from icsclient.testing.pki import make_test_pki

FIXTURES = Path(__file__).parent / "fixtures" / "responses"
WHEN = datetime(2024, 1, 2, 3, 4, tzinfo=timezone.utc)
RED, AMBER, GREEN = "#9f1c12", "#7a2e0e", "#05603a"  # foreground colours of the badges

BODY = [
    Segment("BGM", ("933", "", "", "AIRCR"), ("HAWB1", "1"), "9"),
    Segment("FTX", "AAA", "", "", ("Fish & <chips>", "a:b+c'd?e")),
    Segment("NAD", "CZ", "", "", "ACME <Pty> Ltd"),
    Segment("LOC", "9", "SYD"),
    Segment("GID", "1", ("10", "PK")),
    Segment("MEA", "WT", "", ("KGM", "12.5")),
    Segment("CNT", ("7", "12.5")),
]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def lodged(**kw: object) -> Interchange:
    """Two CUSCAR messages (7 and 2 body segments), ICR 1234, Industry Test."""
    data = build_interchange(
        "AAA676Y", [("CUSCAR", BODY), ("CUSCAR", BODY[:2])], 1234, prepared=WHEN, test=True
    )
    return parse_interchange(data, **kw)  # type: ignore[arg-type]


def rows(html: str) -> list[str]:
    """The table rows of a display, as HTML snippets."""
    return re.findall(r"<tr[ >].*?</tr>", html, flags=re.S)


def row_of(
    html: str, number: int | None = None, tag: str | None = None, pos: int | None = None
) -> str:
    """The segment row with interchange number ``number`` (first column), or ``tag``+``pos``."""
    for row in rows(html):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        if len(cells) < 4:
            continue
        if number is not None and cells[0] == str(number):
            return row
        if tag is not None and f">{tag}<" in row and (pos is None or f">{pos}</td>" in row):
            return row
    raise AssertionError(f"no row {number or tag} in the display")


def text_of(html: str) -> str:
    """The visible text of some HTML (tags dropped, entities left as they are)."""
    return re.sub(r"<[^>]+>", "", html)


# ------------------------------------------------------------------ segments and names


def test_segment_names_cover_the_common_tags() -> None:
    for tag in ("UNB", "UNH", "BGM", "DTM", "RFF", "NAD", "FTX", "ERP", "ERC", "CNT", "UCI"):
        assert segment_name(tag) == SEGMENT_NAMES[tag]
    assert segment_name("UNB") == "interchange header"
    assert segment_name("ERP") == "error point"
    assert segment_name("ZZZ") == ""


def test_segment_display_shows_unescaped_values_html_escaped() -> None:
    html = render_segment(BODY[1])
    assert isinstance(html, HtmlDisplay) and html._repr_html_() == html
    assert "free text" in html
    # the data as the model holds it: no EDIFACT release characters, but HTML-escaped
    assert "Fish &amp; &lt;chips&gt;" in html
    assert "a:b+c&#x27;d?e" in html
    assert "<chips>" not in html and "?:" not in html and "??" not in html
    assert 'title="FTX element 5"' in html
    assert BODY[1]._repr_html_() == html


def test_html_display_repr_is_short() -> None:
    html = render_segment(BODY[0])
    assert repr(html).startswith("<HtmlDisplay: ") and len(repr(html)) < 60


# ------------------------------------------------------------------ interchange and message


def test_interchange_display_shows_envelope_and_every_segment() -> None:
    ic = lodged()
    html = render_interchange(ic)
    assert ic._repr_html_() == html
    for label, value in (
        ("sender", "AAA676Y"),
        ("recipient", "AAA336C"),
        ("control reference (ICR)", "1234"),
        ("prepared", "2024-01-02 14:04"),  # Sydney local time, as in UNB
        ("syntax", "UNOC:3"),
    ):
        assert re.search(f">{re.escape(label)}</th><td[^>]*>(<span[^>]*>)?{value}", html), label
    assert "Industry Test" in html and "envelope OK" in html and GREEN in html
    assert "2 CUSCAR" in html
    assert html.count("Message 1 · ") == 1 and html.count("Message 2 · ") == 1
    segments = list(ic.segments())
    assert len([r for r in rows(html) if r.count("<td") >= 6]) == len(segments)
    for n, seg in enumerate(segments, start=1):
        row = row_of(html, n)
        assert f">{seg.tag}<" in row and segment_name(seg.tag) in row
    assert "ACME &lt;Pty&gt; Ltd" in html


def test_production_interchange_says_so() -> None:
    data = build_interchange("AAA676Y", [("CUSCAR", BODY)], 7, prepared=WHEN)
    html = render_interchange(parse_interchange(data))
    assert "Production" in html and "Industry Test" not in html


def test_interchange_findings_highlighted_where_they_point() -> None:
    data = (
        lodged().to_bytes().replace(b"UNT+9+1", b"UNT+10+1").replace(b"UNZ+2+1234", b"UNZ+3+1234")
    )
    ic = parse_interchange(data, strict=False)
    html = render_interchange(ic)
    assert "2 envelope findings" in html and RED in html
    unt = row_of(html, 10)
    assert ">UNT<" in unt and "29 control count does not match" in unt
    assert 'title="UNT element 2"><span style="background:#fde2e1' in unt
    unz = row_of(html, 15)
    assert ">UNZ<" in unz and "29 control count" in unz
    assert "control count" not in row_of(html, 5)


def test_missing_element_is_shown_as_an_empty_highlight() -> None:
    data = lodged().to_bytes().replace(b"UNH+2+CUSCAR:D:99B:UN", b"UNH+2+CUSCAR:D::UN")
    html = render_interchange(parse_interchange(data, strict=False))
    unh = row_of(html, 11)
    assert "release (S009) is missing" in unh
    assert 'title="UNH element 3, component 3"' in unh and "&#8709;" in unh


def test_message_display() -> None:
    message = lodged().messages[0]
    html = render_message(message)
    assert message._repr_html_() == html
    assert "Message 1" in html and "CUSCAR:D:99B:UN" in html and "9 (UNH to UNT)" in html
    assert ">#</th>" not in html  # positions only: a message alone has no interchange numbers
    assert ">BGM<" in row_of(html, tag="BGM", pos=2)
    assert "✖" not in html


def test_message_display_flags_a_wrong_unt() -> None:
    data = lodged().to_bytes().replace(b"UNT+9+1", b"UNT+8+7")
    message = parse_interchange(data, strict=False).messages[0]
    html = render_message(message)
    unt = row_of(html, tag="UNT", pos=9)
    assert "29 control count does not match" in unt and "28 references do not match" in unt


def test_large_interchange_is_cut_but_marked_rows_stay() -> None:
    body = [Segment("FTX", "AAA", "", "", f"line {n}") for n in range(600)]
    data = build_interchange("AAA676Y", [("CUSCAR", body)], 9, prepared=WHEN)
    report = parse_contrl(
        build_interchange(
            "AAA336C",
            [
                (
                    "CONTRL",
                    [
                        Segment("UCI", "9", ("AAA676Y", "", "AAA676Y"), "AAA336C", "7"),
                        Segment("UCM", "1", ("CUSCAR", "D", "99B", "UN"), "4"),
                        Segment("UCS", "500"),
                        Segment("UCD", "39", "5"),
                    ],
                )
            ],
            1,
            recipient="AAA676Y",
            prepared=WHEN,
        )
    )
    html = render_contrl(report, parse_interchange(data), max_segments=50)
    assert "line 47<" in html and "line 48<" not in html  # UNB, UNH and 48 FTX
    assert "line 498" in html  # position 500 counts UNH as 1
    assert "… 450 segments not shown …" in html and "… 103 segments not shown …" in html


# ------------------------------------------------------------------ CONTRL


def test_contrl_display_highlights_segment_element_and_component() -> None:
    ic = lodged()
    report = parse_contrl(fixture("contrl_segment_errors.edi"))
    html = render_contrl(report, ic)
    assert "1 message rejected" in html and AMBER in html
    # UCS+3+13: message 1, segment 3 (FTX) missing
    assert "segment 3: missing (13)" in row_of(html, tag="FTX", pos=3)
    # UCS+5 UCD+39+3 UCD+12+4:2 -> LOC: element 3 too long, element 4 component 2 invalid
    loc = row_of(html, tag="LOC", pos=5)
    assert "data element too long (39)" in loc and "invalid value (12)" in loc
    assert re.search(r'title="LOC element 3"><span style="background:#fde2e1[^"]*" title', loc)
    assert 'title="LOC element 4, component 2"' in loc
    # UCS+9+35 UCD+37+2 -> position 9 of message 1 (UNH, 7 body segments, UNT) is its UNT
    unt = row_of(html, 10)
    assert ">UNT<" in unt and "too many data element or segment repetitions (35)" in unt
    assert "invalid type of character(s) (37)" in unt
    # UCM+2 ... +7: message 2 acknowledged, on its UNH
    assert "✔ message 2 acknowledged" in row_of(html, 11)
    # the summary table names every error
    assert "segment 5, element 4, component 2: invalid value (12)" in html


def test_contrl_display_without_the_interchange() -> None:
    report = parse_contrl(fixture("contrl_segment_errors.edi"))
    html = render_contrl(report)
    assert report._repr_html_() == html
    assert "CONTRL on interchange 1234" in html and "1 message rejected" in html
    assert "segment 5, element 3: data element too long (39)" in html
    assert "Your interchange" not in html


@pytest.mark.parametrize(
    ("name", "words", "colour"),
    [
        ("contrl_accepted.edi", "accepted", GREEN),
        ("contrl_interchange_rejected.edi", "rejected", RED),
        ("contrl_message_rejected.edi", "1 message rejected", AMBER),
    ],
)
def test_contrl_outcome_at_a_glance(name: str, words: str, colour: str) -> None:
    report = parse_contrl(fixture(name))
    assert contrl_outcome(report)[1] == words
    badge = re.search(
        r'<span style="background:[^;]+;color:([^;]+);[^>]*>([^<]+)</span>', render_contrl(report)
    )
    assert badge is not None and badge.group(2) == words and badge.group(1) == colour


def test_contrl_rejecting_every_message_of_the_interchange_is_rejected() -> None:
    data = build_interchange("AAA676Y", [("CUSCAR", BODY)], 1234, prepared=WHEN)
    report = parse_contrl(fixture("contrl_segment_errors.edi"))
    one = parse_interchange(data)
    assert contrl_outcome(report, one) == ("error", "rejected")


def test_contrl_interchange_error_on_unb_and_message_error_on_unt() -> None:
    ic = lodged()
    html = render_contrl(parse_contrl(fixture("contrl_interchange_rejected.edi")), ic)
    assert "security function not supported (27)" in row_of(html, 1)
    html = render_contrl(parse_contrl(fixture("contrl_message_rejected.edi")), ic)
    unt = row_of(html, 14)
    assert ">UNT<" in unt and "control count does not match" in unt
    assert 'title="UNT element 2"><span style="background:#fde2e1' in unt


def test_contrl_about_another_interchange_warns() -> None:
    data = build_interchange("AAA676Y", [("CUSCAR", BODY)], 99, prepared=WHEN)
    html = render_contrl(parse_contrl(fixture("contrl_accepted.edi")), parse_interchange(data))
    assert "reports on ICR 1234, the interchange shown is ICR 99" in html


def test_contrl_interchange_display_carries_the_outcome_badge() -> None:
    html = render_interchange(parse_interchange(fixture("contrl_message_rejected.edi")))
    assert "Message 1 · " in html and "1 message rejected" in html


# ------------------------------------------------------------------ CUSRES


def test_cusres_display_with_errors_and_advices() -> None:
    response = parse_cusres(fixture("aircrr_mixed.edi"))
    html = render_cusres(response)
    assert response._repr_html_() == html
    assert "AIRCRR" in html and "air cargo report" in html
    assert "accepted with errors and/or warnings" in html and "MS5202" in html and AMBER in html
    assert "HAWB123456 version 2" in html and "2024-01-02 14:04:55" in html
    text = text_of(html)
    assert "Consignor name must be supplied" in text and "AFB: 3" in text
    # the error groups are highlighted in the segment table, errors red, advices blue
    erp = row_of(html, tag="ERP", pos=9)
    assert "ERROR AC1234: Consignor name must be supplied" in erp and "background:#fde2e1" in erp
    assert "#0b4a6f" in row_of(html, tag="ERP", pos=18)
    assert "LOC" in html  # the segment the reader did not know is shown too


@pytest.mark.parametrize(
    ("name", "words", "colour"),
    [
        ("aircrr_accepted.edi", "accepted", GREEN),
        ("aircrr_mixed.edi", "accepted with errors and/or warnings", AMBER),
        ("erm_ccferror.edi", "rejected", RED),
        ("carst_status.edi", "status HELD", "#0b4a6f"),
    ],
)
def test_cusres_outcome_at_a_glance(name: str, words: str, colour: str) -> None:
    response = parse_cusres(fixture(name))
    assert cusres_outcome(response)[1] == words
    assert (
        f"color:{colour};border-radius:9px;padding:1px 8px;font-weight:600;font-size:12px;"
        f'white-space:nowrap">{words}</span>' in render_cusres(response)
    )


def test_cusres_count_mismatch_and_status_text() -> None:
    html = render_cusres(parse_cusres(fixture("aircrr_accepted.edi")))
    assert "1 groups found" in html
    html = render_cusres(parse_cusres(fixture("carst_status.edi")))
    assert "Held for inspection: see CCF advice" in html  # ?: unescaped
    assert "AWB: 12345678901" in html


def test_erm_display() -> None:
    html = render_cusres(parse_cusres(fixture("erm_ccferror.edi")))
    assert "CCFERROR" in html and "CCF0012" in html and "raised by" in html
    assert "HAWB777 version 1" in html and "CUSCAR" in html


def test_response_interchange_shows_each_outcome() -> None:
    html = render_interchange(parse_interchange(fixture("multi_message.edi")))
    assert "status HELD" in html and ">rejected<" in html and ">accepted<" in html
    for response in parse_cusres_all(fixture("multi_message.edi")):
        assert render_cusres(response)


def test_html_escaping_in_cusres_text() -> None:
    data = build_interchange(
        "AAA336C",
        [
            (
                "CUSRES",
                [
                    Segment("BGM", ("962", "", "", "AIRCRR"), ("X<1>", "1"), "11"),
                    Segment("ERP", "1"),
                    Segment("ERC", ("ERROR", "80", "95")),
                    Segment("ERC", ("AC1", "6", "95")),
                    Segment("FTX", "AAO", "", "", "Weight <= 5 & > 0"),
                ],
            )
        ],
        3,
        recipient="AAA676Y",
        prepared=WHEN,
    )
    html = render_cusres(parse_cusres(data))
    assert "Weight &lt;= 5 &amp; &gt; 0" in html and "X&lt;1&gt;" in html
    assert "<= 5" not in html and "X<1>" not in html


# ------------------------------------------------------------------ e-mail


def received_from_gateway(date: datetime | None = None) -> ReceivedEmail:
    """The gateway's e-mail carrying the aircrr_mixed response, opened by the client."""
    pki = make_test_pki()
    raw = compose_email(
        fixture("aircrr_mixed.edi"),
        signer=pki.gateway,
        gateway=pki.client.certificate,
        mail_from=pki.gateway_email,
        mail_to=pki.client_email,
        date=date,
    )
    return open_email(raw, recipient=pki.client, trust=pki.trust_for_client())


def test_received_email_display() -> None:
    received = received_from_gateway()
    html = render_received_email(received)
    assert "decrypted, signature verified" in html and GREEN in html
    assert "AAA336C_00000000000047_AAA676Y" in html
    assert "CN=CCF E-mail Gateway" in html and "icsclient Test Device CA" in html
    assert "sha256" in html and "aes256_cbc" in html
    assert "Interchange 00000000000047" in html and "accepted with errors" in html
    assert received._repr_html_() == html
    plain = attrs.evolve(received, interchange=None, text="<b>Held & released</b>")
    html = render_received_email(plain)
    assert "plain text" in html and "&lt;b&gt;Held &amp; released&lt;/b&gt;" in html


# ------------------------------------------------------------------ plain-text reprs


def test_short_reprs() -> None:
    ic = lodged()
    assert short_repr(ic) == "<Interchange 1234 AAA676Y->AAA336C, test, 2 messages (CUSCAR)>"
    assert short_repr(ic.messages[1]) == "<Message 2 CUSCAR:D:99B:UN, 4 segments>"
    assert short_repr(parse_contrl(fixture("contrl_accepted.edi"))) == (
        "<ContrlReport on 1234 (AAA676Y->AAA336C): accepted>"
    )
    assert short_repr(parse_cusres(fixture("aircrr_mixed.edi"))) == (
        "<CusresResponse AIRCRR AIRCR0001234 for HAWB123456: accepted with errors and/or "
        "warnings (MS5202), 2 errors, 2 advices>"
    )
    bad = parse_interchange(ic.to_bytes().replace(b"UNZ+2+", b"UNZ+3+"), strict=False)
    assert short_repr(bad).endswith(", 1 finding>")


# ------------------------------------------------------------------ what JupyterLab shows


def _all_displays() -> list[str]:
    received = received_from_gateway()
    return [
        render_interchange(lodged()),
        render_segment(BODY[1]),
        render_received_email(received),
        *(parse_cusres(fixture(name))._repr_html_() for name in ("aircrr_mixed.edi",)),
    ]


def test_every_table_cell_says_left() -> None:
    """JupyterLab right-aligns ``td``: each cell must carry its own ``text-align:left``."""
    for html in _all_displays():
        cells = re.findall(r"<t[dh] style=\"([^\"]*)\"", html)
        assert cells
        for style in cells:
            aligns = re.findall(r"text-align:(\w+)", style)
            assert aligns and aligns[-1] in ("left", "center"), style


def test_elements_wrap_between_values_not_inside_them() -> None:
    html = render_segment(Segment("NAD", "CZ", ("ACME", "LONGNAMEWITHOUTSPACES"), "X"))
    assert "break-all" not in html
    assert "<wbr>" in html  # after each + and :
    assert "LONGNAMEWITHOUTSPACES" in text_of(html).replace("<wbr>", "")


def test_times_say_their_zone() -> None:
    text = text_of(render_interchange(lodged()))
    assert "2024-01-02 14:04:00 (the sender&#x27;s local time; the UNB gives no zone)" in text
    received = received_from_gateway(
        datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=11)))
    )
    text = text_of(render_received_email(received))
    assert "2024-01-02 03:04:05 UTC+11:00" in text
    assert re.search(r"signed at.*? UTC", text, flags=re.S)


def test_lodgement_summary_has_a_rich_display() -> None:
    from icsclient.lodgement import LodgementSummary
    from icsclient.store import OutboxState

    summary = LodgementSummary(
        site="AAA676Y",
        lodged=3,
        states={OutboxState.ACKNOWLEDGED: 2, OutboxState.SENT: 1},
        resends=1,
        acknowledgements=2,
        acknowledgements_sent=2,
        quarantined=0,
        responses={},
        superseded=0,
        duplicates=0,
        open_failures=0,
    )
    html = summary._repr_html_()
    assert "AAA676Y" in html and "1 pending" in html and AMBER in html
    for label, value in summary.rows():
        assert re.search(rf">{re.escape(label)}</td><td[^>]*>{value:,}</td>", html)
    settled = attrs.evolve(summary, states={OutboxState.ACKNOWLEDGED: 3})
    assert "every interchange settled" in settled._repr_html_()
