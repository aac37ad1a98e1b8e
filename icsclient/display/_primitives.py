"""The pieces every display is built of: the HTML value, styles, marks, badges, headers."""

from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING

import attrs

from .._html import Severity
from ..edifact.envelope import Message
from ..edifact.segment import Segment

if TYPE_CHECKING:  # mail imports the S/MIME layer; only their types are needed here
    pass


DEFAULT_MAX_SEGMENTS = 200
"""How many segment rows a display shows before it cuts (marked segments always show)."""


class HtmlDisplay(str):
    """HTML text that Jupyter renders: the value every ``render_*`` function returns.

    It is a plain ``str`` (write it to a file, embed it in a page); its ``repr`` stays
    short, and ``_repr_html_`` hands the text to Jupyter.
    """

    __slots__ = ()

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<HtmlDisplay: {len(self):,} characters of HTML>"


# (background, foreground) per severity; text colour is set wherever a background is,
# so the display stays readable under a dark notebook theme
_COLOURS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "error": ("#fde2e1", "#9f1c12"),
        "warning": ("#fef0c7", "#7a2e0e"),
        "ok": ("#dcfae6", "#05603a"),
        "info": ("#e0f2fe", "#0b4a6f"),
        "neutral": ("#eaecf0", "#344054"),
    }
)
_ICONS: Mapping[str, str] = MappingProxyType({"error": "✖", "warning": "⚠", "ok": "✔", "info": "ℹ"})
_SEVERITY_ORDER = ("error", "warning", "info", "ok")

_BOX = "font-family:system-ui,sans-serif;font-size:13px;line-height:1.4;margin:4px 0"
_TABLE = "border-collapse:collapse;margin-top:6px;font-size:12.5px"
_CELL = (  # JupyterLab right-aligns td and nbconvert centres some: every cell says left
    "padding:2px 8px;border-bottom:1px solid rgba(128,128,128,.25);vertical-align:top;"
    "text-align:left"
)
_HEAD = _CELL + ";font-weight:600"
_MONO = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace"
_FAINT = "opacity:.45"


@attrs.frozen
class Mark:
    """A note pinned on a displayed segment, optionally on one element or component.

    ``element`` counts as CONTRL does (the segment tag is 1, the first data element 2)
    and ``component`` from 1; both ``None`` pins the note on the whole segment.
    """

    severity: Severity
    text: str
    element: int | None = None
    component: int | None = None


@attrs.frozen
class _Row:
    """One segment row: ``key`` is what marks are keyed by."""

    key: int
    number: int | None  # in the interchange, UNB = 1
    position: int | None  # in the message, UNH = 1
    segment: Segment
    message: Message | None = None  # set on a UNH row, to head the message


_Marks = Mapping[int, Sequence[Mark]]


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _when(value: _dt.datetime | None, naive: str = "local time; no zone given") -> str | None:
    """A time that says its zone: an aware one its UTC offset, a naive one what is known."""
    if value is None:
        return None
    offset = value.utcoffset()
    if offset is None:
        return _esc(f"{value:%Y-%m-%d %H:%M:%S} ({naive})")
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    zone = "UTC" if minutes == 0 else f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return _esc(f"{value:%Y-%m-%d %H:%M:%S} {zone}")


def _plural(n: int, word: str) -> str:
    """``"1 message"``, ``"2 messages"``; thousands separated."""
    return f"{n:,} {word}{'s' if n != 1 else ''}"


def _badge(text: str, severity: str) -> str:
    bg, fg = _COLOURS.get(severity, _COLOURS["neutral"])
    return (
        f'<span style="background:{bg};color:{fg};border-radius:9px;padding:1px 8px;'
        f'font-weight:600;font-size:12px;white-space:nowrap">{_esc(text)}</span>'
    )


def _worst(marks: Iterable[Mark]) -> str | None:
    found = {m.severity for m in marks}
    return next((s for s in _SEVERITY_ORDER if s in found), None)


def _fields(pairs: Iterable[tuple[str, str | None]]) -> str:
    """A two-column table of label → HTML value; pairs whose value is None are left out."""
    rows = "".join(
        f'<tr><th style="{_HEAD};font-weight:500;opacity:.75;border:0">{_esc(k)}</th>'
        f'<td style="{_CELL};border:0">{v}</td></tr>'
        for k, v in pairs
        if v is not None
    )
    return f'<table style="{_TABLE};margin-top:2px">{rows}</table>'


def _header(title: str, badges: Iterable[str], pairs: Iterable[tuple[str, str | None]]) -> str:
    badge_html = " ".join(badges)
    return f'<div style="font-size:14px;font-weight:600">{title} {badge_html}</div>' + _fields(
        pairs
    )


def _notes(marks: Iterable[Mark]) -> str:
    """Marks as a list of coloured lines (for what cannot be pinned on a segment)."""
    items = []
    for m in marks:
        bg, fg = _COLOURS[m.severity]
        items.append(
            f'<div style="background:{bg};color:{fg};padding:2px 8px;margin:2px 0;'
            f'border-radius:4px">{_ICONS[m.severity]} {_esc(m.text)}</div>'
        )
    return "".join(items)


def _mono(text: str) -> str:
    return f'<span style="{_MONO}">{_esc(text)}</span>'


def _wrap(*parts: str) -> HtmlDisplay:
    return HtmlDisplay(f'<div style="{_BOX}">{"".join(parts)}</div>')
