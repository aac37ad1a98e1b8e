"""The segment value and the service characters."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

import attrs

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


class Segment:
    """One EDIFACT segment: a ``tag`` and its data ``elements``.

    Each element is a tuple of component strings, whether it has one component or
    several.  Construct with a tuple of components or a plain string per element::

        Segment("BGM", ("933", "", "", "AIRCR"), ("S1", "1"), "9")

    Segments are immutable, hashable and compare by value.
    """

    __slots__ = ("tag", "elements")
    tag: str
    elements: tuple[Element, ...]

    _frozen_msg: ClassVar[str] = "Segment is immutable"

    def __init__(self, tag: str, *elements: str | tuple[str, ...] | list[str]) -> None:
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
        object.__setattr__(self, "tag", tag)
        object.__setattr__(self, "elements", tuple(normalised))

    @classmethod
    def _make(cls, tag: str, elements: tuple[Element, ...]) -> Segment:
        """Fast constructor for trusted input (the tokenizer)."""
        seg = object.__new__(cls)
        object.__setattr__(seg, "tag", tag)
        object.__setattr__(seg, "elements", elements)
        return seg

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(self._frozen_msg)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(self._frozen_msg)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segment):
            return NotImplemented
        return self.tag == other.tag and self.elements == other.elements

    def __hash__(self) -> int:
        return hash((self.tag, self.elements))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Segment._make, (self.tag, self.elements))

    def __repr__(self) -> str:
        parts = [repr(self.tag)]
        for element in self.elements:
            parts.append(repr(element[0]) if len(element) == 1 else repr(element))
        return f"Segment({', '.join(parts)})"

    def __str__(self) -> str:
        from .serializer import serialize_segment

        return serialize_segment(self, DEFAULT_CHARS, charset=None)

    def __len__(self) -> int:
        return len(self.elements)

    def __iter__(self) -> Iterator[Element]:
        return iter(self.elements)

    def __getitem__(self, index: int) -> Element:
        """The data element at ``index`` (0-based, the tag not counted)."""
        return self.elements[index]

    def get(self, element: int, component: int = 0, default: str = "") -> str:
        """The component at 0-based ``element`` / ``component`` indexes, or ``default``.

        ``seg.get(0)`` is the first component of the first data element after the tag.
        """
        try:
            return self.elements[element][component]
        except IndexError:
            return default
