"""The house: layers import only downward, packages import each other without cycles.

Written once from DESIGN.md's layer picture, lowest first.  Every import counts, those
inside functions and under ``TYPE_CHECKING`` included: a value's ``repr`` or HTML
display is no excuse for reaching up (displays register through ``icsclient._html``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "icsclient"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "_html", "_optional", "_lazy"),  # what every layer shares
    ("edifact",),  # syntax
    ("ics", "ics2"),  # domain: the CCF's rules; ICS2 messages
    ("smime",),  # crypto
    ("mail",),  # the CCF e-mail
    ("store",),  # the ledger
    ("lodgement",),  # the lifecycle
    ("transport", "_smtp", "testing", "display", "demo"),  # adapters
    ("_cliutil", "cli_ics2", "cli", "__main__"),  # the command line, atop the adapters
)
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def _unit(module: str) -> str:
    """The top-level unit (package or module) of ``icsclient.<unit>...``."""
    return module.split(".")[1]


def _imports() -> list[tuple[str, str, int]]:
    """(importing module, imported icsclient module, line) for every import in the package."""
    found: list[tuple[str, str, int]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        base = module.split(".") if is_package else module.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = base[: len(base) - node.level + 1]
                    target = ".".join([*anchor, node.module] if node.module else anchor)
                else:
                    target = node.module or ""
                targets = [target]
                if node.module is None or target.count(".") == 0:
                    targets = [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for t in targets:
                if t.split(".")[-1].startswith("__") and t.count(".") == 1:
                    continue  # the package's own constants (``__version__``)
                if t.startswith("icsclient.") and module != "icsclient":
                    found.append((module, t, node.lineno))
    return found


def test_every_unit_has_a_layer() -> None:
    units = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    units -= {"__init__", "__pycache__", "py"}
    missing = {u for u in units if not u.startswith(".") and u not in RANK}
    assert not missing - {"py.typed"}, f"give these a layer in LAYERS: {sorted(missing)}"


def test_imports_point_down() -> None:
    upward = [
        f"{module} (line {line}) imports {target}"
        for module, target, line in _imports()
        if RANK[_unit(target)] > RANK[_unit(module)]
    ]
    assert not upward, "imports that reach a higher layer:\n" + "\n".join(upward)


def test_no_import_cycle_between_units() -> None:
    graph: dict[str, set[str]] = {}
    for module, target, _ in _imports():
        a, b = _unit(module), _unit(target)
        if a != b:
            graph.setdefault(a, set()).add(b)

    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    cycles = sorted(u for u in graph if u in reach(u))
    assert not cycles, f"units on an import cycle: {cycles}"


@pytest.mark.parametrize(
    "module", ["icsclient.edifact", "icsclient.ics", "icsclient", "icsclient.testing.pytest_plugin"]
)
def test_low_layers_load_no_cryptography(module: str) -> None:
    """``import icsclient.edifact`` (and the pytest plugin every session loads) stay light."""
    code = (
        f"import sys, {module}\n"
        "heavy = sorted({'cryptography', 'asn1crypto', 'sqlite3', 'smtplib'} & set(sys.modules))\n"
        "assert not heavy, heavy\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr


def test_lazy_names_resolve_and_list() -> None:
    import icsclient

    assert set(icsclient.__all__) <= set(dir(icsclient))
    for name in icsclient.__all__:
        assert getattr(icsclient, name) is not None
    with pytest.raises(AttributeError, match="no_such_name"):
        icsclient.no_such_name  # noqa: B018


def _private_crossings() -> list[str]:
    """Imports of another unit's private module or name (``_x``); the top package's own
    shared modules (``icsclient._html``, ``_optional``, ``_cliutil``, ``_smtp``) excepted."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        if module == "icsclient":
            continue  # the package's own front door re-exports everything
        base = module.split(".") if is_package else module.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not node.level:
                continue
            anchor = base[: len(base) - node.level + 1]
            target = ".".join([*anchor, node.module] if node.module else anchor)
            if target.count(".") < 1 or _unit(target) == _unit(module):
                continue
            inner = target.split(".")[2:]
            names = [a.name for a in node.names]
            private = [p for p in inner if p.startswith("_")] + [
                n for n in names if n.startswith("_") and not n.startswith("__")
            ]
            if private:
                out.append(f"{module} (line {node.lineno}): from {target} import {names}")
    return out


def test_no_module_imports_another_units_private_names() -> None:
    crossings = _private_crossings()
    assert not crossings, "private names taken across units:\n" + "\n".join(crossings)
