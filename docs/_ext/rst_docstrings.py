"""A griffe extension: read icsclient's reST-flavoured docstrings as Markdown.

The docstrings are written for humans in a terminal and in ``help()``: Sphinx roles
(:class:`Interchange`, :func:`~icsclient.ics.build_interchange`), ``double backticks``,
``::`` before an indented block and ``>>>`` examples.  mkdocstrings renders docstrings
as Markdown, so before it does, this extension rewrites:

- each role into an *optional* cross-reference: a link when the target is documented
  on the site, plain code otherwise (so ``mkdocs build --strict`` never fails on a
  reference to a private helper or to the standard library); names are resolved in
  the scope of the documented object, as Sphinx would;
- a paragraph ending in ``::`` into one ending in ``:`` (the indented block below it
  is a code block in Markdown too);
- ``>>>`` examples into fenced ``pycon`` blocks.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(class|func|meth|attr|mod|data|exc|obj|const):`(~?)([^`<>]+)`")
_LITERAL_INTRO = re.compile(r"(\S)::\n")
_BARE_LITERAL = re.compile(r"(^|\n)::\n")


def _resolve(obj: griffe.Object, target: str) -> str:
    """The full path of ``target`` as seen from ``obj``, or ``target`` itself."""
    if target.startswith("icsclient"):
        return target
    head, _, rest = target.partition(".")
    try:
        full = obj.resolve(head)
    except (griffe.NameResolutionError, AttributeError, KeyError, ValueError):
        return target
    return f"{full}.{rest}" if rest else full


def _roles(obj: griffe.Object, text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        short, target = match.group(2), match.group(3).strip()
        shown = target.rsplit(".", 1)[-1] if short else target
        if match.group(1) in ("func", "meth"):
            shown += "()"
        full = html.escape(_resolve(obj, target), quote=True)
        return f'<autoref identifier="{full}" optional><code>{html.escape(shown)}</code></autoref>'

    return _ROLE.sub(replace, text)


def _doctests(text: str) -> str:
    """Wrap every run of ``>>>`` lines (and their output) in a fenced pycon block."""
    out: list[str] = []
    block: list[str] = []
    for line in [*text.split("\n"), ""]:
        stripped = line.strip()
        if stripped.startswith(">>>") or (block and stripped):
            block.append(line)
            continue
        if block:
            indent = block[0][: len(block[0]) - len(block[0].lstrip())]
            out.extend([f"{indent}```pycon", *block, f"{indent}```"])
            block = []
        out.append(line)
    return "\n".join(out[:-1])


def convert(obj: griffe.Object, text: str) -> str:
    """The Markdown form of one docstring of ``obj``."""
    text = _roles(obj, text)
    text = _BARE_LITERAL.sub(r"\1\n", text)
    text = _LITERAL_INTRO.sub(r"\1:\n", text)
    return _doctests(text) if ">>>" in text else text


class RstDocstrings(griffe.Extension):
    """Rewrite the docstrings of every object once its package is fully loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Convert the docstrings of ``pkg`` and everything defined in it."""
        stack: list[griffe.Object] = [pkg]
        while stack:
            obj = stack.pop()
            if obj.docstring is not None:
                obj.docstring.value = convert(obj, obj.docstring.value)
            stack.extend(m for m in obj.members.values() if not m.is_alias)  # type: ignore[misc]
