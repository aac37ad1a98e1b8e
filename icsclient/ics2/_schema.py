"""Field descriptors shared by the ENS model and the reply values: one home for how a Python
attribute maps to an ICS2 element (path, format, cardinality), read by the XML writer, the
reader and the checks alike."""

from __future__ import annotations

from typing import Any

import attrs

KINDS = frozenset({"str", "int", "dec", "date", "obj", "many", "strs"})
"""``strs`` is a routing list: numbered ``sequenceNumber``/``country`` pairs."""


@attrs.frozen
class Spec:
    """How one attribute is written: ``path`` (``"weight/grossMass"``, relative to the parent
    element), ``kind`` (``str``, ``int``, ``dec``, ``date``, ``obj``, ``many``, ``strs``),
    ``fmt`` (the IE table format, ``"an..70"``), ``required`` and ``max_occurs`` from the IE
    tables, and ``cls`` the value class of ``obj``/``many`` fields."""

    path: str
    kind: str = "str"
    fmt: str | None = None
    required: bool = False
    max_occurs: int = 1
    cls: Any = None
    outer: tuple[str, ...] = attrs.field(init=False)
    leaf: str = attrs.field(init=False)
    repeated: bool = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        *outer, leaf = self.path.split("/")
        object.__setattr__(self, "outer", tuple(outer))
        object.__setattr__(self, "leaf", leaf)
        object.__setattr__(self, "repeated", self.kind in ("many", "strs"))


def el(
    path: str,
    kind: str = "str",
    fmt: str | None = None,
    *,
    required: bool = False,
    max_occurs: int = 1,
    cls: Any = None,
) -> Any:
    """An attrs field described by a :class:`Spec` (optional fields default to ``None``/``()``)."""
    spec = Spec(path, kind, fmt, required, max_occurs, cls)
    if kind in ("many", "strs"):
        return attrs.field(default=(), converter=tuple, metadata={"ics2": spec})
    return attrs.field(default=None, metadata={"ics2": spec})


_SPECS: dict[Any, tuple[tuple[str, Spec], ...]] = {}


def specs(cls: Any) -> tuple[tuple[str, Spec], ...]:
    """The (attribute name, spec) pairs of an attrs class, in element order."""
    found = _SPECS.get(cls)
    if found is None:
        found = tuple(
            (f.name, f.metadata["ics2"]) for f in attrs.fields(cls) if "ics2" in f.metadata
        )
        _SPECS[cls] = found
    return found
