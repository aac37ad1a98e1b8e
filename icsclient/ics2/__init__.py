"""EU Import Control System 2 (ICS2): Entry Summary Declarations as XML, filed through AS4.

This package is the ICS2 twin of :mod:`icsclient.ics` (see ``ICS2-RULES.md``): identifiers, the
message catalogue, the ENS model with its filings and the customs replies, and, in
``icsclient.ics2.as4``, the AS4 access-point messages. It needs the ``ics2`` extra
(``pip install 'icsclient[ics2]'``).
"""
