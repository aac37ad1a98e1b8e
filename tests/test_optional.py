"""A missing optional dependency is one line naming the ``pip install`` that fixes it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from icsclient import ConfigurationError, IcsError, MissingDependencyError
from icsclient._optional import install_hint, require


def test_a_missing_module_names_the_install() -> None:
    with pytest.raises(MissingDependencyError) as info:
        require("no_such_module_here.sub", "the frobnicator")
    assert str(info.value) == (
        "the frobnicator needs no_such_module_here, which is not installed: "
        "pip install no_such_module_here"
    )
    assert isinstance(info.value, (ImportError, ConfigurationError, IcsError))
    assert info.value.module == "no_such_module_here"
    assert install_hint("lxml.etree") == "pip install 'icsclient[ics2]'"
    assert require("json", "a test").dumps([]) == "[]"


def test_the_pydifact_adapter_without_pydifact_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['pydifact'] = None\n"  # as if it were not installed
        "from icsclient.edifact.pydifact_adapter import to_pydifact_segment\n"
        "from icsclient import Segment\n"
        "try:\n    to_pydifact_segment(Segment('BGM', '1'))\n"
        "except Exception as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == (
        "MissingDependencyError the pydifact adapter needs pydifact, "
        "which is not installed: pip install pydifact"
    )
