"""examples/ics2_first_filing.py runs as a user runs it and shows each step."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "ics2_first_filing.py"


def test_first_filing_example(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "checks: 0 finding(s)" in out and "refused: 1 error(s)" in out
    assert "→ MRN 26DE00000000012345" in out
    assert "sent: /IE3F26/consignmentMasterLevel/consignmentHouseLevel[2]/goodsItem[1]" in out
    assert (tmp_path / "FWD00000001.xml").read_bytes().startswith(b"<?xml")
