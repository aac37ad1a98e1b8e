"""XML for ICS2: the hardened parser, and the writer and reader driven by the model's specs.

Reading refuses a DOCTYPE (so no entity, internal or external, is ever declared), never
touches the network, never builds lxml's "huge trees", and refuses inputs over
:data:`MAX_XML_BYTES` (100 MB, the ICS2 limit for an uncompressed payload). lxml parses in
time linear in its input, and the reader visits each element once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from ._schema import Spec, specs
from .errors import Ics2InputError, Ics2XmlError

MAX_XML_BYTES = 100_000_000
"""The largest XML document read: 100 MB, the ICS2 limit for one uncompressed payload."""



def parse_xml(data: bytes | str, *, what: str = "XML") -> etree._Element:
    """The root of ``data`` parsed by the hardened parser, or an :class:`.Ics2XmlError`."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_XML_BYTES:
        raise Ics2XmlError(f"{what} is {len(raw)} bytes, over the {MAX_XML_BYTES}-byte limit")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_pis=True,
        remove_comments=True,
        strip_cdata=True,
    )
    try:
        root: etree._Element | None = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        raise Ics2XmlError(f"{what} is not well-formed XML: {exc.msg}") from None
    if root is None:
        raise Ics2XmlError(f"{what} is empty")
    if root.getroottree().docinfo.doctype:
        raise Ics2XmlError(f"{what} has a DOCTYPE; DTDs and entities are refused")
    return root


# --- dates ------------------------------------------------------------------------------------

_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?"
)


def read_datetime(text: str, path: str) -> dt.datetime:
    """An xs:dateTime read leniently (milliseconds, offsets; no zone is read as UTC)."""
    m = _DATE.fullmatch(text.strip())
    if not m:
        raise Ics2XmlError(f"{text!r} is not an xs:dateTime", path=path)
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    zone = m.group(8)
    if zone in (None, "Z"):
        tz = dt.timezone.utc
    else:
        sign = -1 if zone[0] == "-" else 1
        tz = dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    try:
        return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError as exc:
        raise Ics2XmlError(f"{text!r} is not a valid date: {exc}", path=path) from None


def write_datetime(value: dt.datetime) -> str:
    """``YYYY-MM-DDThh:mm:ssZ`` in UTC (a naive value is taken as UTC; the checks flag it)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- writing ----------------------------------------------------------------------------------


def _text(kind: str, value: Any) -> str:
    if kind == "date":
        return write_datetime(value)
    if kind == "dec":
        return format(value, "f")
    return str(value)


def write_object(parent: etree._Element, obj: Any, ns: str) -> None:
    """Append the elements of ``obj`` (an attrs value with specs) to ``parent``."""
    sub = etree.SubElement
    q = _qnames(ns)
    for name, spec in specs(type(obj)):
        value = getattr(obj, name)
        if value is None or (spec.repeated and not value):
            continue
        node = parent
        for tag in spec.outer:
            qname = q[tag]
            last = node[-1] if len(node) else None
            node = last if last is not None and last.tag == qname else sub(node, qname)
        qleaf = q[spec.leaf]
        kind = spec.kind
        if kind == "str":
            sub(node, qleaf).text = value
        elif kind == "many":
            for item in value:
                write_object(sub(node, qleaf), item, ns)
        elif kind == "obj":
            write_object(sub(node, qleaf), value, ns)
        elif kind == "strs":
            seq, country = q["sequenceNumber"], q["country"]
            for number, code in enumerate(value, 1):
                pair = sub(node, qleaf)
                sub(pair, seq).text = str(number)
                sub(pair, country).text = code
        else:
            sub(node, qleaf).text = _text(kind, value)


class _QNames(dict[str, str]):
    """``{ns}tag`` strings, made once per tag."""

    def __init__(self, ns: str) -> None:
        super().__init__()
        self.ns = ns

    def __missing__(self, tag: str) -> str:
        qname = self[tag] = f"{{{self.ns}}}{tag}"
        return qname


_QNAME_CACHE: dict[str, _QNames] = {}


def _qnames(ns: str) -> _QNames:
    found = _QNAME_CACHE.get(ns)
    if found is None:
        found = _QNAME_CACHE[ns] = _QNames(ns)
    return found


_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def serialise(obj: Any, root_tag: str, ns: str) -> bytes:
    """``obj`` as a UTF-8 XML document with root ``root_tag`` in namespace ``ns``.

    Written as text in one pass (the same bytes lxml's pretty printer gives for
    :func:`write_object`'s tree, about three times faster); a character XML does not allow
    is an :class:`.Ics2InputError` naming the element.
    """
    parts = [
        "<?xml version='1.0' encoding='UTF-8'?>\n",
        f'<{root_tag} xmlns="{_escape(ns).replace(chr(34), "&quot;")}">\n',
    ]
    mark = len(parts)
    _emit(parts, obj, "  ")
    if len(parts) == mark:
        parts[-1] = parts[-1][:-2] + "/>\n"
    else:
        parts.append(f"</{root_tag}>\n")
    text = "".join(parts)
    bad = _INVALID.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        raise Ics2InputError(
            f"character {bad.group()!r} is not allowed in XML (line {line} of the {root_tag})"
        )
    return text.encode("utf-8")


def _emit(parts: list[str], obj: Any, indent: str) -> None:
    add = parts.append
    open_tags: list[str] = []
    for name, spec in specs(type(obj)):
        value = getattr(obj, name)
        if value is None or (spec.repeated and not value):
            continue
        outer = spec.outer
        keep = 0
        while keep < len(open_tags) and keep < len(outer) and open_tags[keep] == outer[keep]:
            keep += 1
        while len(open_tags) > keep:
            tag = open_tags.pop()
            add(f"{indent}{'  ' * len(open_tags)}</{tag}>\n")
        for tag in outer[keep:]:
            add(f"{indent}{'  ' * len(open_tags)}<{tag}>\n")
            open_tags.append(tag)
        here = indent + "  " * len(open_tags)
        leaf, kind = spec.leaf, spec.kind
        if kind == "str":
            add(f"{here}<{leaf}>{_escape(value)}</{leaf}>\n")
        elif kind == "many" or kind == "obj":
            for item in value if kind == "many" else (value,):
                add(f"{here}<{leaf}>\n")
                mark = len(parts)
                _emit(parts, item, here + "  ")
                if len(parts) == mark:
                    parts[-1] = f"{here}<{leaf}/>\n"
                else:
                    add(f"{here}</{leaf}>\n")
        elif kind == "strs":
            inner = here + "  "
            for number, code in enumerate(value, 1):
                add(
                    f"{here}<{leaf}>\n{inner}<sequenceNumber>{number}</sequenceNumber>\n"
                    f"{inner}<country>{_escape(code)}</country>\n{here}</{leaf}>\n"
                )
        else:
            add(f"{here}<{leaf}>{_escape(_text(kind, value))}</{leaf}>\n")
    while open_tags:
        tag = open_tags.pop()
        add(f"{indent}{'  ' * len(open_tags)}</{tag}>\n")


# --- reading ----------------------------------------------------------------------------------


def local(element: etree._Element) -> str:
    """The local name of an element (``""`` for comments and the like)."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def children(
    element: etree._Element, ns: str, path: str
) -> Iterator[tuple[str, etree._Element]]:
    """(local name, element) of each child element of ``element``, refusing any outside
    namespace ``ns``."""
    prefix = f"{{{ns}}}"
    cut = len(prefix)
    for child in element:
        tag = child.tag
        if type(tag) is not str:
            continue
        if not tag.startswith(prefix):
            raise Ics2XmlError(f"element {tag!r} is not in the ICS2 namespace {ns!r}", path=path)
        yield tag[cut:], child


