"""The one home for optional imports: a missing module becomes a one-line, fixable error.

Every place in ``icsclient`` that imports an optional dependency goes through
:func:`require`, so a user who lacks it reads which ``pip install`` fixes it instead of a
``ModuleNotFoundError`` traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError

# top-level module -> what to install (an extra of icsclient where one carries it)
_INSTALL: dict[str, str] = {
    "aiosmtpd": "pip install aiosmtpd",
    "pydifact": "pip install pydifact",
    "lxml": "pip install 'icsclient[ics2]'",
    "httpx": "pip install 'icsclient[ics2]'",
    "nbclient": "pip install 'icsclient[test]'",
    "nbformat": "pip install 'icsclient[test]'",
    "hypothesis": "pip install 'icsclient[test]'",
    "pytest": "pip install 'icsclient[test]'",
}


def install_hint(module: str) -> str:
    """The ``pip install`` command that provides ``module`` (its top-level package)."""
    top = module.split(".", 1)[0]
    return _INSTALL.get(top, f"pip install {top}")


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise :class:`~icsclient.errors.MissingDependencyError`.

    ``purpose`` says what needs it (``"the simulated CCF's SMTP server"``); the message
    names the missing module and the ``pip install`` that fixes it.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.split(".", 1)[0]
        if exc.name is not None and exc.name.split(".", 1)[0] != top:
            raise  # the module exists but something it imports is broken: not ours to word
        raise missing(module, purpose) from None


def missing(module: str, purpose: str) -> MissingDependencyError:
    """The error for ``module`` being absent, for code that caught the ImportError itself."""
    top = module.split(".", 1)[0]
    return MissingDependencyError(
        f"{purpose} needs {top}, which is not installed: {install_hint(top)}", module=top
    )
