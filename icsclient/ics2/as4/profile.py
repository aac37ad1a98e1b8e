"""The AS4-only values of the EU ICS2 profile (``ICS2-RULES.md`` §5), as one overridable object.

Catalogue values (interface version, services, payload namespace) live in
``icsclient.ics2.catalogue``; only what the AS4 exchange alone needs is here.
"""

from __future__ import annotations

import attrs

from .errors import As4BuildError

EBMS_NS = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"


def _positive(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0:
        raise As4BuildError(f"As4Profile.{attribute.name} must be >= 0 seconds, got {value!r}")


@attrs.frozen
class As4Profile:
    """AS4 values of the ICS2 trader interface, each overridable with :func:`attrs.evolve`.

    ``receipt_retry_delay`` (10 s) is phase4's value: the ICD calls the retry product-specific,
    so it is **unverified** for any other access point; set it from your conformance agreement.
    ``customs_party_id`` is ``sti-taxud`` for the central trader interface; a national
    interface uses ``nti-<country code>`` (unverified per member state).
    """

    trader_party_type: str = "urn:oasis:names:tc:ebcore:partyid-type:unregistered:eu-customs:EORI"
    customs_party_type: str = "urn:oasis:names:tc:ebcore:partyid-type:unregistered:eu-customs:auth"
    trader_role: str = "Trader"
    customs_role: str = "Customs"
    customs_party_id: str = "sti-taxud"
    mpc_prefix: str = "urn:fdc:ec.europa.eu:2019:eu_ics2_c2t/EORI/"
    test_service: str = EBMS_NS + "service"
    test_action: str = EBMS_NS + "test"
    receipt_retry_delay: float = attrs.field(default=10.0, validator=_positive)

    def mpc(self, eori: str) -> str:
        """The pull channel of the trader ``eori`` (its From PartyId)."""
        if not eori or any(c.isspace() for c in eori):
            raise As4BuildError(f"MPC: EORI {eori!r} must be non-empty without white space")
        return self.mpc_prefix + eori


DEFAULT_PROFILE = As4Profile()