def _convert(spec: Spec, text: str | None, path: str) -> Any:
    value = (text or "").strip()
    if spec.kind == "str":
        return value
    if spec.kind == "date":
        return read_datetime(value, path)
    try:
        return int(value) if spec.kind == "int" else Decimal(value)
    except (ValueError, InvalidOperation):
        kind = "an integer" if spec.kind == "int" else "a decimal number"
        raise Ics2XmlError(f"{value!r} is not {kind}", path=path) from None


def read_object(
    element: etree._Element, cls: Any, ns: str, path: str, *, strict: bool, **extra: Any
) -> Any:
    """An instance of ``cls`` read from ``element``; ``strict`` refuses unknown elements."""
    by_tag: dict[str, list[etree._Element]] = {}
    for tag, child in children(element, ns, path):
        found_tag = by_tag.get(tag)
        if found_tag is None:
            by_tag[tag] = [child]
        else:
            found_tag.append(child)
    used: set[str] = set()
    values: dict[str, Any] = {}
    for name, spec in specs(cls):
        head, _, rest = spec.path.partition("/")
        found = by_tag.get(head)
        if not found:
            continue
        used.add(head)
        if rest:
            if len(found) > 1:
                raise Ics2XmlError(f"element {head!r} occurs {len(found)} times", path=path)
            values[name] = _read_nested(found[0], spec, rest, ns, f"{path}/{head}", strict)
        else:
            values[name] = _read_leaf(found, spec, ns, f"{path}/{head}", strict)
    if strict:
        unknown = [t for t in by_tag if t not in used]
        if unknown:
            raise Ics2XmlError(f"unexpected element {unknown[0]!r}", path=path)
    return cls(**extra, **values)


def _read_nested(
    element: etree._Element, spec: Spec, rest: str, ns: str, path: str, strict: bool
) -> Any:
    head, _, tail = rest.partition("/")
    found = [c for tag, c in children(element, ns, path) if tag == head]
    if not found:
        return () if spec.kind in ("many", "strs") else None
    if tail:
        return _read_nested(found[0], spec, tail, ns, f"{path}/{head}", strict)
    return _read_leaf(found, spec, ns, f"{path}/{head}", strict)


def _read_leaf(
    found: list[etree._Element], spec: Spec, ns: str, path: str, strict: bool
) -> Any:
    if spec.kind == "many":
        return tuple(
            read_object(e, spec.cls, ns, f"{path}[{i}]", strict=strict)
            for i, e in enumerate(found, 1)
        )
    if spec.kind == "strs":
        return tuple(_routing(e, ns, f"{path}[{i}]") for i, e in enumerate(found, 1))
    if len(found) > 1:
        raise Ics2XmlError(f"element occurs {len(found)} times; once is allowed", path=path)
    if spec.kind == "obj":
        return read_object(found[0], spec.cls, ns, path, strict=strict)
    return _convert(spec, found[0].text, path)


def _routing(element: etree._Element, ns: str, path: str) -> str:
    fields = {tag: (c.text or "").strip() for tag, c in children(element, ns, path)}
    if "country" not in fields:
        raise Ics2XmlError("a routing country has no country", path=path)
    return fields["country"]
