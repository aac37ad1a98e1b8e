"""HTML displays for Jupyter, registered from above: one small registry in the lowest layer.

A value class of a low layer (a :class:`~icsclient.edifact.Segment`, a CONTRL report...)
must not import :mod:`icsclient.display`, the presentation layer at the top.  So its
``_repr_html_`` asks this registry, which :mod:`icsclient.display` fills when it is
imported; ``icsclient/__init__.py`` imports it when IPython is running, and
``%load_ext icsclient.display`` does it by hand.  With nothing registered ``_repr_html_``
returns ``None``, which Jupyter takes as "no HTML": the plain ``repr`` shows instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

__all__ = ["Severity", "html_of", "register"]

Severity = Literal["error", "warning", "ok", "info"]
"""How a verdict, a mark or a badge is coloured: red, amber, green or blue."""

_RENDERERS: dict[str, Callable[[Any], str]] = {}


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register(cls: type | str, render: Callable[[Any], str]) -> None:
    """Make ``render(value)`` the HTML display of instances of ``cls`` (and its subclasses).

    ``cls`` may be given by its full name (``"icsclient.mail.ReceivedEmail"``), so that the
    display layer need not import a module only to name one of its classes.
    """
    _RENDERERS[cls if isinstance(cls, str) else _name(cls)] = render


def html_of(value: object) -> str | None:
    """The registered HTML display of ``value``, or ``None`` when none is registered."""
    for cls in type(value).__mro__:
        render = _RENDERERS.get(_name(cls))
        if render is not None:
            return render(value)
    return None
