"""Lay a customs reply's validation errors over the filing that was sent.

:func:`explain` turns an IE3N99 (or IE3N01/N07) into one :class:`ExplainedError` per error,
each with the element of the sent XML its pointer names, that element's text and its line,
when the pointer can be followed. Pointers are opaque strings to the library (an XPath in the
ICD, a data-model path in samples); :func:`locate` follows ``/``- or ``.``-separated names with
optional ``[n]`` positions, ignoring namespace prefixes and letter case, and gives up (``None``)
rather than guess when a step does not match.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import attrs
from lxml import etree

from ._xml import local, parse_xml
from .catalogue import DEFAULT_INTERFACE, Ics2Interface
from .filings import build_filing
from .model import Filing
from .replies import Reply, ValidationError

_STEP = re.compile(r"(?:[\w.-]+:)?([A-Za-z_][\w-]*)(?:\[(\d+)\])?")


@attrs.frozen
class ExplainedError:
    """One validation error and, when found, the element of the sent filing it points at."""

    error: ValidationError
    located: str | None = None
    value: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        text = str(self.error)
        if self.located is None:
            return text
        shown = f" = {self.value!r}" if self.value is not None else ""
        return f"{text}\n    sent: {self.located}{shown} (line {self.line})"

    def as_dict(self) -> dict[str, Any]:
        """The JSON object of ``icsclient ics2 explain --json`` for this error."""
        return {
            "code": self.error.code,
            "meaning": self.error.meaning,
            "description": self.error.description,
            "technical": self.error.technical,
            "pointer": self.error.pointer,
            "located": self.located,
            "value": self.value,
            "line": self.line,
        }


@attrs.frozen
class Explanation:
    """A reply laid over the filing: what it answers and every error explained."""

    reply: Reply
    errors: tuple[ExplainedError, ...]

    def __str__(self) -> str:
        ref = self.reply.reference
        about = f" for {ref[0].value} {ref[1]}" if ref else ""
        head = f"{self.reply.message_id} ({self.reply.meaning}){about}"
        return "\n".join([head, *(textwrap.indent(str(e), "  ") for e in self.errors)])

    def as_dict(self) -> dict[str, Any]:
        """The JSON document of ``icsclient ics2 explain --json``."""
        ref = self.reply.reference
        return {
            "message_id": self.reply.message_id,
            "meaning": self.reply.meaning,
            "reference": {"key": ref[0].value, "value": ref[1]} if ref else None,
            "mrn": self.reply.mrn,
            "lrn": self.reply.lrn,
            "date": self.reply.date.isoformat() if self.reply.date else None,
            "errors": [e.as_dict() for e in self.errors],
        }


def locate(root: etree._Element, pointer: str) -> etree._Element | None:
    """The element ``pointer`` names inside the document ``root``, or ``None``."""
    text = pointer.strip().lstrip("/")
    steps = text.split("/") if "/" in text else text.split(".")
    node = root
    if steps and _name(steps[0]) == local(root).lower():
        steps = steps[1:]
    for step in steps:
        m = _STEP.fullmatch(step.strip())
        if m is None:
            return None
        wanted, position = m.group(1).lower(), int(m.group(2) or 1)
        matches = [c for c in node if isinstance(c.tag, str) and local(c).lower() == wanted]
        if len(matches) < position or position < 1:
            return None
        node = matches[position - 1]
    return node if steps else None


def _name(step: str) -> str:
    m = _STEP.fullmatch(step.strip())
    return m.group(1).lower() if m else ""


def _path_of(element: etree._Element) -> str:
    parts = []
    node: etree._Element | None = element
    while node is not None:
        parent = node.getparent()
        name = local(node)
        if parent is not None:
            same = [c for c in parent if isinstance(c.tag, str) and local(c) == name]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


def explain(
    reply: Reply,
    filing: bytes | str | Filing | None = None,
    *,
    interface: Ics2Interface = DEFAULT_INTERFACE,
) -> Explanation:
    """Each error of ``reply`` explained, located in ``filing`` (the XML sent, or the model,
    which is written again without checks) when one is given."""
    root = None
    if isinstance(filing, Filing):
        filing = build_filing(filing, interface=interface, force=True)
    if filing is not None:
        root = parse_xml(filing, what="filing")
    explained = []
    for error in reply.errors:
        node = locate(root, error.pointer) if root is not None and error.pointer else None
        if node is None:
            explained.append(ExplainedError(error))
            continue
        value = node.text.strip() if node.text and len(node) == 0 else None
        explained.append(ExplainedError(error, _path_of(node), value, node.sourceline))
    return Explanation(reply, tuple(explained))
