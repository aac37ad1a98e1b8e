"""Rich HTML displays for Jupyter, and the short plain-text summaries beside them.

The ``_repr_html_`` methods of :class:`~icsclient.edifact.Segment`,
:class:`~icsclient.edifact.Message`, :class:`~icsclient.edifact.Interchange`,
:class:`~icsclient.ics.ContrlReport`, :class:`~icsclient.ics.CusresResponse`,
:class:`~icsclient.mail.ReceivedEmail` and :class:`~icsclient.lodgement.LodgementSummary`
reach the ``render_*`` functions here without importing this module (layers point down):
they ask the small registry in ``icsclient._html``, which this package fills when it is
imported.  ``import icsclient`` imports it under IPython (a notebook); elsewhere import it,
or ``%load_ext icsclient.display``.  Until then ``_repr_html_`` returns ``None`` and the
plain ``repr`` shows.  A value left as the last expression of a notebook cell shows:

- the envelope as a header block (sender, recipient, ICR, test or production ...);
- the segments as a table: position, tag, the segment's name and its elements and
  components, values as the model holds them (release characters already removed) and
  HTML-escaped;
- errors highlighted on the segment, element and component they point at: an
  interchange's own envelope findings, a CONTRL's UCI/UCM/UCS/UCD errors laid over the
  interchange it reports on (:func:`render_contrl`), a CUSRES's error groups;
- the outcome at a glance: accepted (green), with warnings (amber), rejected (red).

Every ``render_*`` function returns an :class:`HtmlDisplay`: a ``str`` of HTML that
Jupyter also displays as HTML when it is the value of a cell.  Large interchanges are
cut to ``max_segments`` rows, but a segment that carries an error is always shown.
Styles are inline, so the displays survive notebook viewers that strip ``<style>``.

The package follows its seams: ``_primitives`` (the HTML value, styles, marks, badges),
``_segments`` (segment tables, messages, interchanges, envelope findings), ``_contrl``,
``_cusres`` and ``_email`` (a received e-mail and a lodgement summary).  Segment names
live beside the 0085 table in :mod:`icsclient.edifact.codes` and are re-exported here.
The registry is filled by importing this package rather than looked up lazily from the
values: a lazy ``import icsclient.display`` inside ``icsclient._html`` would be an
upward import, which ``tests/test_layers.py`` refuses.
"""

from __future__ import annotations

from .._html import register
from ..edifact.codes import SEGMENT_NAMES, segment_name
from ..edifact.envelope import Interchange, Message
from ..edifact.segment import Segment
from ..ics.contrl import ContrlReport, contrl_outcome
from ..ics.cusres import CusresResponse, cusres_outcome
from ._contrl import render_contrl
from ._cusres import render_cusres
from ._email import render_received_email, render_summary
from ._ics2 import render_filing, render_reply
from ._primitives import DEFAULT_MAX_SEGMENTS, HtmlDisplay, Mark
from ._segments import render_interchange, render_message, render_segment

__all__ = [
    "DEFAULT_MAX_SEGMENTS",
    "SEGMENT_NAMES",
    "HtmlDisplay",
    "Mark",
    "contrl_outcome",
    "cusres_outcome",
    "render_contrl",
    "render_cusres",
    "render_filing",
    "render_interchange",
    "render_message",
    "render_received_email",
    "render_reply",
    "render_segment",
    "render_summary",
    "segment_name",
    "short_repr",
]

# --------------------------------------------------------------------------- text


def short_repr(value: Interchange | Message | ContrlReport | CusresResponse) -> str:
    """A one-line ``repr`` for the values whose full field list would be long (their own)."""
    return repr(value)


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext icsclient.display``: the displays are registered by importing this package.

    ``import icsclient`` does it already when IPython is running; this is for a session
    that imported a subpackage before IPython was loaded.
    """


# the values' ``_repr_html_`` ask icsclient._html, which these fill (layers point down)
register(Segment, render_segment)
register(Message, render_message)
register(Interchange, render_interchange)
register(ContrlReport, render_contrl)
register(CusresResponse, render_cusres)
register("icsclient.mail.ReceivedEmail", render_received_email)
register("icsclient.lodgement.LodgementSummary", render_summary)
register("icsclient.ics2.model.Filing", render_filing)
register("icsclient.ics2.replies.Reply", render_reply)
