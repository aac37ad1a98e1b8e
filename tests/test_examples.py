"""Every example runs: the scripts, the vendor test suite and the notebook (so they never rot).

Each runs as a user would run it, in a fresh process with the working directory set to a
temporary folder, and must finish well within ``TIMEOUT`` seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
TIMEOUT = 120  # generous: each example takes a few seconds


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python <args>`` in ``cwd``; fail the test with its output if it fails."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUTF8": "1"}
    result = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


def test_there_are_examples() -> None:
    assert SCRIPTS and NOTEBOOKS and (EXAMPLES / "vendor_tests").is_dir()


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_script_runs(script: Path, tmp_path: Path) -> None:
    result = run([str(script)], tmp_path)
    assert result.stdout.strip(), f"{script.name} printed nothing"


def test_vendor_test_suite_passes(tmp_path: Path) -> None:
    plugin = (
        []
        if any(ep.name == "icsclient" for ep in entry_points(group="pytest11"))
        else ["-p", "icsclient.testing.pytest_plugin"]
    )
    suite = EXAMPLES / "vendor_tests"
    result = run(
        ["-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin, str(suite)],
        tmp_path,
    )
    assert " passed" in result.stdout and "failed" not in result.stdout


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.name for n in NOTEBOOKS])
def test_notebook_runs(notebook: Path, tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(notebook, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=TIMEOUT,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors
    html = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "text/html" in o.get("data", {})
    ]
    assert html, "the notebook shows no rich display"
