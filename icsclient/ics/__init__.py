"""The ICS domain: the CCF envelope, site IDs and names, responses and acknowledgements."""

from .envelope import MAX_INTERCHANGE_BYTES, SYDNEY, build_interchange
from .names import (
    CCF_SITE,
    MAX_ICR,
    SubjectFields,
    attachment_filename,
    email_subject,
    parse_attachment_filename,
    parse_subject,
)

__all__ = [
    "CCF_SITE",
    "MAX_ICR",
    "MAX_INTERCHANGE_BYTES",
    "SYDNEY",
    "SubjectFields",
    "attachment_filename",
    "build_interchange",
    "email_subject",
    "parse_attachment_filename",
    "parse_subject",
]
