"""The ICS2 getting-started page and README section print what they say they print (that
they run at all is also checked by tests/test_readme.py)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ics2"
README = Path(__file__).resolve().parents[2] / "README.md"


def _run_blocks(text: str, name: str) -> int:
    namespace: dict[str, object] = {}
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    for source in blocks:
        if source.startswith("# sketch"):
            compile(source, name, "exec")
            continue
        expected = [line[2:] for line in source.splitlines() if line.startswith("# ")]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(source, name, "exec"), namespace)
        assert out.getvalue().splitlines() == expected, source
    return len(blocks)


def test_getting_started_blocks_run() -> None:
    text = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    assert _run_blocks(text, "getting-started.md") == 8


def test_readme_ics2_section_runs() -> None:
    section = README.read_text(encoding="utf-8").split("## EU ICS2", 1)[1].split("\n## ", 1)[0]
    assert _run_blocks(section, "README.md") == 1
