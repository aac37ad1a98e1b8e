"""Lazy re-exports (PEP 562) for a package's ``__init__``: names load their module on use.

``icsclient`` and ``icsclient.testing`` re-export many names from modules that pull in
``cryptography``, ``sqlite3`` or the whole simulated gateway; importing those eagerly would
make ``import icsclient.edifact`` (and the pytest plugin in every session) heavy.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, namespace: MutableMapping[str, Any], exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` for ``exports`` (name -> module).

    A module path is relative to ``package`` (``".edifact"``); a name, once loaded, is kept
    in ``namespace`` (the package's globals) so the next use costs nothing.
    """

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *exports})

    return getattr_, dir_
