"""The segment value and the service characters."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import attrs

from .._html import html_of
from ..errors import BuildError

Element = tuple[str, ...]
"""One data element: a tuple of component strings (a simple element has one)."""

_TAG = re.compile(r"[A-Z][A-Z0-9]{2}\Z")


@attrs.frozen
class ServiceChars:
    """The six service characters of a UNA service string advice."""

    component: str = ":"
    element: str = "+"
    decimal: str = "."
    release: str = "?"
    reserved: str = " "
    terminator: str = "'"

    def __attrs_post_init__(self) -> None:
        for name in ("component", "element", "decimal", "release", "reserved", "terminator"):
            value = getattr(self, name)
            if not isinstance(value, str) or len(value) != 1:
                raise BuildError(f"service character {name!r} must be one character, got {value!r}")
        seps = [self.component, self.element, self.terminator]
        if self.release != " ":
            seps.append(self.release)
        if len(set(seps)) != len(seps):
            raise BuildError(
                "component separator, element separator, release character and segment "
                f"terminator must be distinct, got UNA{self.una[3:]!r}"
            )

    @property
    def una(self) -> str:
        """The UNA service string advice, e.g. ``UNA:+.? '``."""
        return (
            f"UNA{self.component}{self.element}{self.decimal}"
            f"{self.release}{self.reserved}{self.terminator}"
        )

    @property
    def has_release(self) -> bool:
        """Whether a release character is in use (a space in UNA means none)."""
        return self.release != " "


DEFAULT_CHARS = ServiceChars()


class _SegmentBase(NamedTuple):
    tag: str
    elements: tuple[Element, ...]


class Segment(_SegmentBase):
    """One EDIFACT segment: a ``tag`` and its data ``elements``.

    Each element is a tuple of component strings, whether it has one component or
    several.  Construct with a tuple of components or a plain string per element::

        Segment("BGM", ("933", "", "", "AIRCR"), ("S1", "1"), "9")

    Segments are immutable, hashable and compare by value.  (A segment is a named
    2-tuple ``(tag, elements)`` underneath, which is what makes tokenizing fast.)
    """

    __slots__ = ()

    def __new__(cls, tag: str, *elements: str | tuple[str, ...] | list[str]) -> Segment:
        if not isinstance(tag, str) or not _TAG.match(tag):
            raise BuildError(f"segment tag must be three characters A-Z/0-9, got {tag!r}")
        normalised: list[Element] = []
        for i, element in enumerate(elements, start=1):
            if isinstance(element, str):
                normalised.append((element,))
                continue
            if not isinstance(element, (tuple, list)) or not element:
                raise BuildError(
                    f"segment {tag}, element {i}: expected a string or a non-empty tuple of "
                    f"component strings, got {element!r}"
                )
            for j, component in enumerate(element, start=1):
                if not isinstance(component, str):
                    raise BuildError(
                        f"segment {tag}, element {i}, component {j}: expected a string, "
                        f"got {type(component).__name__}"
                    )
            normalised.append(tuple(element))
        return tuple.__new__(cls, (tag, tuple(normalised)))

    def __getnewargs__(self) -> tuple[Any, ...]:
        return (self.tag, *self.elements)

    def __repr__(self) -> str:
        parts = [repr(self.tag)]
        for element in self.elements:
            parts.append(repr(element[0]) if len(element) == 1 else repr(element))
        return f"Segment({', '.join(parts)})"

    def __str__(self) -> str:
        from .serializer import serialize_segment

        return serialize_segment(self, DEFAULT_CHARS, charset=None)

    def element(self, index: int) -> Element:
        """The data element at 0-based ``index`` (the tag not counted)."""
        return self.elements[index]

    def get(self, element: int, component: int = 0, default: str = "") -> str:
        """The component at 0-based ``element`` / ``component`` indexes, or ``default``.

        ``seg.get(0)`` is the first component of the first data element after the tag.
        """
        try:
            return self.elements[element][component]
        except IndexError:
            return default

    def _repr_html_(self) -> str | None:
        """The segment as an HTML table with its name and elements (Jupyter)."""
        return html_of(self)
