"""Every Python block in README.md and docs/ runs as written, or is visibly marked a sketch.

The rule, for every ``python`` / ``py`` / ``pycon`` fenced block of README.md and of every
Markdown page under ``docs/`` (found by glob, so new pages are covered without editing this
file):

- a block whose first line is a comment starting ``# sketch`` is a sketch: it must still
  compile, and the comment must name a runnable file of the repository that shows the real
  thing (``# sketch: the runnable version is examples/process_maildir.py``); it is not run;
- a block that includes a file (``--8<-- "examples/x.py"``) shows that file, which
  ``tests/test_examples.py`` runs; the file must exist;
- every other block runs, in order, in one namespace per page (a page can build on its
  earlier blocks), with the working directory set to a fresh temporary folder; ``pycon``
  blocks run as doctests in that namespace.

The README's first example must also print exactly what its ``# `` lines say.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>python|py|pycon)\b[^\n]*\n(?P<body>.*?)^(?P=indent)```",
    re.S | re.M,
)
SNIPPET = re.compile(r'^--8<--\s+"([^"]+)"\s*$')
SKETCH = re.compile(r"^\s*(?:>>>\s*)?#\s*sketch\b(?P<rest>.*)$", re.I)
PATH_IN_COMMENT = re.compile(r"\b((?:examples|tests|icsclient|benchmarks)/[\w./-]+\.(?:py|ipynb))")


def blocks(page: Path) -> list[tuple[str, str, int]]:
    """The page's code blocks: (language, dedented body, line number of the fence)."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        body = textwrap.dedent(match.group("body"))
        line = text.count("\n", 0, match.start()) + 1
        found.append((match.group("lang"), body, line))
    return found


def test_the_pages_are_found() -> None:
    assert len(PAGES) > 5 and all(blocks(page) is not None for page in PAGES)
    assert any(blocks(page) for page in PAGES if page != README)


def test_first_interchange_example_prints_what_it_promises() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## A first interchange", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    source = code.group(1)
    expected = [line[2:] for line in source.splitlines() if line.startswith("# ")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, str(README), "exec"), {})
    assert out.getvalue().splitlines() == expected


def check_sketch(page: Path, line: int, lang: str, body: str, rest: str) -> None:
    """A sketch compiles and points at a runnable file that exists."""
    where = f"{page.relative_to(ROOT)}:{line}"
    paths = PATH_IN_COMMENT.findall(rest)
    assert paths, f"{where}: a sketch must name the runnable file that shows the real thing"
    for path in paths:
        assert (ROOT / path).exists(), f"{where}: the sketch points to {path}, which is missing"
    if lang == "pycon":
        return
    compile(body, where, "exec")  # a sketch is still valid Python


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_block_runs_or_is_a_sketch(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for lang, body, line in blocks(page):
        where = f"{page.relative_to(ROOT)}:{line}"
        first = body.lstrip("\n").splitlines()[0] if body.strip() else ""
        snippet = SNIPPET.match(first)
        if snippet:
            assert (ROOT / snippet.group(1)).exists(), f"{where}: {snippet.group(1)} is missing"
            continue
        sketch = SKETCH.match(first)
        if sketch:
            check_sketch(page, line, lang, body, sketch.group("rest"))
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            if lang == "pycon":
                test = doctest.DocTestParser().get_doctest(body, namespace, where, where, line)
                runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
                runner.run(test, clear_globs=False)
                failures = runner.summarize(verbose=False).failed
            else:
                exec(compile(body, where, "exec"), namespace)
                failures = 0
        assert not failures, f"{where}: the pycon block does not match:\n{out.getvalue()}"
