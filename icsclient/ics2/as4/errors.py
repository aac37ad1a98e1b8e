"""Errors of the AS4 layer, each under the existing bases of :mod:`icsclient.errors`."""

from __future__ import annotations

from ...errors import BuildError, ReceivedError, SignatureError


class As4BuildError(BuildError):
    """An AS4 message cannot be built from what the caller gave (the message says which input)."""


class MimeError(ReceivedError):
    """A ``multipart/related`` AS4 message is malformed; names the header or byte offset."""


class TokenError(SignatureError):
    """A WS-Security token is malformed or its chain is out of order; names the certificate."""
