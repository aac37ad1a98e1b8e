"""What every command-line module shares: exit codes, the usage error, reading an input.

``icsclient.cli`` (the AU commands and the entry point) and ``icsclient.cli_ics2`` (the
``ics2`` commands) both take these from here, so neither imports the other's module
level (``cli`` registers ``cli_ics2``'s parser when it builds its own).
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["EXIT_ERROR", "EXIT_FINDINGS", "EXIT_OK", "UsageError", "read_input"]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


class UsageError(Exception):
    """A problem with what the user asked for (a missing file, a bad option)."""


def read_input(name: str) -> bytes:
    """The bytes of the file ``name`` (``-``: standard input); a :class:`UsageError` if not."""
    if name == "-":
        return sys.stdin.buffer.read()
    path = Path(name)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"no such file: {name}") from None
    except IsADirectoryError:
        raise UsageError(f"{name} is a directory, not a file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None
